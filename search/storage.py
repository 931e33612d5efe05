"""Study storage: the contract, an in-memory storage and :func:`get_storage` for URLs.

A storage keeps, per study: its name, directions, space (dict format), strategy name,
configuration, seed and latest ``state_dict``; and its trials. Trial numbers are allocated
by the storage, atomically, so processes sharing one storage never get the same number.

* ``None`` or ``":memory:"`` -> :class:`InMemoryStorage` (one process, thread-safe);
* any SQLAlchemy URL (``sqlite:///hpo.db``, ``postgresql://user@host/db``) ->
  :class:`~search._sql_storage.SQLStorage`.
"""

from __future__ import annotations

import abc
import copy
import os
import socket
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from search.errors import (
    DuplicateStudyError,
    StudyNotFoundError,
    TrialFinishedError,
    TrialNotFoundError,
)
from search.trial import FrozenTrial, TrialState, utcnow

__all__ = ["BaseStorage", "InMemoryStorage", "SQLStorage", "get_storage", "worker_id"]


def worker_id() -> str:
    """``host:pid`` of this process, recorded with each trial it runs."""
    return f"{socket.gethostname()}:{os.getpid()}"


class BaseStorage(abc.ABC):
    """What a :class:`~search.study.Study` needs from a storage.

    Study ``info`` dicts hold ``directions`` (list of str), ``space`` (dict format),
    ``strategy`` (registry name), ``strategy_config`` (dict) and ``seed`` (int).
    Trial ``items`` passed to :meth:`create_trials` hold ``params``, ``x`` (list of float
    or ``None``), ``state`` (WAITING or RUNNING) and optional ``system_attrs`` /
    ``user_attrs``.
    """

    url: str = ":memory:"

    @abc.abstractmethod
    def create_study(self, name: str, info: Mapping[str, Any]) -> int:
        """Creates a study; raises :class:`DuplicateStudyError` if the name is taken."""

    @abc.abstractmethod
    def find_study(self, name: str) -> int | None:
        """The id of the study called ``name``, or ``None``."""

    @abc.abstractmethod
    def get_study_info(self, study_id: int) -> dict[str, Any]:
        """The ``info`` the study was created with, plus ``name``."""

    @abc.abstractmethod
    def study_names(self) -> list[str]:
        """Names of all studies."""

    @abc.abstractmethod
    def delete_study(self, name: str) -> None:
        """Removes a study and its trials."""

    @abc.abstractmethod
    def set_strategy_state(self, study_id: int, state: Mapping[str, Any]) -> None:
        """Stores the strategy's latest ``state_dict``."""

    @abc.abstractmethod
    def get_strategy_state(self, study_id: int) -> dict[str, Any] | None:
        """The latest stored ``state_dict`` (``None`` if never stored)."""

    @abc.abstractmethod
    def create_trials(
        self, study_id: int, items: Sequence[Mapping[str, Any]],
        strategy_state: Mapping[str, Any] | None = None,
    ) -> list[FrozenTrial]:
        """Adds trials with fresh consecutive numbers, and the strategy state, atomically."""

    @abc.abstractmethod
    def claim_waiting(self, study_id: int, max_n: int, worker: str) -> list[FrozenTrial]:
        """Moves up to ``max_n`` WAITING trials (lowest numbers first) to RUNNING."""

    @abc.abstractmethod
    def finish_trial(
        self, study_id: int, number: int, state: TrialState,
        values: Sequence[float] | None, system_attrs: Mapping[str, Any] | None = None,
    ) -> FrozenTrial:
        """Finishes a WAITING or RUNNING trial.

        Raises:
          TrialNotFoundError: no such trial.
          TrialFinishedError: the trial is already finished.
        """

    @abc.abstractmethod
    def set_intermediate(self, study_id: int, number: int, values: Mapping[int, float]) -> None:
        """Replaces the intermediate values of a running trial."""

    @abc.abstractmethod
    def set_user_attrs(self, study_id: int, number: int, attrs: Mapping[str, Any]) -> None:
        """Replaces the user attributes of a trial."""

    @abc.abstractmethod
    def get_trial(self, study_id: int, number: int) -> FrozenTrial:
        """One trial; raises :class:`TrialNotFoundError`."""

    @abc.abstractmethod
    def get_trials(
        self, study_id: int, states: Iterable[TrialState] | None = None
    ) -> list[FrozenTrial]:
        """Trials ordered by number, optionally only those in ``states``."""

    def get_numbers(self, study_id: int, states: Iterable[TrialState]) -> list[int]:
        """Numbers of the trials in ``states`` (cheap: no records built)."""
        return [t.number for t in self.get_trials(study_id, states)]

    def requeue_trial(self, study_id: int, number: int, reason: str) -> int | None:
        """Puts a RUNNING trial back in the queue so that a later ``ask`` hands it out again.

        The storages of this package turn the trial itself back into a WAITING one (same
        number and parameters, no intermediate values, ``system_attrs["requeued"]`` counts
        how often, ``["requeue_reason"]`` says why). This default, for other storages,
        fails it with ``reason`` and adds a WAITING copy (``system_attrs["requeued_from"]``).

        Returns:
          The number of the waiting trial, or None when the trial was not running.
        """
        try:
            t = self.get_trial(study_id, number)
        except TrialNotFoundError:
            return None
        if t.state != TrialState.RUNNING:
            return None
        try:
            self.finish_trial(study_id, number, TrialState.FAILED, None, {"fail_reason": reason})
        except TrialFinishedError:
            return None
        return self.create_trials(study_id, [{
            "params": t.params, "x": t.x, "state": TrialState.WAITING,
            "system_attrs": {"requeued_from": number}, "user_attrs": t.user_attrs}])[0].number

    def get_trials_by_number(self, study_id: int, numbers: Iterable[int]) -> list[FrozenTrial]:
        """The trials with these numbers, ordered by number."""
        return [self.get_trial(study_id, n) for n in sorted(set(numbers))]


class InMemoryStorage(BaseStorage):
    """A thread-safe storage living in this process (lost when it ends)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._studies: dict[int, dict[str, Any]] = {}
        self._names: dict[str, int] = {}
        self._trials: dict[int, dict[int, FrozenTrial]] = {}
        self._states: dict[int, dict[str, Any] | None] = {}

    def create_study(self, name: str, info: Mapping[str, Any]) -> int:
        with self._lock:
            if name in self._names:
                raise DuplicateStudyError(
                    f"a study named {name!r} already exists; pass load_if_exists=True to resume it"
                )
            sid = len(self._studies) + 1
            self._studies[sid] = copy.deepcopy(dict(info)) | {"name": name}
            self._names[name] = sid
            self._trials[sid] = {}
            self._states[sid] = None
            return sid

    def find_study(self, name: str) -> int | None:
        return self._names.get(name)

    def _study(self, study_id: int) -> dict[str, Any]:
        if study_id not in self._studies:
            raise StudyNotFoundError(f"no study with id {study_id}")
        return self._studies[study_id]

    def get_study_info(self, study_id: int) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._study(study_id))

    def study_names(self) -> list[str]:
        return list(self._names)

    def delete_study(self, name: str) -> None:
        with self._lock:
            sid = self._names.pop(name, None)
            if sid is None:
                raise StudyNotFoundError(f"no study named {name!r}")
            for d in (self._studies, self._trials, self._states):
                d.pop(sid, None)

    def set_strategy_state(self, study_id: int, state: Mapping[str, Any]) -> None:
        with self._lock:
            self._study(study_id)
            self._states[study_id] = copy.deepcopy(dict(state))

    def get_strategy_state(self, study_id: int) -> dict[str, Any] | None:
        with self._lock:
            self._study(study_id)
            return copy.deepcopy(self._states[study_id])

    def create_trials(self, study_id, items, strategy_state=None):
        with self._lock:
            self._study(study_id)
            trials = self._trials[study_id]
            out = []
            for item in items:
                state = TrialState.parse(item.get("state", TrialState.RUNNING))
                t = FrozenTrial(
                    number=len(trials),
                    state=state,
                    params=copy.deepcopy(dict(item["params"])),
                    datetime_start=utcnow() if state == TrialState.RUNNING else None,
                    user_attrs=copy.deepcopy(dict(item.get("user_attrs") or {})),
                    system_attrs=copy.deepcopy(dict(item.get("system_attrs") or {})),
                    x=None if item.get("x") is None else tuple(float(v) for v in item["x"]),
                )
                trials[t.number] = t
                out.append(copy.deepcopy(t))
            if strategy_state is not None:
                self._states[study_id] = copy.deepcopy(dict(strategy_state))
            return out

    def claim_waiting(self, study_id, max_n, worker):
        with self._lock:
            out = []
            for t in self._trials[study_id].values():
                if len(out) >= max_n:
                    break
                if t.state == TrialState.WAITING:
                    t.state = TrialState.RUNNING
                    t.datetime_start = utcnow()
                    t.system_attrs["worker"] = worker
                    out.append(copy.deepcopy(t))
            return out

    def _trial(self, study_id: int, number: int) -> FrozenTrial:
        self._study(study_id)
        t = self._trials[study_id].get(number)
        if t is None:
            raise TrialNotFoundError(f"study has no trial number {number}")
        return t

    def finish_trial(self, study_id, number, state, values, system_attrs=None):
        with self._lock:
            t = self._trial(study_id, number)
            if t.state.is_finished:
                raise TrialFinishedError(
                    f"trial {number} is already {t.state.value.lower()}; it cannot be told again"
                )
            t.state = state
            t.values = None if values is None else tuple(float(v) for v in values)
            t.datetime_complete = utcnow()
            t.system_attrs.update(copy.deepcopy(dict(system_attrs or {})))
            return copy.deepcopy(t)

    def requeue_trial(self, study_id, number, reason):
        with self._lock:
            t = self._trial(study_id, number)
            if t.state != TrialState.RUNNING:
                return None
            t.state, t.datetime_start, t.intermediate_values = TrialState.WAITING, None, {}
            t.system_attrs.pop("worker", None)
            t.system_attrs["requeued"] = int(t.system_attrs.get("requeued", 0)) + 1
            t.system_attrs["requeue_reason"] = reason
            return number

    def set_intermediate(self, study_id, number, values):
        with self._lock:
            t = self._trial(study_id, number)
            if t.state.is_finished:
                raise TrialFinishedError(f"trial {number} is {t.state.value.lower()}; cannot report")
            t.intermediate_values = {int(k): float(v) for k, v in values.items()}

    def set_user_attrs(self, study_id, number, attrs):
        with self._lock:
            self._trial(study_id, number).user_attrs = copy.deepcopy(dict(attrs))

    def get_trial(self, study_id, number):
        with self._lock:
            return copy.deepcopy(self._trial(study_id, number))

    def get_trials(self, study_id, states=None):
        with self._lock:
            self._study(study_id)
            keep = None if states is None else set(states)
            return [
                copy.deepcopy(t)
                for _, t in sorted(self._trials[study_id].items())
                if keep is None or t.state in keep
            ]

    def get_numbers(self, study_id, states):
        with self._lock:
            self._study(study_id)
            keep = set(states)
            return [n for n, t in self._trials[study_id].items() if t.state in keep]


def get_storage(storage: BaseStorage | str | None) -> BaseStorage:
    """Returns a storage for a storage object, a URL or ``None`` (a new in-memory storage).

    Raises:
      StorageError: the URL cannot be opened or holds a corrupt database.
    """
    if storage is None or storage == ":memory:":
        return InMemoryStorage()
    if isinstance(storage, BaseStorage):
        return storage
    if isinstance(storage, str):
        from search._sql_storage import SQLStorage

        return SQLStorage(storage)
    raise TypeError(f"storage must be None, a URL string or a BaseStorage, got {storage!r}")


def __getattr__(name: str) -> Any:
    if name == "SQLStorage":  # imported lazily: SQLAlchemy is only needed for URLs
        from search._sql_storage import SQLStorage

        return SQLStorage
    raise AttributeError(name)
