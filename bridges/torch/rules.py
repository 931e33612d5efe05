"""The torch rule table: one rule per layer kind of SPEC §2, and the structure layers.

``RULES`` maps each canonical layer name of :data:`neural_jax.ir.registry.LAYERS` to a rule
``rule(plan, shape) -> BridgeLayer`` (built from ``BUILDERS``, one builder per layer
family: :func:`neural_jax.ir.backend.rule_table`): ``plan`` is a constant
:class:`~neural_jax.ir.plan.LayerPlan` (see :func:`neural_jax.ir.plan.constant_plan`) and
``shape`` the layer's input shape without the batch axis (torch needs the input features
when it creates a tensor; Flax learns them from the first call). :class:`Sequence` runs a
list of plans and threads the shapes through the registry's shape rules, the same rules
the checker uses.

The structure layers mirror :mod:`neural_jax.jax.rules`: ResidualConnection is
``block(x) + shortcut(x)`` with the identity shortcut when the shapes agree, else a 1x1
projection with a bias (a Dense for flat input, a 1x1 convolution with stride
``ceil(n_in / n_out)`` per spatial axis otherwise; ``projection_weight`` in torch layout).
TimeDistributed folds the time axis into the batch around its wrapped ``layer``. Both are
computed by :mod:`neural_jax.ir.wrappers` over torch's primitives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

import torch
import torch.nn.functional as F

from bridges.errors import unsupported
from bridges.torch.layers_attention import (
    MultiHeadAttentionLayer,
    PositionalEmbeddingLayer,
    TransformerEncoderLayer,
)
from bridges.torch.layers_conv import (
    ConvLayer,
    GlobalPoolLayer,
    PoolLayer,
    SeparableConvLayer,
)
from bridges.torch.layers_core import (
    ActivationLayer,
    DenseLayer,
    DropoutLayer,
    EmbeddingLayer,
    FlattenLayer,
    GaussianNoiseLayer,
    ReshapeLayer,
    SpatialDropoutLayer,
)
from bridges.torch.layers_norm import BatchNormLayer, GroupNormLayer, LayerNormLayer
from bridges.torch.layers_recurrent import BidirectionalLayer, RNNLayer
from bridges.torch.ops import channels_first, channels_last
from bridges.torch.slots import CONV, IDENTITY, TRANSPOSE, BridgeLayer, glorot, zeros
from neural_jax.ir.backend import lookup_rule, rule_table
from neural_jax.ir.plan import LayerPlan
from neural_jax.ir.registry import LAYERS
from neural_jax.ir.shapes import RuleContext, ShapeError
from neural_jax.ir.wrappers import (
    failure,
    projection_kernel,
    residual,
    time_distributed,
    wrapped,
)

__all__ = ["BACKEND", "BUILDERS", "RULES", "ResidualLayer", "Rule", "Sequence",
           "TimeDistributedLayer", "make_layer", "output_shape"]

BACKEND = "pytorch"
Tensor = torch.Tensor
Shape = tuple
#: ``(plan, input shape) -> module``
Rule = Callable[[LayerPlan, Shape], BridgeLayer]


def _rule(cls: type[BridgeLayer], **fields) -> Rule:
    def rule(plan: LayerPlan, shape: Shape) -> BridgeLayer:
        return cls(plan, shape, **fields)

    rule.__doc__ = f"Builds a {cls.__name__} for a plan and an input shape."
    return rule


def output_shape(plan: LayerPlan, shape: Shape) -> Shape:
    """The layer's output shape by the registry's shape rule (nested blocks included).

    Raises:
      BackendError: the rule rejects the shape (the checker normally catches this first).
    """
    spec = LAYERS[plan.type]
    ctx = RuleContext(name=plan.type)
    if plan.block is not None:
        ctx.block = lambda s: _sequence_shape(plan.block, s)
    if plan.inner is not None:
        ctx.inner = lambda s: output_shape(plan.inner, s)
    try:
        return tuple(spec.shape(tuple(shape), dict(plan.args), ctx))
    except ShapeError as e:
        raise unsupported(plan, BACKEND, e.message, e.hint) from None


def _sequence_shape(plans: Iterable[LayerPlan], shape: Shape) -> Shape:
    for p in plans:
        shape = output_shape(p, shape)
    return shape


def make_layer(plan: LayerPlan, shape: Shape) -> BridgeLayer:
    """The torch module of one layer plan for input ``shape`` (no batch axis).

    Raises:
      BackendError: the layer kind has no rule in this backend.
    """
    rule = lookup_rule(RULES, plan, BACKEND, "the PyTorch backend")
    if LAYERS[plan.type].needs_features and (not shape or shape[-1] is None):
        raise unsupported(plan, BACKEND, f"its input's feature axis is unknown ({shape}); "
                          "torch creates a layer's weights before the first call",
                          "give the network's input shape every dimension this layer's "
                          "features depend on")
    return rule(plan, shape)


class Sequence(BridgeLayer):
    """Runs layer plans one after another; children are named as the Flax modules."""

    def __init__(self, plans: Iterable[LayerPlan], shape: Shape) -> None:
        super().__init__()
        self.names: list[str] = []
        for p in plans:
            self.add_module(p.name, make_layer(p, shape))
            self.names.append(p.name)
            shape = output_shape(p, shape)
        self.output_shape = shape

    def forward(self, x: Tensor) -> Tensor:
        for name in self.names:
            x = self._modules[name](x)
        return x


def _shape(a: Tensor) -> tuple:
    return tuple(a.shape)


def _reshape(a: Tensor, dims: tuple) -> Tensor:
    return a.reshape(dims)


class ResidualLayer(BridgeLayer):
    """``ResidualConnection() { block }``: ``block(x) + x``, projecting ``x`` when needed."""

    def __init__(self, plan: LayerPlan, shape: Shape) -> None:
        super().__init__()
        self.fail = failure(plan, BACKEND)
        self.block = Sequence(plan.block or (), shape)
        batched = (None, *shape), (None, *self.block.output_shape)
        kernel = projection_kernel(*batched, self.fail)
        self.project = kernel is not None
        if not self.project:
            return
        layout = TRANSPOSE if len(shape) == 1 else CONV
        self.add_slot("projection_kernel", "projection_weight", kernel, layout, glorot)
        self.add_slot("projection_bias", "projection_bias", kernel[-1:], IDENTITY, zeros)

    def _projection(self, x: Tensor, strides: tuple[int, ...]) -> Tensor:
        if not strides:
            return F.linear(x, self.projection_weight) + self.projection_bias
        conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[len(strides)]
        y = channels_last(conv(channels_first(x), self.projection_weight, None, strides))
        return y + self.projection_bias

    def forward(self, x: Tensor) -> Tensor:
        return residual(self.block, x, _shape, self._projection if self.project else None,
                        self.fail)


class TimeDistributedLayer(BridgeLayer):
    """``TimeDistributed(layer)``: the wrapped ``layer`` applied to every time step."""

    def __init__(self, plan: LayerPlan, shape: Shape) -> None:
        super().__init__()
        self.layer = make_layer(wrapped(plan, failure(plan, BACKEND)), tuple(shape[1:]))

    def forward(self, x: Tensor) -> Tensor:
        return time_distributed(self.layer, x, _shape, _reshape)


#: family of :data:`neural_jax.ir.registry.LAYERS` -> ``builder(**variant) -> rule``
BUILDERS: dict[str, Callable[..., Rule]] = {
    "dense": partial(_rule, DenseLayer),
    "dropout": partial(_rule, DropoutLayer),
    "flatten": partial(_rule, FlattenLayer),
    "reshape": partial(_rule, ReshapeLayer),
    "activation": partial(_rule, ActivationLayer),
    "embedding": partial(_rule, EmbeddingLayer),
    "conv": partial(_rule, ConvLayer),
    "separable_conv": partial(_rule, SeparableConvLayer),
    "pool": partial(_rule, PoolLayer),
    "global_pool": partial(_rule, GlobalPoolLayer),
    "batch_norm": partial(_rule, BatchNormLayer),
    "layer_norm": partial(_rule, LayerNormLayer),
    "group_norm": partial(_rule, GroupNormLayer),
    "rnn": partial(_rule, RNNLayer),
    "bidirectional": partial(_rule, BidirectionalLayer),
    "attention": partial(_rule, MultiHeadAttentionLayer),
    "transformer": partial(_rule, TransformerEncoderLayer, sequence=Sequence),
    "positional": partial(_rule, PositionalEmbeddingLayer),
    "residual": partial(_rule, ResidualLayer),
    "time_distributed": partial(_rule, TimeDistributedLayer),
    "gaussian_noise": partial(_rule, GaussianNoiseLayer),
    "spatial_dropout": lambda n: _rule(SpatialDropoutLayer),
}
RULES: dict[str, Rule] = rule_table(BUILDERS)
