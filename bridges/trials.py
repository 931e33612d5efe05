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
pool is started again for the trials that remain, and nothing that finished is lost.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bridges.errors import BACKENDS, normalize_backend
from neural_jax.dsl.errors import NeuralValidationError

__all__ = ["BACKENDS", "normalize_backend", "run_trials"]

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


def _call(fn, net, dataset, config, overrides, index):
    config, overrides = _split_seed(config, overrides)
    return fn(net, dataset, config, overrides=overrides, index=index)


def _run_one(index: int, config: Mapping[str, Any]):
    w = _WORKER
    try:
        return _call(w["fn"], w["net"], w["dataset"], config, w["overrides"], index)
    except Exception as e:  # noqa: BLE001 - a trial's own error fails that trial, not the study
        return _failed(index, config, f"{type(e).__name__}: {e}")


# --- caller side ------------------------------------------------------------------------

def _exit_message(e: BaseException) -> str:
    return ("the worker process running this trial died "
            f"({type(e).__name__}: {e}); the trial is recorded as failed")


def _strip(result: Any, keep_variables: bool) -> Any:
    if not keep_variables and getattr(result, "variables", None) is not None:
        result.variables = None
    return result


def run_trials(net: Any, dataset: Any, configs: Sequence[Mapping[str, Any]], backend: str, *,
               workers: int = 1, overrides: Mapping[str, Any] | None = None,
               keep_variables: bool = False, fn: Callable[..., Any] | None = None,
               on_result: Callable[[Any], None] | None = None) -> list[Any]:
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

    Raises:
      NeuralValidationError: an unknown backend, ``"jax"`` (use the population trainer),
        a framework that is not installed, or ``workers < 1``.
    """
    name = normalize_backend(backend)
    if name == "jax":
        raise NeuralValidationError("run_trials trains PyTorch or TensorFlow trials",
                                    hint="JAX trials train with neural_jax.train.train_population")
    if int(workers) < 1:
        raise NeuralValidationError(f"workers must be >= 1, got {workers!r}")
    overrides = dict(overrides or {}) or None
    results: dict[int, Any] = {}

    def done(i: int, r: Any) -> None:
        results[i] = _strip(r, keep_variables)
        if on_result is not None:
            on_result(results[i])

    if workers == 1 or len(configs) == 1:
        train = fn or _train_fn(name)
        for i, c in enumerate(configs):
            try:
                r = _call(train, net, dataset, c, overrides, i)
            except Exception as e:  # noqa: BLE001 - as in a worker: the trial fails, not the study
                r = _failed(i, c, f"{type(e).__name__}: {e}")
            done(i, r)
        return [results[i] for i in range(len(configs))]

    if fn is None:
        _train_fn(name)  # a missing framework fails here, not in every worker
    workers = min(int(workers), len(configs))
    threads = max(1, (os.cpu_count() or 1) // workers)
    pending = list(range(len(configs)))
    ctx = mp.get_context("spawn")
    for _ in range(2):
        pending = _pool_round(pending, configs, (name, net, dataset, overrides, threads, fn),
                              workers, ctx, done)
        if not pending:
            break
    # The pool cannot tell which trial killed it: after a second break each lost trial runs
    # alone, so a crash fails exactly the trial that causes it.
    for i in pending:
        done(i, _isolated(configs[i], i, (name, net, dataset, overrides, threads, fn), ctx))
    return [results[i] for i in range(len(configs))]


def _pool_round(ids, configs, initargs, workers, ctx, done):
    """Runs trials ``ids`` in one pool; returns the ids lost to a broken pool."""
    broken: list[int] = []
    with cf.ProcessPoolExecutor(min(workers, len(ids)), mp_context=ctx, initializer=_init_worker,
                                initargs=initargs) as pool:
        futures = {pool.submit(_run_one, i, configs[i]): i for i in ids}
        for fut in cf.as_completed(futures):
            i = futures[fut]
            try:
                done(i, fut.result())
            except cf.process.BrokenProcessPool:
                broken.append(i)
    return sorted(broken)


def _isolated(config, index, initargs, ctx):
    """Runs one trial in a fresh single-worker pool; a crash there fails only this trial."""
    try:
        with cf.ProcessPoolExecutor(1, mp_context=ctx, initializer=_init_worker,
                                    initargs=initargs) as pool:
            return pool.submit(_run_one, index, config).result()
    except cf.process.BrokenProcessPool as e:
        return _failed(index, config, _exit_message(e))
