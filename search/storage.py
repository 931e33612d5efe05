"""Study storage: the contract (:class:`BaseStorage`, defined in :mod:`search._base_storage`),
an in-memory storage and :func:`get_storage` for URLs.

A storage keeps, per study: its name, directions, space (dict format), strategy name,
configuration, seed and latest ``state_dict``; and its trials. Trial numbers are allocated
by the storage, atomically, so processes sharing one storage never get the same number.

* ``None`` or ``":memory:"`` -> :class:`InMemoryStorage` (one process, thread-safe);
* any SQLAlchemy URL (``sqlite:///hpo.db``, ``postgresql://user@host/db``) ->
  :class:`~search._sql_storage.SQLStorage`.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from search._base_storage import BaseStorage, worker_id
from search.errors import (
    DuplicateStudyError,
    StudyNotFoundError,
    TrialFinishedError,
    TrialNotFoundError,
)
from search.trial import FrozenTrial, TrialState, utcnow

if TYPE_CHECKING:  # at run time `SQLStorage` comes from the module's __getattr__
    from search._sql_storage import SQLStorage

__all__ = ["BaseStorage", "InMemoryStorage", "SQLStorage", "get_storage", "worker_id"]


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

    def create_trials(self, study_id, items, strategy_state=None) -> list[FrozenTrial]:
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

    def claim_waiting(self, study_id, max_n, worker) -> list[FrozenTrial]:
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

    def finish_trial(self, study_id, number, state, values, system_attrs=None) -> FrozenTrial:
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

    def requeue_trial(self, study_id, number, reason) -> int | None:
        with self._lock:
            t = self._trial(study_id, number)
            if t.state != TrialState.RUNNING:
                return None
            t.state, t.datetime_start, t.intermediate_values = TrialState.WAITING, None, {}
            t.system_attrs.pop("worker", None)
            t.system_attrs["requeued"] = int(t.system_attrs.get("requeued", 0)) + 1
            t.system_attrs["requeue_reason"] = reason
            return number

    def set_intermediate(self, study_id, number, values) -> None:
        with self._lock:
            t = self._trial(study_id, number)
            if t.state.is_finished:
                raise TrialFinishedError(
                    f"trial {number} is {t.state.value.lower()}; cannot report")
            t.intermediate_values = {int(k): float(v) for k, v in values.items()}

    def set_user_attrs(self, study_id, number, attrs) -> None:
        with self._lock:
            self._trial(study_id, number).user_attrs = copy.deepcopy(dict(attrs))

    def get_trial(self, study_id, number) -> FrozenTrial:
        with self._lock:
            return copy.deepcopy(self._trial(study_id, number))

    def get_trials(self, study_id, states=None) -> list[FrozenTrial]:
        with self._lock:
            self._study(study_id)
            keep = None if states is None else set(states)
            return [
                copy.deepcopy(t)
                for _, t in sorted(self._trials[study_id].items())
                if keep is None or t.state in keep
            ]

    def get_numbers(self, study_id, states) -> list[int]:
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
