"""The intermediate representation: nodes, layer registry, shape checker, search space, printer.

It builds on :mod:`neural_jax.core` only; the DSL lowers its syntax tree into it
(:mod:`neural_jax.dsl.lower`).
"""

from neural_jax.ir.checker import ShapeReport, check, infer_shapes, resolve
from neural_jax.ir.defaults import default_config
from neural_jax.ir.nodes import (
    HPO,
    Choice,
    EarlyStopping,
    Execution,
    Layer,
    LogRange,
    Loss,
    Metric,
    Network,
    Optimizer,
    Range,
    Schedule,
    Train,
)
from neural_jax.ir.params import ACTIVATIONS, ParamSpec
from neural_jax.ir.registry import GROUPS, LAYERS, LayerSpec, lookup_layer
from neural_jax.ir.space import SearchParam, bind_search_space, search_space, to_space_dict
from neural_jax.ir.training import LOSSES, METRICS, OPTIMIZERS, SCHEDULES

__all__ = [
    "ACTIVATIONS",
    "Choice",
    "EarlyStopping",
    "Execution",
    "GROUPS",
    "HPO",
    "LAYERS",
    "LOSSES",
    "Layer",
    "LayerSpec",
    "LogRange",
    "Loss",
    "METRICS",
    "Metric",
    "Network",
    "OPTIMIZERS",
    "Optimizer",
    "ParamSpec",
    "Range",
    "SCHEDULES",
    "Schedule",
    "SearchParam",
    "ShapeReport",
    "Train",
    "bind_search_space",
    "check",
    "default_config",
    "infer_shapes",
    "lookup_layer",
    "resolve",
    "search_space",
    "to_space_dict",
]
