"""The one early-stopping state machine: patience, failures, scheduler stops, over members."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from neural_jax.population.stopping import EarlyStopping, monitor_score, monitor_sign


def test_patience_counts_per_member_and_stops_after_it():
    es = EarlyStopping(3, patience=1)
    curves = np.array([[0.9, 0.5, 0.6, 0.7],   # best at 2, stops after 4
                       [0.9, 0.8, 0.7, 0.6],   # improves every epoch
                       [0.5, 0.6, 0.4, 0.3]])  # one bad epoch, then better again
    for epoch in range(1, 5):
        ids = np.flatnonzero(es.active)
        es.step(epoch, ids, np.ones(len(ids)), curves[ids, epoch - 1])
    assert list(es.best_epoch) == [2, 4, 4]
    assert es.best == pytest.approx([0.5, 0.6, 0.3])
    assert es.stopped_by == ["patience", "", ""] and list(es.stopped_epoch) == [4, 0, 0]
    assert list(es.active) == [False, True, True]
    assert es.outcome(0) == {"failed": False, "message": "", "stopped_epoch": 4,
                             "stopped_by": "patience", "best_epoch": 2}
    assert es.outcome(1)["stopped_epoch"] is None


def test_a_non_finite_loss_fails_only_that_member_naming_the_epoch():
    es = EarlyStopping(3)
    kept = es.step(1, [0, 1, 2], [1.0, math.nan, math.inf], [0.5, 0.1, 0.1])
    assert list(kept) == [True, False, False]
    assert list(es.failed) == [False, True, True] and list(es.active) == [True, False, False]
    assert es.message[1] == "the training loss became nan in epoch 1"
    assert es.message[2] == "the training loss became inf in epoch 1"
    assert list(es.best_epoch) == [1, 0, 0]


def test_improvement_decided_by_the_caller_and_min_delta():
    es = EarlyStopping(2, patience=0, min_delta=0.1)
    es.step(1, [0, 1], [1.0, 1.0], [1.0, 1.0])
    kept = es.step(2, [0, 1], [1.0, 1.0], [0.95, 0.5])  # 0.95 is within min_delta
    assert list(kept) == [False, True] and es.stopped_by == ["patience", ""]
    es = EarlyStopping(1)
    assert not es.step(1, [0], [1.0], [0.5], improved=[False])[0]  # the device said no
    assert es.best_epoch[0] == 0 and es.bad[0] == 1


def test_scheduler_stops_are_recorded_and_members_leave():
    es = EarlyStopping(4)
    es.step(1, np.arange(4), np.ones(4), [0.4, 0.3, 0.2, 0.1])
    es.stop(np.array([0, 1]), 1, "scheduler")
    assert list(np.flatnonzero(es.active)) == [2, 3]
    assert es.stopped_by[:2] == ["scheduler", "scheduler"] and list(es.stopped_epoch[:2]) == [1, 1]


def test_accuracy_monitors_are_maximised():
    spec = type("S", (), {"monitor": "val_accuracy"})()
    assert monitor_sign("val_accuracy") == -1.0 and monitor_sign("val_loss") == 1.0
    assert monitor_score(spec, {"loss": 2.0, "val_accuracy": 0.75}) == -0.75
    assert monitor_score(spec, {"loss": 2.0}) == -2.0  # no validation: the training loss


def test_the_host_side_imports_no_jax():
    code = ("import sys\n"
            "import neural_jax.population as p\n"
            "from neural_jax.population.loop import fit_epochs, prepare_data\n"
            "from neural_jax.population.stopping import EarlyStopping\n"
            "from neural_jax.population.options import PopulationOptions\n"
            "p.EarlyStopping, p.fit_epochs, p.PopulationOptions\n"
            "print(sorted(m for m in ('jax', 'optax', 'flax') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
