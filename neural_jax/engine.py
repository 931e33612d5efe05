"""The round loop of a search: ask the study, hand the round to the executor, tell.

:func:`run_rounds` is what :meth:`neural_jax.hpo.HPOptimizer.optimize` runs once the network,
the data, the study and the executor are ready. It never asks which framework trains: what
the executor can do is in its :class:`~neural_jax.executors.Capabilities`, checked by
:func:`check_capabilities` before the data loads.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

from neural_jax.core.errors import NeuralValidationError, NeuralWarning
from neural_jax.engine_config import EngineConfig
from neural_jax.executors.base import Capabilities, Executor
from neural_jax.interrupt import DeferredInterrupt
from neural_jax.trial_records import record_pbt, tell

__all__ = ["check_capabilities", "check_workers", "rounds_of", "run_rounds"]


def check_workers(config: EngineConfig, capabilities: Capabilities, backend: str) -> None:
    """Refuses a worker count the executor cannot use (before anything is parsed).

    Raises:
      NeuralValidationError: ``workers > 1`` for an executor that trains in one process
        (JAX: a population in one program; ``population`` is what it trains side by side).
    """
    limit = capabilities.max_workers
    if config.workers is not None and limit is not None and config.workers > limit:
        raise NeuralValidationError(
            f"workers={config.workers}: backend {backend!r} trains a round's trials together "
            f"in this process, not in worker processes",
            hint="set population= (the trials trained together), or use a backend with "
                 "worker processes (pytorch, tensorflow)")


def check_capabilities(capabilities: Capabilities, backend: str, pbt: Any,
                       scheduler: Any) -> None:
    """Refuses what the search asks of an executor that cannot do it.

    Raises:
      NeuralValidationError: PBT or a scheduler for an executor without them.
    """
    if pbt is not None and not capabilities.supports_pbt:
        raise NeuralValidationError(
            f"PBT trains inside a JAX population (weights copied between members); "
            f"backend {backend!r} cannot", hint='use backend="jax", or another strategy')
    if scheduler is not None and not capabilities.supports_in_population_schedulers:
        raise NeuralValidationError(
            f"backend {backend!r} cannot stop trials early (scheduler {scheduler!r})",
            hint="leave the scheduler out, or use backend='jax'")


def _checked(on_epoch: Callable[[int, dict[int, dict]], None] | None,
             stop: DeferredInterrupt) -> Callable[[int, dict[int, dict]], None]:
    """``on_epoch`` followed by ``stop.check()``: a recorded Ctrl-C stops the search here,
    between two epochs."""

    def hook(epoch: int, records: dict[int, dict]) -> None:
        if on_epoch is not None:
            on_epoch(epoch, records)
        stop.check()

    return hook


def run_rounds(opt: Any, executor: Executor, net: Any, dataset: Any, *, metric: str,
               population: int, done: int, scheduler: Any, pbt: Any, keeper: Any,
               stop: DeferredInterrupt | None) -> None:
    """Runs rounds until ``opt.n_trials`` trials are counted, the search space is exhausted,
    the timeout passes or Ctrl-C; the state lands on ``opt`` (:class:`HPOptimizer`:
    ``trials``, ``best_trial``, ``timed_out``, ``interrupted``).

    Args:
      opt: the optimizer whose ``study``, ``n_trials``, ``timeout``, ``seed`` and
        callbacks the rounds use.
      executor: trains each round; closed at the end (killed after an interrupt or error).
      population: trials asked per round.
      done: trials the study already counts.
      keeper: a :class:`neural_jax.population.best.BestKeeper`, or None.
      stop: the deferred Ctrl-C of an executor that defers it, or None.
    """
    import search

    caps = executor.capabilities
    start = time.perf_counter()
    rnd = 0
    on_epoch = None
    if caps.epoch_callbacks:
        on_epoch = opt.on_epoch if stop is None else _checked(opt.on_epoch, stop)
    num_classes = getattr(dataset, "num_classes", None)
    try:
        while done < opt.n_trials:
            if stop is not None:
                stop.check()
            if opt.timeout is not None and time.perf_counter() - start >= opt.timeout:
                opt.timed_out = True
                break
            try:
                trials = opt.study.ask(min(population, opt.n_trials - done))
            except search.SearchExhausted:
                break
            opt._running = trials
            configs = [{**t.params, "seed": opt.seed + t.number} for t in trials]
            results = executor.run(net, dataset, configs, trial_ids=[t.number for t in trials],
                                   scheduler=scheduler, pbt=pbt, on_epoch=on_epoch,
                                   keep_variables=keeper is not None)
            if pbt is not None:
                record_pbt(trials, results)
            records = [tell(opt.study, t, r, metric, num_classes)
                       for t, r in zip(trials, results)]
            if keeper is not None:
                keeper.offer(net, records, results, [c["seed"] for c in configs],
                             getattr(results, "stats", None))
                opt.best_trial = keeper.best
                for r in results:  # the round's other weights go now
                    r.variables = None
            opt._running = []
            opt.trials.extend(records)
            done += len(trials)
            if opt.on_round is not None:
                opt.on_round(rnd, records)
            rnd += 1
        if stop is not None:  # a Ctrl-C during the last round's tells: it said stopping
            stop.check()
    except KeyboardInterrupt:
        opt.interrupted = True
        requeued = 0
        for t in opt._own_running():
            # back in the queue: a resume trains the same configuration
            with contextlib.suppress(search.SearchError):
                requeued += opt.study.requeue(t, "interrupted (Ctrl-C)") is not None
        opt._running = []
        warnings.warn(NeuralWarning(opt.interrupt_message(requeued)), stacklevel=4)
    finally:
        # an interrupted search abandons its running trials (and waits for compilations)
        executor.close(kill=opt.interrupted or sys.exc_info()[0] is not None)


def rounds_of(n_trials: int, done: int, population: int) -> int:
    """The rounds a search will run, fixed up front so that every round asks for the same
    program (a search long enough to pay for XLA's optimizing compile gets it)."""
    return max(1, math.ceil((n_trials - done) / population))
