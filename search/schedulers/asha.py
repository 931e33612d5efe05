"""Successive halving, synchronous and asynchronous (ASHA).

Notation (Li et al., 2020, "A System for Massively Parallel Hyperparameter Tuning",
Algorithm 2): with minimum resource ``r``, reduction factor ``eta`` and minimum early-stopping
rate ``s``, rung ``k`` sits at step ``r * eta^(s + k)``. When a trial first reaches rung
``k`` it continues iff its value there is among the best ``max(1, floor(n_k / eta))`` of the
``n_k`` values recorded at that rung so far (its own included); otherwise it stops. A
trial's value at a rung is the one reported at the first step ``>=`` the rung.
"""

from __future__ import annotations

import math

import numpy as np

from search.schedulers.base import History, Scheduler, is_bad

__all__ = ["SuccessiveHalving", "ASHA"]


class SuccessiveHalving(Scheduler):
    """Asynchronous successive halving: keep the top ``1/eta`` at each rung.

    Args:
      min_resource: step of the first rung (``r``).
      eta: reduction factor (keep ``1/eta`` per rung), at least 2.
      min_early_stopping_rate: ``s``; rungs start at ``r * eta^s``.
      max_resource: no rung at or beyond this step (a trial there just finishes).
    """

    def __init__(
        self, min_resource: int = 1, eta: float = 3, min_early_stopping_rate: int = 0,
        max_resource: int | None = None,
    ) -> None:
        super().__init__()
        if min_resource <= 0 or eta < 2 or min_early_stopping_rate < 0:
            raise ValueError("need min_resource > 0, eta >= 2 and min_early_stopping_rate >= 0")
        self.min_resource = min_resource
        self.eta = eta
        self.min_early_stopping_rate = int(min_early_stopping_rate)
        self.max_resource = max_resource

    def rung_step(self, k: int) -> float:
        """Step of rung ``k``."""
        return self.min_resource * self.eta ** (self.min_early_stopping_rate + k)

    def rungs_up_to(self, step: float) -> list[int]:
        """Rung indices whose step is ``<= step`` (and below ``max_resource``)."""
        out, k = [], 0
        while self.rung_step(k) <= step and (self.max_resource is None
                                             or self.rung_step(k) < self.max_resource):
            out.append(k)
            k += 1
        return out

    @staticmethod
    def _value_at(h: dict[int, float] | History, rung: float) -> float | None:
        steps = [s for s in h if s >= rung]
        return h[min(steps)] if steps else None

    def should_stop(self, trial_id: int, step: int, value: float, history: History) -> bool:
        if is_bad(value):
            return True
        rungs = self.rungs_up_to(step)
        if not rungs:
            return False
        prior = [s for s in history.get(trial_id, {}) if s < step]
        k = rungs[-1]
        if prior and max(prior) >= self.rung_step(k):
            return False  # already judged at this rung
        rung = self.rung_step(k)
        others = [
            v for tid, h in history.items()
            if tid != trial_id and (v := self._value_at(h, rung)) is not None and np.isfinite(v)
        ]
        values = np.sort(np.array(others + [value]))
        keep = max(1, int(math.floor(len(values) / self.eta)))
        return bool(value > values[keep - 1])


ASHA = SuccessiveHalving
