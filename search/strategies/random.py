"""Random search: independent uniform points, or a scrambled Sobol sequence.

Notation: points are drawn in the encoded box ``[0, 1]^d``; discrete coordinates decode by
bin, so each level is equally likely. The Sobol option draws from a scrambled Sobol
low-discrepancy sequence (Owen scrambling, :class:`scipy.stats.qmc.Sobol`), which covers the
box more evenly than independent draws for small budgets.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from search.strategies.base import Strategy

__all__ = ["RandomSearch"]


class RandomSearch(Strategy):
    """Uniform random search in the unit box.

    Args:
      sobol: draw a scrambled Sobol sequence instead of independent uniforms.
      seed: random seed (the study overrides it with its own in ``bind``).
    """

    name = "random"

    def __init__(self, sobol: bool = False, seed: int | None = None) -> None:
        super().__init__(seed)
        self.sobol = bool(sobol)
        self._engine: Any = None
        self._drawn = 0

    def get_config(self) -> dict[str, Any]:
        return {"sobol": self.sobol}

    def bind(self, dims, seed=None) -> None:
        super().bind(dims, seed)
        self._drawn = 0
        self._engine = None
        if self.sobol and self.d > 0:
            from scipy.stats import qmc

            self._engine = qmc.Sobol(self.d, scramble=True, rng=np.random.default_rng(self.seed))

    def ask(self, n: int) -> np.ndarray:
        if self._engine is None:
            x = self.rng.random((n, self.d))
        else:
            with warnings.catch_warnings():
                # Sobol balance is best for powers of two; any n is still a valid draw.
                warnings.simplefilter("ignore", UserWarning)
                x = self._engine.random(n)
        self._drawn += n
        return np.asarray(x, dtype=float).reshape(n, self.d)

    def tell(self, x: np.ndarray, y: np.ndarray) -> None:
        del x, y  # random search does not learn

    def state_dict(self) -> dict[str, Any]:
        return {"drawn": self._drawn, "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._drawn = int(state.get("drawn", 0))
        if "rng" in state:
            self.rng.bit_generator.state = state["rng"]
        if self._engine is not None and self._drawn:
            self._engine.fast_forward(self._drawn)
