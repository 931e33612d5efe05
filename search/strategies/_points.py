"""The start points and duplicate checks that the model-based strategies (GP, TPE) share.

A strategy using :class:`PointPicker` keeps, in the unit box: ``_levels`` (the number of
levels of each discrete coordinate, 0 for a continuous one), ``_X`` (the told points),
``_pending`` (points asked but not told), ``_sobol`` with ``_n_sobol`` (a scrambled Sobol
sequence and how much of it is used), ``rng`` and ``d``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DUP_TOL", "MAX_PENDING", "PointPicker"]

#: two points closer than this in every coordinate are the same configuration
DUP_TOL = 1e-6
#: the most pending points a strategy remembers
MAX_PENDING = 256


class PointPicker:
    """Snapping to levels, duplicate checks, and Sobol-then-random start points."""

    _levels: np.ndarray
    _X: np.ndarray
    _pending: np.ndarray
    _sobol: np.ndarray
    _n_sobol: int
    rng: np.random.Generator
    d: int

    def _snap(self, x: np.ndarray) -> np.ndarray:
        """Moves coordinates with levels to their bin centres; clips to the unit box."""
        x = np.clip(x, 0.0, 1.0)
        lv = self._levels
        if not np.any(lv):
            return x
        k = np.where(lv > 0, lv, 1)
        snapped = (np.minimum(np.floor(x * k), k - 1) + 0.5) / k
        return np.where(lv > 0, snapped, x)

    @staticmethod
    def _same(A: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Rows of ``A`` that decode to the same configuration as ``x``."""
        return np.all(np.abs(A - x) < DUP_TOL, axis=1)

    def _is_dup(self, x: np.ndarray) -> bool:
        return bool(self._same(self._X, x).any() or self._same(self._pending, x).any())

    def _initial_point(self) -> np.ndarray:
        while self._n_sobol < len(self._sobol):
            x = self._sobol[self._n_sobol]
            self._n_sobol += 1
            if not self._is_dup(x):
                return x
        return self._random_point()

    def _random_point(self) -> np.ndarray:
        for _ in range(100):
            x = self._snap(self.rng.random(self.d))
            if not self._is_dup(x):
                return x
        return x  # the space is (nearly) exhausted: a repeat is unavoidable
