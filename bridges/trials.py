"""Cross-framework trials: train configurations of a network in PyTorch or TensorFlow.

:func:`run_trials` is what the engine calls for ``backend="pytorch"`` or ``"tensorflow"``.
Each configuration is one trial trained by the bridge's ``train_trial`` with the DSL's loss,
optimizer, schedule, epochs and batch size; results are
:class:`neural_jax.population.MemberResult` records, the same as the JAX population
trainer returns, so the engine tells the study the same metric names and learning curves.

With ``workers > 1`` trials run in that many worker processes, each a fresh interpreter
running :mod:`bridges.worker` (not :mod:`multiprocessing`: a worker never imports the
caller's main module, so a plain script without a ``__main__`` guard works, and neither torch
nor TensorFlow is forked after starting threads). The network and the dataset are sent once
per worker. Each worker gets ``cores // workers`` threads, so the workers do not fight over
the cores. A worker that dies (killed, out of memory, a crash inside the framework) fails
only the trial it was running, with the signal or exit code in the message, and is replaced
for the trials that remain; the caller never waits on a dead worker. A :class:`TrialPool`
keeps the worker processes between calls (a search passes one for all its rounds), so only
the first round pays for starting them and importing the framework. Workers write their
output (TensorFlow's C++ logs, framework warnings) to a log file of the pool, not to the
terminal.

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

import importlib.util
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bridges._pool import TrialPool
from bridges.errors import BACKENDS, normalize_backend
from neural_jax.dsl.errors import NeuralValidationError

__all__ = ["BACKENDS", "TrialPool", "normalize_backend", "run_trials"]

_EXTRA = {"pytorch": "torch", "tensorflow": "tensorflow"}


def _missing(backend: str, reason: str) -> NeuralValidationError:
    extra = _EXTRA[backend]
    return NeuralValidationError(f"backend {backend!r} needs {extra}, which is not installed "
                                 f"({reason})", hint=f'pip install "neural-jax[{extra}]"')


def train_fn(backend: str) -> Callable[..., Any]:
    """The bridge's ``train_trial``; a clear error when its framework is not installed."""
    try:
        if backend == "pytorch":
            from bridges.torch import train_trial
        else:
            from bridges.tensorflow import train_trial
    except ImportError as e:
        raise _missing(backend, str(e)) from e
    return train_trial


def _check_installed(backend: str) -> None:
    """Fails early, in this process, when the framework the workers need is missing
    (without importing it here: only the workers need it)."""
    if importlib.util.find_spec(_EXTRA[backend]) is None:
        raise _missing(backend, f"no module named {_EXTRA[backend]!r}")


def failed_result(index: int, config: Mapping[str, Any], message: str):
    """A failed trial's :class:`~neural_jax.population.MemberResult`."""
    from neural_jax.executors.outcome import TrialOutcome as MemberResult

    return MemberResult(index=index, config=dict(config), history=[], val={}, test={},
                        failed=True, message=message)


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


def run_one(state: Mapping[str, Any], index: int, config: Mapping[str, Any], trial_id: int,
            scheduler: Any):
    """One trial in a worker (``state``: its setup; ``scheduler``: the caller's, copied when
    the trial was handed out): its result and the ``(epoch, score)`` the scheduler judged."""
    reports: list[tuple[int, float]] = []
    try:
        return _call(state["fn"], state["net"], state["dataset"], config, state["overrides"],
                     index, scheduler, trial_id, reports), reports
    except Exception as e:  # noqa: BLE001 - a trial's own error fails that trial, not the study
        return failed_result(index, config, f"{type(e).__name__}: {e}"), reports


def _strip(result: Any, keep_variables: bool) -> Any:
    if not keep_variables and getattr(result, "variables", None) is not None:
        result.variables = None
    return result


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

    if workers == 1 or (len(configs) == 1 and pool is None):
        train = fn or train_fn(name)
        for i, c in enumerate(configs):
            try:
                r = _call(train, net, dataset, c, overrides, i, scheduler, ids[i])
            except Exception as e:  # noqa: BLE001 - as in a worker: the trial fails, not the study
                r = failed_result(i, c, f"{type(e).__name__}: {e}")
            done(i, r)
        return [results[i] for i in range(len(configs))]

    if fn is None:
        _check_installed(name)  # a missing framework fails here, not in every worker
    own = pool is None
    if own:
        pool = TrialPool(min(int(workers), len(configs)))
    threads = max(1, (os.cpu_count() or 1) // pool.workers)

    def remote(i: int, out: tuple[Any, list[tuple[int, float]]]) -> None:
        r, reports = out
        if scheduler is not None:  # the worker judged on its copy; the caller's learns too
            for epoch, score in reports:
                scheduler.record(ids[i], epoch, score)
        done(i, r)

    def lost(i: int, message: str) -> None:
        done(i, failed_result(i, configs[i], message))

    interrupted = True
    try:
        pool.prepare(name, threads, net, dataset, overrides, fn, keep_variables)
        pool.run([(i, configs[i], ids[i]) for i in range(len(configs))], scheduler,
                 remote, lost)
        interrupted = False
    finally:
        if own:
            pool.close(kill=interrupted)
    return [results[i] for i in range(len(configs))]
