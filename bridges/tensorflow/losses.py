r"""The losses and metrics of :mod:`neural_jax.train` in TensorFlow, formula for formula.

Notation as in :mod:`neural_jax.train.losses`: :math:`z` network outputs (pre-activation
logits when the final activation is softmax/sigmoid), :math:`y` targets,
:math:`\epsilon = 10^{-7}`. Names, aliases and defaults are declared in
:mod:`neural_jax.ir.training` and the tables here are keyed by those canonical names; the
configuration is resolved by :func:`neural_jax.train.get_loss` and
:func:`neural_jax.train.get_metric`, so errors are the same. This module evaluates the configured
:class:`~neural_jax.train.losses.Loss` / :class:`~neural_jax.train.metrics.Metric` with
TensorFlow ops. ``mode`` is how the outputs are read: ``"softmax"``/``"sigmoid"`` (logits
of that activation), ``"logits"`` (``from_logits=True``) or ``"probabilities"``.

Every function maps a batch to one value per example, shape ``(B,)``. Shapes must be static
(the trainer's batches are).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from bridges.errors import BackendError
from bridges.tensorflow._keras import BACKEND, load

tf, keras = load()

__all__ = ["LOSSES", "METRICS", "loss_fn", "metric_fn"]

EPSILON = 1e-7
_LOG_EPS = math.log(EPSILON)
_LOG_1M_EPS = math.log1p(-EPSILON)

Fn = Callable[[Any, Any], Any]


def _per_example(x):
    x = tf.cast(x, tf.float32)
    if x.shape.rank <= 1:
        return x
    return tf.reduce_mean(tf.reshape(x, [tf.shape(x)[0], -1]), axis=1)


def _clip_log(logp):
    return tf.clip_by_value(logp, _LOG_EPS, _LOG_1M_EPS)


def _log1mexp(x):
    return tf.where(x > -math.log(2.0), tf.math.log(-tf.math.expm1(x)),
                    tf.math.log1p(-tf.exp(x)))


def _class_log_probs(z, mode: str):
    if mode in ("softmax", "logits"):
        return tf.nn.log_softmax(z, axis=-1)
    if mode == "sigmoid":
        logp = tf.math.log_sigmoid(z)
        return _clip_log(logp - tf.reduce_logsumexp(logp, axis=-1, keepdims=True))
    p = z / tf.maximum(tf.reduce_sum(z, axis=-1, keepdims=True), EPSILON)
    return tf.math.log(tf.clip_by_value(p, EPSILON, 1.0 - EPSILON))


def _binary_log_probs(z, mode: str):
    if mode in ("sigmoid", "logits"):
        return tf.math.log_sigmoid(z), tf.math.log_sigmoid(-z)
    if mode == "softmax":
        logp = _clip_log(tf.nn.log_softmax(z, axis=-1))
        return logp, _clip_log(_log1mexp(logp))
    p = tf.clip_by_value(z, EPSILON, 1.0 - EPSILON)
    return tf.math.log(p), tf.math.log1p(-p)


def _probabilities(z, mode: str):
    if mode == "softmax":
        return tf.nn.softmax(z, axis=-1)
    if mode == "sigmoid":
        return tf.sigmoid(z)
    return z


def _match_rank(y, z):
    if y.shape != z.shape and y.shape.num_elements() == z.shape.num_elements():
        return tf.reshape(y, tf.shape(z))  # e.g. (B,) labels for a (B, 1) output
    return y


def _float_targets(y, z):
    return tf.cast(y, z.dtype)


def _sparse_ce(z, y, mode):
    if y.shape.rank == z.shape.rank and y.shape[-1] == 1:
        y = y[..., 0]
    logp = _class_log_probs(z, mode)
    y = tf.cast(y, tf.int32)
    valid = (y >= 0) & (y < tf.shape(z)[-1])
    picked = tf.gather(logp, tf.where(valid, y, 0), batch_dims=y.shape.rank)
    # an out-of-range label gives NaN, as jnp.take_along_axis does, so the trainer reports it
    picked = tf.where(valid, picked, tf.constant(float("nan"), picked.dtype))
    return _per_example(-picked)


def _categorical_ce(z, y, mode, label_smoothing=0.0):
    y = _float_targets(y, z)
    y = y * (1.0 - label_smoothing) + label_smoothing / z.shape[-1]
    return _per_example(-tf.reduce_sum(y * _class_log_probs(z, mode), axis=-1))


def _binary_ce(z, y, mode, label_smoothing=0.0):
    y = _match_rank(_float_targets(y, z), z)
    y = y * (1.0 - label_smoothing) + 0.5 * label_smoothing
    logp, log1mp = _binary_log_probs(z, mode)
    return _per_example(-(y * logp + (1.0 - y) * log1mp))


def _mse(z, y, mode):
    p = _probabilities(z, mode)
    return _per_example(tf.square(p - _match_rank(_float_targets(y, p), p)))


def _mae(z, y, mode):
    p = _probabilities(z, mode)
    return _per_example(tf.abs(p - _match_rank(_float_targets(y, p), p)))


def _huber(z, y, mode, delta=1.0):
    p = _probabilities(z, mode)
    r = tf.abs(p - _match_rank(_float_targets(y, p), p))
    quadratic = tf.minimum(r, delta)
    return _per_example(0.5 * tf.square(quadratic) + delta * (r - quadratic))


#: the TensorFlow form of each loss the IR declares (:data:`neural_jax.ir.training.LOSSES`)
LOSSES = {
    "sparse_categorical_crossentropy": _sparse_ce,
    "categorical_crossentropy": _categorical_ce,
    "binary_crossentropy": _binary_ce,
    "mse": _mse,
    "mae": _mae,
    "huber": _huber,
}


def loss_fn(loss) -> Fn:
    """``(outputs, targets) -> (B,)`` for a configured :class:`~neural_jax.train.Loss`.

    Raises:
      BackendError: a loss the JAX registry knows and this module does not.
    """
    fn = LOSSES.get(loss.name)
    if fn is None:
        raise BackendError(f"loss {loss.name!r} has no TensorFlow implementation "
                           f"(backend: {BACKEND})", hint=f"use one of {', '.join(LOSSES)}")
    mode = loss.mode
    params = dict(loss.params)
    return lambda z, y: fn(z, y, mode, **params)


# --- metrics ------------------------------------------------------------------------------

def _is_sparse(z, y) -> bool:
    return y.dtype.is_integer and z.shape.rank >= 2 and (
        y.shape.rank == z.shape.rank - 1
        or (y.shape.rank == z.shape.rank and y.shape[-1] == 1 and z.shape[-1] > 1))


def _squeeze_labels(z, y):
    return y[..., 0] if y.shape.rank == z.shape.rank else y


def _accuracy(z, y, kind=None, threshold=0.5, mode="probabilities"):
    if kind is None:
        if _is_sparse(z, y):
            kind = "sparse"
        elif z.shape.rank <= 1 or z.shape[-1] == 1:
            kind = "binary"
        else:
            kind = "categorical"
    if kind == "sparse":
        labels = tf.cast(_squeeze_labels(z, y), tf.int64)
        correct = tf.equal(tf.argmax(z, axis=-1), labels)
    elif kind == "categorical":
        correct = tf.equal(tf.argmax(z, axis=-1), tf.argmax(y, axis=-1))
    else:
        if mode == "softmax":
            p = tf.nn.softmax(z, axis=-1)
        elif mode in ("sigmoid", "logits"):
            p = tf.sigmoid(z)
        else:
            p = z
        y = _match_rank(y, p)
        correct = tf.equal(tf.cast(p > threshold, p.dtype), tf.cast(y, p.dtype))
    return _per_example(correct)


def _top_k(z, y, k=5):
    labels = _squeeze_labels(z, y) if _is_sparse(z, y) else tf.argmax(y, axis=-1)
    target = tf.gather(z, tf.cast(labels, tf.int32)[..., None], batch_dims=labels.shape.rank)
    higher = tf.reduce_sum(tf.cast(z > target, tf.int32), axis=-1)
    return _per_example(higher < k)


def _error(z, y, name: str, activation: str | None):
    p = _probabilities(z, activation) if activation else z
    y = _match_rank(_float_targets(y, p), p)
    return _per_example(tf.abs(p - y) if name == "mae" else tf.square(p - y))


def metric_fn(metric, loss: Fn) -> Fn:
    """``(outputs, targets) -> (B,)`` for a configured :class:`~neural_jax.train.Metric`.

    Args:
      metric: from :func:`neural_jax.train.get_metric`.
      loss: this module's function of the configured loss (for the ``loss`` metric).

    Raises:
      BackendError: a metric the JAX registry knows and this module does not.
    """
    build = METRICS.get(metric.name)
    if build is None:
        raise BackendError(f"metric {metric.name!r} has no TensorFlow implementation "
                           f"(backend: {BACKEND})", hint="use one of " + ", ".join(METRICS))
    return build(metric.name, dict(metric.params), loss)


#: the TensorFlow form of each metric the IR declares
#: (:data:`neural_jax.ir.training.METRICS`): ``build(name, params, loss_fn) -> fn``
METRICS: dict[str, Callable[[str, dict, Fn], Fn]] = {
    "accuracy": lambda name, p, loss: (lambda z, y: _accuracy(z, y, **p)),
    "top_k_accuracy": lambda name, p, loss: (lambda z, y: _top_k(z, y, k=p.get("k", 5))),
    "loss": lambda name, p, loss: loss,
    "mse": lambda name, p, loss: (
        lambda z, y: _error(z, y, name, p.get("final_activation"))),
    "mae": lambda name, p, loss: (
        lambda z, y: _error(z, y, name, p.get("final_activation"))),
}
