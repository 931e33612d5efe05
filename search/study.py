"""The :class:`Study`: asks a strategy for configurations, records trials, tracks the best.

A study keeps its trials in a storage and talks to its strategy in the encoded space
(``[0, 1]^d``, objectives minimised): it decodes points into parameter dicts, flips signs
for ``"maximize"`` and never shows the strategy a failed trial. Before each ``ask`` and
after each ``tell`` it *syncs*: every finished trial in the storage the strategy has not
yet seen (its own, another process's, or all of them after a resume) is told to it in
trial-number order. That one rule makes resuming, several processes and warm starts work.

Resuming: ``create_study(name, storage, load_if_exists=True)`` or ``load_study`` rebuilds
the strategy from the registry, loads its last ``state_dict`` and replays the finished
trials. Trials left ``RUNNING`` by a process on this host that no longer exists are marked
``FAILED`` (``system_attrs["fail_reason"]``) and their configuration is *re-queued* as a new
waiting trial (``system_attrs["requeued_from"]``), so no configuration is lost; see
:meth:`Study.recover_stale`. A process that is interrupted puts its own running trials back
in the queue with :meth:`Study.requeue` (they become WAITING again). :meth:`Study.n_counted`
says which trials count toward a budget of trials.
"""

from __future__ import annotations

import concurrent.futures
import copy
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from search._stale import stale_trials
from search.errors import SearchExhausted, TrialFinishedError, TrialNotFoundError
from search.schedulers.base import Scheduler
from search.space import Space
from search.storage import BaseStorage, worker_id
from search.strategies.base import Strategy
from search.trial import FrozenTrial, Trial, TrialPruned, TrialState

__all__ = ["Study"]

_log = logging.getLogger("search")
_FINISHED_OK = (TrialState.COMPLETE, TrialState.PRUNED)


class Study:
    """A named optimisation of one or several objectives over a :class:`~search.space.Space`.

    Build one with :func:`search.create_study` or :func:`search.load_study`.

    Attributes:
      name: the study's name in its storage.
      space: the search space.
      strategy: the bound strategy.
      directions: ``"minimize"`` or ``"maximize"`` per objective.
      seed: the seed the strategy was bound with.
      scheduler: the early-stopping scheduler behind ``trial.should_prune()`` (or ``None``).
    """

    def __init__(
        self, name: str, storage: BaseStorage, study_id: int, space: Space, strategy: Strategy,
        directions: Sequence[str], seed: int, scheduler: Scheduler | None = None,
        restore_state: bool = True,
    ) -> None:
        self.name = name
        self.storage = storage
        self.study_id = study_id
        self.space = space
        self.strategy = strategy
        self.directions = list(directions)
        self.seed = seed
        self.scheduler = scheduler
        self._signs = np.array([1.0 if d == "minimize" else -1.0 for d in self.directions])
        self._lock = threading.RLock()
        self._told: set[int] = set()
        self._saved_state: dict[str, Any] | None = None
        if hasattr(strategy, "n_objectives") and strategy.n_objectives is None:
            strategy.n_objectives = len(self.directions)  # type: ignore[attr-defined]
        strategy.bind(space.dims, seed)
        if restore_state:
            state = storage.get_strategy_state(study_id)
            if state:
                strategy.load_state_dict(state)
        self._sync()

    def __repr__(self) -> str:
        return (f"Study(name={self.name!r}, directions={self.directions}, "
                f"strategy={type(self.strategy).__name__})")

    # -- properties ------------------------------------------------------------------------
    @property
    def direction(self) -> str:
        """The single objective's direction (raises for several objectives)."""
        if len(self.directions) != 1:
            raise ValueError("this study has several objectives; read `directions`")
        return self.directions[0]

    @property
    def n_objectives(self) -> int:
        """Number of objectives."""
        return len(self.directions)

    @property
    def trials(self) -> list[FrozenTrial]:
        """All trials, by number."""
        return self.storage.get_trials(self.study_id)

    def get_trials(self, states: Iterable[TrialState | str] | None = None) -> list[FrozenTrial]:
        """Trials in the given states (all when ``None``), by number."""
        keep = None if states is None else [TrialState.parse(s) for s in states]
        return self.storage.get_trials(self.study_id, keep)

    @property
    def best_trial(self) -> FrozenTrial:
        """The complete trial with the best value (lowest number on ties).

        Raises:
          ValueError: no complete trial yet, or several objectives (use ``best_trials``).
        """
        if self.n_objectives != 1:
            raise ValueError("a multi-objective study has no single best trial; use `best_trials`")
        done = self.get_trials([TrialState.COMPLETE])
        if not done:
            raise ValueError(f"study {self.name!r} has no complete trial yet")
        return min(done, key=lambda t: (t.values[0] * self._signs[0], t.number))

    @property
    def best_params(self) -> dict[str, Any]:
        """Parameters of :attr:`best_trial`."""
        return dict(self.best_trial.params)

    @property
    def best_value(self) -> float:
        """Objective value of :attr:`best_trial`."""
        return float(self.best_trial.values[0])

    @property
    def best_trials(self) -> list[FrozenTrial]:
        """The Pareto-optimal complete trials (the best trial for one objective)."""
        done = self.get_trials([TrialState.COMPLETE])
        if not done:
            return []
        if self.n_objectives == 1:
            return [self.best_trial]
        y = np.array([t.values for t in done]) * self._signs
        # Trial i is dominated when some j is no worse everywhere and better somewhere.
        no_worse = (y[None, :, :] <= y[:, None, :]).all(-1)
        better = (y[None, :, :] < y[:, None, :]).any(-1)
        dominated = (no_worse & better).any(1)
        return [t for t, d in zip(done, dominated) if not d]

    def pareto_front(self) -> np.ndarray:
        """Objective values of :attr:`best_trials`, shape ``(m, k)``, sorted by the first."""
        front = self.best_trials
        if not front:
            return np.zeros((0, self.n_objectives))
        return np.array(sorted((t.values for t in front), key=lambda v: tuple(v)))

    # -- ask / tell ------------------------------------------------------------------------
    def ask(self, n: int | None = None) -> Trial | list[Trial]:
        """Hands out trials to evaluate: enqueued ones first, then the strategy's.

        Args:
          n: how many; ``None`` returns one :class:`Trial`, an int a list of them. A finite
            strategy near its end may return fewer.

        Raises:
          SearchExhausted: nothing is enqueued and the strategy has no points left.
        """
        k = 1 if n is None else int(n)
        if k < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        with self._lock:
            self._sync()
            wid = worker_id()
            records = self.storage.claim_waiting(self.study_id, k, wid)
            m = k - len(records)
            if m > 0:
                x = self._strategy_ask(m)
                items = [
                    {"params": self.space.decode(row), "x": row.tolist(),
                     "state": TrialState.RUNNING, "system_attrs": {"worker": wid}}
                    for row in x
                ]
                if items:
                    records += self.storage.create_trials(self.study_id, items, self._state())
            if k > 0 and not records:
                raise SearchExhausted(f"study {self.name!r}: the strategy has no points left")
            trials = []
            for r in records:
                r.params = self.space.canonical(r.params)
                trials.append(Trial(self, r))
        return trials[0] if n is None else trials

    def _strategy_ask(self, m: int) -> np.ndarray:
        d = len(self.space)
        try:
            x = np.asarray(self.strategy.ask(m), dtype=float)
        except SearchExhausted:
            return np.zeros((0, d))
        if x.ndim != 2 or x.shape[1] != d or x.shape[0] > m or not np.isfinite(x).all():
            raise RuntimeError(
                f"strategy {type(self.strategy).__name__} returned an array of shape {x.shape} "
                f"(expected ({m}, {d}) finite values in [0, 1])"
            )
        return np.clip(x, 0.0, 1.0)

    def tell(
        self, trial: Trial | FrozenTrial | int, values: float | Sequence[float] | None = None,
        state: TrialState | str | None = None, reason: str | None = None,
    ) -> FrozenTrial:
        """Finishes a trial.

        Args:
          trial: a :class:`Trial`, a record or a trial number.
          values: the objective value(s); required for a complete trial. A NaN or infinite
            value makes the trial ``FAILED``.
          state: ``"complete"`` (default with values), ``"pruned"`` (its last intermediate
            value is what the strategy sees) or ``"failed"`` (the strategy never sees it).
          reason: why a failed trial failed (stored as ``system_attrs["fail_reason"]``,
            shown by ``neural trials``); ignored for other states.

        Returns:
          The stored record.

        Raises:
          TrialNotFoundError: the study never issued this trial number.
          TrialFinishedError: the trial was already told.
          ValueError: missing or wrongly sized values.
        """
        if isinstance(trial, int) and not isinstance(trial, bool):
            number = trial
        else:
            number = getattr(trial, "number", None)
        if not isinstance(number, int):
            raise TypeError(f"tell() takes a Trial or a trial number, got {trial!r}")
        st = None if state is None else TrialState.parse(state)
        extra: dict[str, Any] = {}
        vals = None
        if st in (None, TrialState.COMPLETE):
            if values is None:
                raise ValueError(
                    f"tell(trial {number}) needs the objective value(s); pass state='failed' or "
                    "'pruned' for a trial without one"
                )
            vals = self._check_values(values)
            st = TrialState.COMPLETE
            if not all(math.isfinite(v) for v in vals):
                st = TrialState.FAILED
                extra["fail_reason"] = f"objective value {list(vals)} is not finite"
                _log.warning("trial %d failed: %s", number, extra["fail_reason"])
                vals = None
        elif st not in (TrialState.PRUNED, TrialState.FAILED):
            raise ValueError(
                "tell() finishes a trial: state must be complete, pruned or failed, "
                f"not {st.value}"
            )
        elif st == TrialState.FAILED and reason:
            extra["fail_reason"] = str(reason)
        record = self.storage.finish_trial(self.study_id, number, st, vals, extra)
        with self._lock:
            self._sync()
        return record

    def _check_values(self, values: Any) -> tuple[float, ...]:
        is_seq = isinstance(values, Sequence | np.ndarray) and not isinstance(values, str)
        seq = values if is_seq else [values]
        try:
            vals = tuple(float(v) for v in np.asarray(seq, dtype=float).reshape(-1))
        except (TypeError, ValueError):
            raise TypeError(f"objective values must be numbers, got {values!r}") from None
        if len(vals) != self.n_objectives:
            raise ValueError(
                f"expected {self.n_objectives} objective value(s), got {len(vals)}: {values!r}"
            )
        return vals

    def requeue(self, trial: Trial | FrozenTrial | int, reason: str = "interrupted") -> int | None:
        """Puts a running trial back in the queue (e.g. its run was interrupted).

        The trial becomes WAITING again with the same parameters, so the next ``ask``, in
        this process or after a resume, hands it out first; it never counts as failed.

        Returns:
          The number of the waiting trial, or None when the trial was not running (it
          finished meanwhile).
        """
        number = trial if isinstance(trial, int) else trial.number
        return self.storage.requeue_trial(self.study_id, number, reason)

    def n_counted(self) -> int:
        """How many trials count toward a budget of trials (``n_trials`` of a search).

        COMPLETE and PRUNED trials count, and so do FAILED ones (the configuration was
        trained and failed, e.g. diverged), except failures whose configuration was
        re-queued (a worker that died: :meth:`recover_stale`), because their waiting copy
        is trained again and counts once it finishes. WAITING and RUNNING trials do not
        count.
        """
        finished = self.get_trials([TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED])
        waiting = self.get_trials([TrialState.WAITING, TrialState.RUNNING])
        copies = {t.system_attrs.get("requeued_from") for t in (*finished, *waiting)}
        return sum(1 for t in finished
                   if not (t.state == TrialState.FAILED and t.number in copies))

    def enqueue(
        self, params: Mapping[str, Any], user_attrs: Mapping[str, Any] | None = None,
    ) -> int:
        """Queues a configuration (a warm start); the next ``ask`` returns it first.

        Returns:
          The new trial's number.

        Raises:
          SearchSpaceError: an unknown parameter, a missing active one or a value outside
            its distribution.
        """
        x = self.space.encode(params)
        item = {"params": self.space.canonical(params), "x": x.tolist(),
                "state": TrialState.WAITING, "system_attrs": {"enqueued": True},
                "user_attrs": dict(user_attrs or {})}
        return self.storage.create_trials(self.study_id, [item])[0].number

    # -- running an objective --------------------------------------------------------------
    def optimize(
        self, objective: Callable[[Trial], float | Sequence[float]], n_trials: int | None = None,
        timeout: float | None = None, n_jobs: int = 1,
        catch: tuple[type[BaseException], ...] = (Exception,),
        callbacks: Sequence[Callable[[Study, FrozenTrial], None]] = (),
    ) -> None:
        """Evaluates ``objective`` on trials until ``n_trials``, ``timeout`` or the strategy ends.

        Args:
          objective: takes a :class:`Trial`, returns the value(s). Raising
            :class:`~search.trial.TrialPruned` prunes the trial; raising an exception in
            ``catch`` or returning NaN fails it and the study goes on.
          n_trials: trials to run in this call (``None``: no limit).
          timeout: seconds after which no new trial starts.
          n_jobs: threads evaluating at once (``-1``: one per CPU). Several threads make
            the order of tells, hence results, depend on timing.
          catch: exceptions recorded as failed trials; others fail the trial and propagate.
          callbacks: called with ``(study, record)`` after each trial.
        """
        n_jobs = (os.cpu_count() or 1) if n_jobs == -1 else max(1, int(n_jobs))
        deadline = None if timeout is None else time.monotonic() + float(timeout)
        slots = threading.Lock()
        started = [0]
        exhausted = threading.Event()

        def take_slot() -> bool:
            with slots:
                if exhausted.is_set() or (n_trials is not None and started[0] >= n_trials):
                    return False
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                started[0] += 1
                return True

        def work() -> None:
            while take_slot():
                try:
                    trial = self.ask()
                except SearchExhausted:
                    exhausted.set()
                    return
                record = self._evaluate(objective, trial, tuple(catch))
                for cb in callbacks:
                    cb(self, record)

        if n_jobs == 1:
            work()
            return
        with concurrent.futures.ThreadPoolExecutor(n_jobs) as pool:
            for f in [pool.submit(work) for _ in range(n_jobs)]:
                f.result()

    def _evaluate(
        self, objective: Callable[[Trial], Any], trial: Trial, catch: tuple,
    ) -> FrozenTrial:
        try:
            out = objective(trial)
        except TrialPruned:
            return self.tell(trial, state=TrialState.PRUNED)
        except catch as e:
            _log.warning("trial %d failed: %s: %s", trial.number, type(e).__name__, e)
            return self._fail(trial.number, f"{type(e).__name__}: {e}")
        except BaseException as e:
            self._fail(trial.number, f"{type(e).__name__}: {e}")
            raise
        try:
            vals = self._check_values(out)
        except (TypeError, ValueError) as e:
            _log.warning("trial %d failed: %s", trial.number, e)
            return self._fail(trial.number, str(e))
        return self.tell(trial, vals)

    def _fail(self, number: int, reason: str) -> FrozenTrial:
        return self.storage.finish_trial(
            self.study_id, number, TrialState.FAILED, None, {"fail_reason": reason})

    # -- strategy bookkeeping --------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        self._saved_state = copy.deepcopy(dict(self.strategy.state_dict()))
        return self._saved_state

    def _strategy_y(self, t: FrozenTrial) -> np.ndarray | None:
        if t.state == TrialState.COMPLETE and t.values is not None:
            return np.asarray(t.values, dtype=float) * self._signs
        if t.state == TrialState.PRUNED and self.n_objectives == 1 and t.intermediate_values:
            v = t.intermediate_values[max(t.intermediate_values)] * self._signs[0]
            return np.array([v]) if math.isfinite(v) else None
        return None

    def _sync(self) -> None:
        """Tells the strategy every finished trial it has not seen, in number order."""
        with self._lock:
            xs, ys = [], []
            numbers = self.storage.get_numbers(self.study_id, _FINISHED_OK)
            new = [n for n in numbers if n not in self._told]
            for t in self.storage.get_trials_by_number(self.study_id, new) if new else ():
                self._told.add(t.number)
                y = self._strategy_y(t)
                if y is None:
                    continue
                try:
                    if t.x is not None:
                        x = np.asarray(t.x, dtype=float)
                    else:
                        x = self.space.encode(t.params)
                except ValueError:
                    continue  # a record that no longer fits the space
                xs.append(x)
                ys.append(y)
            if xs:
                y = np.array(ys)
                self.strategy.tell(np.array(xs), y[:, 0] if self.n_objectives == 1 else y)
                state = copy.deepcopy(dict(self.strategy.state_dict()))
                if state != self._saved_state:  # most strategies' state only moves on ask
                    self.storage.set_strategy_state(self.study_id, state)
                    self._saved_state = state

    def _should_prune(self, number: int, intermediate: Mapping[int, float]) -> bool:
        if self.scheduler is None or not intermediate or self.n_objectives != 1:
            return False
        s = self._signs[0]
        history = {
            t.number: {k: v * s for k, v in t.intermediate_values.items()}
            for t in self.storage.get_trials(self.study_id)
            if t.state != TrialState.FAILED and t.intermediate_values
        }
        history[number] = {k: v * s for k, v in intermediate.items()}
        step = max(intermediate)
        return bool(self.scheduler.should_stop(number, step, intermediate[step] * s, history))

    def recover_stale(self, requeue: bool = True, all_hosts: bool = False) -> list[int]:
        """Fails trials left RUNNING by dead processes and (optionally) re-queues them.

        Args:
          requeue: enqueue each stale trial's configuration again as a new waiting trial.
          all_hosts: also treat RUNNING trials of other hosts (and live processes other than
            this one) as stale; use only when no other worker is running.

        Returns:
          Numbers of the trials marked failed.
        """
        stale = []
        for t, worker in stale_trials(self.get_trials([TrialState.RUNNING]), all_hosts):
            try:
                self._fail(t.number, f"worker {worker} died while the trial was running")
            except (TrialFinishedError, TrialNotFoundError):
                continue  # it finished (or vanished) meanwhile
            stale.append(t.number)
            if requeue:
                self.storage.create_trials(self.study_id, [{
                    "params": t.params, "x": t.x, "state": TrialState.WAITING,
                    "system_attrs": {"requeued_from": t.number}, "user_attrs": t.user_attrs}])
        return stale
