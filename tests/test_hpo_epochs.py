"""``epochs=`` (``--epochs``) over a searched ``train.epochs``: not searched, and what the
best trial records (best_params, best.neural, metrics.json) is the epochs it trained."""

from __future__ import annotations

import json
import warnings

import pytest

from neural_jax.core.errors import NeuralValidationError
from neural_jax.dsl.api import parse
from neural_jax.hpo import HPOptimizer
from neural_jax.population.best import load_best, reproduce, save_best
from tests.tiny_search import tiny_lr_search

SEARCHED = tiny_lr_search("HPO(range(5, 20))", name="E")


def test_forced_epochs_drop_a_searched_train_epochs_and_the_best_trial_records_them(tmp_path):
    opt = HPOptimizer(n_trials=2, population=2, epochs=2, keep_best=True,
                      compilation_cache=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        best = opt.optimize(SEARCHED)
    said = [str(w.message) for w in caught]
    assert "train.epochs is not searched: epochs=2 fixes the epochs of every trial" in said
    assert set(opt.study.space) == {"optimizer.learning_rate"}  # not in the study
    assert best["train.epochs"] == 2 and opt.best_params == best
    assert all(len(t["history"]) == 2 for t in opt.trials)

    folder = save_best(tmp_path / "b", opt.network, SEARCHED, opt.best_trial,
                       metric="val_accuracy", direction="maximize", dataset="digits",
                       best_params=best)
    assert "epochs: 2," in (folder / "best.neural").read_text()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and metrics["params"]["train.epochs"] == 2
    _, again = reproduce(parse(SEARCHED), _digits(), load_best(folder))  # neural run --params
    assert len(again.history) == 2
    assert again.val["accuracy"] == pytest.approx(opt.best_value, abs=0)


def _digits():
    from neural_jax.data import as_dataset

    return as_dataset("digits")


def test_forced_epochs_over_a_fixed_train_epochs_go_into_best_neural(tmp_path):
    code = SEARCHED.replace("HPO(range(5, 20))", "15")
    opt = HPOptimizer(n_trials=2, population=2, epochs=1, keep_best=True,
                      compilation_cache=False)
    best = opt.optimize(code)
    assert "train.epochs" not in best
    folder = save_best(tmp_path / "b", opt.network, code, opt.best_trial,
                       metric="val_accuracy", direction="maximize", dataset="digits")
    text = (folder / "best.neural").read_text()
    assert "epochs: 1," in text and "15" not in text
    assert json.loads((folder / "best.json").read_text())["epochs"] == 1


def test_train_epochs_as_the_only_searched_value_under_forced_epochs_is_an_error():
    code = SEARCHED.replace("HPO(log_range(1e-3, 3e-2))", "0.01")
    with pytest.raises(NeuralValidationError, match="train.epochs is its only searched value, "
                                                    "and epochs=3 fixes it"):
        HPOptimizer(n_trials=2, epochs=3).optimize(code)
