r"""Per-example losses with Keras names, computed stably from logits.

Notation: :math:`z` pre-activation outputs (logits), :math:`p` probabilities,
:math:`y` targets, :math:`C` classes, :math:`\epsilon = 10^{-7}` (Keras' clipping
constant), :math:`\sigma` the logistic sigmoid, :math:`s` label smoothing.

- ``sparse_categorical_crossentropy``: :math:`-\log p_y`, with
  :math:`\log p = z - \operatorname{logsumexp}(z)`
- ``categorical_crossentropy``: :math:`-\sum_c \tilde y_c \log p_c`,
  :math:`\tilde y = (1-s)y + s/C`
- ``binary_crossentropy``: :math:`-\tilde y\log\sigma(z) - (1-\tilde y)\log\sigma(-z)`,
  :math:`\tilde y = (1-s)y + s/2`
- ``mse`` / ``mae``: :math:`(p-y)^2` / :math:`|p-y|`
- ``huber``: :math:`\tfrac12 r^2` if :math:`|r|\le\delta` else
  :math:`\delta|r| - \tfrac12\delta^2`, with :math:`r = p - y` (Huber 1964)

Final activations. A Keras-style network may end in ``softmax`` or ``sigmoid``
(``Output(10, activation="softmax")``). Computing :math:`\log` of those probabilities
overflows for large logits, so the trainer passes the **pre-activation logits** of the
last layer together with the activation name: ``get_loss(name,
final_activation="softmax")`` returns a loss that expects :math:`z` and applies the
activation itself, in log space where it matters (``log_softmax``, ``log_sigmoid``). For
any other final activation (``None``, ``"linear"``, ``"relu"``, ...) the loss receives the
network's outputs as they are; with ``from_logits=True`` they are read as logits (Keras'
``from_logits``), otherwise as probabilities, clipped to :math:`[\epsilon, 1-\epsilon]`
like Keras. :func:`neural_jax.ir.training.takes_logits` tells the trainer which case
applies.

Shapes. A loss maps a batch to one value per example, shape ``(B,)``: cross-entropies
sum over the class axis (last) and average any axes between batch and class (e.g. time);
the others average over all non-batch axes. Rank-1 outputs are one value per example.
Sparse labels may carry a trailing axis of size 1. An out-of-range sparse label gives a
NaN loss, which the trainer reports.

Float parameters (``delta``, ``label_smoothing``) can vary per population member: call
``loss(outputs, targets, params={"delta": d})`` with ``d`` a traced scalar.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp

from neural_jax.ir.training import LOSSES as DECLS
from neural_jax.ir.training.checks import check_arg_names
from neural_jax.ir.training.resolve import resolve_loss

__all__ = [
    "LOSSES",
    "Loss",
    "get_loss",
    "loss_names",
]

EPSILON = 1e-7
_LOG_EPS = math.log(EPSILON)
_LOG_1M_EPS = math.log1p(-EPSILON)

# ----------------------------------------------------------------------------------
# Log-probabilities under each reading of the network output.

def _log1mexp(x: jax.Array) -> jax.Array:
    """:math:`\\log(1 - e^x)` for :math:`x < 0`, accurate on both sides of -log 2."""
    return jnp.where(x > -math.log(2.0), jnp.log(-jnp.expm1(x)), jnp.log1p(-jnp.exp(x)))


def _clip_log(logp: jax.Array) -> jax.Array:
    return jnp.clip(logp, _LOG_EPS, _LOG_1M_EPS)


def _class_log_probs(z: jax.Array, mode: str) -> jax.Array:
    """Normalised class log-probabilities over the last axis."""
    if mode in ("softmax", "logits"):
        return jax.nn.log_softmax(z, axis=-1)
    if mode == "sigmoid":
        # Keras normalises non-softmax probabilities to sum to one before the log.
        logp = jax.nn.log_sigmoid(z)
        return _clip_log(logp - jax.nn.logsumexp(logp, axis=-1, keepdims=True))
    p = z / jnp.maximum(jnp.sum(z, axis=-1, keepdims=True), EPSILON)
    return jnp.log(jnp.clip(p, EPSILON, 1.0 - EPSILON))


def _binary_log_probs(z: jax.Array, mode: str) -> tuple[jax.Array, jax.Array]:
    """Elementwise :math:`(\\log p, \\log(1-p))`."""
    if mode in ("sigmoid", "logits"):
        return jax.nn.log_sigmoid(z), jax.nn.log_sigmoid(-z)
    if mode == "softmax":
        logp = _clip_log(jax.nn.log_softmax(z, axis=-1))
        return logp, _clip_log(_log1mexp(logp))
    p = jnp.clip(z, EPSILON, 1.0 - EPSILON)
    return jnp.log(p), jnp.log1p(-p)


def _probabilities(z: jax.Array, mode: str) -> jax.Array:
    if mode == "softmax":
        return jax.nn.softmax(z, axis=-1)
    if mode == "sigmoid":
        return jax.nn.sigmoid(z)
    return z


def _per_example(x: jax.Array) -> jax.Array:
    """Averages everything but the leading (batch) axis."""
    return x if x.ndim <= 1 else jnp.mean(x.reshape(x.shape[0], -1), axis=1)


def _as_float_targets(y: jax.Array, like: jax.Array) -> jax.Array:
    return jnp.asarray(y).astype(jnp.result_type(like))


def _match_rank(y: jax.Array, z: jax.Array) -> jax.Array:
    if y.shape != z.shape and y.size == z.size:
        return y.reshape(z.shape)  # e.g. (B,) labels for a (B, 1) output
    return y


# ----------------------------------------------------------------------------------
# The losses: fn(z, y, mode, **params) -> (B,)

def sparse_categorical_crossentropy(z, y, mode):
    """Keras ``sparse_categorical_crossentropy`` on integer labels."""
    y = jnp.asarray(y)
    if y.ndim == z.ndim and y.shape[-1] == 1:
        y = y[..., 0]
    logp = _class_log_probs(z, mode)
    picked = jnp.take_along_axis(logp, y.astype(jnp.int32)[..., None], axis=-1)[..., 0]
    return _per_example(-picked)


def categorical_crossentropy(z, y, mode, label_smoothing=0.0):
    """Keras ``categorical_crossentropy`` on one-hot (or soft) targets."""
    y = _as_float_targets(y, z)
    y = y * (1.0 - label_smoothing) + label_smoothing / z.shape[-1]
    return _per_example(-jnp.sum(y * _class_log_probs(z, mode), axis=-1))


def binary_crossentropy(z, y, mode, label_smoothing=0.0):
    """Keras ``binary_crossentropy``; averages over the last axis like Keras."""
    y = _match_rank(_as_float_targets(y, z), z)
    y = y * (1.0 - label_smoothing) + 0.5 * label_smoothing
    logp, log1mp = _binary_log_probs(z, mode)
    return _per_example(-(y * logp + (1.0 - y) * log1mp))


def mse(z, y, mode):
    """Mean squared error of the (activated) outputs."""
    p = _probabilities(z, mode)
    return _per_example(jnp.square(p - _match_rank(_as_float_targets(y, p), p)))


def mae(z, y, mode):
    """Mean absolute error of the (activated) outputs."""
    p = _probabilities(z, mode)
    return _per_example(jnp.abs(p - _match_rank(_as_float_targets(y, p), p)))


def huber(z, y, mode, delta=1.0):
    """Keras ``huber``: quadratic within ``delta``, linear outside."""
    p = _probabilities(z, mode)
    r = jnp.abs(p - _match_rank(_as_float_targets(y, p), p))
    quadratic = jnp.minimum(r, delta)
    # 0.5 q^2 + delta (r - q) equals both branches of the definition.
    return _per_example(0.5 * jnp.square(quadratic) + delta * (r - quadratic))


#: the per-example function of each loss the IR declares
#: (:data:`neural_jax.ir.training.LOSSES`), keyed by its canonical name
LOSSES: dict[str, Callable[..., jax.Array]] = {
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "binary_crossentropy": binary_crossentropy,
    "mse": mse,
    "mae": mae,
    "huber": huber,
}


def loss_names() -> list[str]:
    """Canonical names of all declared losses."""
    return list(DECLS)


@dataclasses.dataclass(frozen=True, eq=False)
class Loss:
    """A configured per-example loss.

    Call it as ``loss(outputs, targets)`` or, with per-member float parameters,
    ``loss(outputs, targets, params={"delta": d})``; returns shape ``(B,)``.

    Attributes:
      name: Canonical loss name.
      params: Float parameters with their configured values.
      final_activation: ``"softmax"``/``"sigmoid"`` when the loss applies it to the
        pre-activation logits it receives, else None.
      from_logits: Whether outputs without such an activation are logits.
    """

    name: str
    params: Mapping[str, float]
    final_activation: str | None
    from_logits: bool
    _fn: Callable[..., jax.Array] = dataclasses.field(repr=False)

    @property
    def mode(self) -> str:
        """How outputs are read: ``"softmax"``/``"sigmoid"``, ``"logits"`` or
        ``"probabilities"``."""
        if self.final_activation is not None:
            return self.final_activation
        return "logits" if self.from_logits else "probabilities"

    def __call__(self, outputs: jax.Array, targets: jax.Array,
                 params: Mapping[str, jax.typing.ArrayLike] | None = None) -> jax.Array:
        values = dict(self.params)
        if params:
            check_arg_names(params, self.params, f"Loss '{self.name}'")
            values.update(params)
        return self._fn(jnp.asarray(outputs), targets, self.mode, **values)


def get_loss(name: str, *, final_activation: str | None = None,
             from_logits: bool | None = None, **params: Any) -> Loss:
    """Builds a per-example loss by its Keras name.

    Args:
      name: ``sparse_categorical_crossentropy``, ``categorical_crossentropy``,
        ``binary_crossentropy``, ``mse``, ``mae`` or ``huber`` (case-insensitive;
        ``mean_squared_error``, ``mean_absolute_error``, ``huber_loss`` also work).
      final_activation: The activation of the network's last layer. For
        ``"softmax"`` / ``"sigmoid"`` the loss expects the pre-activation logits and
        applies the activation itself, stably. Other names mean the outputs arrive
        already activated.
      from_logits: Keras' flag, for outputs without a softmax/sigmoid activation:
        True reads them as logits, False (default) as probabilities.
      **params: ``label_smoothing`` (categorical/binary cross-entropy), ``delta``
        (huber).

    Returns:
      A :class:`Loss`, callable as ``loss(outputs, targets) -> (B,)``.

    Raises:
      TrainConfigError: Unknown loss or parameter, out-of-range value, or
        ``from_logits=True`` together with a softmax/sigmoid final activation.
    """
    r = resolve_loss(name, final_activation=final_activation, from_logits=from_logits,
                     **params)
    return Loss(r.name, r.params, r.final_activation, r.from_logits, LOSSES[r.name])
