"""`neural compile` for every example and backend, and the written script run for one epoch.

The default set runs every other example through PyTorch (the quickest framework to start)
and a representative pair through JAX and TensorFlow (a TensorFlow script pays seconds to
start); ``-m slow`` runs the rest of the 14 x 3 matrix.
"""

from __future__ import annotations

import re

import pytest

from tests.acceptance.conftest import EXAMPLES, assert_ok, assert_user_error, run

ALL = sorted(p.name for p in EXAMPLES.glob("*.neural"))
BACKENDS = ("pytorch", "tensorflow", "jax")
#: examples covering dense, convolution, recurrent, attention and schedule code per backend
REPRESENTATIVE = {"pytorch": tuple(ALL[::2]),
                  "jax": ("mnist_cnn.neural", "schedules.neural"),
                  "tensorflow": ("embedding_rnn.neural", "digits_search.neural")}
EPOCH_LINE = re.compile(r"^epoch 1 loss (\d+\.\d+)", re.M)


def _cases(slow: bool):
    for backend in BACKENDS:
        for name in ALL:
            fast = name in REPRESENTATIVE[backend]
            if fast != slow:
                yield pytest.param(name, backend, id=f"{backend}-{name.removesuffix('.neural')}")


def _compile_and_run(workdir, name: str, backend: str) -> None:
    script = workdir / f"{name.removesuffix('.neural')}_{backend}.py"
    res = assert_ok(run(["neural", "compile", f"examples/{name}", "--backend", backend,
                         "-o", str(script)], workdir))
    assert f"wrote the {backend} script" in res.out
    out = assert_ok(run(["python", str(script), "--epochs", "1", "--n-train", "64"], workdir,
                        timeout=240))
    m = EPOCH_LINE.search(out.out)
    assert m is not None, out
    assert float(m.group(1)) == float(m.group(1))  # a number, not NaN
    assert "epoch 2" not in out.out  # the epochs override took


@pytest.mark.parametrize(("name", "backend"), list(_cases(slow=False)))
def test_compile_and_run_one_epoch(workdir, name, backend):
    _compile_and_run(workdir, name, backend)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "backend"), list(_cases(slow=True)))
def test_compile_and_run_one_epoch_full_matrix(workdir, name, backend):
    _compile_and_run(workdir, name, backend)


def test_compile_for_digits_trains_on_the_real_data(workdir):
    res = assert_ok(run(["neural", "compile", "examples/digits_mlp.neural", "--backend",
                         "pytorch", "--dataset", "digits", "-o", "digits.py"], workdir))
    text = (workdir / "digits.py").read_text()
    assert "load_digits" in text and "Data: digits" in text, res
    out = assert_ok(run(["python", "digits.py", "--epochs", "3", "--evaluate"], workdir))
    acc = float(re.search(r"^epoch 3 .*val_accuracy (\d+\.\d+)", out.out, re.M).group(1))
    assert acc > 0.5, out  # random labels would give ~0.1
    assert re.search(r"^test accuracy \d+\.\d+", out.out, re.M), out


def test_compile_rejects_an_unknown_or_unfitting_dataset(workdir):
    assert_user_error(run(["neural", "compile", "examples/digits_mlp.neural", "--backend",
                           "pytorch", "--dataset", "imagenet"], workdir), "imagenet", "digits")
    assert_user_error(run(["neural", "compile", "examples/mnist_cnn.neural", "--backend",
                           "jax", "--dataset", "digits"], workdir), "digits", "(8, 8, 1)")
