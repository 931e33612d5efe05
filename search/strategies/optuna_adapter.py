"""Any Optuna sampler as a strategy, through Optuna's ask-and-tell interface.

Notation: each encoded coordinate becomes one Optuna distribution: a continuous coordinate
is ``FloatDistribution(0, 1)``; a coordinate with ``k`` levels is ``IntDistribution(0, k-1)``
for ordered kinds (ints, stepped floats) and ``CategoricalDistribution(range(k))`` for
categoricals; level ``i`` maps back to its bin centre ``(i + 0.5) / k``. The sampler works
on an in-memory Optuna study of its own, every objective minimised.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from search.errors import StrategyUnavailableError
from search.strategies.base import Dimension, Strategy

__all__ = ["OptunaSampler"]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silences Optuna's per-trial INFO lines while it works for us, then restores them."""
    import optuna

    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(max(level, optuna.logging.WARNING))
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)


class OptunaSampler(Strategy):
    """Runs an Optuna sampler (TPE, GP, CMA-ES, NSGA-II, QMC, ...) behind the strategy contract.

    Args:
      sampler: an ``optuna.samplers.BaseSampler``; ``None`` builds a seeded ``TPESampler``.
      n_objectives: number of objectives; ``None`` lets the study fill it in.
      seed: seed for the default sampler.

    Raises:
      StrategyUnavailableError: optuna is not installed (it is an optional dependency).

    Observations from outside this sampler (other processes, replay on resume) are added to
    the Optuna study as finished trials, so the sampler learns from them too.
    """

    name = "optuna"

    def __init__(self, sampler: Any = None, n_objectives: int | None = None,
                 seed: int | None = None) -> None:
        if importlib.util.find_spec("optuna") is None:  # here, not once a study is stored
            raise StrategyUnavailableError(
                "strategy 'optuna' needs optuna, which is not installed; pip install optuna")
        super().__init__(seed)
        self.sampler = sampler
        self.n_objectives = n_objectives
        self._study: Any = None
        self._dists: dict[str, Any] = {}
        self._pending: list[tuple[np.ndarray, Any]] = []

    def get_config(self) -> dict[str, Any]:
        return {} if self.n_objectives is None else {"n_objectives": self.n_objectives}

    def bind(self, dims: Sequence[Dimension], seed: int | None = None) -> None:
        import optuna

        super().bind(dims, seed)
        sampler = self.sampler
        if sampler is None:
            sampler = optuna.samplers.TPESampler(seed=self.seed)
        self._dists = {f"x{i}": self._distribution(d) for i, d in enumerate(self.dims)}
        k = self.n_objectives or 1
        with _quiet():
            self._study = optuna.create_study(sampler=sampler, directions=["minimize"] * k)
        self._pending = []

    @staticmethod
    def _distribution(d: Dimension) -> Any:
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        if d.levels is None:
            return FloatDistribution(0.0, 1.0)
        if d.kind == "categorical":
            return CategoricalDistribution(list(range(d.levels)))
        return IntDistribution(0, d.levels - 1)

    def _encode(self, params: dict[str, Any]) -> np.ndarray:
        out = np.empty(self.d)
        for i, d in enumerate(self.dims):
            v = params[f"x{i}"]
            out[i] = float(v) if d.levels is None else (int(v) + 0.5) / d.levels
        return out

    def _params(self, x: np.ndarray) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for i, d in enumerate(self.dims):
            if d.levels is None:
                out[f"x{i}"] = float(np.clip(x[i], 0.0, 1.0))
            else:
                out[f"x{i}"] = int(min(max(int(np.floor(x[i] * d.levels)), 0), d.levels - 1))
        return out

    def ask(self, n: int) -> np.ndarray:
        rows = []
        for _ in range(n):
            trial = self._study.ask(self._dists)
            x = self._encode(trial.params)
            self._pending.append((x, trial))
            rows.append(x)
        return np.array(rows, dtype=float).reshape(n, self.d)

    def tell(self, x: np.ndarray, y: np.ndarray) -> None:
        with _quiet():
            self._tell(x, y)

    def _tell(self, x: np.ndarray, y: np.ndarray) -> None:
        import optuna

        x = np.asarray(x, dtype=float).reshape(-1, self.d)
        y = np.asarray(y, dtype=float).reshape(x.shape[0], -1)
        for xi, yi in zip(x, y):
            values = [float(v) for v in yi]
            match = next((j for j, (px, _) in enumerate(self._pending)
                          if np.allclose(px, xi)), None)
            if match is not None:
                _, trial = self._pending.pop(match)
                self._study.tell(trial, values if len(values) > 1 else values[0])
            else:
                self._study.add_trial(optuna.trial.create_trial(
                    params=self._params(xi), distributions=self._dists,
                    values=values, state=optuna.trial.TrialState.COMPLETE,
                ))
