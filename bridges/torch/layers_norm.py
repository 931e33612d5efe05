"""Normalisation layers in torch: BatchNormalization, LayerNormalization, GroupNormalization.

Notation as in :mod:`neural_jax.jax.layers_norm`: every layer returns
``gamma (x - mu) / sqrt(sigma^2 + eps) + beta`` with the biased variance; ``gamma`` and
``beta`` are the torch ``weight`` and ``bias``.

BatchNormalization keeps Keras' moving statistics (``running_mean``/``running_var``
buffers <-> ``batch_stats/moving_mean``/``moving_variance``). Keras and torch name the
momentum oppositely: with Keras' ``momentum`` m the update is
``moving = m moving + (1 - m) batch``, i.e. torch's ``momentum = 1 - m``
(:attr:`BatchNormLayer.momentum`). The update uses the biased batch variance, as Keras
does (``F.batch_norm`` would store the unbiased one), so the layer computes it by hand.
Defaults: momentum 0.99, epsilon 1e-3 (Keras), for LayerNormalization and
GroupNormalization epsilon 1e-3 too.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from bridges.torch.slots import IDENTITY, BridgeLayer, ones, zeros
from neural_jax.ir.plan import LayerPlan

__all__ = ["BatchNormLayer", "GroupNormLayer", "LayerNormLayer"]

Tensor = torch.Tensor
Shape = tuple


class BatchNormLayer(BridgeLayer):
    """``BatchNormalization(momentum, epsilon)`` over every axis but the last."""

    def __init__(self, plan: LayerPlan, shape: Shape) -> None:
        super().__init__()
        c = shape[-1]
        self.keras_momentum = float(plan.arg("momentum", 0.99))
        self.eps = float(plan.arg("epsilon", 1e-3))
        self.add_slot("gamma", "weight", (c,), IDENTITY, ones)
        self.add_slot("beta", "bias", (c,), IDENTITY, zeros)
        self.add_slot("moving_mean", "running_mean", (c,), IDENTITY, zeros, "batch_stats")
        self.add_slot("moving_variance", "running_var", (c,), IDENTITY, ones, "batch_stats")

    @property
    def momentum(self) -> float:
        """torch's convention: the weight of the batch statistic (``1 -`` Keras' momentum)."""
        return 1.0 - self.keras_momentum

    def forward(self, x: Tensor) -> Tensor:
        if self.training:
            axes = tuple(range(x.ndim - 1))
            mean = x.mean(axes)
            var = torch.square(x - mean).mean(axes)
            with torch.no_grad():
                m = self.keras_momentum
                self.running_mean.copy_(m * self.running_mean + (1.0 - m) * mean)
                self.running_var.copy_(m * self.running_var + (1.0 - m) * var)
        else:
            mean, var = self.running_mean, self.running_var
        return (x - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias


class LayerNormLayer(BridgeLayer):
    """``LayerNormalization(epsilon)`` over the last axis (also the transformer's norms)."""

    def __init__(self, plan: LayerPlan | None, shape: Shape, epsilon: float | None = None
                 ) -> None:
        super().__init__()
        c = shape[-1]
        self.eps = float(epsilon if epsilon is not None else plan.arg("epsilon", 1e-3))
        self.add_slot("gamma", "weight", (c,), IDENTITY, ones)
        self.add_slot("beta", "bias", (c,), IDENTITY, zeros)

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, (x.shape[-1],), self.weight, self.bias, self.eps)


class GroupNormLayer(BridgeLayer):
    """``GroupNormalization(groups, epsilon)``: contiguous channel groups, as Keras."""

    def __init__(self, plan: LayerPlan, shape: Shape) -> None:
        super().__init__()
        c = shape[-1]
        self.groups = int(plan.arg("groups", 32))
        self.eps = float(plan.arg("epsilon", 1e-3))
        self.add_slot("gamma", "weight", (c,), IDENTITY, ones)
        self.add_slot("beta", "bias", (c,), IDENTITY, zeros)

    def forward(self, x: Tensor) -> Tensor:
        y = F.group_norm(x.movedim(-1, 1), self.groups, None, None, self.eps).movedim(1, -1)
        return y * self.weight + self.bias
