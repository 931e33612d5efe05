"""PBT: truncation selection, perturb/resample in encoded space, lineage."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from search.strategies.base import Dimension
from search.strategies.pbt import PBT

MIXED = (
    Dimension("dropout", "float"),
    Dimension("lr", "float", log=True),
    Dimension("units", "int", levels=5),
    Dimension("act", "categorical", levels=3),
)


def make(dims=MIXED, seed: int = 0, **kwargs) -> PBT:
    strategy = PBT(seed=seed, **kwargs)
    strategy.bind(dims)
    return strategy


def level(u: np.ndarray, k: int) -> np.ndarray:
    return np.clip(np.floor(u * k), 0, k - 1).astype(int)


def test_bottom_quantile_copies_top_members():
    pbt = make()
    x = make(seed=1)._sample_prior(8)
    scores = np.array([5.0, 1.0, 7.0, 3.0, 8.0, 2.0, 6.0, 4.0])  # lower is better
    new_x, parent = pbt.exploit_explore(x, scores)
    bottom, top = {4, 2}, {1, 5}  # worst two and best two of eight
    for i in range(8):
        if i in bottom:
            assert parent[i] in top
        else:
            assert parent[i] == i
            np.testing.assert_array_equal(new_x[i], x[i])
    # maximize flips the ranking
    _, parent = pbt.exploit_explore(x, -scores, maximize=True)
    assert {i for i in range(8) if parent[i] != i} == bottom


def test_nan_scores_rank_last():
    pbt = make()
    x = pbt._sample_prior(4)
    _, parent = pbt.exploit_explore(x, np.array([1.0, np.nan, 0.5, 2.0]))
    assert parent[1] in (0, 2) and parent[0] == 0


def test_perturb_only_moves_by_the_factors():
    pbt = make(resample_prob=0.0)
    x = np.array([[0.5, 0.5, 0.5, 0.5]])  # levels 2 of 5 and 1 of 3
    for _ in range(50):
        out, resampled = pbt.explore(x[0])
        assert not resampled
        assert math.isclose(out[0], 0.4) or math.isclose(out[0], 0.6)
        shifts = [
            math.log(f) / math.log(1e4) for f in (0.8, 1.2)
        ]  # v * f on a log axis
        assert any(math.isclose(out[1] - 0.5, s, rel_tol=1e-9) for s in shifts)
        assert level(out[2:3], 5)[0] in (1, 3)  # a neighbouring level
        assert level(out[3:4], 3)[0] in (0, 2)  # another category


def test_explored_points_stay_in_box_and_on_levels():
    pbt = make(seed=3, perturb=(0.5, 2.0, 3.0))
    x = pbt._sample_prior(16)
    scores = np.arange(16.0)
    centres5 = (np.arange(5) + 0.5) / 5
    centres3 = (np.arange(3) + 0.5) / 3
    for step in range(40):
        x, _ = pbt.exploit_explore(x, scores[::-1] if step % 2 else scores)
        assert np.all((x >= 0.0) & (x <= 1.0))
        assert np.all(np.min(np.abs(x[:, 2:3] - centres5), axis=1) < 1e-12)
        assert np.all(np.min(np.abs(x[:, 3:4] - centres3), axis=1) < 1e-12)


def test_lineage_recorded():
    pbt = make()
    x = pbt._sample_prior(8)
    scores = np.arange(8.0)
    x, _ = pbt.exploit_explore(x, scores)
    x, parent2 = pbt.exploit_explore(x, scores[::-1])
    events = [e for e in pbt.lineage if e["kind"] == "exploit"]
    assert len(events) == 4 and {e["step"] for e in events} == {0, 1}
    for e in events:
        assert e["parent_score"] <= e["member_score"] or e["step"] == 1
    replaced = int(np.flatnonzero(parent2 != np.arange(8))[0])
    chain = pbt.ancestry(replaced)
    assert chain[0] == (1, int(parent2[replaced]))
    json.dumps(pbt.lineage)  # stored with the study


def test_strategy_ask_tell_and_resume():
    pbt = make(seed=5, population_size=6)
    x0 = pbt.ask(6)
    assert all(e["parent"] is None for e in pbt.lineage)
    y0 = np.sum((x0 - 0.3) ** 2, axis=1)
    pbt.tell(x0, y0)
    children = pbt.ask(4)
    best = set(np.argsort(y0)[:2])  # ceil(0.25 * 6) = 2 parents
    assert {e["parent"] for e in pbt.lineage[6:]} <= best
    assert children.shape == (4, 4) and np.all((children >= 0) & (children <= 1))

    state = json.loads(json.dumps(pbt.state_dict()))
    resumed = make(seed=99)
    resumed.load_state_dict(state)
    resumed.tell(x0, y0)  # a replayed tell is not counted twice
    assert len(resumed.history_y) == 6
    np.testing.assert_array_equal(pbt.ask(5), resumed.ask(5))


def _toy_training(seed: int, moving: bool) -> tuple[float, float]:
    """A population "trains" for `epochs` epochs; progress per epoch peaks when u is at c(t).

    Returns the best final progress under PBT and the best progress any member of the
    same initial population would reach keeping its initial value.
    """
    size, epochs, ready = 10, 40, 2
    pbt = make((Dimension("lr", "float"),), seed=seed)
    rng = np.random.default_rng(100 + seed)
    if moving:  # the best value decays, as a learning rate schedule would
        u = rng.random((size, 1))

        def centre(t):
            return 0.85 - 0.6 * t / epochs
    else:  # a fixed optimum that no initial member is near
        u = rng.uniform(0.05, 0.4, (size, 1))

        def centre(t):
            return 0.7

    def rate(v, t):
        return np.exp(-(((v[:, 0] - centre(t)) / 0.15) ** 2))

    fixed = float(sum(rate(u, t) for t in range(epochs)).max())
    progress = np.zeros(size)
    for t in range(epochs):
        progress += rate(u, t)
        if (t + 1) % ready == 0 and t < epochs - 1:
            u, parent = pbt.exploit_explore(u, progress, maximize=True)
            progress = progress[parent]  # the copied member loads its parent's weights
    return float(progress.max()), fixed


@pytest.mark.parametrize("moving", [True, False])
def test_pbt_beats_best_fixed_initial_value(moving):
    for seed in range(5):
        pbt_best, fixed_best = _toy_training(seed, moving)
        assert pbt_best > 1.2 * fixed_best, (seed, pbt_best, fixed_best)


def test_bad_options():
    with pytest.raises(ValueError, match="quantile"):
        PBT(quantile=0.7)
    with pytest.raises(ValueError, match="perturb"):
        PBT(perturb=(0.0, 1.2))
