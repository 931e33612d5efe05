"""Training building blocks: losses, metrics, optax optimizers and schedules.

Everything is looked up by the names a DSL file or config gives (case-insensitive) and
raises :class:`TrainConfigError` with the closest known name for anything unknown.
Float hyperparameters of optimizers and schedules live in optimizer state, so one
compiled update serves a whole population (see :mod:`neural_jax.train.optimizers`).

The population names (``train_population``, ``MemberResult``, ``PBT``, ...) live in
:mod:`neural_jax.population`; they are importable from here too, loaded on first use.
"""

import importlib as _importlib

from neural_jax.train._registry import TrainConfigError
from neural_jax.train.losses import (
    LOGIT_ACTIVATIONS,
    LOSSES,
    Loss,
    get_loss,
    loss_names,
    takes_logits,
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
    optimizer_hyperparams,
    optimizer_names,
    optimizer_signature,
    optimizer_structure,
    set_hyperparams,
)
from neural_jax.train.schedules import (
    SCHEDULES,
    get_schedule,
    resolve_schedule,
    schedule_names,
    schedule_signature,
)

__all__ = [
    "Bucket",
    "MemberResult",
    "PBT",
    "PopulationConfigError",
    "PopulationResult",
    "bucket_configs",
    "train_population",
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
    "resolve_schedule",
    "schedule_names",
    "schedule_signature",
    "set_hyperparams",
    "takes_logits",
]

#: names of :mod:`neural_jax.population` importable from here (loaded on first use, so that
#: importing the training building blocks does not import the engine)
_POPULATION = ("Bucket", "MemberResult", "PBT", "PopulationConfigError", "PopulationResult",
               "bucket_configs", "train_population")


def __getattr__(name: str):
    if name in _POPULATION:
        return getattr(_importlib.import_module("neural_jax.population"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
