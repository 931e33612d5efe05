"""The losses a network may name (SPEC §3), declared once for every backend.

``probabilistic`` losses read the network's outputs as probabilities (or, with
``from_logits``, as logits) and take ``from_logits``; the others (regression losses) compare
each output with its target value. ``labels`` is the target form a cross-entropy expects.
Every loss argument is structural: a loss is built with its arguments fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

from neural_jax.ir.params import ParamSpec as P
from neural_jax.ir.training.decl import TrainingDecl

__all__ = ["LOSSES", "LossDecl", "DEFAULT_LOSS", "LOGIT_ACTIVATIONS", "REGRESSION_LOSSES",
           "is_regression_loss", "logit_activation", "takes_logits"]

#: what a run uses when the network names no loss
DEFAULT_LOSS = "sparse_categorical_crossentropy"

#: final activations a loss applies itself, from the pre-activation logits (stably, in log
#: space); every backend passes such a network's logits to the loss
LOGIT_ACTIVATIONS = ("softmax", "sigmoid")


@dataclass(frozen=True)
class LossDecl(TrainingDecl):
    """A loss.

    Attributes:
      probabilistic: whether it reads outputs as probabilities or logits (``from_logits``
        applies); False for the regression losses.
      labels: ``"sparse"`` (class ids), ``"categorical"`` (one-hot) or ``"binary"`` (0/1)
        targets, or None for real-valued targets.
    """

    probabilistic: bool = False
    labels: str | None = None


_FROM_LOGITS = P("from_logits", "bool", False)
_SMOOTHING = P("label_smoothing", "unit", 0.0)


def _loss(name: str, *params: P, aliases=(), labels=None) -> LossDecl:
    return LossDecl(name, params, aliases=tuple(aliases),
                    structural=frozenset(p.name for p in params),
                    probabilistic=labels is not None, labels=labels)


LOSSES: dict[str, LossDecl] = {d.name: d for d in (
    _loss("sparse_categorical_crossentropy", _FROM_LOGITS, labels="sparse"),
    _loss("categorical_crossentropy", _FROM_LOGITS, _SMOOTHING, labels="categorical"),
    _loss("binary_crossentropy", _FROM_LOGITS, _SMOOTHING, labels="binary"),
    _loss("mse", aliases=("mean_squared_error",)),
    _loss("mae", aliases=("mean_absolute_error",)),
    _loss("huber", P("delta", "positive", 1.0), aliases=("huber_loss",)),
)}

#: every spelling (lower case) of a regression loss: its targets are real numbers
REGRESSION_LOSSES = frozenset(
    s.lower() for d in LOSSES.values() if not d.probabilistic for s in (d.name, *d.aliases))


def is_regression_loss(name: str | None) -> bool:
    """Whether the loss ``name`` (any case, or an alias) is a regression loss."""
    return isinstance(name, str) and name.strip().lower() in REGRESSION_LOSSES


def logit_activation(final_activation: str | None) -> str | None:
    """``"softmax"``/``"sigmoid"`` when the loss applies that final activation itself, else None.

    Raises:
      TrainConfigError: ``final_activation`` is neither a name nor None.
    """
    if final_activation is None:
        return None
    if not isinstance(final_activation, str):
        from neural_jax.ir.training.checks import TrainConfigError

        raise TrainConfigError(
            f"final_activation must be an activation name or None, got {final_activation!r}.")
    name = final_activation.strip().lower()
    return name if name in LOGIT_ACTIVATIONS else None


def takes_logits(final_activation: str | None) -> bool:
    """Whether a backend passes pre-activation logits to the loss for this final activation."""
    return logit_activation(final_activation) is not None
