"""Test problems shared by the model-based strategy tests (GP, TPE): functions on the unit box."""

from __future__ import annotations

import math

import numpy as np

from search.strategies.base import Dimension

FLOAT2 = [Dimension("x0", "float"), Dimension("x1", "float")]
MIXED = [
    Dimension("a", "float"),
    Dimension("b", "float"),
    Dimension("c", "float", log=True),
    Dimension("units", "int", levels=7),
    Dimension("act", "categorical", levels=4),
]


def branin(u: np.ndarray) -> float:
    """Branin on the unit square, shifted so that its minimum is 0."""
    x1, x2 = -5 + 15 * u[0], 15 * u[1]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10 - 0.397887


def mixed_quadratic(u: np.ndarray) -> float:
    """Minimum 0 at floats (0.3, 0.7, 0.2), int level 4 of 7, category 2 of 4."""
    level = min(int(u[3] * 7), 6)
    cat = min(int(u[4] * 4), 3)
    return float(np.sum((u[:3] - [0.3, 0.7, 0.2]) ** 2) * 10 + 0.2 * (level - 4) ** 2 + (cat != 2))


def run(strategy, dims, f, budget: int, batch: int = 1, seed: int = 0) -> float:
    strategy.bind(dims, seed=seed)
    best = math.inf
    for _ in range(budget // batch):
        x = strategy.ask(batch)
        assert x.shape == (batch, len(dims)) and np.all((x >= 0) & (x <= 1))
        y = np.array([f(xi) for xi in x])
        best = min(best, y.min())
        strategy.tell(x, y)
    return best


def random_best(dims, f, budget: int, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    return min(f(x) for x in rng.random((budget, len(dims))))
