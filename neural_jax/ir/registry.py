"""The layer registry: every layer of SPEC §2 with its signature, defaults, domains and shape rule.

One :class:`LayerSpec` per layer; ``LAYERS`` maps the canonical name to it and
:func:`lookup_layer` finds a spec case-insensitively (``dense`` -> ``Dense``). The entry holds
every per-layer fact the backends and the population trainer read (its builder family,
whether it draws random numbers, needs the input's feature axis, reads token ids, how a
padded width passes it...): no backend keeps a table of layer names of its own.

Every interpreter (JAX, torch, TensorFlow, the three code generators) builds its rule table
from one builder per family (:mod:`neural_jax.ir.backend`; the contract is written in
``docs/backends.md``). Conformance tests check every rule's real output shape against
``LayerSpec.shape`` and every fact against the layers' real behaviour.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import neural_jax.ir.shapes as shapes
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
      family: the builder every backend provides for it (``"conv"``, ``"pool"``...);
        several layers share one, told apart by ``variant``.
      variant: ``(name, value)`` pairs passed to the family's builder (``n`` spatial
        dimensions, a pooling ``kind``, a convolution ``mode``).
      block: ``"none"``, ``"optional"`` or ``"required"``: may it take ``{ ... }``?
      wraps: name of the argument holding a wrapped layer (Bidirectional, TimeDistributed).
      wraps_recurrent: the wrapped layer must be recurrent (Bidirectional).
      stochastic: the arguments whose non-zero value makes the layer draw random numbers in
        training (dropout rates, noise); a training call then needs a key.
      needs_features: its weights depend on the input's last axis, so a backend that
        creates weights before the first call (torch) needs that axis known.
      gates: the number of gate blocks of a recurrent cell (0: not recurrent).
      takes_ids: it reads integer token ids, not floats (Embedding, as a first layer).
      width_arg: the argument holding the output feature width a population may pad
        (:mod:`neural_jax.jax.padding`), or None.
      pad_role: what the layer does with a padded feature axis that reaches it:
        ``"consume"`` (a matmul over the features: zero rows absorb the padding),
        ``"mask"`` (acts per feature and is told the true width), ``"pass"`` (moves
        features without mixing them), or None (padding stops before it).
    """

    name: str
    group: str
    params: tuple[P, ...]
    shape: Callable
    family: str = ""
    variant: tuple[tuple[str, Any], ...] = ()
    block: str = "none"
    wraps: str | None = None
    wraps_recurrent: bool = False
    stochastic: tuple[str, ...] = ()
    needs_features: bool = False
    gates: int = 0
    takes_ids: bool = False
    width_arg: str | None = None
    pad_role: str | None = None

    @property
    def options(self) -> dict[str, Any]:
        """``variant`` as keyword arguments for the family's builder."""
        return dict(self.variant)

    @property
    def recurrent(self) -> bool:
        """Whether the layer is a recurrent cell run over the time axis."""
        return self.gates > 0

    def draws(self, args: Mapping[str, Any]) -> bool:
        """Whether a layer with these arguments draws random numbers in training.

        Args:
          args: the layer's arguments by name (a searched value counts as drawing).
        """
        return any(args.get(a) not in (None, 0, 0.0) for a in self.stochastic)

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


def _dense_params() -> tuple[P, ...]:
    return (P("units", "pos_int", shape_affecting=True), P("activation", "activation", None),
            P("use_bias", "bool", True, shape_affecting=True))


#: the facts every ungrouped convolution shares
_CONV = {"family": "conv", "needs_features": True, "width_arg": "filters",
         "pad_role": "consume"}
#: the facts every recurrent cell shares
_RNN = {"family": "rnn", "needs_features": True, "stochastic": ("dropout", "recurrent_dropout")}

_SPECS: list[LayerSpec] = [
    # core
    LayerSpec("Dense", "core", _dense_params(), shapes.dense, family="dense",
              needs_features=True, width_arg="units", pad_role="consume"),
    LayerSpec("Output", "core", _dense_params(), shapes.dense, family="dense",
              needs_features=True, pad_role="consume"),
    LayerSpec("Dropout", "core", (P("rate", "rate"),), shapes.same, family="dropout",
              stochastic=("rate",), pad_role="mask"),
    LayerSpec("Flatten", "core", (), shapes.flatten, family="flatten", pad_role="pass"),
    LayerSpec("Reshape", "core", (P("target_shape", "target_shape", shape_affecting=True),),
              shapes.reshape, family="reshape"),
    LayerSpec("Activation", "core", (P("function", "activation"),), shapes.same,
              family="activation", pad_role="mask"),
    LayerSpec("Embedding", "core", (P("input_dim", "pos_int", shape_affecting=True),
                                    P("output_dim", "pos_int", shape_affecting=True)),
              shapes.embedding, family="embedding", takes_ids=True),
    # convolution
    LayerSpec("Conv1D", "convolution", _conv_params(padding_kind="padding1d"), shapes.conv(1),
              variant=(("n", 1),), **_CONV),
    LayerSpec("Conv2D", "convolution", _conv_params(), shapes.conv(2), variant=(("n", 2),),
              **_CONV),
    LayerSpec("Conv3D", "convolution", _conv_params(), shapes.conv(3), variant=(("n", 3),),
              **_CONV),
    LayerSpec("Conv2DTranspose", "convolution", _conv_params(), shapes.conv(2, transpose=True),
              family="conv", variant=(("n", 2), ("mode", "transpose")), needs_features=True),
    LayerSpec("SeparableConv2D", "convolution", _conv_params(), shapes.conv(2, separable=True),
              family="separable_conv", needs_features=True),
    LayerSpec("DepthwiseConv2D", "convolution", _conv_params(depthwise=True),
              shapes.conv(2, depthwise=True), family="conv",
              variant=(("n", 2), ("mode", "depthwise")), needs_features=True),
    # pooling
    *[LayerSpec(f"{kind.title()}Pooling{n}D", "pooling", _pool_params(), shapes.pool(n),
                family="pool", variant=(("n", n), ("kind", kind)), pad_role="pass")
      for kind in ("max", "average") for n in (1, 2, 3)],
    *[LayerSpec(f"Global{kind.title()}Pooling{n}D", "pooling", (), shapes.global_pool(n),
                family="global_pool", variant=(("n", n), ("kind", kind)), pad_role="pass")
      for kind in ("average", "max") for n in (1, 2, 3)],
    # normalisation
    LayerSpec("BatchNormalization", "normalisation", (P("momentum", "unit", 0.99),
                                                      P("epsilon", "positive", 1e-3)),
              shapes.same, family="batch_norm", needs_features=True),
    LayerSpec("LayerNormalization", "normalisation", (P("epsilon", "positive", 1e-3),),
              shapes.same, family="layer_norm", needs_features=True),
    LayerSpec("GroupNormalization", "normalisation",
              (P("groups", "pos_int", 32, shape_affecting=True), P("epsilon", "positive", 1e-3)),
              shapes.group_norm, family="group_norm", needs_features=True),
    # recurrent
    LayerSpec("LSTM", "recurrent", _rnn_params(), shapes.recurrent, gates=4, **_RNN),
    LayerSpec("GRU", "recurrent", _rnn_params(), shapes.recurrent, gates=3, **_RNN),
    LayerSpec("SimpleRNN", "recurrent", _rnn_params(), shapes.recurrent, gates=1, **_RNN),
    LayerSpec("Bidirectional", "recurrent",
              (P("layer", "layer", shape_affecting=True),
               P("merge_mode", "merge", "concat", shape_affecting=True)),
              shapes.bidirectional, family="bidirectional", wraps="layer", wraps_recurrent=True,
              needs_features=True),
    # attention
    LayerSpec("MultiHeadAttention", "attention",
              (P("num_heads", "pos_int", shape_affecting=True),
               P("key_dim", "pos_int", shape_affecting=True), P("dropout", "rate", 0.0)),
              shapes.attention, family="attention", stochastic=("dropout",),
              needs_features=True),
    LayerSpec("TransformerEncoder", "attention",
              (P("num_heads", "pos_int", shape_affecting=True),
               P("ff_dim", "pos_int", shape_affecting=True), P("dropout", "rate", 0.1),
               P("activation", "activation", "relu")),
              shapes.transformer, family="transformer", block="optional",
              stochastic=("dropout",), needs_features=True),
    LayerSpec("PositionalEmbedding", "attention",
              (P("max_len", "pos_int", shape_affecting=True),), shapes.positional,
              family="positional", needs_features=True),
    # structure
    LayerSpec("ResidualConnection", "structure", (), shapes.residual, family="residual",
              block="required"),
    LayerSpec("TimeDistributed", "structure", (P("layer", "layer", shape_affecting=True),),
              shapes.time_distributed, family="time_distributed", wraps="layer"),
    # noise
    LayerSpec("GaussianNoise", "noise", (P("stddev", "nonneg"),), shapes.same,
              family="gaussian_noise", stochastic=("stddev",), pad_role="mask"),
    *[LayerSpec(f"SpatialDropout{n}D", "noise", (P("rate", "rate"),), shapes.spatial_dropout(n),
                family="spatial_dropout", variant=(("n", n),), stochastic=("rate",),
                pad_role="mask")
      for n in (1, 2)],
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

