"""Exhaustive grid search over the encoded box.

Notation: a coordinate with ``k`` levels contributes its bin centres ``(i + 0.5) / k``; a
continuous coordinate contributes ``n_points`` evenly spaced values ``j / (n_points - 1)``
(both ends included). The grid is their Cartesian product, enumerated in mixed radix
(last coordinate fastest) or in a seeded random order, without materialising it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from search.errors import SearchExhausted
from search.strategies.base import Strategy

__all__ = ["GridSearch"]


class GridSearch(Strategy):
    """Visits every grid point once, then raises :class:`~search.errors.SearchExhausted`.

    Args:
      n_points: values per continuous coordinate (at least 2).
      shuffle: visit the grid in a seeded random order (grids up to 10**7 points).
      seed: random seed for ``shuffle``.
    """

    name = "grid"

    def __init__(self, n_points: int = 5, shuffle: bool = False, seed: int | None = None) -> None:
        super().__init__(seed)
        if int(n_points) < 2:
            raise ValueError(f"n_points must be >= 2, got {n_points}")
        self.n_points = int(n_points)
        self.shuffle = bool(shuffle)
        self._axes: list[np.ndarray] = []
        self._cursor = 0
        self._order: np.ndarray | None = None

    def get_config(self) -> dict[str, Any]:
        return {"n_points": self.n_points, "shuffle": self.shuffle}

    def bind(self, dims, seed=None) -> None:
        super().bind(dims, seed)
        self._axes = [
            (np.arange(dim.levels) + 0.5) / dim.levels if dim.levels
            else np.linspace(0.0, 1.0, self.n_points)
            for dim in self.dims
        ]
        self._cursor = 0
        self._order = None
        if self.shuffle:
            if self.size > 10**7:
                raise ValueError(f"grid of {self.size} points is too large to shuffle")
            self._order = self.rng.permutation(self.size)

    @property
    def size(self) -> int:
        """Number of grid points."""
        return math.prod(len(a) for a in self._axes)

    @property
    def remaining(self) -> int:
        """Grid points not yet handed out."""
        return self.size - self._cursor

    def _point(self, index: int) -> np.ndarray:
        out = np.empty(self.d)
        for j in range(self.d - 1, -1, -1):
            index, r = divmod(index, len(self._axes[j]))
            out[j] = self._axes[j][r]
        return out

    def ask(self, n: int) -> np.ndarray:
        if self.remaining <= 0:
            raise SearchExhausted(f"all {self.size} grid points have been proposed")
        take = min(n, self.remaining)
        idx = range(self._cursor, self._cursor + take)
        self._cursor += take
        rows = [self._point(int(self._order[i]) if self._order is not None else i) for i in idx]
        return np.array(rows, dtype=float).reshape(take, self.d)

    def tell(self, x: np.ndarray, y: np.ndarray) -> None:
        del x, y  # the grid is fixed

    def state_dict(self) -> dict[str, Any]:
        return {"cursor": self._cursor}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._cursor = int(state.get("cursor", 0))
