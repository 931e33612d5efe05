"""The early-stopping contract.

Notation: values are *minimised* (the study flips signs for ``"maximize"``); ``history``
maps a trial id to its reported ``{step: value}``, including the trial being judged.
"""

from __future__ import annotations

import abc
import itertools
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["History", "Scheduler"]

History = Mapping[int, Mapping[int, float]]


class Scheduler(abc.ABC):
    """Decides which running trials to stop early. One required method: :meth:`should_stop`.

    Contract:
      * ``should_stop(trial_id, step, value, history)`` is called after a trial reports
        ``value`` at ``step``; it returns ``True`` to stop the trial. It must be a function
        of its arguments (the study rebuilds ``history`` from storage, so several
        processes agree).
      * ``decide(step, values, ids=None)`` is the vectorised form for a population trainer:
        ``values[i]`` is member ``i``'s current value; it returns a boolean mask of members
        to stop. The default records every member's value in the scheduler's own history
        first, then judges each member against all of them (a synchronous population is
        judged as one cohort). Without ``ids`` the members are new anonymous trials.
    """

    def __init__(self) -> None:
        self._history: dict[int, dict[int, float]] = {}
        self._anon = itertools.count(-1, -1)

    @abc.abstractmethod
    def should_stop(self, trial_id: int, step: int, value: float, history: History) -> bool:
        """Whether ``trial_id``, which just reported ``value`` at ``step``, should stop."""

    def decide(self, step: int, values: np.ndarray, ids: Sequence[int] | None = None) -> np.ndarray:
        """Boolean mask of population members to stop at ``step``."""
        values = np.asarray(values, dtype=float).reshape(-1)
        if ids is None:
            ids = [next(self._anon) for _ in range(values.shape[0])]
        if len(ids) != values.shape[0]:
            raise ValueError(f"{len(ids)} ids for {values.shape[0]} values")
        for i, v in zip(ids, values):
            self.record(int(i), int(step), float(v))
        return np.array(
            [bool(self.should_stop(int(i), int(step), float(v), self._history))
             for i, v in zip(ids, values)],
            dtype=bool,
        )

    def record(self, trial_id: int, step: int, value: float) -> None:
        """Adds ``value`` at ``step`` of ``trial_id`` to the history :meth:`decide` judges
        against, without judging it (a trial that ran elsewhere)."""
        self._history.setdefault(int(trial_id), {})[int(step)] = float(value)

    def reset(self) -> None:
        """Forgets the history recorded by :meth:`decide`."""
        self._history.clear()


def is_bad(value: float) -> bool:
    """NaN or infinite values always stop a trial."""
    return not np.isfinite(value)
