"""Cross-framework trials: train configurations of a network in PyTorch or TensorFlow.

:func:`run_trials` is what the engine calls for ``backend="pytorch"`` or ``"tensorflow"``.
Each configuration is one trial trained by the bridge's ``train_trial`` with the DSL's loss,
optimizer, schedule, epochs and batch size; results are
:class:`neural_jax.train.population.MemberResult` records, the same as the JAX population
trainer returns, so the engine tells the study the same metric names and learning curves.

With ``workers > 1`` trials run in that many worker processes (``spawn``: neither torch nor
TensorFlow survives a fork after it has started threads). The network and the dataset are
sent once per worker. Each worker gets ``cores // workers`` threads, so the workers do not
fight over the cores. A worker that dies (killed, out of memory, a crash inside the
framework) fails only the trial it was running, with the exit code in the message; the
pool is started again for the trials that remain, and nothing that finished is lost. A
:class:`TrialPool` keeps the worker processes between calls (a search passes one for all its
rounds), so only the first round pays for starting them and importing the framework.

Early stopping: with a ``scheduler`` (any :class:`search.schedulers.Scheduler`, e.g. the
successive halving a search with ``early_stopping=True`` uses) every trial is judged after
each epoch on the DSL's monitored value, exactly as members of a JAX population are, and a
trial it stops ends with ``stopped_by="scheduler"``. In this process the scheduler sees
every epoch of every trial as it is reported; a trial in a worker process is judged
against a copy of the scheduler as it was when the trial was handed out plus its own
epochs, and the caller's scheduler receives the scores a worker judged when that trial's
result arrives.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Self

from bridges.errors import BACKENDS, normalize_backend
from neural_jax.dsl.errors import NeuralValidationError

__all__ = ["BACKENDS", "TrialPool", "normalize_backend", "run_trials"]


def _train_fn(backend: str) -> Callable[..., Any]:
    """The bridge's ``train_trial``; a clear error when its framework is not installed."""
    try:
        if backend == "pytorch":
            from bridges.torch import train_trial
        else:
            from bridges.tensorflow import train_trial
    except ImportError as e:
        extra = "torch" if backend == "pytorch" else "tensorflow"
        raise NeuralValidationError(
            f"backend {backend!r} needs {extra}, which is not installed ({e})",
            hint=f'pip install "neural-jax[{extra}]"') from e
    return train_trial


def _failed(index: int, config: Mapping[str, Any], message: str):
    from neural_jax.train.population import MemberResult

    return MemberResult(index=index, config=dict(config), history=[], val={}, test={},
                        failed=True, message=message)


# --- worker side ------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(backend: str, net: Any, dataset: Any, overrides: Any, threads: int,
                 fn: Callable[..., Any] | None) -> None:
    # Ctrl-C reaches the whole process group: the caller stops the workers (and keeps the
    # study's finished trials); a worker would only print tracebacks
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if backend == "pytorch":
        import torch

        torch.set_num_threads(threads)
    elif backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    _WORKER.update(fn=fn or _train_fn(backend), net=net, dataset=dataset, overrides=overrides)


def _split_seed(config: Mapping[str, Any], overrides: Mapping[str, Any] | None):
    """A trial's ``"seed"`` (the engine gives each trial its own) moves into the overrides."""
    if "seed" not in config:
        return dict(config), overrides
    config = dict(config)
    seed = int(config.pop("seed"))
    return config, {**dict(overrides or {}), "seed": seed}


def _judge(scheduler: Any, trial_id: int, reports: list) -> Callable[[int, float], bool]:
    """``should_stop(epoch, score)`` of one trial: records the score (also in ``reports``),
    then judges it."""
    def should_stop(epoch: int, score: float) -> bool:
        reports.append((int(epoch), float(score)))
        return bool(scheduler.decide(epoch, [score], ids=[trial_id])[0])
    return should_stop


def _call(fn, net, dataset, config, overrides, index, scheduler=None, trial_id=None,
          reports=None):
    config, overrides = _split_seed(config, overrides)
    extra = ({} if scheduler is None
             else {"should_stop": _judge(scheduler, trial_id, [] if reports is None else reports)})
    return fn(net, dataset, config, overrides=overrides, index=index, **extra)


def _run_one(index: int, config: Mapping[str, Any], trial_id: int, scheduler: Any):
    """One trial in a worker (``scheduler``: the caller's, copied when the trial was handed
    out): its result and the ``(epoch, score)`` the scheduler judged."""
    w = _WORKER
    reports: list[tuple[int, float]] = []
    try:
        return _call(w["fn"], w["net"], w["dataset"], config, w["overrides"], index,
                     scheduler, trial_id, reports), reports
    except Exception as e:  # noqa: BLE001 - a trial's own error fails that trial, not the study
        return _failed(index, config, f"{type(e).__name__}: {e}"), reports


# --- caller side ------------------------------------------------------------------------

def _exit_message(e: BaseException) -> str:
    return ("the worker process running this trial died "
            f"({type(e).__name__}: {e}); the trial is recorded as failed")


def _strip(result: Any, keep_variables: bool) -> Any:
    if not keep_variables and getattr(result, "variables", None) is not None:
        result.variables = None
    return result


class TrialPool:
    """Worker processes kept across :func:`run_trials` calls, e.g. the rounds of one search.

    The pool starts on first use and starts again when a call brings another network,
    dataset, backend or settings, or after a worker died. Use it as a context manager, or
    call :meth:`close`.

    Args:
      workers: worker processes (at least 2 to be of use; ``run_trials`` trains in its own
        process with ``workers=1``).
    """

    def __init__(self, workers: int) -> None:
        if int(workers) < 1:
            raise NeuralValidationError(f"workers must be >= 1, got {workers!r}")
        self.workers = int(workers)
        self.starts = 0
        self._executor: cf.ProcessPoolExecutor | None = None
        self._for: tuple | None = None

    def executor(self, initargs: tuple, ctx) -> cf.ProcessPoolExecutor:
        """The running executor for workers set up with ``initargs`` (started if needed)."""
        backend, net, dataset, overrides, threads, fn = initargs
        ident = (backend, id(net), id(dataset), repr(overrides), threads, id(fn))
        if self._executor is not None and self._for != ident:
            self.discard()
        if self._executor is None:
            self._executor = cf.ProcessPoolExecutor(self.workers, mp_context=ctx,
                                                    initializer=_init_worker, initargs=initargs)
            self._for, self._args = ident, initargs  # keep them alive: ids stay theirs
            self.starts += 1
        return self._executor

    def discard(self) -> None:
        """Stops the workers without waiting (a broken pool, other settings)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self._executor, self._for = None, None

    def close(self, kill: bool = False) -> None:
        """Stops the workers: after the trials they are running, or at once with ``kill``
        (an interrupted search: those trials are abandoned)."""
        if self._executor is not None:
            _stop(self._executor, kill)
        self._executor, self._for = None, None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(kill=exc_type is not None)


def _stop(executor: cf.ProcessPoolExecutor, kill: bool) -> None:
    """Shuts ``executor`` down; with ``kill`` its workers are terminated first, so a Ctrl-C
    that reached only this process (a notebook's interrupt) leaves no trial running."""
    if kill:
        for process in list((getattr(executor, "_processes", None) or {}).values()):
            process.terminate()
    executor.shutdown(wait=True, cancel_futures=True)


def run_trials(net: Any, dataset: Any, configs: Sequence[Mapping[str, Any]], backend: str, *,
               workers: int = 1, overrides: Mapping[str, Any] | None = None,
               keep_variables: bool = False, fn: Callable[..., Any] | None = None,
               on_result: Callable[[Any], None] | None = None, scheduler: Any = None,
               trial_ids: Sequence[int] | None = None,
               pool: TrialPool | None = None) -> list[Any]:
    """Trains every configuration in ``backend``; returns results in configuration order.

    Args:
      net: the IR network (HPO values bound by each configuration).
      dataset: a :class:`neural_jax.data.Dataset`.
      configs: one ``{hpo_path: value}`` per trial; a ``"seed"`` key seeds that trial
        (initial weights, data order, dropout), overriding the DSL's seed.
      backend: ``"pytorch"`` or ``"tensorflow"`` (or an alias).
      workers: worker processes; 1 trains in this process.
      overrides: ``epochs``/``batch_size``/... overrides for every trial.
      keep_variables: keep each result's trained weights (dropped by default: they are
        large and a search needs only the metrics).
      fn: the trial function, ``fn(net, dataset, config, overrides=, index=)``; defaults to
        the bridge's ``train_trial`` (tests pass their own).
      on_result: called with each result as it arrives.
      scheduler: early stopping judged after every epoch (module docstring); None trains
        every trial its full epochs (the DSL's patience still applies).
      trial_ids: the ids the scheduler knows the trials by, distinct, one per
        configuration (default: positions); a search passes its trial numbers.
      pool: worker processes to reuse (:class:`TrialPool`; its worker count replaces
        ``workers`` when that is above 1); None starts a pool for this call and stops it
        after.

    Raises:
      NeuralValidationError: an unknown backend, ``"jax"`` (use the population trainer),
        a framework that is not installed, ``workers < 1``, or bad ``trial_ids``.
    """
    name = normalize_backend(backend)
    if name == "jax":
        raise NeuralValidationError("run_trials trains PyTorch or TensorFlow trials",
                                    hint="JAX trials train with neural_jax.train.train_population")
    if int(workers) < 1:
        raise NeuralValidationError(f"workers must be >= 1, got {workers!r}")
    overrides = dict(overrides or {}) or None
    ids = list(range(len(configs))) if trial_ids is None else [int(t) for t in trial_ids]
    if len(ids) != len(configs) or len(set(ids)) != len(ids):
        raise NeuralValidationError(
            f"trial_ids must give {len(configs)} distinct ids, one per configuration; got "
            f"{len(ids)} ({len(set(ids))} distinct)")
    results: dict[int, Any] = {}

    def done(i: int, r: Any) -> None:
        results[i] = _strip(r, keep_variables)
        if on_result is not None:
            on_result(results[i])

    if workers == 1 or len(configs) == 1:
        train = fn or _train_fn(name)
        for i, c in enumerate(configs):
            try:
                r = _call(train, net, dataset, c, overrides, i, scheduler, ids[i])
            except Exception as e:  # noqa: BLE001 - as in a worker: the trial fails, not the study
                r = _failed(i, c, f"{type(e).__name__}: {e}")
            done(i, r)
        return [results[i] for i in range(len(configs))]

    if fn is None:
        _train_fn(name)  # a missing framework fails here, not in every worker
    workers = pool.workers if pool is not None else min(int(workers), len(configs))
    threads = max(1, (os.cpu_count() or 1) // workers)
    pending = list(range(len(configs)))
    ctx = mp.get_context("spawn")
    initargs = (name, net, dataset, overrides, threads, fn)

    def remote(i: int, out: tuple[Any, list[tuple[int, float]]]) -> None:
        r, reports = out
        if scheduler is not None:  # the worker judged on its copy; the caller's learns too
            for epoch, score in reports:
                scheduler.record(ids[i], epoch, score)
        done(i, r)

    for attempt in range(2):
        pending = _pool_round(pending, configs, ids, initargs, workers, ctx, remote, scheduler,
                              pool if attempt == 0 else None)
        if not pending:
            break
    # The pool cannot tell which trial killed it: after a second break each lost trial runs
    # alone, so a crash fails exactly the trial that causes it.
    for i in pending:
        remote(i, _isolated(configs[i], i, ids[i], initargs, ctx, scheduler))
    return [results[i] for i in range(len(configs))]


def _pool_round(pending, configs, trial_ids, initargs, workers, ctx, done, scheduler,
                reuse: TrialPool | None = None):
    """Runs the trials at positions ``pending`` in one pool (``reuse``'s, else a new one
    stopped after); returns those lost to a broken pool."""
    broken: list[int] = []
    if reuse is not None:
        executor = reuse.executor(initargs, ctx)
    else:
        executor = cf.ProcessPoolExecutor(min(workers, len(pending)), mp_context=ctx,
                                          initializer=_init_worker, initargs=initargs)
    interrupted = True
    try:
        futures = {executor.submit(_run_one, i, configs[i], trial_ids[i], scheduler): i
                   for i in pending}
        for fut in cf.as_completed(futures):
            i = futures[fut]
            try:
                done(i, fut.result())
            except cf.process.BrokenProcessPool:
                broken.append(i)
        interrupted = False
    except cf.process.BrokenProcessPool:  # broke before every trial was handed out
        broken = [i for i in pending if i not in broken]
        interrupted = False
    finally:
        if reuse is None:
            _stop(executor, kill=interrupted)
        elif broken:
            reuse.discard()
    return sorted(broken)


def _isolated(config, index, trial_id, initargs, ctx, scheduler):
    """Runs one trial in a fresh single-worker pool; a crash there fails only this trial."""
    try:
        with cf.ProcessPoolExecutor(1, mp_context=ctx, initializer=_init_worker,
                                    initargs=initargs) as pool:
            return pool.submit(_run_one, index, config, trial_id, scheduler).result()
    except cf.process.BrokenProcessPool as e:
        return _failed(index, config, _exit_message(e)), []

