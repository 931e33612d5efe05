"""The HPO engine end to end on digits: real populations, a real study, real storage."""

from __future__ import annotations

import pytest
from tiny_search import TINY_SEARCH

from neural_jax import NeuralValidationError, NeuralWarning
from neural_jax.hpo import HPOptimizer, optimize_and_return

CODE = TINY_SEARCH


def test_search_finds_a_good_configuration_keyed_by_path():
    opt = HPOptimizer(strategy="random", n_trials=6, population=3, seed=0)
    best = opt.optimize(CODE, dataset_name="digits")
    assert set(best) == {"layers[1].activation", "optimizer.learning_rate"}
    assert 1e-3 <= best["optimizer.learning_rate"] <= 3e-2
    assert len(opt.trials) == 6 and opt.best_value >= 0.85
    assert all(len(t["history"]) == 3 for t in opt.trials)
    # learning curves reach the study
    assert all(len(t.intermediate_values) == 3 for t in opt.study.trials)


def test_dict_space_binds_aliases_and_study_resumes(tmp_path):
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    space = {"batch_size": {"type": "categorical", "values": [32, 64]},
             "dropout_rate": {"type": "float", "min": 0.0, "max": 0.3}}
    a = HPOptimizer(strategy="tpe", n_trials=4, population=4, storage=url, study_name="s", seed=1)
    best = a.optimize(CODE, dataset_name="digits", search_space=space)
    assert {"train.batch_size", "layers[2].rate"} <= set(best)
    b = HPOptimizer(strategy="tpe", n_trials=6, population=2, storage=url, study_name="s", seed=2)
    b.optimize(CODE, dataset_name="digits", search_space=space)
    assert len(b.study.trials) == 6 and len(b.trials) == 2


def test_optimize_and_return_and_seed_names():
    best = optimize_and_return(CODE, n_trials=2, dataset_name="DIGITS", population=2,
                               strategy="RandomStrategy")
    assert "optimizer.learning_rate" in best


def test_bad_input():
    with pytest.raises(NeuralValidationError, match="unknown backend 'mxnet'"):
        HPOptimizer(n_trials=1).optimize(CODE, backend="mxnet")
    with pytest.raises(NeuralValidationError, match="nothing to search"):
        HPOptimizer(n_trials=1).optimize(CODE.replace('HPO(choice("relu", "tanh"))', '"relu"')
                                         .replace("HPO(log_range(1e-3, 3e-2))", "0.01"))
    with pytest.raises(Exception, match="(?i)did you mean"):
        HPOptimizer(strategy="tpee", n_trials=1).optimize(CODE)
    with pytest.raises(ValueError, match="n_trials"):
        HPOptimizer(n_trials=0)


def test_timeout_returns_what_it_has():
    opt = HPOptimizer(strategy="random", n_trials=50, population=2, timeout=0.01)
    with pytest.warns(NeuralWarning, match="timeout"):
        best = opt.optimize(CODE, dataset_name="digits")
    assert len(opt.trials) == 2 and best


def test_every_round_asks_for_the_program_of_the_whole_search(monkeypatch, tmp_path):
    """The engine tells the trainer how many rounds the search runs (so a long search pays
    for XLA's optimizing compile once), the same number in every round; a resumed study
    counts only the rounds it has left."""
    from neural_jax.train import population

    seen, real = [], population.train_population

    def spy(*args, **kwargs):
        seen.append(kwargs["rounds"])
        return real(*args, **kwargs)

    monkeypatch.setattr(population, "train_population", spy)
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    HPOptimizer(strategy="random", n_trials=5, population=2, storage=url, study_name="r",
                seed=0, epochs=1).optimize(CODE, dataset_name="digits")
    assert seen == [3, 3, 3]
    seen.clear()
    HPOptimizer(strategy="random", n_trials=9, population=2, storage=url, study_name="r",
                seed=0, epochs=1).optimize(CODE, dataset_name="digits")
    assert seen == [2, 2]


def test_a_bad_cache_size_limit_fails_before_the_study_starts(monkeypatch, tmp_path):
    monkeypatch.setenv("NEURAL_JAX_CACHE_MAX_BYTES", "two gigabytes")
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    opt = HPOptimizer(strategy="random", n_trials=2, population=2, storage=url, study_name="c")
    with pytest.raises(NeuralValidationError, match="NEURAL_JAX_CACHE_MAX_BYTES='two gigabytes'"):
        opt.optimize(CODE, dataset_name="digits")
    assert opt.study is None and not opt.trials
