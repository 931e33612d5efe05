"""The metrics a network may name (SPEC §3), declared once for every backend.

Besides plain aliases (``acc``), Keras' specific spellings are *presets*: an alias with
fixed arguments (``sparse_categorical_accuracy`` is ``accuracy(kind="sparse")``).
``context`` names the arguments a trainer supplies itself (the configured loss, the final
activation); a file does not write them. ``higher_is_better`` says which way the metric
improves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from neural_jax.ir.params import ParamSpec as P
from neural_jax.ir.training.decl import TrainingDecl, lookup

__all__ = ["METRICS", "MetricDecl", "LABEL_KINDS", "metric_preset"]

#: the target forms ``accuracy(kind=...)`` takes
LABEL_KINDS = ("sparse", "categorical", "binary")


@dataclass(frozen=True)
class MetricDecl(TrainingDecl):
    """A metric.

    Attributes:
      presets: alias -> the arguments it fixes.
      context: arguments the trainer passes (not written in a file).
      higher_is_better: whether a larger value is better.
    """

    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    context: tuple[str, ...] = ()
    higher_is_better: bool = True


def _metric(name: str, *params: P, aliases=(), presets=None, context=(),
            higher_is_better=True) -> MetricDecl:
    presets = dict(presets or {})
    return MetricDecl(name, params, aliases=(*aliases, *presets), presets=presets,
                      context=tuple(context), higher_is_better=higher_is_better,
                      structural=frozenset(p.name for p in params))


METRICS: dict[str, MetricDecl] = {d.name: d for d in (
    _metric("accuracy", P("kind", "label_kind", None), P("threshold", "unit", 0.5),
            aliases=("acc",),
            presets={"sparse_categorical_accuracy": {"kind": "sparse"},
                     "categorical_accuracy": {"kind": "categorical"},
                     "binary_accuracy": {"kind": "binary"}},
            context=("loss", "final_activation", "from_logits")),
    _metric("top_k_accuracy", P("k", "pos_int", 5),
            presets={"top_k_categorical_accuracy": {},
                     "sparse_top_k_categorical_accuracy": {}}),
    _metric("loss", context=("loss",), higher_is_better=False),
    _metric("mse", aliases=("mean_squared_error",), context=("final_activation", "loss"),
            higher_is_better=False),
    _metric("mae", aliases=("mean_absolute_error",), context=("final_activation", "loss"),
            higher_is_better=False),
)}


def metric_preset(name: str) -> dict[str, Any]:
    """The arguments a metric spelling fixes (``{}`` for a plain name or alias)."""
    key = lookup(METRICS, name)
    if key is None:
        return {}
    return dict(METRICS[key].presets.get(name.strip().lower(), {}))
