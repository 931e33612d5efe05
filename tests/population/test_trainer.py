"""The single-configuration trainer trains real models and reports real numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neural_jax import parse
from neural_jax.data import from_arrays
from neural_jax.data import load as load_dataset
from neural_jax.population.trainer import Trainer, train

MLP = """
network DigitsMLP {
  input: (8, 8, 1)
  layers:
    Flatten()
    Dense(64, activation="relu")
    Output(10, activation="softmax")
  optimizer: Adam(learning_rate=0.003)
  train { epochs: 25, batch_size: 32, validation_split: 0.2, seed: 1 }
}
"""


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_mlp_on_digits_reaches_95_percent(digits):
    r = train(parse(MLP), digits)
    assert not r.failed
    assert r.val["accuracy"] >= 0.95, r.val
    assert r.test["accuracy"] >= 0.93, r.test
    losses = [h["loss"] for h in r.history]
    assert losses[-1] < losses[0] / 3
    assert set(r.history[0]) >= {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_init_and_epoch_compile_once_and_are_reused(digits, monkeypatch):
    import collections

    from neural_jax.population import program

    monkeypatch.setattr(program, "_PROGRAMS", collections.OrderedDict())
    t = Trainer(parse(MLP), overrides={"epochs": 4})
    r = t.fit(digits)
    # the epoch also evaluates, so the kept weights need no evaluation program
    assert t.compilations == {"init": 1, "train_epoch": 1, "evaluate": 0}
    again = Trainer(parse(MLP), overrides={"epochs": 4})
    assert again.fit(digits).history[-1]["loss"] == r.history[-1]["loss"]
    assert again.compilations == {"init": 0, "train_epoch": 0, "evaluate": 0}
    got = again.evaluate(r.variables, digits.x_test, digits.y_test)
    assert again.compilations["evaluate"] == 1
    assert got["accuracy"] == pytest.approx(r.test["accuracy"], abs=1e-6)
    assert got["loss"] == pytest.approx(r.test["loss"], rel=1e-5)


def test_same_seed_same_run_other_seed_other_run(digits):
    net = parse(MLP)
    a = train(net, digits, epochs=2)
    b = train(net, digits, epochs=2)
    c = train(net, digits, epochs=2, seed=7)
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
    assert [h["loss"] for h in a.history] != [h["loss"] for h in c.history]


def test_divergence_is_reported_with_its_epoch(digits):
    net = parse(MLP.replace("Adam(learning_rate=0.003)", "SGD(learning_rate=1e30)"))
    r = train(net, digits, epochs=3)
    assert r.failed and "epoch 1" in r.message and "nan" in r.message.lower()


def test_early_stopping_keeps_the_best_epoch(digits):
    stopping = 'seed: 1, early_stopping { patience: 0, monitor: "val_loss" } }'
    net = parse(MLP.replace("seed: 1 }", stopping)
                .replace("learning_rate=0.003", "learning_rate=0.05"))
    r = train(net, digits, epochs=25)
    assert r.stopped_early and len(r.history) < 25
    assert r.best_epoch == len(r.history) - 1


def test_hpo_values_are_used(digits):
    net = parse(MLP.replace("Dense(64", "Dense(HPO(choice(8, 64))"))
    t = Trainer(net, {"layers[1].units": 8}, {"epochs": 1})
    r = t.fit(digits)
    kernel = r.variables["params"]
    sizes = sorted(int(np.prod(x.shape)) for x in __import__("jax").tree_util.tree_leaves(kernel))
    assert 64 * 8 in sizes and 64 * 64 not in sizes


def test_batch_larger_than_data_is_a_clear_error():
    ds = from_arrays(np.random.rand(20, 8, 8, 1).astype("float32"), np.arange(20) % 10)
    with pytest.raises(ValueError, match="batch_size 32 is larger"):
        train(parse(MLP), ds, epochs=1, validation_split=0.0)


def test_cli_run_trains_and_saves(tmp_path, capsys):
    from neural_jax.cli import main

    f = tmp_path / "m.neural"
    f.write_text(MLP)
    out = tmp_path / "run"
    assert main(["run", str(f), "--dataset", "digits", "--epochs", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "epoch   2/2" in text and "validation:" in text and "test:" in text
    rec = json.loads((out / "metrics.json").read_text())
    assert rec["network"] == "DigitsMLP" and len(rec["history"]) == 2
    assert (out / "params.msgpack").stat().st_size > 64 * 64 * 4
    assert parse((out / "network.neural").read_text()) == parse(MLP)


def test_cli_run_bad_dataset_and_shape(tmp_path, capsys):
    from neural_jax.cli import main

    f = tmp_path / "m.neural"
    f.write_text(MLP)
    assert main(["run", str(f), "--dataset", "digitz"]) == 1
    assert "did you mean" in capsys.readouterr().err.lower()
    g = tmp_path / "g.neural"
    g.write_text(MLP.replace("input: (8, 8, 1)", "input: (28, 28, 1)"))
    assert main(["run", str(g), "--dataset", "digits", "--epochs", "1"]) == 1
    err = capsys.readouterr().err
    assert "(8, 8, 1)" in err and "(28, 28, 1)" in err
