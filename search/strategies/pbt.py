"""Population Based Training's exploit and explore steps over encoded hyperparameters.

Reference: Jaderberg et al., "Population Based Training of Neural Networks", 2017
(arXiv:1711.09846), section 3 and appendix A.1: *truncation selection* (a member in the
bottom ``quantile`` of the population by score copies the weights and hyperparameters of a
uniformly chosen member of the top ``quantile``) followed by *perturb* (each hyperparameter
multiplied by 0.8 or 1.2) or *resample* (drawn again from the prior).

Notation: a population of ``n`` members, encoded coordinates ``u in [0, 1]^d``, scores
minimised (the strategy contract's convention; pass ``maximize=True`` for accuracies).

Explore, per coordinate, in encoded space (a strategy sees only encoded coordinates, which
are affine in the value for linear dims and in its logarithm for log dims):

* with probability ``resample_prob``: a uniform draw from the coordinate's prior (a bin
  centre when it has levels);
* otherwise a factor ``f`` is drawn uniformly from ``perturb`` and

  - linear float: ``u' = clip(u * f)``. The encoded coordinate is ``(v - lo) / (hi - lo)``,
    so this scales the value's offset above its lower bound by ``f``; for the usual
    hyperparameters with ``lo = 0`` (dropout, weight decay, momentum) it is exactly PBT's
    ``v' = v * f``.
  - log float: ``u' = clip(u + ln(f) / L)``. For ``u = ln(v / lo) / ln(hi / lo)``,
    ``v' = v * f`` is exactly this shift with ``L = ln(hi / lo)``. The span ``L`` is not
    part of the encoded space, so it is an option, ``log_span`` (default ``ln(1e4)``: four
    decades, a typical learning-rate range), per dimension name if needed.
  - ordered levels (ints, stepped floats): the neighbouring level, up when ``f > 1`` and
    down when ``f < 1`` (the other neighbour at an end).
  - categorical: a uniformly chosen other level, since categories have no neighbours.

As a :class:`~search.strategies.base.Strategy` (for studies without weights to copy),
``ask`` first returns a uniform random population (``population_size`` points, by default
the first ``ask``'s ``n``); once that population is told, every asked point is an explore
step from a parent chosen uniformly among the top ``quantile`` of all told points.
A population trainer calls :meth:`PBT.exploit_explore` every few epochs instead. Both
record their lineage in :attr:`PBT.lineage`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from search.strategies.base import Dimension, Strategy, single_objective

__all__ = ["PBT"]


class PBT(Strategy):
    """Population Based Training: truncation selection, then perturb or resample.

    Args:
      quantile: fraction of the population in the top and in the bottom group (0, 0.5].
      resample_prob: probability that a coordinate is resampled instead of perturbed.
      perturb: factors a continuous hyperparameter may be multiplied by.
      population_size: size of the initial random population served by ``ask``
        (``None``: the first ``ask``'s ``n``).
      log_span: ``ln(hi / lo)`` assumed for log-scaled coordinates, one number or a
        mapping from dimension name to number.
      seed: random seed (``bind`` may override it).

    Attributes:
      lineage: one dict per explore step. ``exploit_explore`` records
        ``{"kind": "exploit", "step", "member", "parent", "member_score",
        "parent_score", "resampled"}``; ``ask`` records ``{"kind": "ask", "index",
        "parent", "resampled"}`` with ``parent`` an index into the told history
        (``None`` for the initial random population).
    """

    name = "pbt"

    def __init__(
        self,
        quantile: float = 0.25,
        resample_prob: float = 0.25,
        perturb: Sequence[float] = (0.8, 1.2),
        *,
        population_size: int | None = None,
        log_span: float | Mapping[str, float] = math.log(1e4),
        seed: int | None = None,
    ) -> None:
        super().__init__(seed)
        if not 0.0 < quantile <= 0.5:
            raise ValueError(f"quantile must be in (0, 0.5], got {quantile}")
        if not 0.0 <= resample_prob <= 1.0:
            raise ValueError(f"resample_prob must be in [0, 1], got {resample_prob}")
        perturb = tuple(float(f) for f in perturb)
        if not perturb or any(not f > 0 for f in perturb):
            raise ValueError(f"perturb factors must be positive numbers, got {perturb}")
        if population_size is not None and population_size < 2:
            raise ValueError(
                f"population_size must be at least 2, got {population_size}"
            )
        self.quantile = float(quantile)
        self.resample_prob = float(resample_prob)
        self.perturb = perturb
        self.population_size = population_size
        self.log_span = log_span
        self._reset()

    def bind(self, dims: Sequence[Dimension], seed: int | None = None) -> None:
        super().bind(dims, seed)
        self._reset()

    def _reset(self) -> None:
        self._p = self.population_size
        self._asked = 0
        self._step = 0
        self.history_x: list[list[float]] = []
        self.history_y: list[float] = []
        self.lineage: list[dict[str, Any]] = []

    # ------------------------------------------------------------- explore
    def _span(self, dim: Dimension) -> float:
        if isinstance(self.log_span, Mapping):
            return float(self.log_span.get(dim.name, math.log(1e4)))
        return float(self.log_span)

    def _sample_prior(self, n: int) -> np.ndarray:
        u = self.rng.random((n, self.d))
        for j, dim in enumerate(self.dims):
            if dim.levels:
                u[:, j] = (np.floor(u[:, j] * dim.levels) + 0.5) / dim.levels
        return u

    def explore(self, x: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """Perturbs or resamples every coordinate of one point (module docstring).

        Returns:
          the new point and the names of the resampled coordinates.
        """
        x = np.asarray(x, dtype=np.float64)
        out = x.copy()
        resampled = []
        for j, dim in enumerate(self.dims):
            k = dim.levels
            if self.rng.random() < self.resample_prob:
                resampled.append(dim.name)
                u = self.rng.random()
                out[j] = (math.floor(u * k) + 0.5) / k if k else u
                continue
            f = self.perturb[int(self.rng.integers(len(self.perturb)))]
            if k:
                level = min(max(math.floor(x[j] * k), 0), k - 1)
                if k == 1:
                    new = 0
                elif dim.kind == "categorical":
                    new = int(self.rng.integers(k - 1))
                    new += new >= level  # any level but the current one
                else:
                    step = 1 if f > 1 else -1 if f < 1 else 0
                    new = level + step
                    if not 0 <= new < k:
                        new = level - step
                out[j] = (new + 0.5) / k
            elif dim.log:
                out[j] = min(max(x[j] + math.log(f) / self._span(dim), 0.0), 1.0)
            else:
                out[j] = min(max(x[j] * f, 0.0), 1.0)
        return out, resampled

    def _n_replace(self, n: int) -> int:
        if n < 2:
            return 0
        return min(max(1, int(self.quantile * n)), n // 2)

    def exploit_explore(
        self, x_pop: np.ndarray, scores: np.ndarray, *, maximize: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """One PBT ready step over a population.

        The bottom ``quantile`` members (by score; NaN counts as worst) each copy a
        uniformly chosen member of the top ``quantile`` and explore from its point; the
        others keep their point.

        Args:
          x_pop: ``(n, d)`` encoded hyperparameters of the population.
          scores: ``(n,)`` current scores, lower is better unless ``maximize``.
          maximize: whether higher scores are better.

        Returns:
          ``(new_x, parent_index)``: the population's next points ``(n, d)``, and for each
          member the member whose weights it must load (itself when it was kept).
        """
        x_pop = np.asarray(x_pop, dtype=np.float64)
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        if x_pop.ndim != 2 or x_pop.shape[1] != self.d or len(scores) != len(x_pop):
            raise ValueError(
                f"exploit_explore needs x_pop of shape (n, {self.d}) and n scores; got "
                f"{x_pop.shape} and {scores.shape}"
            )
        n = len(x_pop)
        key = -scores if maximize else scores
        key = np.where(np.isnan(key), np.inf, key)
        order = np.argsort(key, kind="stable")
        k = self._n_replace(n)
        top, bottom = order[:k], order[n - k :]
        new_x = x_pop.copy()
        parent = np.arange(n)
        for member in bottom:
            src = int(top[self.rng.integers(k)])
            new_x[member], resampled = self.explore(x_pop[src])
            parent[member] = src
            self.lineage.append(
                {
                    "kind": "exploit",
                    "step": self._step,
                    "member": int(member),
                    "parent": src,
                    "member_score": float(scores[member]),
                    "parent_score": float(scores[src]),
                    "resampled": resampled,
                }
            )
        self._step += 1
        return new_x, parent

    def ancestry(self, member: int) -> list[tuple[int, int]]:
        """``(step, parent)`` pairs from ``member``'s latest exploit back to the start."""
        events = {
            (e["step"], e["member"]): e["parent"]
            for e in self.lineage
            if e["kind"] == "exploit"
        }
        out, cur = [], member
        for step in range(self._step - 1, -1, -1):
            if (step, cur) in events:
                cur = events[(step, cur)]
                out.append((step, cur))
        return out

    # ------------------------------------------------------------ contract
    def ask(self, n: int) -> np.ndarray:
        """The initial random population, then explore steps from top told points."""
        if self.d == 0:
            raise RuntimeError("PBT.ask called before bind(dims)")
        if self._p is None:
            self._p = max(2, n)
        out = np.empty((n, self.d))
        if len(self.history_y) < self._p:
            out[:] = self._sample_prior(n)
            for i in range(n):
                self.lineage.append(
                    {
                        "kind": "ask",
                        "index": self._asked + i,
                        "parent": None,
                        "resampled": [],
                    }
                )
        else:
            y = np.asarray(self.history_y)
            top = np.argsort(y, kind="stable")[
                : max(1, math.ceil(self.quantile * self._p))
            ]
            hx = np.asarray(self.history_x)
            seen: set[tuple] = set()
            for i in range(n):
                src = int(top[self.rng.integers(len(top))])
                out[i], resampled = self.explore(hx[src])
                # a batch holds distinct points: explore again, then resample, on a repeat
                for attempt in range(16):
                    key = tuple(np.round(out[i], 12))
                    if key not in seen:
                        break
                    if attempt < 8:
                        out[i], resampled = self.explore(hx[src])
                    else:
                        out[i], resampled = self._sample_prior(1)[0], list(range(self.d))
                seen.add(tuple(np.round(out[i], 12)))
                self.lineage.append(
                    {
                        "kind": "ask",
                        "index": self._asked + i,
                        "parent": src,
                        "resampled": resampled,
                    }
                )
        self._asked += n
        return out

    def tell(self, x: np.ndarray, y: np.ndarray) -> None:
        """Adds finished trials to the history parents are chosen from.

        A point told again with the same value (a study replaying its trials after
        :meth:`load_state_dict`) is recorded once.
        """
        x, y = single_objective(
            x, y, "PBT ranks a single objective; got values of shape {shape}")
        for row, value in zip(x, y):
            if self._seen(row, float(value)):
                continue  # the same trial told again, e.g. replayed after a resume
            self.history_x.append([float(v) for v in row])
            self.history_y.append(float(value))

    def _seen(self, x: np.ndarray, y: float) -> bool:
        if not self.history_y:
            return False
        same_x = np.max(np.abs(np.asarray(self.history_x) - x), axis=1) <= 1e-9
        return bool(np.any(same_x & (np.asarray(self.history_y) == y)))

    # -------------------------------------------------------------- resume
    def state_dict(self) -> dict[str, Any]:
        """History, lineage, counters and the generator state (all JSON)."""
        return {
            "population_size": self._p,
            "asked": self._asked,
            "step": self._step,
            "x": [list(v) for v in self.history_x],
            "y": list(self.history_y),
            "lineage": [dict(e) for e in self.lineage],
            "rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores what :meth:`state_dict` returned."""
        self._p = state["population_size"]
        self._asked = int(state["asked"])
        self._step = int(state["step"])
        self.history_x = [list(map(float, v)) for v in state["x"]]
        self.history_y = [float(v) for v in state["y"]]
        self.lineage = [dict(e) for e in state["lineage"]]
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = state["rng"]
