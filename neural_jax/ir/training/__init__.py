"""Every training name, declared once: optimizers, schedules, losses, metrics, search methods.

The DSL checker validates a file against these declarations; the JAX trainer, the PyTorch
and TensorFlow bridges and the code generators implement exactly these names, keyed by the
canonical name, and read signatures, defaults and aliases from here;
:mod:`neural_jax.ir.training.resolve` checks settings given as Python values against them.
Pure Python.
"""

from neural_jax.ir.training.checks import TrainConfigError
from neural_jax.ir.training.decl import TrainingDecl, canonical_arg, lookup, spellings
from neural_jax.ir.training.losses import (
    DEFAULT_LOSS,
    LOGIT_ACTIVATIONS,
    LOSSES,
    REGRESSION_LOSSES,
    LossDecl,
    is_regression_loss,
    logit_activation,
    takes_logits,
)
from neural_jax.ir.training.metrics import LABEL_KINDS, METRICS, MetricDecl, metric_preset
from neural_jax.ir.training.optimizers import (
    CLIP_ARGS,
    DEFAULT_OPTIMIZER,
    OPTIMIZERS,
    OptimizerDecl,
)
from neural_jax.ir.training.schedules import SCHEDULES, ScheduleDecl
from neural_jax.methods import METHODS

#: search methods a `train { search_method: ... }` may name (:mod:`neural_jax.methods`;
#: aliases such as "bayesian" and "CMA-ES" and any evosax algorithm name are accepted too)
SEARCH_METHODS = tuple(METHODS)

__all__ = [
    "CLIP_ARGS",
    "DEFAULT_LOSS",
    "DEFAULT_OPTIMIZER",
    "LABEL_KINDS",
    "LOGIT_ACTIVATIONS",
    "LOSSES",
    "METRICS",
    "OPTIMIZERS",
    "REGRESSION_LOSSES",
    "SCHEDULES",
    "SEARCH_METHODS",
    "TrainConfigError",
    "LossDecl",
    "MetricDecl",
    "OptimizerDecl",
    "ScheduleDecl",
    "TrainingDecl",
    "canonical_arg",
    "is_regression_loss",
    "logit_activation",
    "lookup",
    "metric_preset",
    "spellings",
    "takes_logits",
]
