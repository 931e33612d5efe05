"""Strategy arguments and evosax algorithm names: spellings, did-you-mean, wrong types."""

import pytest

import search
from search.strategies.evolution import SHORT_NAMES, Evolution, resolve_algorithm

SPACE = {"x": {"type": "float", "min": 0.0, "max": 1.0}}


@pytest.mark.parametrize("spelling,name", [
    ("cmaes", "CMA_ES"), ("CMA-ES", "CMA_ES"), ("cma_es", "CMA_ES"),
    ("de", "DifferentialEvolution"),
    ("ga", "SimpleGA"), ("SimpleGA", "SimpleGA"), ("pso", "PSO"), ("snes", "SNES"),
    ("OpenES", "Open_ES"), ("open-es", "Open_ES"), ("sep-cma-es", "Sep_CMA_ES"), ("xnes", "xNES"),
])
def test_common_spellings_name_the_evosax_algorithm(spelling, name):
    assert resolve_algorithm(spelling) == name
    assert Evolution(spelling).algorithm == name  # stored canonical: a resume rebuilds it


def test_every_short_name_is_an_evosax_algorithm():
    from evosax.algorithms import algorithms

    assert set(SHORT_NAMES.values()) <= set(algorithms)


def test_unknown_algorithm_suggests_and_lists():
    with pytest.raises(ValueError, match="Did you mean 'CMA_ES'.*DifferentialEvolution"):
        Evolution("cmaess")


def test_create_study_refuses_a_strategy_that_is_not_a_name_or_a_strategy():
    with pytest.raises(TypeError, match="strategy must be a registry name.*got int 42"):
        search.create_study(space=SPACE, strategy=42)
    with pytest.raises(search.UnknownStrategyError, match="Did you mean 'tpe'"):
        search.create_study(space=SPACE, strategy="tpee")


def test_evolution_by_short_name_searches():
    study = search.create_study(space=SPACE, strategy=Evolution("de", popsize=4), seed=0)
    study.optimize(lambda t: (t.params["x"] - 0.3) ** 2, n_trials=12)
    assert study.strategy.algorithm == "DifferentialEvolution"
    assert study.best_value < 0.05


def test_a_stored_evolution_study_resumes_with_its_algorithm(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = search.create_study("e", url, space=SPACE, strategy=Evolution("de", popsize=4), seed=0)
    study.optimize(lambda t: (t.params["x"] - 0.3) ** 2, n_trials=6)
    again = search.load_study("e", url)
    assert again.strategy.algorithm == "DifferentialEvolution" and again.strategy.popsize == 4
    again.optimize(lambda t: (t.params["x"] - 0.3) ** 2, n_trials=2)
    assert len(again.trials) == 8
