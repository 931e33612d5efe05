"""The host epoch loop of one run whose epochs another framework runs (PyTorch, TensorFlow).

A bridge's ``train_trial`` differs from a JAX member in how it runs an epoch, not in what
happens around it: :func:`prepare_data` carves the validation split as the JAX side does,
and :func:`fit_epochs` keeps the same history records (``epoch``, ``loss``, train metrics,
``val_*``, ``seconds``) and applies the same rules through the same state machine as the
population engine (:class:`~neural_jax.population.stopping.EarlyStopping`): a NaN/inf
training loss stops the run as failed, naming the epoch; the monitored value (``val_loss``
by default; an ``acc`` monitor is maximised) must improve within ``patience`` epochs; the
weights of the best epoch are the ones kept. A caller may also pass ``should_stop`` (a
search's early-stopping scheduler, judged on the same monitored value as patience), which
ends the run at an epoch boundary. This module does not import JAX."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from neural_jax.executors.outcome import TrialOutcome
from neural_jax.ir.training.checks import TrainConfigError
from neural_jax.population.stopping import EarlyStopping, monitor_score

__all__ = ["TrainData", "fit_epochs", "monitor_score", "prepare_data"]


@dataclasses.dataclass
class TrainData:
    """The arrays of one run: training part, validation part (or None) and test part."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray | None
    y_val: np.ndarray | None
    x_test: np.ndarray
    y_test: np.ndarray
    n_steps: int


def prepare_data(dataset: Any, input_shape: tuple, spec: Any) -> TrainData:
    """Fits ``dataset`` to the network input and carves the validation split of ``spec``.

    Raises:
      DatasetError: the data cannot be fitted to ``input_shape``.
      TrainConfigError: ``batch_size`` larger than the training part.
    """
    ds = dataset.fit_to(input_shape)
    split = (ds.split_validation(spec.validation_split, seed=spec.seed)
             if spec.validation_split > 0 else None)
    x_tr, y_tr = (split.x_train, split.y_train) if split else (ds.x_train, ds.y_train)
    n_steps = len(x_tr) // spec.batch_size
    if n_steps == 0:
        raise TrainConfigError(f"batch_size {spec.batch_size} is larger than the {len(x_tr)} "
                         "training examples; use a smaller batch_size")
    return TrainData(x_tr, y_tr, split.x_val if split else None, split.y_val if split else None,
                     ds.x_test, ds.y_test, n_steps)


def fit_epochs(spec: Any, train_epoch: Callable[[int], Mapping[str, float]],
               evaluate: Callable[[], Mapping[str, float]] | None,
               snapshot: Callable[[], Any],
               on_epoch: Callable[[int, dict], None] | None = None,
               should_stop: Callable[[int, float], bool] | None = None) -> TrialOutcome:
    """Runs ``spec.epochs`` epochs of one member under :class:`EarlyStopping`.

    Args:
      spec: the run's :class:`~neural_jax.train.spec.TrainSpec` (epochs, monitor, patience).
      train_epoch: ``train_epoch(epoch)`` trains one epoch and returns ``loss`` and the
        training metrics.
      evaluate: returns the validation metrics of the current weights (keys without
        ``val_``), or None when there is no validation split.
      snapshot: returns a copy of the current weights (kept when the monitor improves).
      on_epoch: called with ``(epoch, record)`` after each finished epoch.
      should_stop: called as ``should_stop(epoch, score)`` (:func:`monitor_score`) after
        each epoch but the last that patience did not end; True stops the run there
        (``stopped_by="scheduler"``).

    Returns:
      A :class:`~neural_jax.executors.outcome.TrialOutcome` with the history, how the run
      ended and, as ``variables``, the kept snapshot (``index``, ``config``, ``val`` and
      ``test`` are left for the caller to fill in).
    """
    es = EarlyStopping(1, spec.patience)
    history: list[dict[str, float]] = []
    best = snapshot()
    for epoch in range(1, spec.epochs + 1):
        t0 = time.perf_counter()
        rec: dict[str, float] = {"epoch": epoch, **train_epoch(epoch)}
        if not math.isfinite(rec["loss"]):
            es.step(epoch, [0], [rec["loss"]], [math.inf])
            history.append(rec)
            break
        if evaluate is not None:
            rec.update({f"val_{k}": v for k, v in evaluate().items()})
        rec["seconds"] = time.perf_counter() - t0
        history.append(rec)
        if on_epoch is not None:
            on_epoch(epoch, rec)
        score = monitor_score(spec, rec)
        if es.step(epoch, [0], [rec["loss"]], [score])[0]:
            best = snapshot()
        if not es.active[0]:
            break
        if should_stop is not None and epoch < spec.epochs and should_stop(epoch, score):
            es.stop([0], epoch, "scheduler")
            break
    return TrialOutcome(index=0, config={}, history=history, val={}, test={}, variables=best,
                        **es.outcome(0))
