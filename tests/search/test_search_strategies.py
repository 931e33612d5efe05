"""Strategy registry: one conformance test over every key, plus random/grid/optuna specifics."""

import numpy as np
import pytest

import search
from search import StrategyUnavailableError, UnknownStrategyError
from search.strategies import (
    ALIASES,
    Dimension,
    GridSearch,
    RandomSearch,
    available_strategies,
    get_strategy,
    strategy_class,
)

DIMS = (Dimension("a", "float"), Dimension("b", "float"))


def f(x):
    """A smooth bowl in the encoded box, minimum 0 at (0.3, 0.7)."""
    return (x[:, 0] - 0.3) ** 2 + 2.0 * (x[:, 1] - 0.7) ** 2


def _build(name):
    try:
        return get_strategy(name)
    except StrategyUnavailableError as e:
        pytest.skip(f"{name} not available yet: {e}")


@pytest.mark.parametrize("name", sorted(set(available_strategies())
                                         | {"random", "grid", "tpe", "gp", "evolution", "pbt",
                                            "optuna"}))
def test_strategy_conformance(name):
    if name == "optuna":
        pytest.importorskip("optuna")
    strategy = _build(name)
    strategy.bind(DIMS, seed=0)
    ys = []
    first = None
    for _ in range(6):
        x = np.asarray(strategy.ask(4), dtype=float)
        assert x.shape == (4, 2)
        assert np.isfinite(x).all() and (x >= 0).all() and (x <= 1).all()
        assert len({tuple(np.round(r, 12)) for r in x}) == 4, "a batch must hold distinct points"
        y = f(x)
        first = y[0] if first is None else first
        strategy.tell(x, y)
        ys.extend(y)
    assert min(ys) < first
    assert min(ys) < 0.1
    state = strategy.state_dict()
    assert isinstance(state, dict)


def test_registry_names_aliases_and_errors():
    assert ({"random", "grid", "tpe", "gp", "evolution", "pbt", "optuna"}
            <= set(available_strategies()))
    assert strategy_class("RandomStrategy") is RandomSearch
    assert strategy_class("GridStrategy") is GridSearch
    assert strategy_class("RANDOM") is RandomSearch
    assert search.strategies.RandomStrategy is RandomSearch
    assert ALIASES["BayesianStrategy"] == "gp" and ALIASES["EvolutionaryStrategy"] == "evolution"
    with pytest.raises(UnknownStrategyError, match="Did you mean 'grid'"):
        get_strategy("gird")
    with pytest.raises(UnknownStrategyError, match="Available: evolution, gp, grid"):
        get_strategy("simulated_annealing")
    with pytest.raises(StrategyUnavailableError, match="no_such_module"):
        strategy_class("no_such_module:Thing")
    with pytest.raises(AttributeError):
        search.strategies.NoSuchStrategy  # noqa: B018
    rs = RandomSearch()
    assert get_strategy(rs) is rs


@pytest.mark.parametrize("alias, key", [("TPEStrategy", "tpe"), ("BayesianStrategy", "gp"),
                                        ("EvolutionaryStrategy", "evolution")])
def test_seed_names_importable(alias, key):
    try:
        cls = strategy_class(key)
    except StrategyUnavailableError:
        pytest.skip(f"{key} not available yet")
    assert getattr(search.strategies, alias) is cls


@pytest.mark.parametrize("sobol", [False, True])
def test_random_state_resumes_the_sequence(sobol):
    a = RandomSearch(sobol=sobol)
    a.bind(DIMS, seed=5)
    a.ask(5)
    state = a.state_dict()
    expected = a.ask(3)
    b = RandomSearch(sobol=sobol)
    b.bind(DIMS, seed=5)
    b.load_state_dict(state)
    np.testing.assert_allclose(b.ask(3), expected)


def test_sobol_covers_the_box_more_evenly():
    def worst_gap(x):  # largest empty cell of an 8x8 partition, counted as empty cells
        cells = {(int(p[0] * 8), int(p[1] * 8)) for p in x}
        return 64 - len(cells)

    q, r = RandomSearch(sobol=True), RandomSearch()
    q.bind(DIMS, seed=0)
    r.bind(DIMS, seed=0)
    assert worst_gap(q.ask(64)) < worst_gap(r.ask(64))


def test_grid_levels_and_points():
    g = GridSearch(n_points=3)
    g.bind((Dimension("x", "float"), Dimension("c", "categorical", levels=2)), seed=0)
    assert g.size == 6
    pts = g.ask(4)
    np.testing.assert_allclose(pts, [[0, 0.25], [0, 0.75], [0.5, 0.25], [0.5, 0.75]])
    assert g.ask(10).shape == (2, 2)
    with pytest.raises(search.SearchExhausted):
        g.ask(1)


def test_optuna_sampler_learns_from_foreign_points():
    optuna = pytest.importorskip("optuna")
    from search.strategies.optuna_adapter import OptunaSampler

    s = OptunaSampler(sampler=optuna.samplers.RandomSampler(seed=0))
    dims = (Dimension("x", "float"), Dimension("k", "int", levels=4),
            Dimension("c", "categorical", levels=3))
    s.bind(dims, seed=0)
    x = s.ask(3)
    assert np.isin(np.round(x[:, 1] * 4 - 0.5, 9), [0, 1, 2, 3]).all()
    s.tell(x, np.arange(3.0))
    # never asked: added as a finished trial
    s.tell(np.array([[0.5, 0.125, 0.5]]), np.array([-1.0]))
    done = s._study.get_trials(deepcopy=False)
    assert len(done) == 4 and min(t.value for t in done) == -1.0


def test_optuna_sampler_in_a_study():
    pytest.importorskip("optuna")
    study = search.create_study(space={"x": {"type": "float", "min": -3, "max": 3},
                                       "u": {"type": "int", "min": 16, "max": 256, "step": 16}},
                                strategy="optuna", seed=0)
    study.optimize(lambda t: t.params["x"] ** 2 + t.params["u"] / 256, n_trials=25)
    assert study.best_value < 0.6
