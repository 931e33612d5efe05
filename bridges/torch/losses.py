r"""Per-example losses and metrics in torch, as :mod:`neural_jax.train.losses` and
:mod:`neural_jax.train.metrics` compute them.

Notation: :math:`z` outputs (logits when the final activation is softmax/sigmoid),
:math:`y` targets, :math:`\epsilon = 10^{-7}`, :math:`s` label smoothing. The *mode* says
how :math:`z` is read: ``"softmax"``/``"sigmoid"`` (pre-activation logits of that
activation), ``"logits"`` (``from_logits=True``) or ``"probabilities"`` (clipped to
:math:`[\epsilon, 1-\epsilon]` as Keras does). Cross-entropies sum over the last axis and
average axes between batch and class; the others average every non-batch axis. Names,
aliases and parameters are declared in :mod:`neural_jax.ir.training`; the tables here are
keyed by those canonical names. :func:`torch_loss` takes a
:class:`~neural_jax.train.losses.Loss` and :func:`torch_metric` a
:class:`~neural_jax.train.metrics.Metric` and return torch functions ``fn(z, y) -> (B,)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from bridges.errors import BackendError

if TYPE_CHECKING:
    from neural_jax.train.losses import Loss
    from neural_jax.train.metrics import Metric

__all__ = ["LOSSES", "METRICS", "torch_loss", "torch_metric"]

Tensor = torch.Tensor
Fn = Callable[[Tensor, Tensor], Tensor]
EPSILON = 1e-7
_LOG_EPS = math.log(EPSILON)
_LOG_1M_EPS = math.log1p(-EPSILON)


def _clip_log(logp: Tensor) -> Tensor:
    return torch.clamp(logp, _LOG_EPS, _LOG_1M_EPS)


def _log1mexp(x: Tensor) -> Tensor:
    return torch.where(x > -math.log(2.0), torch.log(-torch.expm1(x)),
                       torch.log1p(-torch.exp(x)))


def _class_log_probs(z: Tensor, mode: str) -> Tensor:
    if mode in ("softmax", "logits"):
        return F.log_softmax(z, dim=-1)
    if mode == "sigmoid":
        logp = F.logsigmoid(z)
        return _clip_log(logp - torch.logsumexp(logp, dim=-1, keepdim=True))
    p = z / torch.clamp(torch.sum(z, dim=-1, keepdim=True), min=EPSILON)
    return torch.log(torch.clamp(p, EPSILON, 1.0 - EPSILON))


def _binary_log_probs(z: Tensor, mode: str) -> tuple[Tensor, Tensor]:
    if mode in ("sigmoid", "logits"):
        return F.logsigmoid(z), F.logsigmoid(-z)
    if mode == "softmax":
        logp = _clip_log(F.log_softmax(z, dim=-1))
        return logp, _clip_log(_log1mexp(logp))
    p = torch.clamp(z, EPSILON, 1.0 - EPSILON)
    return torch.log(p), torch.log1p(-p)


def _probabilities(z: Tensor, mode: str) -> Tensor:
    if mode == "softmax":
        return torch.softmax(z, dim=-1)
    if mode == "sigmoid":
        return torch.sigmoid(z)
    return z


def _per_example(x: Tensor) -> Tensor:
    return x if x.ndim <= 1 else x.reshape(x.shape[0], -1).mean(dim=1)


def _match_rank(y: Tensor, z: Tensor) -> Tensor:
    if y.shape != z.shape and y.numel() == z.numel():
        return y.reshape(z.shape)
    return y


def _float(y: Tensor, like: Tensor) -> Tensor:
    return y.to(like.dtype)


def _sparse_ce(z, y, mode):
    if y.ndim == z.ndim and y.shape[-1] == 1:
        y = y[..., 0]
    logp = _class_log_probs(z, mode)
    y = y.long()
    inside = (y >= 0) & (y < z.shape[-1])
    picked = torch.gather(logp, -1, torch.where(inside, y, 0)[..., None])[..., 0]
    # An out-of-range label reads NaN, as jnp.take_along_axis fills it on the JAX side.
    picked = torch.where(inside, picked, torch.full_like(picked, math.nan))
    return _per_example(-picked)


def _categorical_ce(z, y, mode, label_smoothing=0.0):
    y = _float(y, z) * (1.0 - label_smoothing) + label_smoothing / z.shape[-1]
    return _per_example(-torch.sum(y * _class_log_probs(z, mode), dim=-1))


def _binary_ce(z, y, mode, label_smoothing=0.0):
    y = _match_rank(_float(y, z), z) * (1.0 - label_smoothing) + 0.5 * label_smoothing
    logp, log1mp = _binary_log_probs(z, mode)
    return _per_example(-(y * logp + (1.0 - y) * log1mp))


def _mse(z, y, mode):
    p = _probabilities(z, mode)
    return _per_example(torch.square(p - _match_rank(_float(y, p), p)))


def _mae(z, y, mode):
    p = _probabilities(z, mode)
    return _per_example(torch.abs(p - _match_rank(_float(y, p), p)))


def _huber(z, y, mode, delta=1.0):
    p = _probabilities(z, mode)
    r = torch.abs(p - _match_rank(_float(y, p), p))
    quadratic = torch.clamp(r, max=delta)
    return _per_example(0.5 * torch.square(quadratic) + delta * (r - quadratic))


#: the torch form of each loss the IR declares (:data:`neural_jax.ir.training.LOSSES`)
LOSSES = {
    "sparse_categorical_crossentropy": _sparse_ce,
    "categorical_crossentropy": _categorical_ce,
    "binary_crossentropy": _binary_ce,
    "mse": _mse,
    "mae": _mae,
    "huber": _huber,
}


def _form(table: dict[str, Callable], name: str, what: str) -> Callable:
    """The torch form of loss or metric ``name``; ``what`` says which it is."""
    form = table.get(name)
    if form is None:
        raise BackendError(f"{what} {name!r} has no PyTorch form (backend: pytorch)",
                           hint=f"use one of {', '.join(table)}")
    return form


def torch_loss(loss: Loss) -> Fn:
    """The torch form of a configured JAX-side loss: ``fn(outputs, targets) -> (B,)``.

    Raises:
      BackendError: a loss without a torch form here.
    """
    fn = _form(LOSSES, loss.name, "loss")
    mode = loss.mode
    params = dict(loss.params)
    return lambda z, y: fn(z, y, mode, **params)


def _is_sparse(z: Tensor, y: Tensor) -> bool:
    integer = not torch.is_floating_point(y) and y.dtype != torch.bool
    return integer and z.ndim >= 2 and (
        y.ndim == z.ndim - 1 or (y.ndim == z.ndim and y.shape[-1] == 1 and z.shape[-1] > 1))


def _labels(z: Tensor, y: Tensor) -> Tensor:
    return y[..., 0] if y.ndim == z.ndim else y


def _accuracy(z, y, kind, threshold, mode):
    if kind is None:
        if _is_sparse(z, y):
            kind = "sparse"
        elif z.ndim <= 1 or z.shape[-1] == 1:
            kind = "binary"
        else:
            kind = "categorical"
    if kind == "sparse":
        correct = torch.argmax(z, dim=-1) == _labels(z, y).long()
    elif kind == "categorical":
        correct = torch.argmax(z, dim=-1) == torch.argmax(y, dim=-1)
    else:
        p = (torch.softmax(z, dim=-1) if mode == "softmax"
             else torch.sigmoid(z) if mode in ("sigmoid", "logits") else z)
        y = _match_rank(y, p)
        correct = (p > threshold).to(p.dtype) == y.to(p.dtype)
    return _per_example(correct.float())


def _top_k(z, y, k):
    labels = _labels(z, y) if _is_sparse(z, y) else torch.argmax(y, dim=-1)
    target = torch.gather(z, -1, labels.long()[..., None])
    higher = torch.sum(z > target, dim=-1)
    return _per_example((higher < k).float())


def torch_metric(metric: Metric) -> Fn:
    """The torch form of a configured JAX-side metric: ``fn(outputs, targets) -> (B,)``.

    Raises:
      BackendError: a metric without a torch form here.
    """
    return _form(METRICS, metric.name, "metric")(dict(metric.params))


def _accuracy_metric(p: dict) -> Fn:
    return lambda z, y: _accuracy(z, y, p.get("kind"), p.get("threshold", 0.5),
                                  p.get("mode", "probabilities"))


def _error_metric(error: Callable[..., Tensor]) -> Callable[[dict], Fn]:
    def build(p: dict) -> Fn:
        mode = p.get("final_activation") or "linear"
        return lambda z, y: error(z, y, mode)

    return build


#: the torch form of each metric the IR declares (:data:`neural_jax.ir.training.METRICS`),
#: ``build(configured params) -> fn(outputs, targets)``
METRICS: dict[str, Callable[[dict], Fn]] = {
    "accuracy": _accuracy_metric,
    "top_k_accuracy": lambda p: (lambda z, y: _top_k(z, y, p.get("k", 5))),
    "loss": lambda p: torch_loss(p["loss"]),
    "mse": _error_metric(_mse),
    "mae": _error_metric(_mae),
}
