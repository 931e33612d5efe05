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
    from neural_jax.population import engine as population

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


# --- one registry of method names: each does what it says ---------------------------------

from neural_jax.methods import METHODS, SCHEDULERS  # noqa: E402


def _search(**kw):
    opt = HPOptimizer(n_trials=4, population=4, epochs=3, seed=0, **kw)
    best = opt.optimize(TINY_SEARCH)
    return opt, best


@pytest.mark.parametrize("name", list(METHODS))
def test_every_method_name_does_what_it_says(name):
    import search

    method = METHODS[name]
    opt, best = _search(strategy=name)
    assert best and opt.best_value > 0.3, (name, opt.trials)
    assert len(opt.trials) == 4
    strategy = opt.study.strategy
    assert search.strategies.strategy_name(strategy) == method.strategy
    for key, value in method.options.items():  # e.g. the evosax algorithm asked for
        assert getattr(strategy, key) == value
    states = [t["state"] for t in opt.trials]
    if method.scheduler:  # hyperband, asha, sh, median: poor trials really stop early
        assert "pruned" in states, (name, states)
        pruned = [t for t in opt.trials if t["state"] == "pruned"]
        assert all(len(t["history"]) < 3 for t in pruned)
    else:
        assert "pruned" not in states
    if method.pbt:  # weights copied inside the population, recorded per trial
        copies = [ev for t in opt.trials for ev in t["lineage"]]
        assert copies, opt.trials
        numbers = {t["number"] for t in opt.trials}
        assert all(ev["from"] in numbers for ev in copies)
        stored = {t.number: t.user_attrs["pbt"] for t in opt.study.trials}
        assert any(s["lineage"] for s in stored.values())
        assert all("optimizer.learning_rate" in s["hyperparams"] for s in stored.values())
    else:
        assert all("lineage" not in t for t in opt.trials)


@pytest.mark.parametrize("scheduler", list(SCHEDULERS))
def test_every_scheduler_name_prunes_a_search(scheduler):
    opt, _ = _search(strategy="tpe", scheduler=scheduler)
    assert any(t["state"] == "pruned" for t in opt.trials), opt.trials
    assert opt.study.strategy.name == "tpe"


def test_a_scheduler_instance_and_the_files_search_method():
    import search

    opt, _ = _search(scheduler=search.Hyperband(min_resource=1, max_resource=3, eta=3))
    assert any(t["state"] == "pruned" for t in opt.trials)
    code = TINY_SEARCH.replace("validation_split: 0.2",
                               'validation_split: 0.2, search_method: "ASHA"')
    opt = HPOptimizer(n_trials=4, population=4, epochs=3, seed=0)
    opt.optimize(code)
    assert any(t["state"] == "pruned" for t in opt.trials)


def test_method_and_scheduler_arguments_fail_before_any_work():
    from neural_jax.methods import UnknownMethodError

    with pytest.raises(UnknownMethodError, match="unknown search method 'hyperbnd'") as e:
        HPOptimizer(strategy="hyperbnd")
    assert "did you mean 'hyperband'" in e.value.hint and "pso" in e.value.hint
    with pytest.raises(UnknownMethodError, match="unknown scheduler 'asah'"):
        HPOptimizer(scheduler="asah")
    with pytest.raises(ValueError, match="means scheduler 'hyperband'.*'median'"):
        HPOptimizer(strategy="hyperband", scheduler="median")
    with pytest.raises(ValueError, match="early_stopping=True means scheduler 'sh'"):
        HPOptimizer(early_stopping=True, scheduler="asha")
    with pytest.raises(TypeError, match="got int 42"):
        HPOptimizer(strategy=42)
    for kw in ({"epochs": 0}, {"epochs": -2}, {"population": 0}, {"population": -1},
               {"parallel_trials": 0}, {"n_trials": True}):
        with pytest.raises(ValueError, match=f"{next(iter(kw))} must be a whole number >= 1"):
            HPOptimizer(**kw)
    assert HPOptimizer(strategy="CMA-ES")._method is METHODS["cma_es"]
    with pytest.raises(NeuralValidationError, match="PBT trains inside a JAX population"):
        HPOptimizer(strategy="pbt", n_trials=1).optimize(TINY_SEARCH, backend="pytorch")


def test_metric_and_direction_are_checked_before_training(monkeypatch):
    import neural_jax.data as data
    from neural_jax.objective import MetricError

    def no_data(*a, **k):
        raise AssertionError("the dataset was loaded before the metric was checked")

    monkeypatch.setattr(data, "as_dataset", no_data)
    with pytest.raises(MetricError, match="unknown metric 'val_acc'.*val_loss, val_accuracy, "
                                          "loss, accuracy") as e:
        HPOptimizer(n_trials=1).optimize(TINY_SEARCH, metric="val_acc")
    assert "val_accuracy" in e.value.hint and e.value.argument == "metric"
    with pytest.raises(MetricError, match="'maximize' contradicts metric 'val_loss'") as e:
        HPOptimizer(n_trials=1).optimize(TINY_SEARCH, metric="val_loss", direction="maximize")
    assert e.value.argument == "direction"
    with pytest.raises(MetricError, match="holds out no validation split"):
        HPOptimizer(n_trials=1).optimize(TINY_SEARCH.replace("validation_split: 0.2",
                                                             "validation_split: 0.0"))
    with pytest.raises(NeuralValidationError, match="search_space must be a dict.*list"):
        HPOptimizer(n_trials=1).optimize(TINY_SEARCH, search_space=[1, 2, 3])


def test_val_loss_is_minimized_without_a_direction():
    opt = HPOptimizer(strategy="random", n_trials=4, population=4, epochs=2, seed=0)
    opt.optimize(TINY_SEARCH, metric="val_loss")
    assert opt.direction == "minimize" and opt.study.directions == ["minimize"]
    values = [t["value"] for t in opt.trials]
    assert opt.best_value == pytest.approx(min(values))
