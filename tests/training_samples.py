"""Sample arguments for every declared training name (:mod:`neural_jax.ir.training`).

The completeness tests of each backend build every optimizer, schedule, loss and metric the
IR declares from these samples, so a name added to the IR is tested everywhere at once.
"""

from __future__ import annotations

from typing import Any

from neural_jax.ir.params import REQUIRED
from neural_jax.ir.training import LOSSES, METRICS, OPTIMIZERS, SCHEDULES, TrainingDecl

__all__ = ["LOSSES", "METRICS", "OPTIMIZERS", "SCHEDULES", "sample_args", "schedule_sample",
           "dsl_call", "metric_loss"]

_BY_KIND = {"positive": 0.05, "nonneg": 0.05, "rate": 0.5, "unit": 0.5, "pos_int": 4,
            "nonneg_int": 2}


def sample_args(decl: TrainingDecl) -> dict[str, Any]:
    """A legal value for every required argument of ``decl``."""
    if decl.name == "PiecewiseConstantDecay":
        return {"boundaries": [2.0, 5.0], "values": [0.05, 0.02, 0.01]}
    return {p.name: _BY_KIND[p.kind] for p in decl.params if p.default is REQUIRED}


def schedule_sample(name: str) -> dict[str, Any]:
    """A ``learning_rate`` mapping with the schedule ``name`` and its sample arguments."""
    return {"schedule": name, "args": sample_args(SCHEDULES[name])}


def _literal(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_literal(x) for x in v) + "]"
    return repr(v)


def dsl_call(decl: TrainingDecl, extra: dict[str, Any] | None = None) -> str:
    """``Name(arg=value, ...)`` for a DSL file, with the sample arguments."""
    args = {**sample_args(decl), **dict(extra or {})}
    return f"{decl.name}(" + ", ".join(f"{k}={_literal(v)}" for k, v in args.items()) + ")"


def metric_loss(name: str) -> str:
    """A loss the metric ``name`` can be computed with on class labels."""
    return "mse" if name in ("mse", "mae") else "sparse_categorical_crossentropy"
