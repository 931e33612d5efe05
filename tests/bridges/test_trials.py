"""The cross-framework trial runner: order, worker processes, crashes and bad input."""

from __future__ import annotations

import pytest

from bridges.trials import normalize_backend, run_trials
from neural_jax.dsl.errors import NeuralValidationError
from trial_fns import crashing_trial, fake_trial


def test_backend_names():
    assert normalize_backend("torch") == "pytorch" and normalize_backend("Keras") == "tensorflow"
    with pytest.raises(NeuralValidationError, match="unknown backend 'mxnet'"):
        normalize_backend("mxnet")


def test_in_process_keeps_order_and_drops_weights():
    configs = [{"lr": 0.1 * i} for i in range(3)]
    seen = []
    out = run_trials(None, None, configs, "pytorch", fn=fake_trial, on_result=seen.append)
    assert [r.val["accuracy"] for r in out] == [0.0, 0.1, 0.2]
    assert [r.index for r in out] == [0, 1, 2] and len(seen) == 3
    assert all(r.variables is None for r in out)
    kept = run_trials(None, None, configs[:1], "pytorch", fn=fake_trial, keep_variables=True)
    assert kept[0].variables == {"w": [0.0]}


def test_a_trial_seed_becomes_an_override():
    from trial_fns import seed_trial

    out = run_trials(None, None, [{"lr": 0.1, "seed": 7}, {"lr": 0.2}], "pytorch", fn=seed_trial,
                     overrides={"epochs": 2})
    assert out[0].config == {"lr": 0.1} and out[0].val == {"seed": 7, "epochs": 2}
    assert out[1].val == {"epochs": 2}


def test_a_raising_trial_fails_alone():
    out = run_trials(None, None, [{"lr": 0.5}, {"raise": True}], "tensorflow", fn=crashing_trial)
    assert not out[0].failed and out[1].failed
    assert "RuntimeError: the framework failed" in out[1].message


def test_worker_processes_survive_a_killed_worker():
    configs = [{"lr": 0.1}, {"crash": True}, {"lr": 0.3}, {"raise": True}, {"lr": 0.5}]
    out = run_trials(None, None, configs, "pytorch", workers=2, fn=crashing_trial)
    assert [r.index for r in out] == list(range(5))
    assert [r.failed for r in out] == [False, True, False, True, False]
    assert "worker process" in out[1].message and "died" in out[1].message
    assert [out[i].val["accuracy"] for i in (0, 2, 4)] == [0.1, 0.3, 0.5]


def test_bad_arguments():
    with pytest.raises(NeuralValidationError, match="PyTorch or TensorFlow"):
        run_trials(None, None, [{}], "jax", fn=fake_trial)
    with pytest.raises(NeuralValidationError, match="workers"):
        run_trials(None, None, [{}], "pytorch", workers=0, fn=fake_trial)
