"""Evolution: any evosax algorithm behind the Strategy contract."""

from __future__ import annotations

import json

import numpy as np
import pytest

from search.strategies.base import Dimension
from search.strategies.evolution import Evolution, available_algorithms

DIMS = (
    Dimension("a", "float"),
    Dimension("b", "float"),
    Dimension("n", "int", levels=10),
)


def quadratic(x: np.ndarray) -> np.ndarray:
    """Minimum 0 at a=0.3, b=0.7, level 6 of n (bin [0.6, 0.7))."""
    level = np.floor(x[:, 2] * 10)
    return (x[:, 0] - 0.3) ** 2 + (x[:, 1] - 0.7) ** 2 + 0.01 * (level - 6) ** 2


def make(algorithm: str = "CMA_ES", seed: int = 0, **kwargs) -> Evolution:
    strategy = Evolution(algorithm, seed=seed, **kwargs)
    strategy.bind(DIMS)
    return strategy


def run(strategy: Evolution, rounds: int, batch: int) -> float:
    best = np.inf
    for _ in range(rounds):
        x = strategy.ask(batch)
        y = quadratic(x)
        strategy.tell(x, y)
        best = min(best, float(y.min()))
    return best


@pytest.mark.parametrize(
    "algorithm",
    ["CMA_ES", "Sep_CMA_ES", "SNES", "xNES", "DifferentialEvolution", "PSO"],
)
def test_minimises_mixed_quadratic(algorithm):
    strategy = make(algorithm, popsize=8)
    best = run(strategy, rounds=40, batch=8)
    assert best < 2e-3, (algorithm, best)


def test_registry_names_pass_through():
    names = available_algorithms()
    assert {"CMA_ES", "SimpleGA", "DifferentialEvolution", "PSO", "Open_ES"} <= set(
        names
    )
    with pytest.raises(ValueError, match="unknown evosax algorithm"):
        Evolution("NotAnES")


def test_options_reach_constructor_and_params():
    strategy = make("SimpleGA", popsize=8, crossover_rate=0.5)
    strategy.ask(1)
    assert float(strategy._params.crossover_rate) == 0.5
    with pytest.raises(TypeError, match="no option"):
        make("CMA_ES", popsize=8, not_a_param=1.0).ask(1)


def test_ask_any_n_buffers_generations():
    strategy = make("CMA_ES", popsize=8)
    sizes = [3, 5, 1, 11, 8, 2]
    for n in sizes:
        x = strategy.ask(n)
        assert x.shape == (n, 3)
        strategy.tell(x, quadratic(x))
    strategy.ask(0)
    assert strategy._gen >= 2  # 30 evaluations: at least two full generations of 8


def test_extras_past_the_generation_fill_slots():
    strategy = make("CMA_ES", popsize=8)
    x = strategy.ask(12)  # a generation of 8 plus 4 extras
    assert len({tuple(r) for r in x.round(12)}) == 12
    # the extras (slots 0-3) are told first, then members 4-7: the generation completes
    strategy.tell(x[8:], quadratic(x[8:]))
    strategy.tell(x[4:8], quadratic(x[4:8]))
    strategy.ask(1)
    assert strategy._gen == 1
    # the members of slots 0-3, told late, are kept in the history but not given to the ES
    strategy.tell(x[:4], quadratic(x[:4]))
    assert len(strategy.history_y) == 12


def test_default_popsize_follows_first_batch():
    assert make("CMA_ES")._p is None
    one = make("CMA_ES")
    one.ask(1)
    assert one._p == 7  # 4 + floor(3 ln 3)
    batch = make("CMA_ES")
    batch.ask(6)
    assert batch._p == 6


@pytest.mark.parametrize(
    "algorithm,bounds", [("CMA_ES", "clip"), ("CMA_ES", "reflect"), ("PSO", "clip")]
)
def test_bounds_and_levels_respected(algorithm, bounds):
    kwargs = {"std_init": 40.0} if algorithm == "CMA_ES" else {"inertia_coeff": 3.0}
    strategy = make(algorithm, popsize=8, bounds=bounds, **kwargs)
    for _ in range(12):
        x = strategy.ask(8)
        assert np.all((x >= 0.0) & (x <= 1.0))
        centres = (np.arange(10) + 0.5) / 10
        assert np.all(np.min(np.abs(x[:, 2:3] - centres), axis=1) < 1e-12)
        strategy.tell(x, -quadratic(x))  # pushes towards the corners


def test_deterministic_given_seed():
    a, b, c = make(seed=3, popsize=8), make(seed=3, popsize=8), make(seed=4, popsize=8)
    for n in (5, 8, 3):
        xa, xb, xc = a.ask(n), b.ask(n), c.ask(n)
        np.testing.assert_array_equal(xa, xb)
        assert not np.allclose(xa, xc)
        a.tell(xa, quadratic(xa))
        b.tell(xb, quadratic(xb))
        c.tell(xc, quadratic(xc))


@pytest.mark.parametrize("algorithm", ["CMA_ES", "DifferentialEvolution"])
def test_state_round_trip_resumes_identically(algorithm):
    original = make(algorithm, seed=7, popsize=8)
    for n in (5, 8, 8):
        x = original.ask(n)
        original.tell(x, quadratic(x))
    pending = original.ask(
        3
    )  # asked, not told: the resumed copy must not serve them again
    state = json.loads(json.dumps(original.state_dict()))

    resumed = Evolution(algorithm, popsize=8)
    resumed.bind(DIMS)
    resumed.load_state_dict(state)
    original.tell(pending, quadratic(pending))
    resumed.tell(pending, quadratic(pending))
    for n in (4, 8, 6):
        xo, xr = original.ask(n), resumed.ask(n)
        np.testing.assert_array_equal(xo, xr)
        original.tell(xo, quadratic(xo))
        resumed.tell(xr, quadratic(xr))


def test_replaying_tells_rebuilds_the_es():
    original = make(seed=11, popsize=8)
    told_x, told_y = [], []
    for n in (8, 4, 4, 8):
        x = original.ask(n)
        y = quadratic(x)
        original.tell(x, y)
        told_x.append(x)
        told_y.append(y)
    fresh = make(seed=11, popsize=8)
    fresh.tell(np.concatenate(told_x), np.concatenate(told_y))
    np.testing.assert_array_equal(original.ask(8), fresh.ask(8))

    # loading the state and then replaying the same tells does not count them twice
    again = make(seed=11, popsize=8)
    again.load_state_dict(json.loads(json.dumps(fresh.state_dict())))
    again.tell(np.concatenate(told_x), np.concatenate(told_y))
    assert len(again.history_y) == len(fresh.history_y)


def test_single_objective_only():
    strategy = make(popsize=8)
    x = strategy.ask(2)
    with pytest.raises(ValueError, match="single objective"):
        strategy.tell(x, np.zeros((2, 2)))


def test_population_size_rounded_to_what_the_algorithm_accepts():
    strategy = make("Open_ES", popsize=7)  # antithetic sampling needs an even size
    assert strategy.ask(3).shape == (3, 3)
    assert strategy._p == 8


def test_resample_draws_inside_the_box_instead_of_piling_on_bounds():
    """A wide CMA-ES: clipping puts many coordinates on a bound, resampling almost none."""
    on_bound = {}
    for bounds in ("clip", "resample"):
        strategy = make("CMA_ES", popsize=8, bounds=bounds, std_init=3.0)
        x = np.concatenate([strategy.ask(8) for _ in range(1)])
        floats = x[:, :2]
        on_bound[bounds] = np.mean((floats == 0.0) | (floats == 1.0))
    assert on_bound["clip"] > 0.2
    assert on_bound["resample"] < 0.05


def test_one_at_a_time_runs_whole_generations():
    """Asked and told one point at a time, the ES advances once per full generation."""
    strategy = make("CMA_ES")
    strategy.ask(1)
    p = strategy._p
    assert p == 7  # the CMA-ES default 4 + floor(3 ln 3), as Optuna's CmaEsSampler uses
    gens = []
    for i in range(3 * p):
        x = strategy.ask(1) if i else strategy._pheno[0][:1]
        strategy.tell(x, quadratic(x))
        gens.append(strategy._gen)
    strategy.ask(0)
    # the generation counter moves only when all p members of a generation are told
    assert strategy._gen == 3 and gens[p - 2] == 0
    assert len(strategy.history_y) == 3 * p
