"""Cross-framework studies: the engine trains its trials in PyTorch or TensorFlow."""

from __future__ import annotations

import importlib.util
import math

import pytest

from neural_jax.hpo import BackendUnavailable, HPOptimizer

CODE = """
network Tiny {
  input: (8, 8, 1)
  layers:
    Flatten()
    Dense(HPO(choice(32, 64)), activation=HPO(choice("relu", "tanh")))
    Dropout(0.1)
    Output(10, activation="softmax")
  optimizer: Adam(learning_rate=HPO(log_range(3e-3, 3e-2)))
  train { epochs: 3, batch_size: 64, validation_split: 0.2 }
}
"""


@pytest.mark.parametrize("backend,workers", [("pytorch", 2), ("tensorflow", 1)])
def test_study_of_four_trials(backend, workers):
    pytest.importorskip("torch" if backend == "pytorch" else "tensorflow")
    opt = HPOptimizer(strategy="random", n_trials=4, population=4, parallel_trials=workers, seed=0)
    best = opt.optimize(CODE, dataset_name="digits", backend=backend)
    assert set(best) == {"layers[1].units", "layers[1].activation", "optimizer.learning_rate"}
    assert len(opt.trials) == 4 and opt.best_value >= 0.85
    for t in opt.trials:
        assert t["state"] == "complete", t.get("message")
        assert [h["epoch"] for h in t["history"]] == [1, 2, 3]
        assert {"loss", "val_loss", "val_accuracy"} <= set(t["history"][-1])
        assert math.isfinite(t["value"])
    # learning curves reach the study under the same metric name as JAX trials
    assert all(len(t.intermediate_values) == 3 for t in opt.study.trials)
    assert opt._executor is None  # the search's worker processes are stopped at its end


def test_missing_framework_is_a_clear_error(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "torch" else real(name, *a))
    with pytest.raises(BackendUnavailable, match="needs torch"):
        HPOptimizer(n_trials=1).optimize(CODE, backend="torch")


def test_early_stopping_prunes_pytorch_trials():
    """early_stopping=True gives framework trials the same successive halving as JAX
    members: judged after each epoch, the stopped ones told to the study as pruned."""
    pytest.importorskip("torch")
    opt = HPOptimizer(strategy="random", n_trials=4, population=4, seed=0, early_stopping=True,
                      epochs=4)
    opt.optimize(CODE, dataset_name="digits", backend="pytorch")
    states = [t["state"] for t in opt.trials]
    pruned = [t for t in opt.trials if t["state"] == "pruned"]
    # rung 1 keeps the best half of the trials judged there so far: never the first trial
    assert states[0] == "complete" and 1 <= len(pruned) <= 3, states
    assert all(len(t["history"]) < 4 for t in pruned)
    assert all(len(t["history"]) == 4 for t in opt.trials if t["state"] == "complete")
    assert [t.state.name.lower() for t in opt.study.trials] == states
    assert opt.best_value >= 0.85
