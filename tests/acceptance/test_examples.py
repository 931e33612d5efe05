"""Every bundled example as a user meets it: ``neural check``, then a tiny ``neural hpo``.

The search runs on ``--dataset synthetic``, which is shaped for each network (input, classes
or regression targets, token ids for an Embedding; :mod:`neural_jax.data.network_fit`), so
every example trains without data files. ``neural compile`` of every example is in
``test_compile.py``. Examples whose XLA:CPU compile takes more than ~20 s on 2 cores run
only with ``-m slow``.
"""

from __future__ import annotations

import json

import pytest

from tests.acceptance.conftest import EXAMPLES, assert_ok, run

ALL = sorted(p.name for p in EXAMPLES.glob("*.neural"))
#: example -> why its search is a slow check
SLOW = {
    "conv_family.neural": "64x64x3 and 3-D convolutions: ~2.5 min of compile",
    "embedding_rnn.neural": "an LSTM over 200 tokens: minutes of compile",
    "resnet_blocks.neural": "residual CNN: ~1.5 min of compile",
    "macros_repeat.neural": "VGG-style CNN: ~25 s",
    "recurrent.neural": "bidirectional RNNs: ~20 s",
    "spec_example.neural": "a 28x28 CNN: ~20 s",
    "transformer_text.neural": "a 2-layer transformer over 128 tokens: ~40 s",
}
#: example -> extra arguments (a file without HPO(...) gets a space on the command line)
EXTRA = {
    "mnist_cnn.neural": ["--space", json.dumps({"learning_rate": {
        "type": "float", "min": 1e-4, "max": 1e-2, "log": True}})],
}


def test_examples_are_all_covered():
    assert len(ALL) == 14 and set(SLOW) <= set(ALL) and set(EXTRA) <= set(ALL)


@pytest.mark.parametrize("name", ALL)
def test_check(workdir, name):
    res = assert_ok(run(["neural", "check", f"examples/{name}"], workdir, timeout=120))
    assert "ok (" in res.out and "output shape" in res.out and "search space" in res.out


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in ALL])
def test_tiny_search(workdir, name):
    res = assert_ok(run(["neural", "hpo", f"examples/{name}", "--dataset", "synthetic",
                         "--n-trials", "2", "--population", "2", "--epochs", "1",
                         "--no-live", *EXTRA.get(name, [])], workdir, timeout=600))
    assert "round 1: trials 2/2" in res.out and "failed 0" in res.out, res
    best = json.loads(res.out.split("best configuration: ", 1)[1].splitlines()[0])
    assert best, res
    if name in ("conv_family.neural", "schedules.neural"):  # several networks: says which
        assert "searching the first" in res.err


def test_search_of_a_named_network(workdir):
    res = assert_ok(run(["neural", "hpo", "examples/schedules.neural", "--network", "Stepped",
                         "--dataset", "synthetic", "--n-trials", "2", "--population", "2",
                         "--epochs", "1", "--no-live"], workdir, timeout=300))
    assert "best val_loss" in res.out and "searching the first" not in res.err, res
