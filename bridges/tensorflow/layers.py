"""The rule table: one rule per layer kind of SPEC §2, ``rule(plan) -> keras.layers.Layer``.

A rule gets a constant :class:`~neural_jax.ir.plan.LayerPlan` (every searched value
replaced by its configured value, :func:`neural_jax.ir.plan.constant_plan`) and returns a
Keras layer named ``plan.name``, the Flax submodule name, so weights travel by path.

Built-in Keras layers are used where they compute exactly what the Flax rule computes:
Dense/Output, Dropout, Flatten, Reshape, Activation, Embedding, Conv1D/2D/3D (``causal``
included), Conv2DTranspose, SeparableConv2D, DepthwiseConv2D, every pooling layer (Keras'
``"same"`` average pooling also averages over the real elements only), BatchNormalization
(Keras' moving-average rule and defaults), LayerNormalization, GroupNormalization, LSTM
(gates i, f, c, o; forget bias 1), GRU (``reset_after=True``, gates z, r, h), SimpleRNN,
Bidirectional (every merge mode), GaussianNoise, SpatialDropout1D/2D. Activation names are
Keras 3's, which :mod:`neural_jax.jax.ops` follows: exact ``gelu``, ``leaky_relu`` slope 0.2,
``elu`` alpha 1. The layers of :mod:`bridges.tensorflow.custom` and
:mod:`bridges.tensorflow.conv` cover the rest.

Differences the Keras layers would have and how they are avoided:

* a depthwise kernel is ``(*k, 1, C m)`` in Flax and ``(*k, C, m)`` in Keras (the same
  numbers reshaped; :mod:`bridges.tensorflow.weights` reshapes, and the Keras layer draws
  its initial values with Flax's Glorot fans);
* Keras refuses ``strides > 1`` together with ``dilation_rate > 1`` for Conv1D/2D/3D and
  Conv2DTranspose: :class:`~bridges.tensorflow.conv.StridedDilatedConv` and
  :class:`~bridges.tensorflow.conv.StridedDilatedConvTranspose` compute it;
* ``TimeDistributed``, ``MultiHeadAttention``, ``TransformerEncoder``,
  ``PositionalEmbedding`` and ``ResidualConnection`` are custom
  (:mod:`bridges.tensorflow.custom`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bridges.errors import unsupported
from bridges.tensorflow import conv, custom
from bridges.tensorflow._keras import BACKEND, load
from neural_jax.ir.backend import fixed, lookup_rule, rule_table
from neural_jax.ir.plan import LayerPlan
from neural_jax.ir.shapes import spatial_tuple
from neural_jax.ir.wrappers import failure, merge_mode, wrapped

tf, keras = load()

__all__ = ["ACTIVATIONS", "BUILDERS", "RULES", "Rule", "activation", "make_layer"]

#: plan -> Keras layer named ``plan.name``
Rule = Callable[[LayerPlan], Any]

#: DSL activation name -> Keras 3 activation name (the same functions as neural_jax.jax.ops)
ACTIVATIONS = {name: name for name in (
    "linear", "relu", "gelu", "tanh", "sigmoid", "softmax", "elu", "selu", "swish", "silu",
    "leaky_relu", "softplus")}


def activation(plan: LayerPlan, name: str = "activation", default: Any = None) -> str | None:
    """The Keras activation for argument ``name`` of ``plan`` (None: linear)."""
    act = plan.arg(name, default)
    if act is None:
        return None
    if not isinstance(act, str) or act.lower() not in ACTIVATIONS:
        raise unsupported(plan, BACKEND, f"activation {act!r} has no Keras equivalent",
                          f"use one of {', '.join(sorted(ACTIVATIONS))}")
    return ACTIVATIONS[act.lower()]


def make_layer(plan: LayerPlan) -> Any:
    """The Keras layer for one layer plan.

    Raises:
      BackendError: the layer kind has no rule in this backend, or a value it cannot
        express exactly.
    """
    return lookup_rule(RULES, plan, BACKEND, "the TensorFlow bridge")(plan)


# --- core -------------------------------------------------------------------------------

def _dense(plan: LayerPlan):
    return keras.layers.Dense(plan.arg("units"), activation=activation(plan),
                              use_bias=bool(plan.arg("use_bias", True)), name=plan.name)


def _dropout(plan: LayerPlan):
    return keras.layers.Dropout(float(plan.arg("rate") or 0.0), name=plan.name)


def _flatten(plan: LayerPlan):
    return keras.layers.Flatten(name=plan.name)


def _reshape(plan: LayerPlan):
    target = plan.arg("target_shape")
    target = tuple(target) if isinstance(target, (tuple, list)) else (target,)
    return keras.layers.Reshape(target, name=plan.name)


def _activation(plan: LayerPlan):
    return keras.layers.Activation(activation(plan, "function") or "linear", name=plan.name)


def _embedding(plan: LayerPlan):
    return keras.layers.Embedding(plan.arg("input_dim"), plan.arg("output_dim"),
                                  name=plan.name)


# --- convolution ------------------------------------------------------------------------

def _spatial(plan: LayerPlan, n: int):
    k = spatial_tuple(plan.arg("kernel_size"), n, "kernel_size")
    s = spatial_tuple(plan.arg("strides", 1), n, "strides")
    d = spatial_tuple(plan.arg("dilation_rate", 1), n, "dilation_rate")
    return k, s, d, str(plan.arg("padding", "valid")).lower()


def _strided_and_dilated(s, d) -> bool:
    return any(v > 1 for v in s) and any(v > 1 for v in d)


def _conv(n: int) -> Rule:
    cls = {1: keras.layers.Conv1D, 2: keras.layers.Conv2D, 3: keras.layers.Conv3D}[n]

    def rule(plan: LayerPlan):
        k, s, d, pad = _spatial(plan, n)
        common = {"activation": activation(plan),
                  "use_bias": bool(plan.arg("use_bias", True)), "name": plan.name}
        if _strided_and_dilated(s, d):
            return conv.StridedDilatedConv(n, plan.arg("filters"), k, s, pad, d, **common)
        return cls(plan.arg("filters"), k, strides=s, padding=pad, dilation_rate=d, **common)

    rule.__doc__ = f"Builds a Conv{n}D."
    return rule


def _conv_transpose(plan: LayerPlan):
    k, s, d, pad = _spatial(plan, 2)
    common = {"activation": activation(plan), "use_bias": bool(plan.arg("use_bias", True)),
              "name": plan.name}
    # any dilation: TensorFlow's CPU kernel of a dilated transposed convolution
    # (Conv2DBackpropInput) refuses rates above 1, and Keras refuses strides with dilation
    if any(v > 1 for v in d):
        return conv.StridedDilatedConvTranspose(plan.arg("filters"), k, s, pad, d, **common)
    return keras.layers.Conv2DTranspose(plan.arg("filters"), k, strides=s, padding=pad,
                                        dilation_rate=d, **common)


class _DepthwiseInit:
    """Glorot-uniform with Flax's fans for a depthwise kernel, once the channels are known."""

    def __init__(self, multiplier: int) -> None:
        self.multiplier = multiplier

    def __call__(self, shape, dtype=None):
        k, c = tuple(shape[:-2]), shape[-2]
        return conv.glorot_like(k + (1, c * self.multiplier))(shape, dtype=dtype)


def _depthwise(plan: LayerPlan):
    k, s, d, pad = _spatial(plan, 2)
    m = int(plan.arg("depth_multiplier", 1))
    return keras.layers.DepthwiseConv2D(
        k, strides=s, padding=pad, depth_multiplier=m, dilation_rate=d,
        activation=activation(plan), use_bias=bool(plan.arg("use_bias", True)),
        depthwise_initializer=_DepthwiseInit(m), name=plan.name)


def _separable(plan: LayerPlan):
    k, s, d, pad = _spatial(plan, 2)
    return keras.layers.SeparableConv2D(
        plan.arg("filters"), k, strides=s, padding=pad, dilation_rate=d, depth_multiplier=1,
        activation=activation(plan), use_bias=bool(plan.arg("use_bias", True)),
        depthwise_initializer=_DepthwiseInit(1), name=plan.name)


# --- pooling ----------------------------------------------------------------------------

def _pool(kind: str, n: int) -> Rule:
    cls = getattr(keras.layers, f"{kind}Pooling{n}D")

    def rule(plan: LayerPlan):
        window = spatial_tuple(plan.arg("pool_size", 2), n, "pool_size")
        st = plan.arg("strides")
        strides = window if st is None else spatial_tuple(st, n, "strides")
        return cls(pool_size=window, strides=strides,
                   padding=str(plan.arg("padding", "valid")).lower(), name=plan.name)

    rule.__doc__ = f"Builds a {kind}Pooling{n}D."
    return rule


def _global_pool(kind: str, n: int) -> Rule:
    cls = getattr(keras.layers, f"Global{kind}Pooling{n}D")

    def rule(plan: LayerPlan):
        return cls(name=plan.name)

    rule.__doc__ = f"Builds a Global{kind}Pooling{n}D."
    return rule


# --- normalisation ----------------------------------------------------------------------

def _batch_norm(plan: LayerPlan):
    return keras.layers.BatchNormalization(momentum=float(plan.arg("momentum", 0.99)),
                                           epsilon=float(plan.arg("epsilon", 1e-3)),
                                           name=plan.name)


def _layer_norm(plan: LayerPlan):
    return keras.layers.LayerNormalization(epsilon=float(plan.arg("epsilon", 1e-3)),
                                           name=plan.name)


def _group_norm(plan: LayerPlan):
    return keras.layers.GroupNormalization(groups=int(plan.arg("groups", 32)),
                                           epsilon=float(plan.arg("epsilon", 1e-3)),
                                           name=plan.name)


# --- recurrent --------------------------------------------------------------------------

def _rnn(plan: LayerPlan):
    common = {"activation": activation(plan, default="tanh"),
              "return_sequences": bool(plan.arg("return_sequences", False)),
              "dropout": float(plan.arg("dropout", 0.0) or 0.0),
              "recurrent_dropout": float(plan.arg("recurrent_dropout", 0.0) or 0.0),
              "name": plan.name}
    if plan.type == "SimpleRNN":
        return keras.layers.SimpleRNN(plan.arg("units"), **common)
    if plan.type == "LSTM":
        return keras.layers.LSTM(plan.arg("units"), recurrent_activation="sigmoid",
                                 unit_forget_bias=True, **common)
    return keras.layers.GRU(plan.arg("units"), recurrent_activation="sigmoid",
                            reset_after=True, **common)


def _bidirectional(plan: LayerPlan):
    fail = failure(plan, BACKEND)
    inner = wrapped(plan, fail)
    return keras.layers.Bidirectional(_rnn(inner), merge_mode=merge_mode(plan, fail),
                                      name=plan.name)


# --- attention --------------------------------------------------------------------------

def _where(plan: LayerPlan) -> str:
    return f"{plan.type} at {plan.path}"


def _sequence(plans, name: str) -> custom.Sequence:
    return custom.Sequence([make_layer(p) for p in plans], name=name)


def _attention(plan: LayerPlan):
    return custom.MultiHeadSelfAttention(plan.arg("num_heads"), plan.arg("key_dim"),
                                         float(plan.arg("dropout", 0.0) or 0.0),
                                         name=plan.name)


def _transformer(plan: LayerPlan):
    block = None if plan.block is None else _sequence(plan.block, "block")
    return custom.TransformerEncoder(plan.arg("num_heads"), plan.arg("ff_dim"),
                                     float(plan.arg("dropout", 0.1) or 0.0),
                                     activation(plan, default="relu"), block, _where(plan),
                                     name=plan.name)


def _positional(plan: LayerPlan):
    return custom.PositionalEmbedding(plan.arg("max_len"), name=plan.name)


# --- structure and noise ----------------------------------------------------------------

def _residual(plan: LayerPlan):
    return custom.Residual(_sequence(plan.block or (), "block"), failure(plan, BACKEND),
                           name=plan.name)


def _time_distributed(plan: LayerPlan):
    return custom.TimeDistributed(make_layer(wrapped(plan, failure(plan, BACKEND))),
                                  name=plan.name)


def _gaussian_noise(plan: LayerPlan):
    return keras.layers.GaussianNoise(float(plan.arg("stddev") or 0.0), name=plan.name)


def _spatial_dropout(n: int) -> Rule:
    cls = {1: keras.layers.SpatialDropout1D, 2: keras.layers.SpatialDropout2D}[n]

    def rule(plan: LayerPlan):
        return cls(float(plan.arg("rate") or 0.0), name=plan.name)

    rule.__doc__ = f"Builds a SpatialDropout{n}D."
    return rule


def _conv_family(n: int, mode: str | None = None) -> Rule:
    if mode == "transpose":
        return _conv_transpose
    if mode == "depthwise":
        return _depthwise
    return _conv(n)


#: family of :data:`neural_jax.ir.registry.LAYERS` -> ``builder(**variant) -> rule``
BUILDERS: dict[str, Callable[..., Rule]] = {
    "dense": fixed(_dense),
    "dropout": fixed(_dropout),
    "flatten": fixed(_flatten),
    "reshape": fixed(_reshape),
    "activation": fixed(_activation),
    "embedding": fixed(_embedding),
    "conv": _conv_family,
    "separable_conv": fixed(_separable),
    "pool": lambda n, kind: _pool(kind.title(), n),
    "global_pool": lambda n, kind: _global_pool(kind.title(), n),
    "batch_norm": fixed(_batch_norm),
    "layer_norm": fixed(_layer_norm),
    "group_norm": fixed(_group_norm),
    "rnn": fixed(_rnn),
    "bidirectional": fixed(_bidirectional),
    "attention": fixed(_attention),
    "transformer": fixed(_transformer),
    "positional": fixed(_positional),
    "residual": fixed(_residual),
    "time_distributed": fixed(_time_distributed),
    "gaussian_noise": fixed(_gaussian_noise),
    "spatial_dropout": _spatial_dropout,
}
RULES: dict[str, Rule] = rule_table(BUILDERS)
