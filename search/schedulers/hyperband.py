"""Hyperband (Li et al., 2018, JMLR 18(185), Algorithm 1) as brackets of ASHA.

Notation: with ``R = max_resource / min_resource`` and ``s_max = floor(log_eta R)``,
bracket ``b`` in ``0..s_max`` runs successive halving with minimum early-stopping rate
``b`` (its first rung at ``min_resource * eta^b``). Bracket ``b`` starts
``ceil((s_max + 1) / (b + 1) * eta^(s_max - b))`` configurations per Hyperband iteration,
so trials are dealt to brackets in those proportions, by trial id. A trial competes only
with trials of its own bracket.
"""

from __future__ import annotations

import math

from search.schedulers.asha import SuccessiveHalving
from search.schedulers.base import History, Scheduler

__all__ = ["Hyperband"]


class Hyperband(Scheduler):
    """Several successive-halving brackets trading exploration against early stopping.

    Args:
      min_resource: smallest step at which a trial may stop.
      max_resource: the full training length (steps).
      eta: reduction factor, at least 2.
    """

    def __init__(self, min_resource: int = 1, max_resource: int = 81, eta: float = 3) -> None:
        super().__init__()
        if not 0 < min_resource < max_resource:
            raise ValueError("need 0 < min_resource < max_resource")
        self.min_resource, self.max_resource, self.eta = min_resource, max_resource, eta
        s_max = int(math.floor(math.log(max_resource / min_resource, eta) + 1e-9))
        self.brackets = [
            SuccessiveHalving(min_resource, eta, min_early_stopping_rate=b,
                              max_resource=max_resource)
            for b in range(s_max + 1)
        ]
        counts = [math.ceil((s_max + 1) / (b + 1) * eta ** (s_max - b)) for b in range(s_max + 1)]
        self._deal = [b for b, c in enumerate(counts) for _ in range(c)]

    def bracket_of(self, trial_id: int) -> int:
        """The bracket a trial belongs to."""
        return self._deal[trial_id % len(self._deal)]

    def should_stop(self, trial_id: int, step: int, value: float, history: History) -> bool:
        b = self.bracket_of(trial_id)
        mine = {t: h for t, h in history.items() if self.bracket_of(t) == b}
        return self.brackets[b].should_stop(trial_id, step, value, mine)
