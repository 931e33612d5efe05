"""The rule table: one rule per layer kind of SPEC §2, and the structure layers.

``RULES`` maps each canonical layer name of :data:`neural_jax.ir.registry.LAYERS` to a rule
``rule(plan, **options) -> flax.linen.Module``, built by
:func:`neural_jax.ir.backend.rule_table` from ``BUILDERS``, one builder per layer family
(``docs/backends.md``); every module is called as
``module(x, hp, train)``. The options are the build options of
:func:`neural_jax.jax.build_model` (``conv_impl``); a rule passes on those its module
declares as fields. :class:`Sequence` runs a list of plans (the network itself, a residual
block, a transformer's feed-forward block).

ResidualConnection computes ``block(x) + shortcut(x)`` where the shortcut is the identity
when the shapes agree and otherwise a 1x1 projection exactly as the checker's rule allows:
a Dense for flat input, else a 1x1 convolution with stride ``ceil(n_in / n_out)`` per
spatial axis (so ``ceil(n_in / stride) == n_out``), each with a bias
(``projection_kernel``, ``projection_bias``). Keras has no such layer; this is the usual
ResNet "option B" shortcut. TimeDistributed folds the time axis
into the batch, applies the wrapped layer and unfolds it. Both are computed by
:mod:`neural_jax.ir.wrappers` over this backend's primitives, as in every backend.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial

import flax.linen as nn

from neural_jax.ir.backend import lookup_rule, rule_table
from neural_jax.ir.wrappers import (
    failure,
    projection_kernel,
    residual,
    time_distributed,
    wrapped,
)
from neural_jax.jax.layers_attention import (
    MultiHeadAttentionLayer,
    PositionalEmbeddingLayer,
    TransformerEncoderLayer,
)
from neural_jax.jax.layers_conv import (
    ConvLayer,
    GlobalPoolLayer,
    PoolLayer,
    SeparableConvLayer,
    conv,
)
from neural_jax.jax.layers_core import (
    ActivationLayer,
    DenseLayer,
    DropoutLayer,
    EmbeddingLayer,
    FlattenLayer,
    GaussianNoiseLayer,
    ReshapeLayer,
)
from neural_jax.jax.layers_norm import BatchNormLayer, GroupNormLayer, LayerNormLayer
from neural_jax.jax.layers_recurrent import BidirectionalLayer, RNNLayer
from neural_jax.jax.ops import Array, glorot
from neural_jax.jax.plan import LayerPlan

__all__ = ["BUILDERS", "RULES", "ResidualLayer", "Rule", "Sequence", "TimeDistributedLayer",
           "make_layer"]

BACKEND = "jax"
Hp = Mapping[str, Array]
#: (plan, **build options) -> Flax module called as ``module(x, hp, train)``
Rule = Callable[..., nn.Module]


def _rule(cls: type[nn.Module], **fields) -> Rule:
    accepted = set(getattr(cls, "__dataclass_fields__", {}))

    def rule(plan: LayerPlan, **options) -> nn.Module:
        extra = {k: v for k, v in options.items() if k in accepted}
        return cls(plan=plan, name=plan.name, **fields, **extra)

    rule.__doc__ = f"Builds a {cls.__name__} for a plan."
    return rule


def make_layer(plan: LayerPlan, conv_impl: str = "xla") -> nn.Module:
    """The Flax module for one layer plan.

    Args:
      plan: the layer's plan.
      conv_impl: ``"xla"`` or ``"patches"`` (see :mod:`neural_jax.jax.layers_conv`).

    Raises:
      BackendError: the layer kind has no rule in this backend.
    """
    return lookup_rule(RULES, plan, BACKEND, "the JAX backend")(plan, conv_impl=conv_impl)


class Sequence(nn.Module):
    """Runs layer plans one after another."""

    plans: tuple[LayerPlan, ...]
    conv_impl: str = "xla"

    @nn.compact
    def __call__(self, x: Array, hp: Hp, train: bool) -> Array:
        for plan in self.plans:
            x = make_layer(plan, self.conv_impl)(x, hp, train)
        return x


def _shape(a: Array) -> tuple:
    return tuple(a.shape)


def _reshape(a: Array, dims: tuple) -> Array:
    return a.reshape(dims)


class ResidualLayer(nn.Module):
    """``ResidualConnection() { block }``: ``block(x) + x``, projecting ``x`` when needed."""

    plan: LayerPlan
    conv_impl: str = "xla"

    @nn.compact
    def __call__(self, x: Array, hp: Hp, train: bool) -> Array:
        fail = failure(self.plan, BACKEND)
        block = Sequence(self.plan.block or (), self.conv_impl, name="block")
        y_shape: list[tuple] = []

        def run(a: Array) -> Array:
            y = block(a, hp, train)
            y_shape.append(y.shape)
            return y

        def project(a: Array, strides: tuple[int, ...]) -> Array:
            shape = projection_kernel(a.shape, y_shape[0], fail)
            kernel = self.param("projection_kernel", glorot, shape)
            if not strides:
                out = a @ kernel
            else:
                out = conv(a, kernel, strides, "valid", (1,) * len(strides), impl=self.conv_impl)
            return out + self.param("projection_bias", nn.initializers.zeros, shape[-1:])

        return residual(run, x, _shape, project, fail)


class TimeDistributedLayer(nn.Module):
    """``TimeDistributed(layer)``: the wrapped layer applied to every time step."""

    plan: LayerPlan
    conv_impl: str = "xla"

    @nn.compact
    def __call__(self, x: Array, hp: Hp, train: bool) -> Array:
        layer = make_layer(wrapped(self.plan, failure(self.plan, BACKEND)), self.conv_impl)
        return time_distributed(lambda a: layer(a, hp, train), x, _shape, _reshape)


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
    "spatial_dropout": lambda n: _rule(DropoutLayer, spatial=True),
}
RULES: dict[str, Rule] = rule_table(BUILDERS)
