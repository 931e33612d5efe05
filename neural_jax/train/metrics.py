r"""Per-example metrics that average over batches and vmap over a population.

Notation: :math:`z` network outputs (logits when the final activation is
softmax/sigmoid, see :mod:`neural_jax.train.losses`), :math:`y` targets, :math:`B` batch.

============== ===============================================================================
accuracy       sparse: :math:`[\arg\max_c z_c = y]`; categorical: :math:`[\arg\max z = \arg\max y]`;
               binary: :math:`[\,[p > \tau] = y\,]` with :math:`p` the probability, :math:`\tau`
               the threshold (0.5)
top_k_accuracy :math:`[\#\{c : z_c > z_y\} < k]` (ties count as inside the top k, as TF's
               ``in_top_k``)
loss           the configured per-example loss
============== ===============================================================================

Every metric returns one value per example, shape ``(B,)``. To average over batches of
different sizes (or a padded last batch) accumulate ``Metric.batch_stats(outputs,
targets, mask) -> (sum, count)`` and divide at the end (:func:`mean_from_stats`); both
are pure and work under ``jit`` and ``vmap``.

``accuracy`` picks its form like Keras' ``"accuracy"`` string: from the loss when given
(``get_metric("accuracy", loss="binary_crossentropy")``), else from shapes: integer
targets with one axis fewer than the outputs (or a trailing axis of 1) are sparse
labels, a single output unit is binary, anything else is one-hot.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp

from neural_jax.ir.training import LABEL_KINDS, LOSSES, logit_activation, metric_preset
from neural_jax.ir.training import METRICS as DECLS
from neural_jax.ir.training import lookup as ir_lookup
from neural_jax.ir.training.checks import (
    TrainConfigError,
    as_bool,
    check_arg_names,
    check_number,
    find,
)
from neural_jax.train.losses import Loss, _probabilities

__all__ = ["METRICS", "Metric", "get_metric", "mean_from_stats", "metric_names"]


def _allowed(name: str) -> tuple[str, ...]:
    """The arguments a metric takes: its declared ones and what the trainer passes."""
    decl = DECLS[name]
    return (*decl.arg_names, *decl.context)


def _labels_of_loss(loss: Any) -> str | None:
    """The target form of a loss name (``"sparse"`` for sparse_categorical_crossentropy)."""
    key = ir_lookup(LOSSES, loss)
    return LOSSES[key].labels if key is not None else None


def _per_example(x: jax.Array) -> jax.Array:
    x = x.astype(jnp.float32)
    return x if x.ndim <= 1 else jnp.mean(x.reshape(x.shape[0], -1), axis=1)


def _is_sparse(z: jax.Array, y: jax.Array) -> bool:
    integer = jnp.issubdtype(y.dtype, jnp.integer)
    return integer and z.ndim >= 2 and (
        y.ndim == z.ndim - 1 or (y.ndim == z.ndim and y.shape[-1] == 1 and z.shape[-1] > 1))


def _squeeze_labels(z: jax.Array, y: jax.Array) -> jax.Array:
    return y[..., 0] if y.ndim == z.ndim else y


def _resolve_kind(z: jax.Array, y: jax.Array, kind: str | None) -> str:
    if kind is not None:
        return kind
    if _is_sparse(z, y):
        return "sparse"
    if z.ndim <= 1 or z.shape[-1] == 1:
        return "binary"
    return "categorical"


def accuracy(z, y, *, kind=None, threshold=0.5, mode="probabilities"):
    """Fraction of correct predictions per example (see the module table)."""
    y = jnp.asarray(y)
    kind = _resolve_kind(z, y, kind)
    if kind == "sparse":
        correct = jnp.argmax(z, axis=-1) == _squeeze_labels(z, y)
    elif kind == "categorical":
        correct = jnp.argmax(z, axis=-1) == jnp.argmax(y, axis=-1)
    else:
        if mode == "softmax":
            p = jax.nn.softmax(z, axis=-1)
        elif mode in ("sigmoid", "logits"):
            p = jax.nn.sigmoid(z)
        else:
            p = z
        if y.shape != p.shape and y.size == p.size:
            y = y.reshape(p.shape)
        correct = (p > threshold).astype(p.dtype) == y.astype(p.dtype)
    return _per_example(correct)


def top_k_accuracy(z, y, *, k=5):
    """Whether the target class is among the ``k`` highest outputs, per example."""
    y = jnp.asarray(y)
    labels = (_squeeze_labels(z, y) if _is_sparse(z, y)
              else jnp.argmax(y, axis=-1))
    target = jnp.take_along_axis(z, labels.astype(jnp.int32)[..., None], axis=-1)
    higher = jnp.sum(z > target, axis=-1)
    return _per_example(higher < k)


@dataclasses.dataclass(frozen=True, eq=False)
class Metric:
    """A configured metric: ``metric(outputs, targets) -> (B,)``.

    Attributes:
      name: Canonical metric name.
      params: Its configured parameters.
    """

    name: str
    params: Mapping[str, Any]
    _fn: Callable[[jax.Array, jax.Array], jax.Array] = dataclasses.field(repr=False)

    def __call__(self, outputs: jax.Array, targets: jax.Array) -> jax.Array:
        return self._fn(jnp.asarray(outputs), targets)

    def batch_stats(self, outputs: jax.Array, targets: jax.Array,
                    mask: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
        """``(sum, count)`` over the batch; ``mask`` (shape ``(B,)``) drops padding."""
        values = self(outputs, targets)
        if mask is None:
            return jnp.sum(values), jnp.asarray(values.shape[0], values.dtype)
        mask = jnp.asarray(mask, values.dtype)
        return jnp.sum(values * mask), jnp.sum(mask)


def mean_from_stats(stats: tuple[jax.typing.ArrayLike, jax.typing.ArrayLike]) -> jax.Array:
    """Mean from accumulated ``(sum, count)``; 0 when nothing was counted."""
    total, count = stats
    return jnp.where(count > 0, total / jnp.maximum(count, 1), 0.0)


def _accuracy_metric(name, params):
    check_arg_names(params, _allowed(name), f"Metric '{name}'")
    kind = params.get("kind")
    loss = params.get("loss")
    final_activation = params.get("final_activation")
    from_logits = params.get("from_logits")
    if isinstance(loss, Loss):
        final_activation = final_activation or loss.final_activation
        from_logits = loss.from_logits if from_logits is None else from_logits
        loss = loss.name
    if kind is None and loss is not None:
        kind = _labels_of_loss(str(loss))
    if kind is not None and kind not in LABEL_KINDS:
        raise TrainConfigError(
            f"Metric '{name}': kind must be one of {', '.join(LABEL_KINDS)}, got {kind!r}.")
    spec = DECLS[name].param("threshold")
    threshold = check_number(spec, params.get("threshold", spec.default), name)
    activation = logit_activation(final_activation)
    from_logits = False if from_logits is None else as_bool(from_logits, "from_logits", name)
    mode = activation or ("logits" if from_logits else "probabilities")
    resolved = {"kind": kind, "threshold": threshold, "mode": mode}
    return Metric(name, resolved, lambda z, y: accuracy(z, y, **resolved))


def _top_k_metric(name, params):
    check_arg_names(params, _allowed(name), f"Metric '{name}'")
    k = params.get("k", DECLS[name].param("k").default)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise TrainConfigError(f"Metric '{name}': k must be an integer >= 1, got {k!r}.")
    return Metric(name, {"k": k}, lambda z, y: top_k_accuracy(z, y, k=k))


def _error_metric(name, params):
    """``mae`` / ``mse`` on the model's outputs (after a softmax/sigmoid Output activation)."""
    check_arg_names(params, _allowed(name), f"Metric '{name}'")
    activation = logit_activation(params.get("final_activation"))

    def fn(z, y):
        p = _probabilities(z, activation) if activation else z
        y = jnp.asarray(y, p.dtype).reshape(p.shape) if jnp.size(y) == p.size else y
        err = jnp.abs(p - y) if name == "mae" else jnp.square(p - y)
        return _per_example(err)

    return Metric(name, {"final_activation": activation}, fn)


def _loss_metric(name, params):
    check_arg_names(params, _allowed(name), f"Metric '{name}'")
    loss = params.get("loss")
    if not isinstance(loss, Loss):
        raise TrainConfigError(
            "Metric 'loss' needs the configured loss: get_metric('loss', "
            "loss=get_loss(...)).")
    return Metric(name, {"loss": loss}, lambda z, y: loss(z, y))


#: the builder of each metric the IR declares (:data:`neural_jax.ir.training.METRICS`),
#: keyed by its canonical name
METRICS: dict[str, Callable[[str, dict[str, Any]], Metric]] = {
    "accuracy": _accuracy_metric,
    "top_k_accuracy": _top_k_metric,
    "loss": _loss_metric,
    "mae": _error_metric,
    "mse": _error_metric,
}

def metric_names() -> list[str]:
    """Canonical names of all declared metrics."""
    return list(DECLS)


def get_metric(name: str, **params: Any) -> Metric:
    """Builds a metric by name.

    Args:
      name: ``accuracy``, ``top_k_accuracy``, ``mae``, ``mse`` or ``loss`` (case-insensitive; Keras
        spellings such as ``sparse_categorical_accuracy`` also work).
      **params: ``accuracy``: ``kind`` ("sparse"/"categorical"/"binary"), ``loss`` (a
        loss name or :class:`~neural_jax.train.losses.Loss`, to pick the kind as
        Keras does), ``threshold`` (0.5), ``final_activation``, ``from_logits``.
        ``top_k_accuracy``: ``k`` (5). ``mae``/``mse``: ``final_activation`` (applied to
        logits first). ``loss``: ``loss``, the configured Loss.

    Returns:
      A :class:`Metric`.

    Raises:
      TrainConfigError: Unknown metric or parameter, or a bad value.
    """
    key = find(DECLS, name, "metric").name
    params = {**metric_preset(name), **params}
    return METRICS[key](key, dict(params))
