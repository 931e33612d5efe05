"""Training building blocks: losses, metrics, optax optimizers and schedules.

Everything is looked up by the names a DSL file or config gives (case-insensitive) and
raises :class:`TrainConfigError` with the closest known name for anything unknown.
Float hyperparameters of optimizers and schedules live in optimizer state, so one
compiled update serves a whole population (see :mod:`neural_jax.train.optimizers`).

The engine that trains with them (``train_population``, ``Trainer``, ``PBT``, ...) is
:mod:`neural_jax.population`, one layer up: nothing here imports it.
"""

from neural_jax.ir.training import LOGIT_ACTIVATIONS, takes_logits
from neural_jax.ir.training.checks import TrainConfigError
from neural_jax.ir.training.resolve import optimizer_hyperparams, optimizer_structure
from neural_jax.train.losses import (
    LOSSES,
    Loss,
    get_loss,
    loss_names,
)
from neural_jax.train.metrics import (
    METRICS,
    Metric,
    get_metric,
    mean_from_stats,
    metric_names,
)
from neural_jax.train.optimizers import (
    OPTIMIZERS,
    build_optimizer,
    hyperparams_of,
    optimizer_names,
    optimizer_signature,
    set_hyperparams,
)
from neural_jax.train.schedules import (
    SCHEDULES,
    get_schedule,
    schedule_names,
    schedule_signature,
)

__all__ = [
    "LOGIT_ACTIVATIONS",
    "LOSSES",
    "METRICS",
    "OPTIMIZERS",
    "SCHEDULES",
    "Loss",
    "Metric",
    "TrainConfigError",
    "build_optimizer",
    "get_loss",
    "get_metric",
    "get_schedule",
    "hyperparams_of",
    "loss_names",
    "mean_from_stats",
    "metric_names",
    "optimizer_hyperparams",
    "optimizer_names",
    "optimizer_signature",
    "optimizer_structure",
    "schedule_names",
    "schedule_signature",
    "set_hyperparams",
    "takes_logits",
]
