"""One PyTorch or TensorFlow trial: the bridge's trainer, called with a trial's seed and
its early-stopping judge, a failure turned into a failed outcome.

Both the caller (:func:`bridges.trials.run_trials` with one worker) and a worker process
(:mod:`bridges.worker`) train trials through these functions; they import neither the pool
nor the worker, so the three modules form no import cycle.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from typing import Any

from neural_jax.core.errors import NeuralValidationError
from neural_jax.executors.backends import FRAMEWORK_MODULES as _EXTRA
from neural_jax.executors.outcome import TrialOutcome

__all__ = ["call_trial", "check_installed", "failed_result", "run_one", "train_fn"]


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


def check_installed(backend: str) -> None:
    """Fails early, in this process, when the framework the workers need is missing
    (without importing it here: only the workers need it)."""
    if importlib.util.find_spec(_EXTRA[backend]) is None:
        raise _missing(backend, f"no module named {_EXTRA[backend]!r}")


def failed_result(index: int, config: Mapping[str, Any], message: str) -> TrialOutcome:
    """A failed trial's :class:`~neural_jax.executors.TrialOutcome`."""
    return TrialOutcome(index=index, config=dict(config), history=[], val={}, test={},
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


def call_trial(fn: Callable[..., Any], net: Any, dataset: Any, config: Mapping[str, Any],
               overrides: Mapping[str, Any] | None, index: int, scheduler: Any = None,
               trial_id: int | None = None, reports: list | None = None) -> Any:
    """Trains one trial with ``fn``: its ``"seed"`` moved into the overrides, judged by
    ``scheduler`` after every epoch (the scores it judged appended to ``reports``)."""
    config, overrides = _split_seed(config, overrides)
    extra = ({} if scheduler is None
             else {"should_stop": _judge(scheduler, trial_id, [] if reports is None else reports)})
    return fn(net, dataset, config, overrides=overrides, index=index, **extra)


def run_one(state: Mapping[str, Any], index: int, config: Mapping[str, Any], trial_id: int,
            scheduler: Any) -> tuple[TrialOutcome, list[tuple[int, float]]]:
    """One trial in a worker (``state``: its setup; ``scheduler``: the caller's, copied when
    the trial was handed out): its result and the ``(epoch, score)`` the scheduler judged."""
    reports: list[tuple[int, float]] = []
    try:
        return call_trial(state["fn"], state["net"], state["dataset"], config, state["overrides"],
                     index, scheduler, trial_id, reports), reports
    except Exception as e:  # noqa: BLE001 - a trial's own error fails that trial, not the study
        return failed_result(index, config, f"{type(e).__name__}: {e}"), reports
