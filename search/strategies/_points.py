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
    _y: list
    rng: np.random.Generator
    d: int

    def _reset_points(self) -> None:
        """Forgets every told and pending point and the Sobol sequence."""
        self._X = np.zeros((0, self.d))
        self._y = []
        self._pending = np.zeros((0, self.d))
        self._n_sobol = 0
        self._sobol = np.zeros((0, self.d))

    def _record(self, x: np.ndarray, y: np.ndarray) -> None:
        """Adds told points ``x`` (snapped) with values ``y``; they are no longer pending."""
        self._X = np.concatenate([self._X, x])
        self._y.extend(list(y))
        for xi in x:
            if len(self._pending):
                hit = np.flatnonzero(self._same(self._pending, xi))
                if len(hit):
                    self._pending = np.delete(self._pending, hit[0], axis=0)

    def _add_pending(self, x: np.ndarray) -> None:
        """Remembers an asked point ``x`` until it is told (the latest ``MAX_PENDING``)."""
        self._pending = np.concatenate([self._pending, x[None]])[-MAX_PENDING:]

    def _points_state(self) -> dict:
        """The pending points and the use of the Sobol sequence, for ``state_dict``."""
        return {"pending": self._pending.tolist(), "n_sobol": self._n_sobol}

    def _load_points_state(self, state: dict) -> None:
        """Restores what :meth:`_points_state` saved (nothing pending where it is absent)."""
        self._pending = np.asarray(state.get("pending", []), dtype=np.float64).reshape(-1, self.d)
        self._n_sobol = int(state.get("n_sobol", 0))

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
