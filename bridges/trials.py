"""Cross-framework trials: train configurations of a network in PyTorch or TensorFlow.

:func:`run_trials` is what the engine calls for ``backend="pytorch"`` or ``"tensorflow"``.
Each configuration is one trial trained by the bridge's ``train_trial`` with the DSL's loss,
optimizer, schedule, epochs and batch size; results are
:class:`neural_jax.executors.TrialOutcome` records, the same as the JAX population
trainer returns (one trial is :mod:`bridges.trial_run`), so the engine tells the study the
same metric names and learning curves.

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

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bridges._pool import TrialPool
from bridges.trial_run import call_trial, check_installed, failed_result, train_fn
from neural_jax.core.errors import NeuralValidationError
from neural_jax.executors.backends import normalize_backend

__all__ = ["TrialPool", "run_trials"]

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
                r = call_trial(train, net, dataset, c, overrides, i, scheduler, ids[i])
            except Exception as e:  # noqa: BLE001 - as in a worker: the trial fails, not the study
                r = failed_result(i, c, f"{type(e).__name__}: {e}")
            done(i, r)
        return [results[i] for i in range(len(configs))]

    if fn is None:
        check_installed(name)  # a missing framework fails here, not in every worker
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
