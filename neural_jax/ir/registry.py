"""The layer registry: every layer of SPEC §2 with its signature, defaults, domains and shape rule.

One :class:`LayerSpec` per layer; ``LAYERS`` maps the canonical name to it and
:func:`lookup_layer` finds a spec case-insensitively (``dense`` -> ``Dense``). Backends
(JAX, torch, TensorFlow) register one rule per name here, and a conformance test checks every
rule's real output shape against ``LayerSpec.shape``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from neural_jax.ir import shapes
from neural_jax.ir.params import ParamSpec as P

__all__ = ["LayerSpec", "LAYERS", "lookup_layer", "GROUPS"]


@dataclass(frozen=True)
class LayerSpec:
    """What the front end knows about one layer kind.

    Attributes:
      name: canonical (Keras) name.
      group: SPEC §2 group (core, convolution, pooling, ...).
      params: the signature in positional order.
      shape: ``rule(shape, args, ctx) -> shape`` (see :mod:`neural_jax.ir.shapes`).
      block: ``"none"``, ``"optional"`` or ``"required"``: may it take ``{ ... }``?
      wraps: name of the argument holding a wrapped layer (Bidirectional, TimeDistributed).
    """

    name: str
    group: str
    params: tuple[P, ...]
    shape: Callable
    block: str = "none"
    wraps: str | None = None

    def param(self, name: str) -> P | None:
        for p in self.params:
            if p.name == name:
                return p
        return None

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)


def _conv_params(depthwise: bool = False, padding_kind: str = "padding") -> tuple[P, ...]:
    if depthwise:
        return (
            P("kernel_size", "sizes", shape_affecting=True),
            P("strides", "sizes", 1, shape_affecting=True),
            P("padding", padding_kind, "valid", shape_affecting=True),
            P("depth_multiplier", "pos_int", 1, shape_affecting=True),
            P("activation", "activation", None),
            P("dilation_rate", "sizes", 1, shape_affecting=True),
            P("use_bias", "bool", True, shape_affecting=True),
        )
    return (
        P("filters", "pos_int", shape_affecting=True),
        P("kernel_size", "sizes", shape_affecting=True),
        P("strides", "sizes", 1, shape_affecting=True),
        P("padding", padding_kind, "valid", shape_affecting=True),
        P("activation", "activation", None),
        P("dilation_rate", "sizes", 1, shape_affecting=True),
        P("use_bias", "bool", True, shape_affecting=True),
    )


def _pool_params() -> tuple[P, ...]:
    return (
        P("pool_size", "sizes", 2, shape_affecting=True),
        P("strides", "sizes", None, shape_affecting=True),
        P("padding", "padding", "valid", shape_affecting=True),
    )


def _rnn_params() -> tuple[P, ...]:
    return (
        P("units", "pos_int", shape_affecting=True),
        P("return_sequences", "bool", False, shape_affecting=True),
        P("activation", "activation", "tanh"),
        P("dropout", "rate", 0.0),
        P("recurrent_dropout", "rate", 0.0),
    )


_SPECS: list[LayerSpec] = [
    # core
    LayerSpec("Dense", "core", (P("units", "pos_int", shape_affecting=True),
                                P("activation", "activation", None),
                                P("use_bias", "bool", True, shape_affecting=True)), shapes.dense),
    LayerSpec("Output", "core", (P("units", "pos_int", shape_affecting=True),
                                 P("activation", "activation", None),
                                 P("use_bias", "bool", True, shape_affecting=True)), shapes.dense),
    LayerSpec("Dropout", "core", (P("rate", "rate"),), shapes.same),
    LayerSpec("Flatten", "core", (), shapes.flatten),
    LayerSpec("Reshape", "core", (P("target_shape", "target_shape", shape_affecting=True),),
              shapes.reshape),
    LayerSpec("Activation", "core", (P("function", "activation"),), shapes.same),
    LayerSpec("Embedding", "core", (P("input_dim", "pos_int", shape_affecting=True),
                                    P("output_dim", "pos_int", shape_affecting=True)),
              shapes.embedding),
    # convolution
    LayerSpec("Conv1D", "convolution", _conv_params(padding_kind="padding1d"), shapes.conv(1)),
    LayerSpec("Conv2D", "convolution", _conv_params(), shapes.conv(2)),
    LayerSpec("Conv3D", "convolution", _conv_params(), shapes.conv(3)),
    LayerSpec("Conv2DTranspose", "convolution", _conv_params(), shapes.conv(2, transpose=True)),
    LayerSpec("SeparableConv2D", "convolution", _conv_params(), shapes.conv(2, separable=True)),
    LayerSpec("DepthwiseConv2D", "convolution", _conv_params(depthwise=True),
              shapes.conv(2, depthwise=True)),
    # pooling
    *[LayerSpec(f"{kind}Pooling{n}D", "pooling", _pool_params(), shapes.pool(n))
      for kind in ("Max", "Average") for n in (1, 2, 3)],
    *[LayerSpec(f"Global{kind}Pooling{n}D", "pooling", (), shapes.global_pool(n))
      for kind in ("Average", "Max") for n in (1, 2, 3)],
    # normalisation
    LayerSpec("BatchNormalization", "normalisation", (P("momentum", "unit", 0.99),
                                                      P("epsilon", "positive", 1e-3)),
              shapes.same),
    LayerSpec("LayerNormalization", "normalisation", (P("epsilon", "positive", 1e-3),),
              shapes.same),
    LayerSpec("GroupNormalization", "normalisation", (P("groups", "pos_int", 32, shape_affecting=True),
                                                      P("epsilon", "positive", 1e-3)),
              shapes.group_norm),
    # recurrent
    LayerSpec("LSTM", "recurrent", _rnn_params(), shapes.recurrent),
    LayerSpec("GRU", "recurrent", _rnn_params(), shapes.recurrent),
    LayerSpec("SimpleRNN", "recurrent", _rnn_params(), shapes.recurrent),
    LayerSpec("Bidirectional", "recurrent", (P("layer", "layer", shape_affecting=True),
                                             P("merge_mode", "merge", "concat", shape_affecting=True)),
              shapes.bidirectional, wraps="layer"),
    # attention
    LayerSpec("MultiHeadAttention", "attention", (P("num_heads", "pos_int", shape_affecting=True),
                                                  P("key_dim", "pos_int", shape_affecting=True),
                                                  P("dropout", "rate", 0.0)),
              shapes.attention),
    LayerSpec("TransformerEncoder", "attention", (P("num_heads", "pos_int", shape_affecting=True),
                                                  P("ff_dim", "pos_int", shape_affecting=True),
                                                  P("dropout", "rate", 0.1),
                                                  P("activation", "activation", "relu")),
              shapes.transformer, block="optional"),
    LayerSpec("PositionalEmbedding", "attention", (P("max_len", "pos_int", shape_affecting=True),),
              shapes.positional),
    # structure
    LayerSpec("ResidualConnection", "structure", (), shapes.residual, block="required"),
    LayerSpec("TimeDistributed", "structure", (P("layer", "layer", shape_affecting=True),),
              shapes.time_distributed, wraps="layer"),
    # noise
    LayerSpec("GaussianNoise", "noise", (P("stddev", "nonneg"),), shapes.same),
    LayerSpec("SpatialDropout1D", "noise", (P("rate", "rate"),), shapes.spatial_dropout(1)),
    LayerSpec("SpatialDropout2D", "noise", (P("rate", "rate"),), shapes.spatial_dropout(2)),
]

#: canonical name -> spec
LAYERS: dict[str, LayerSpec] = {s.name: s for s in _SPECS}
_LOWER: dict[str, LayerSpec] = {s.name.lower(): s for s in _SPECS}
#: SPEC §2 groups -> layer names
GROUPS: dict[str, tuple[str, ...]] = {}
for _s in _SPECS:
    GROUPS.setdefault(_s.group, ())
    GROUPS[_s.group] += (_s.name,)


def lookup_layer(name: str) -> LayerSpec | None:
    """The spec for ``name`` (case-insensitive), or None."""
    return _LOWER.get(name.lower())
