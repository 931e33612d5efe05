"""Trial records (:class:`FrozenTrial`) and the handle an objective receives (:class:`Trial`)."""

from __future__ import annotations

import datetime as _dt
import enum
from dataclasses import dataclass, field
from typing import Any, Protocol

from search.errors import SearchError

__all__ = ["TrialState", "FrozenTrial", "Trial", "TrialPruned"]


class TrialState(str, enum.Enum):
    """Life cycle of a trial: ``WAITING`` (enqueued) -> ``RUNNING`` -> a finished state."""

    WAITING = "WAITING"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    PRUNED = "PRUNED"
    FAILED = "FAILED"

    @property
    def is_finished(self) -> bool:
        """Whether the trial can no longer change."""
        return self in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED)

    @classmethod
    def parse(cls, state: TrialState | str) -> TrialState:
        """Accepts a state or its name in any case (``"pruned"``, ``"FAIL"``)."""
        if isinstance(state, TrialState):
            return state
        s = str(state).upper()
        aliases = {"FAIL": "FAILED", "PRUNE": "PRUNED", "DONE": "COMPLETE", "COMPLETED": "COMPLETE"}
        s = aliases.get(s, s)
        try:
            return cls(s)
        except ValueError:
            raise ValueError(
                f"unknown trial state {state!r}; use one of {[m.value.lower() for m in cls]}"
            ) from None


class TrialPruned(SearchError):
    """Raise inside an objective (after ``trial.should_prune()``) to end the trial as pruned."""


def utcnow() -> _dt.datetime:
    """The current time, timezone-aware UTC."""
    return _dt.datetime.now(_dt.UTC)


@dataclass
class FrozenTrial:
    """A stored trial.

    Attributes:
      number: 0-based, unique within a study (also across processes sharing a storage).
      state: see :class:`TrialState`.
      params: decoded parameters (inactive conditional parameters left out).
      values: objective values as reported (not sign-flipped), ``None`` unless complete.
      intermediate_values: step -> value reported with :meth:`Trial.report`.
      datetime_start: when the trial was handed out (``None`` while waiting).
      datetime_complete: when it finished.
      user_attrs: free-form JSON-serialisable annotations.
      system_attrs: bookkeeping (``worker``, ``fail_reason``, ``requeued_from``, ...).
      x: the encoded point the strategy proposed (``None`` for none).
    """

    number: int
    state: TrialState
    params: dict[str, Any]
    values: tuple[float, ...] | None = None
    intermediate_values: dict[int, float] = field(default_factory=dict)
    datetime_start: _dt.datetime | None = None
    datetime_complete: _dt.datetime | None = None
    user_attrs: dict[str, Any] = field(default_factory=dict)
    system_attrs: dict[str, Any] = field(default_factory=dict)
    x: tuple[float, ...] | None = None

    @property
    def value(self) -> float | None:
        """The single objective value (``None`` unless complete).

        Raises:
          ValueError: the study has several objectives; use ``values``.
        """
        if self.values is None:
            return None
        if len(self.values) != 1:
            raise ValueError("this trial has several objective values; read `values`")
        return self.values[0]

    @property
    def last_step(self) -> int | None:
        """The largest reported step, if any."""
        return max(self.intermediate_values) if self.intermediate_values else None

    @property
    def duration(self) -> _dt.timedelta | None:
        """Wall time from start to completion."""
        if self.datetime_start is None or self.datetime_complete is None:
            return None
        return self.datetime_complete - self.datetime_start


class _Owner(Protocol):
    """What a :class:`Trial` needs of its :class:`~search.study.Study`."""

    storage: Any
    study_id: int

    def _should_prune(self, number: int, values: dict[int, float]) -> bool: ...


class Trial:
    """A running trial as the objective sees it.

    Attributes:
      number: the trial number.
      params: the configuration to evaluate.
    """

    def __init__(self, study: _Owner, record: FrozenTrial) -> None:
        self.study = study
        self.number = record.number
        self.params: dict[str, Any] = dict(record.params)
        self._intermediate: dict[int, float] = dict(record.intermediate_values)
        self._user_attrs: dict[str, Any] = dict(record.user_attrs)

    def __repr__(self) -> str:
        return f"Trial(number={self.number}, params={self.params!r})"

    @property
    def intermediate_values(self) -> dict[int, float]:
        """Step -> value reported so far."""
        return dict(self._intermediate)

    @property
    def user_attrs(self) -> dict[str, Any]:
        """Annotations set with :meth:`set_user_attr`."""
        return dict(self._user_attrs)

    @property
    def state(self) -> TrialState:
        """The stored state of this trial."""
        return self.study.storage.get_trial(self.study.study_id, self.number).state

    def report(self, step: int, value: float) -> None:
        """Records an intermediate objective value (e.g. validation loss after an epoch).

        Raises:
          TrialFinishedError: the trial is already finished.
        """
        self._intermediate[int(step)] = float(value)
        self.study.storage.set_intermediate(self.study.study_id, self.number, self._intermediate)

    def should_prune(self) -> bool:
        """Asks the study's scheduler whether to stop this trial now (``False`` without one)."""
        return self.study._should_prune(self.number, self._intermediate)

    def set_user_attr(self, key: str, value: Any) -> None:
        """Stores a JSON-serialisable annotation with the trial."""
        self._user_attrs[str(key)] = value
        self.study.storage.set_user_attrs(self.study.study_id, self.number, self._user_attrs)
