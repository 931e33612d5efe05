"""The storage contract, :class:`BaseStorage`, and the worker id trials are recorded with."""

from __future__ import annotations

import abc
import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from search.errors import TrialFinishedError, TrialNotFoundError
from search.trial import FrozenTrial, TrialState

__all__ = ["BaseStorage", "worker_id"]


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
