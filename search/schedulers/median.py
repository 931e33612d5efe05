"""Median stopping rule (Golovin et al., 2017, "Google Vizier", §3.2.2).

Notation: trial ``t`` reports ``v_t(s)`` at steps ``s``. At step ``s`` the rule stops trial
``t`` when its best value so far, ``min_{s' <= s} v_t(s')``, is strictly worse than the
median over the other trials ``u`` that reached ``s`` of their running averages
``mean_{s' <= s} v_u(s')``.
"""

from __future__ import annotations

import numpy as np

from search.schedulers.base import History, Scheduler, is_bad

__all__ = ["MedianStopping"]


class MedianStopping(Scheduler):
    """Stops a trial whose best value is worse than the median of the others' running means.

    Args:
      min_trials: other trials that must have reached the step before anything stops.
      warmup_steps: steps before which no trial stops.
      interval: judge only every ``interval`` steps (after warm-up).
    """

    def __init__(self, min_trials: int = 3, warmup_steps: int = 0, interval: int = 1) -> None:
        super().__init__()
        if min_trials < 1 or warmup_steps < 0 or interval < 1:
            raise ValueError("need min_trials >= 1, warmup_steps >= 0 and interval >= 1")
        self.min_trials = int(min_trials)
        self.warmup_steps = int(warmup_steps)
        self.interval = int(interval)

    def should_stop(self, trial_id: int, step: int, value: float, history: History) -> bool:
        if is_bad(value):
            return True
        if step < self.warmup_steps or (step - self.warmup_steps) % self.interval:
            return False
        own = [v for s, v in history.get(trial_id, {}).items() if s <= step] + [value]
        means = []
        for tid, h in history.items():
            if tid == trial_id or max(h, default=-1) < step:
                continue
            vals = [v for s, v in h.items() if s <= step and np.isfinite(v)]
            if vals:
                means.append(float(np.mean(vals)))
        if len(means) < self.min_trials:
            return False
        return float(np.nanmin(own)) > float(np.median(means))
