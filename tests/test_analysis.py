"""Analysis records: history and importance computed from known trials."""

from __future__ import annotations

import math
import random

import pytest

from search.analysis import optimization_history, param_importance


def trials(n=40, seed=0):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        p = {"lr": 10 ** rng.uniform(-4, -1), "units": rng.choice([16, 32, 64]),
             "act": rng.choice(["relu", "tanh"])}
        out.append({"number": i, "params": p, "state": "complete",
                    "value": -abs(math.log10(p["lr"]) + 2.5) + 0.01 * rng.random()})
    return out


def test_history_best_so_far_ignores_failed():
    ts = trials(5)
    ts[2]["state"] = "failed"
    rec = optimization_history(ts, "acc", "maximize")
    assert math.isnan(rec.values[2])
    vals = [v for v in rec.values]
    for i, b in enumerate(rec.best):
        done = [v for v in vals[: i + 1] if not math.isnan(v)]
        assert b == max(done)


def test_importance_finds_the_parameter_that_matters():
    rec = param_importance(trials())
    assert rec.names[0] == "lr" and rec.importances[0] > 0.8
    assert sum(rec.importances) == pytest.approx(1.0)


def test_importance_needs_trials():
    with pytest.raises(ValueError, match="at least 3"):
        param_importance(trials(2))
