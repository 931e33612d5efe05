"""The HPO engine: DSL + search space -> rounds of populations -> best configuration.

::

    from neural_jax.hpo import HPOptimizer
    best = HPOptimizer(strategy="tpe", n_trials=32, population=16).optimize(
        code, dataset_name="digits", search_space={"learning_rate": {...}})

Each round asks the study (:mod:`search`) for a whole population, trains it with the
population trainer (one compiled program per bucket of shape-compatible configurations,
in-population successive halving when ``early_stopping=True``), reports every member's
learning curve and tells the results, until ``n_trials`` or ``timeout``. With ``storage=``
the study lives in a database and resumes by name; Ctrl-C keeps every finished trial and
puts the running ones back in the queue.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import pathlib
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from neural_jax.dsl.errors import NeuralValidationError, NeuralWarning
from neural_jax.interrupt import DeferredInterrupt
from neural_jax.inputs import BackendUnavailable, StrategyUnavailable, dataset_for, pick_network
from neural_jax.inputs import method_of as _method_of
from neural_jax.inputs import require_strategy
from neural_jax.inputs import resolve_backend as _backend
from neural_jax.inputs import scheduler_of as _scheduler_of
from neural_jax.inputs import whole as _whole
from neural_jax.methods import METHODS, Method, make_scheduler, resolve_method

__all__ = ["SEARCH_METHODS", "BackendUnavailable", "HPOptimizer", "StrategyUnavailable",
           "dataset_for", "optimize_and_return", "pick_network"]

_log = logging.getLogger(__name__)

#: the method registry (:data:`neural_jax.methods.METHODS`), under its former name
SEARCH_METHODS = METHODS

#: the former name of :func:`neural_jax.inputs.pick_network`
_pick_network = pick_network


def _metric_value(metric: str, member) -> float:
    """``val_accuracy`` -> the member's validation accuracy (of its kept weights)."""
    if metric.startswith("val_"):
        return float(member.val.get(metric[4:], math.nan))
    if metric.startswith("test_"):
        raise NeuralValidationError(f"metric {metric!r}: the test split is never used to choose",
                                    hint="optimize a val_ metric, e.g. val_accuracy")
    last = member.history[-1] if member.history else {}
    return float(last.get(metric, math.nan))


def _curve_value(metric: str, rec: Mapping[str, float]) -> float | None:
    v = rec.get(metric)
    return None if v is None or not math.isfinite(v) else float(v)


class HPOptimizer:
    """Searches a DSL network's hyperparameters (the seed's ``HPOptimizer``).

    Args:
      strategy: a method name of :data:`neural_jax.methods.METHODS` (``"tpe"``, ``"gp"``,
        ``"random"``, ``"grid"``, ``"optuna"``; evosax algorithms ``"cma_es"``, ``"de"``,
        ``"pso"``, ``"ga"``, ``"snes"``, ``"open_es"``, ... or any evosax name;
        ``"pbt"``; ``"hyperband"``, ``"asha"``, ``"sh"``, ``"median"``: random search with
        that scheduler; the seed's names such as ``"BayesianStrategy"``), a
        :class:`search.Strategy` instance, or None to use the network's ``search_method``
        (default ``"tpe"``). ``"pbt"`` trains each round's population with Population
        Based Training inside it (:mod:`neural_jax.population.pbt`): every ``pbt_interval``
        epochs the worst quarter copies the weights of a top member and perturbs its float
        hyperparameters, in the one compiled program. Each trial is then one member:
        ``n_trials`` members in all, ``population`` per PBT population (give
        ``n_trials == population`` for one population); a trial's params are the ones it
        started with, its record's ``lineage`` and ``hyperparams`` (also the trial's
        ``pbt`` user attribute) what it copied and ended with.
      scheduler: early stopping: ``"median"``, ``"sh"``, ``"asha"``, ``"hyperband"``
        (:data:`neural_jax.methods.SCHEDULERS`), a :class:`search.schedulers.Scheduler`,
        or None for the method's own (``hyperband`` has one) or none. A scheduler named
        by both ``strategy`` and ``scheduler`` must be the same one.
      pbt_interval: epochs between PBT steps; default a quarter of the epochs (at least 1).
      n_trials: how many configurations to train in all.
      timeout: seconds; the engine stops starting rounds after it (a round in progress
        finishes) and says so.
      early_stopping: shorthand for ``scheduler="sh"``: successive halving (``eta=2``,
        rungs at epochs 1, 2, 4, ...):
        a trial below the best half of the search's trials at a rung stops training and is
        told as pruned; inside each population for JAX, after every epoch for PyTorch and
        TensorFlow trials.
      parallel_trials: population size (members trained together); default
        ``population`` or ``min(n_trials, 16)``. For ``backend="pytorch"``/``"tensorflow"``
        it is the number of worker processes training trials side by side (default 1).
        Population size is then still the number of trials asked per round, default
        ``population`` or ``min(n_trials, 16)``.
      storage: SQLAlchemy URL (``"sqlite:///hpo.db"``) or None (in memory).
      seed: makes the search and the training reproducible.
      study_name: resumes that study when it exists in ``storage``.
      population: same as ``parallel_trials``.
      epochs: overrides the network's epochs for every trial.
      data_dir: where dataset files are.
      mode: population execution mode (``"auto"``, ``"vmap"``, ``"patches"``, ``"sequential"``).
      on_start: called once the study is open with ``(finished trials, best value, best
        trial number)`` (the last two None before any trial completed): a resumed study's
        finished trials count toward ``n_trials``, except the failures of re-queued trials
        (:meth:`search.Study.n_counted`).
      on_round: called after each round with ``(round index, list of trial records)``.
      on_epoch: called after every epoch of every bucket of a round with ``(epoch,
        {member index in the round: epoch record})`` (``loss``, ``val_accuracy``...; see
        :func:`neural_jax.population.train_population`). JAX backend only: PyTorch and
        TensorFlow trials report once a round, through ``on_round``.
      compilation_cache: JAX's persistent compilation cache for the compiled training
        programs (:mod:`neural_jax.population.compile_cache`): True (default directory), a
        directory, or False. ``NEURAL_JAX_COMPILATION_CACHE=0`` also turns it off.
      keep_best: keep the weights of the best complete trial (``best_trial``, a
        :class:`neural_jax.train.best.BestTrial`; only the best so far is held during the
        search); :func:`neural_jax.train.best.save_best` writes it as a folder.
    """

    def __init__(self, strategy: Any = None, n_trials: int = 20, timeout: float | None = None,
                 early_stopping: bool = False, parallel_trials: int | None = None,
                 storage: str | None = None, seed: int = 0, study_name: str | None = None,
                 population: int | None = None, epochs: int | None = None,
                 data_dir: str | None = None, mode: str = "auto",
                 on_round: Callable[[int, list[dict]], None] | None = None,
                 on_start: Callable[[int, float | None, int | None], None] | None = None,
                 on_epoch: Callable[[int, dict[int, dict]], None] | None = None,
                 compilation_cache: bool | str = True, keep_best: bool = False,
                 scheduler: Any = None, pbt_interval: int | None = None) -> None:
        _whole("n_trials", n_trials)
        for name, value in (("population", population), ("parallel_trials", parallel_trials),
                            ("epochs", epochs), ("pbt_interval", pbt_interval)):
            if value is not None:
                _whole(name, value)
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(
                timeout, (int, float)) or not timeout > 0):
            raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
        self._method = _method_of(strategy)  # an unknown name fails here, before any work
        self._scheduler = _scheduler_of(scheduler, early_stopping)
        if (isinstance(strategy, str) and self._method.scheduler and isinstance(self._scheduler, str)
                and self._scheduler != self._method.scheduler):
            raise ValueError(
                f"strategy {strategy!r} means scheduler {self._method.scheduler!r}, but "
                f"scheduler {self._scheduler!r} was given; give one of them")
        self.strategy = strategy
        self.scheduler = scheduler
        self.pbt_interval = pbt_interval
        self.direction: str | None = None  # the direction optimize() searched in
        self.n_trials = n_trials
        self.timeout = timeout
        self.early_stopping = early_stopping
        self.population = population or parallel_trials
        self.parallel_trials = parallel_trials
        self.storage = storage
        self.seed = seed
        self.study_name = study_name
        self.epochs = epochs
        self.data_dir = data_dir
        self.mode = mode
        self.on_round = on_round
        self.on_start = on_start
        self.on_epoch = on_epoch
        self.program_store = None  # set when the compilation cache is on (hits, misses)
        self.compilation_cache = compilation_cache
        self.keep_best = keep_best
        self._pool = None  # worker processes of PyTorch / TensorFlow trials, during a search
        self._reset()

    def _reset(self) -> None:
        """Forgets the outcome of an earlier :meth:`optimize`: each search reports its own."""
        self.best_trial = None  # the best complete trial with its weights, when keep_best
        self.study = None
        self.trials: list[dict[str, Any]] = []
        self.best_params: dict[str, Any] = {}
        self.best_value: float | None = None
        self.network = None
        self.interrupted = False
        self.timed_out = False
        self.already_complete = False
        self._running: list = []

    # -------------------------------------------------------------------------------------

    def _plan(self, net, params) -> tuple[Any, Any, Any]:
        """``(strategy, scheduler, pbt)`` of this search of ``net``: the strategy instance
        for the study, a fresh scheduler or None, :class:`PBT` settings or None."""
        import search
        from neural_jax.population.pbt import PBT

        method = self._method
        if method is None:  # the network's search_method
            name = net.train.search_method if isinstance(net.train.search_method, str) else None
            method = resolve_method(name or "tpe")[1]
            require_strategy(method, name)  # before the data loads or a study is stored
        if isinstance(method, Method):
            strategy = search.get_strategy(method.strategy, **dict(method.options))
        else:
            strategy = method
        scheduler = self._scheduler if self._scheduler is not None else getattr(
            method, "scheduler", None)
        epochs = _longest_training(net, params, self.epochs)
        if isinstance(scheduler, str):
            scheduler = make_scheduler(scheduler, epochs)
        pbt = None
        if getattr(method, "pbt", False):
            pbt = PBT(interval=self.pbt_interval or max(1, epochs // 4), seed=self.seed)
        return strategy, scheduler, pbt

    def optimize(self, neural_code: str, dataset_name: str = "digits", backend: str = "jax",
                 search_space: Mapping[str, Any] | None = None, metric: str = "val_accuracy",
                 direction: str | None = None, dataset: Any = None,
                 network: str | None = None) -> dict[str, Any]:
        """Runs the search; returns the best parameters keyed by path (SPEC §4).

        Args:
          network: which network of a file holding several (default: the first, with a
            warning naming the others).
          metric: what a trial's value is: a metric the network's training records
            (:func:`neural_jax.objective.available_metrics`: ``val_accuracy``,
            ``val_loss``, ...); any other name fails before training.
          direction: ``"maximize"`` or ``"minimize"``; None infers it from the metric
            (losses and errors are minimized); one contradicting the metric is an error.
          dataset: the data, instead of ``dataset_name``: a :class:`neural_jax.data.Dataset`,
            ``(x, y)`` (or ``(x, y, x_test, y_test)``) arrays, the path of an ``.npz`` or
            ``.csv`` file (label column ``label``/``target``/``class``/``y``, else the last),
            or a dataset name (:func:`neural_jax.data.as_dataset`); ``"synthetic"`` without
            options is shaped for the network (:mod:`neural_jax.data.network_fit`).

        A trial whose training diverged (:mod:`neural_jax.train.divergence`) is stored as
        FAILED with its reason; every failed trial's reason is in the study
        (``system_attrs["fail_reason"]``, shown by ``neural trials``). Ctrl-C puts the
        running trials back in the queue of a stored study (a resume trains them) and keeps
        every finished one; ``self.interrupted`` is then True. In a JAX search called from
        the main thread the first Ctrl-C stops the search after the current epoch (it says
        so; :class:`neural_jax.interrupt.DeferredInterrupt`), a second one at once.

        Raises:
          NeuralSyntaxError / NeuralValidationError: bad DSL or search space.
          MetricError: a metric the training does not record, or a contradicting direction.
          BackendUnavailable: ``"pytorch"``/``"tensorflow"`` without that framework installed.
          StrategyUnavailable: the network's ``search_method`` needs a library that is not
            installed (``"optuna"``); a ``strategy=`` argument fails so when it is given.
          DatasetError: unknown dataset or missing files (with what to put where).
        """
        backend = _backend(backend)
        # Ctrl-C in a JAX search is only recorded, and raised between epochs and rounds: a
        # KeyboardInterrupt inside XLA's callbacks aborts the process or is swallowed
        stop = DeferredInterrupt() if backend == "jax" else None
        with stop if stop is not None else contextlib.nullcontext():
            return self._optimize(stop, neural_code, dataset_name, backend, search_space,
                                  metric, direction, dataset, network)

    def _optimize(self, stop: DeferredInterrupt | None, neural_code: str, dataset_name: str,
                  backend: str, search_space: Mapping[str, Any] | None, metric: str,
                  direction: str | None, dataset: Any, network: str | None) -> dict[str, Any]:
        """:meth:`optimize` once its backend is known; ``stop`` is the search's deferred
        Ctrl-C (JAX), checked between epochs and rounds."""
        import search
        from neural_jax.ir.checker import check
        from neural_jax.ir.lift import lift
        from neural_jax.ir.space import bind_search_space, to_space_dict
        from neural_jax.population.engine import train_population

        from neural_jax.objective import check_metric, resolve_direction

        direction = resolve_direction(metric, direction)
        self._reset()
        self.direction = direction
        if search_space is not None and not isinstance(search_space, Mapping):
            raise NeuralValidationError(
                f"search_space must be a dict of search values by path, got "
                f"{type(search_space).__name__} {search_space!r}",
                hint='e.g. {"optimizer.learning_rate": {"type": "float", "min": 1e-4, '
                     '"max": 1e-2, "log": True}}')
        net0 = pick_network(neural_code, network)
        params = bind_search_space(net0, search_space)
        fixed = self._fixed_epochs(net0, params)
        if fixed:
            params = tuple(p for p in params if p not in fixed)
        if not params:
            raise NeuralValidationError(
                f"network '{net0.name}' has nothing to search",
                hint="mark values with HPO(...) or pass search_space={...}")
        net = lift(net0, params)
        if fixed:  # every trial trains the forced epochs: the network says so
            net = dataclasses.replace(net, train=dataclasses.replace(net.train,
                                                                     epochs=self.epochs))
        check(net)
        check_metric(net, metric)
        self.network = net
        strategy, scheduler, pbt = self._plan(net, params)
        if pbt is not None and backend != "jax":
            raise NeuralValidationError(
                f"PBT trains inside a JAX population (weights copied between members); "
                f"backend {backend!r} cannot", hint='use backend="jax", or another strategy')
        dataset = dataset_for(net, dataset_name if dataset is None else dataset,
                              **({"data_dir": self.data_dir} if self.data_dir else {}))
        self._num_classes = dataset.num_classes
        space = to_space_dict(params)
        store = self._program_store() if backend == "jax" else None
        self.study = search.create_study(
            name=self.study_name, storage=self.storage, space=space,
            strategy=strategy, direction=direction, seed=self.seed)
        pop = max(1, self.population or min(self.n_trials, 16))
        overrides = {"epochs": self.epochs} if self.epochs else None
        # COMPLETE, PRUNED and FAILED trials count toward n_trials, except failures whose
        # configuration was re-queued (their waiting copy counts once trained)
        done = self.study.n_counted()
        self.already_complete = done >= self.n_trials
        if self.on_start is not None:
            try:
                best = self.study.best_trial
                best_value, best_number = float(best.values[0]), best.number
            except ValueError:  # no complete trial yet
                best_value = best_number = None
            self.on_start(done, best_value, best_number)
        start = time.perf_counter()
        rnd = 0
        # the rounds this search will run, fixed up front so that every round asks for the
        # same program (a search long enough to pay for XLA's optimizing compile gets it)
        rounds = max(1, math.ceil((self.n_trials - done) / pop))
        keeper = None
        if self.keep_best:  # only the best trial's weights are held, never a whole search's
            from neural_jax.train.best import BestKeeper

            keeper = BestKeeper(direction, backend=backend, mode=self.mode, rounds=rounds,
                                epochs=self.epochs)
        on_epoch = self.on_epoch if stop is None else _checked(self.on_epoch, stop)
        try:
            while done < self.n_trials:
                if stop is not None:
                    stop.check()
                if self.timeout is not None and time.perf_counter() - start >= self.timeout:
                    self.timed_out = True
                    break
                try:
                    trials = self.study.ask(min(pop, self.n_trials - done))
                except search.SearchExhausted:
                    break
                self._running = trials
                configs = [{**t.params, "seed": self.seed + t.number} for t in trials]
                if backend != "jax":
                    results = self._train_elsewhere(net, dataset, configs, backend, overrides,
                                                    scheduler, [t.number for t in trials],
                                                    keeper is not None)
                else:
                    # every round pads its buckets to the population size (when that costs
                    # less than a compilation), so a search compiles each program once
                    results = train_population(net, dataset, configs, scheduler=scheduler,
                                               pbt=pbt, mode=self.mode, overrides=overrides,
                                               pad_members=pop, on_epoch=on_epoch,
                                               program_store=store, rounds=rounds,
                                               trial_ids=[t.number for t in trials],
                                               keep_variables=keeper is not None)
                if pbt is not None:
                    _pbt_lineage(trials, results)
                records = [self._tell(t, r, metric) for t, r in zip(trials, results)]
                if keeper is not None:
                    keeper.offer(net, records, results, [c["seed"] for c in configs],
                                 getattr(results, "stats", None))
                    self.best_trial = keeper.best
                    for r in results:  # the round's other weights go now
                        r.variables = None
                self._running = []
                self.trials.extend(records)
                done += len(trials)
                if self.on_round is not None:
                    self.on_round(rnd, records)
                rnd += 1
            if stop is not None:  # a Ctrl-C during the last round's tells: it said stopping
                stop.check()
        except KeyboardInterrupt:
            self.interrupted = True
            requeued = 0
            for t in self._own_running():
                try:  # back in the queue: a resume trains the same configuration
                    requeued += self.study.requeue(t, "interrupted (Ctrl-C)") is not None
                except search.SearchError:
                    pass
            self._running = []
            warnings.warn(NeuralWarning(self.interrupt_message(requeued)), stacklevel=3)
        finally:
            if stop is not None and (self.interrupted or sys.exc_info()[0] is not None):
                from neural_jax.population.compiling import wait_for_compilations

                wait_for_compilations()  # a process exiting during one aborts
            if self._pool is not None:  # an interrupted search abandons its running trials
                self._pool.close(kill=self.interrupted or sys.exc_info()[0] is not None)
                self._pool = None
        if self.timed_out:
            warnings.warn(NeuralWarning(
                f"timeout of {self.timeout:g}s reached after {len(self.trials)} trials "
                f"(of {self.n_trials}); returning the best so far"), stacklevel=3)
        complete = [t for t in self.study.trials if t.state == search.TrialState.COMPLETE]
        if not complete:
            first = next((t.get("message") for t in self.trials if t.get("message")), "")
            warnings.warn(NeuralWarning("no trial completed; nothing to return"
                                        + (f" (first failure: {first})" if first else "")),
                          stacklevel=3)
            return {}
        self.best_params = dict(self.study.best_params)
        if fixed:  # the epochs the trials trained, not a value of the file's range
            self.best_params.update((p.name, self.epochs) for p in fixed)
        self.best_value = float(self.study.best_value)
        return dict(self.best_params)

    #: how a forced ``epochs`` is named in the warning that a searched ``train.epochs`` is
    #: not searched (``{epochs}`` filled in); the ``neural`` command words it as its flag
    epochs_hint = "epochs={epochs}"

    def _fixed_epochs(self, net, params) -> tuple:
        """The searched parameters that set ``train.epochs`` when ``epochs=`` overrides it:
        not searched (every trial trains ``self.epochs``), with a warning; () otherwise.

        Raises:
          NeuralValidationError: ``train.epochs`` was the only searched value.
        """
        if not self.epochs:
            return ()
        fixed = tuple(p for p in params if "train.epochs" in p.targets)
        if not fixed:
            return ()
        how = self.epochs_hint.format(epochs=self.epochs)
        if len(fixed) == len(params):
            raise NeuralValidationError(
                f"network '{net.name}' has nothing to search: train.epochs is its only "
                f"searched value, and {how} fixes it",
                hint="leave the epochs to the search, or mark other values with HPO(...)")
        warnings.warn(NeuralWarning(
            f"train.epochs is not searched: {how} fixes the epochs of every trial"),
            stacklevel=4)
        return fixed

    def _own_running(self) -> list:
        """This process's running trials: the round's, and any an interrupted ``ask`` had
        already stored."""
        import search
        from search.storage import worker_id

        me = worker_id()
        numbers = {t.number for t in getattr(self, "_running", [])}
        numbers |= {t.number for t in self.study.get_trials([search.TrialState.RUNNING])
                    if t.system_attrs.get("worker") == me}
        return sorted(numbers)

    #: how an interrupted search says to resume (``{study}`` and ``{storage}`` filled in) and
    #: to make a search resumable; the ``neural`` command words them as its flags
    resume_hint = "study_name={study!r} and the same storage"
    persist_hint = "storage= and study_name="

    def interrupt_message(self, requeued: int) -> str:
        """What an interrupted search says: what was kept and how to resume.

        Args:
          requeued: running trials put back in the queue.
        """
        kept = f"{self.study.n_counted()} finished trials"
        if self.storage is None:
            return (f"interrupted: {kept} were in memory only and are lost; pass "
                    f"{self.persist_hint} to make a search resumable")
        again = (f" and {requeued} running trial{'s' if requeued != 1 else ''} re-queued"
                 if requeued else "")
        how = self.resume_hint.format(study=self.study.name, storage=self.storage)
        return (f"interrupted: {kept} kept{again} in the study {self.study.name!r}; "
                f"run again with {how} to resume")

    def _program_store(self):
        """Turns the persistent compilation cache on (unless disabled) and returns the
        program store beside it, or None."""
        from neural_jax.population.compile_cache import (
            enable_compilation_cache,
            program_store_bytes,
        )
        from neural_jax.population.program_store import ProgramStore

        cache = enable_compilation_cache(self.compilation_cache)  # a bad size limit fails here
        if not cache:
            return None
        self.program_store = ProgramStore(pathlib.Path(cache) / "programs", program_store_bytes())
        return self.program_store

    def _train_elsewhere(self, net, dataset, configs, backend: str, overrides, scheduler,
                         trial_ids, keep_variables: bool = False):
        """One round of PyTorch or TensorFlow trials (``parallel_trials`` worker processes,
        started once a search), judged after every epoch by the search's early stopping, as
        JAX members are."""
        from bridges.trials import TrialPool, run_trials

        workers = self.parallel_trials or 1
        if workers > 1 and self._pool is None:  # kept for every round of this search
            self._pool = TrialPool(workers)
        return run_trials(net, dataset, configs, backend, workers=workers, overrides=overrides,
                          scheduler=scheduler, trial_ids=trial_ids, pool=self._pool,
                          keep_variables=keep_variables)

    def _tell(self, trial, member, metric: str) -> dict[str, Any]:
        for rec in member.history:
            v = _curve_value(metric, rec)
            if v is not None:
                trial.report(int(rec.get("epoch", 0)), v)
        rec = {"number": trial.number, "params": dict(trial.params), "history": member.history,
               "val": member.val, "test": member.test}
        if getattr(member, "pbt", None):
            rec.update(member.pbt)
        reason = _fail_reason(member, getattr(self, "_num_classes", None))
        if reason is not None:
            self.study.tell(trial, state="failed", reason=reason)
            rec.update(state="failed", value=None, message=reason)
        elif member.stopped_by == "scheduler":
            self.study.tell(trial, state="pruned")
            rec.update(state="pruned", value=_metric_value(metric, member))
        else:
            value = _metric_value(metric, member)
            self.study.tell(trial, value)
            rec.update(state="complete" if math.isfinite(value) else "failed", value=value)
        return rec


def _checked(on_epoch: Callable[[int, dict[int, dict]], None] | None,
             stop: DeferredInterrupt) -> Callable[[int, dict[int, dict]], None]:
    """``on_epoch`` followed by ``stop.check()``: a recorded Ctrl-C stops the search here,
    between two epochs."""

    def hook(epoch: int, records: dict[int, dict]) -> None:
        if on_epoch is not None:
            on_epoch(epoch, records)
        stop.check()

    return hook


def _fail_reason(member, num_classes: int | None) -> str | None:
    """Why a trained trial failed, or None: divergence (:mod:`neural_jax.train.divergence`,
    also of a trial its trainer stopped for a NaN loss) or its trainer's message."""
    from neural_jax.train.divergence import divergence

    diverged = divergence(member.history, num_classes)
    if diverged or not member.failed:
        return diverged
    return member.message or "training failed"


def _pbt_lineage(trials, results) -> None:
    """Stores what PBT did to each member of a round in its trial (user attribute ``pbt``:
    ``lineage``, the copies it made with the donor's trial number, and ``hyperparams``,
    the values it ended with) and on the member, for its record."""
    for trial, member in zip(trials, results):
        lineage = [{"epoch": int(ev["epoch"]), "from": trials[ev["from"]].number,
                    "hyperparams": {k: float(v) for k, v in ev["hyperparams"].items()}}
                   for ev in member.lineage]
        hyper = {k: float(np.asarray(v).reshape(-1)[0]) for k, v in member.hyperparams.items()}
        member.pbt = {"lineage": lineage, "hyperparams": hyper}
        trial.set_user_attr("pbt", member.pbt)


def _longest_training(net, params, epochs: int | None) -> int:
    """The most epochs a trial of the search trains (Hyperband's maximum resource)."""
    if epochs:
        return int(epochs)
    for p in params:
        if p.name in ("train.epochs", "epochs"):
            values = p.choices if p.kind == "categorical" else (p.high,)
            return max(int(v) for v in values)
    from neural_jax.train.spec import training_spec

    return training_spec(net).epochs


def optimize_and_return(neural_code: str, n_trials: int = 20, dataset_name: str = "digits",
                        backend: str = "jax", search_space: Mapping[str, Any] | None = None,
                        **kwargs: Any) -> dict[str, Any]:
    """The seed's one-call API: runs :class:`HPOptimizer` and returns the best parameters."""
    return HPOptimizer(n_trials=n_trials, **kwargs).optimize(
        neural_code, dataset_name=dataset_name, backend=backend, search_space=search_space)
