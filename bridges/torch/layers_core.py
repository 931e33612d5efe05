"""Core and noise layers in torch: Dense/Output, Dropout, Flatten, Reshape, Activation,
Embedding, GaussianNoise, SpatialDropout1D/2D.

Every module takes the channel-last input the JAX side takes and computes what the rules
of :mod:`neural_jax.jax.layers_core` compute. Each is built from a constant
:class:`~neural_jax.ir.plan.LayerPlan` (no per-call values: the torch model is built for
one configuration) and the input shape without the batch axis.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from bridges.torch.ops import activate, dropout
from bridges.torch.slots import IDENTITY, TRANSPOSE, BridgeLayer, glorot, uniform, zeros
from neural_jax.ir.plan import LayerPlan

__all__ = ["ActivationLayer", "DenseLayer", "DropoutLayer", "EmbeddingLayer", "FlattenLayer",
           "GaussianNoiseLayer", "ReshapeLayer", "SpatialDropoutLayer"]

Tensor = torch.Tensor
Shape = tuple


class DenseLayer(BridgeLayer):
    """``Dense(units, activation, use_bias)`` on the last axis (``weight``: ``(units, in)``)."""

    def __init__(self, plan: LayerPlan, shape: Shape) -> None:
        super().__init__()
        units = plan.arg("units")
        self.activation = plan.arg("activation")
        self.add_slot("kernel", "weight", (shape[-1], units), TRANSPOSE, glorot)
        self.bias = None
        if plan.arg("use_bias", True):
            self.add_slot("bias", "bias", (units,), IDENTITY, zeros)

    def forward(self, x: Tensor) -> Tensor:
        return activate(F.linear(x, self.weight, self.bias), self.activation)


class DropoutLayer(BridgeLayer):
    """``Dropout(rate)``: inverted dropout in training, identity in evaluation."""

    def __init__(self, plan: LayerPlan, shape: Shape) -> None:
        super().__init__()
        self.rate = float(plan.arg("rate") or 0.0)

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.rate) if self.training else x


class SpatialDropoutLayer(BridgeLayer):
    """``SpatialDropout1D/2D(rate)``: one draw per example and channel."""

    def __init__(self, plan: LayerPlan, shape: Shape) -> None:
        super().__init__()
        self.rate = float(plan.arg("rate") or 0.0)

    def forward(self, x: Tensor) -> Tensor:
        if not self.training:
            return x
        return dropout(x, self.rate, broadcast=tuple(range(1, x.ndim - 1)))


class GaussianNoiseLayer(BridgeLayer):
    """``GaussianNoise(stddev)``: adds ``N(0, stddev^2)`` noise in training only."""

    def __init__(self, plan: LayerPlan, shape: Shape) -> None:
        super().__init__()
        self.stddev = float(plan.arg("stddev") or 0.0)

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.stddev == 0.0:
            return x
        return x + self.stddev * torch.randn_like(x)


class FlattenLayer(BridgeLayer):
    """``Flatten()``: row-major over the channel-last axes, as Keras."""

    def __init__(self, plan: LayerPlan, shape: Shape) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], -1)


class ReshapeLayer(BridgeLayer):
    """``Reshape(target_shape)``; one dimension may be -1."""

    def __init__(self, plan: LayerPlan, shape: Shape) -> None:
        super().__init__()
        target = plan.arg("target_shape")
        self.target = tuple(target) if isinstance(target, tuple) else (target,)

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape((x.shape[0],) + self.target)


class ActivationLayer(BridgeLayer):
    """``Activation(function)``."""

    def __init__(self, plan: LayerPlan, shape: Shape) -> None:
        super().__init__()
        self.function = plan.arg("function")

    def forward(self, x: Tensor) -> Tensor:
        return activate(x, self.function)


class EmbeddingLayer(BridgeLayer):
    """``Embedding(input_dim, output_dim)``: token ids -> vectors (``weight`` as Keras).

    Ids are read as ``jnp.take`` reads them on the JAX side: ``-n <= id < 0`` counts from
    the end, and an id outside ``[-n, n)`` gives a row of NaN (torch would raise).
    """

    def __init__(self, plan: LayerPlan, shape: Shape) -> None:
        super().__init__()
        self.add_slot("embeddings", "weight", (plan.arg("input_dim"), plan.arg("output_dim")),
                      IDENTITY, uniform(-0.05, 0.05))

    def forward(self, x: Tensor) -> Tensor:
        n = self.weight.shape[0]
        ids = x.long()
        inside = (ids >= -n) & (ids < n)
        rows = F.embedding(torch.where(inside, torch.remainder(ids, n), 0), self.weight)
        if bool(inside.all()):
            return rows
        return torch.where(inside[..., None], rows, torch.full_like(rows, float("nan")))
