"""The shared epoch loop: NaN stopping, patience on the monitor, the best snapshot kept."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from neural_jax.data import from_arrays
from neural_jax.population.loop import fit_epochs, prepare_data


def _spec(epochs=6, patience=None, monitor="val_loss", split=0.2, batch=8):
    return SimpleNamespace(epochs=epochs, patience=patience, monitor=monitor,
                           validation_split=split, seed=0, batch_size=batch)


def _run(losses, vals, spec):
    state = {"w": 0}

    def train(epoch):
        state["w"] = epoch
        return {"loss": losses[epoch - 1]}

    return fit_epochs(spec, train, lambda: {"loss": vals[state["w"] - 1]}, lambda: state["w"])


def test_patience_keeps_the_best_epoch():
    out = _run([1.0] * 6, [0.9, 0.5, 0.6, 0.7, 0.8, 0.1], _spec(patience=2))
    assert out.variables == 2 and out.best_epoch == 2 and out.stopped_epoch == 5
    assert [h["epoch"] for h in out.history] == [1, 2, 3, 4, 5]
    assert {"loss", "val_loss", "seconds"} <= set(out.history[0])


def test_accuracy_monitor_is_maximised():
    out = _run([1.0] * 3, [0.2, 0.9, 0.5], _spec(epochs=3, monitor="val_loss"))
    assert out.best_epoch == 1  # val "loss" values here; lower is better
    state = {"w": 0}
    out = fit_epochs(_spec(epochs=3, monitor="val_accuracy"),
                     lambda e: state.update(w=e) or {"loss": 1.0},
                     lambda: {"accuracy": [0.2, 0.9, 0.5][state["w"] - 1]}, lambda: state["w"])
    assert out.best_epoch == 2 and out.stopped_epoch is None


def test_nan_loss_fails_naming_the_epoch():
    out = _run([1.0, math.nan, 1.0], [0.5, 0.4, 0.3], _spec(epochs=3))
    assert out.failed and "nan in epoch 2" in out.message and len(out.history) == 2


def test_prepare_data_splits_and_checks_the_batch():
    x = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    y = np.arange(50) % 2
    ds = from_arrays(x, y, test_fraction=0.2)
    data = prepare_data(ds, (4,), _spec())
    assert len(data.x_train) + len(data.x_val) == 40 and data.n_steps == len(data.x_train) // 8
    assert prepare_data(ds, (4,), _spec(split=0.0)).x_val is None
    with pytest.raises(ValueError, match="batch_size 64 is larger"):
        prepare_data(ds, (4,), _spec(batch=64))


def test_should_stop_ends_the_run_and_names_the_scheduler():
    calls = []

    def judge(epoch, score):
        calls.append((epoch, score))
        return epoch == 3

    state = {"w": 0}

    def train(epoch):
        state["w"] = epoch
        return {"loss": 1.0}

    vals = [0.9, 0.5, 0.6, 0.4, 0.3, 0.2]
    out = fit_epochs(_spec(), train, lambda: {"loss": vals[state["w"] - 1]}, lambda: state["w"],
                     should_stop=judge)
    assert out.stopped_epoch == 3 and out.stopped_by == "scheduler"
    assert [h["epoch"] for h in out.history] == [1, 2, 3] and out.best_epoch == 2
    assert calls == [(1, 0.9), (2, 0.5), (3, 0.6)]  # the monitored value, minimised


def test_should_stop_is_not_asked_after_the_last_epoch_or_a_patience_stop():
    calls = []
    out = fit_epochs(_spec(epochs=2), lambda e: {"loss": 1.0}, lambda: {"accuracy": 0.5},
                     lambda: None, should_stop=lambda e, s: calls.append((e, s)) or False)
    assert out.stopped_by == "" and out.stopped_epoch is None
    assert calls == [(1, 1.0)]  # val_loss missing: the training loss is monitored
    calls.clear()
    out = _run_with(lambda e, s: calls.append(e) or False, [0.5, 0.6, 0.7, 0.8], patience=1)
    assert out.stopped_by == "patience" and out.stopped_epoch == 3 and calls == [1, 2]


def test_accuracy_monitor_reaches_the_scheduler_negated():
    seen = []
    out = fit_epochs(_spec(epochs=3, monitor="val_accuracy"), lambda e: {"loss": 1.0},
                     lambda: {"accuracy": 0.75}, lambda: None,
                     should_stop=lambda e, s: seen.append(s) or False)
    assert seen == [-0.75, -0.75] and len(out.history) == 3


def _run_with(judge, vals, patience=None):
    state = {"w": 0}

    def train(epoch):
        state["w"] = epoch
        return {"loss": 1.0}

    return fit_epochs(_spec(epochs=len(vals), patience=patience), train,
                      lambda: {"loss": vals[state["w"] - 1]}, lambda: state["w"], should_stop=judge)
