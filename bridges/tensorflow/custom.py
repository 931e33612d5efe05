"""Keras layers for what Keras lacks or computes differently from the Flax rules.

Every class here subclasses :class:`NeuralLayer`, which names its weights and sublayers as
the Flax module of :mod:`neural_jax.jax` does (``jax_params`` / ``jax_children``), so weights
travel between the backends by path (see :mod:`bridges.tensorflow.weights`).

* :class:`Sequence`: a list of layers (a residual block, a transformer's feed-forward block).
* :class:`Residual`: ``block(x) + x``, or ``block(x) + x W + b`` with the 1x1 projection
  shortcut of :mod:`neural_jax.jax.rules` (Keras has no residual layer).
* :class:`TimeDistributed`: folds time into the batch, as the Flax rule does. Keras'
  ``TimeDistributed`` loops over steps, which gives a BatchNormalization inside it other
  batch statistics in training.
* :class:`SelfAttention` / :class:`MultiHeadSelfAttention`: Keras' MultiHeadAttention math
  with the flat ``query_kernel (F, H, K)`` ... ``output_bias (F,)`` weights of the Flax
  module. :class:`TransformerEncoder` is the post-norm KerasHub block of
  :mod:`neural_jax.jax.layers_attention`; :class:`PositionalEmbedding` adds a learned table.

Convolutions Keras refuses are in :mod:`bridges.tensorflow.conv`.
"""

from __future__ import annotations

from collections.abc import Sequence as Seq
from typing import Any

from bridges.errors import BackendError
from bridges.tensorflow._keras import BACKEND, load
from neural_jax.ir.wrappers import (
    Fail,
    projection_kernel,
    projection_strides,
    residual,
    time_distributed,
)

tf, keras = load()

__all__ = [
    "MultiHeadSelfAttention",
    "NeuralLayer",
    "PositionalEmbedding",
    "Residual",
    "SelfAttention",
    "Sequence",
    "TimeDistributed",
    "TransformerEncoder",
    "output_shape",
]


def output_shape(layer, shape: tuple) -> tuple:
    """``layer``'s output shape (batch axis included) for an input of ``shape``."""
    return tuple(layer.compute_output_shape(tuple(shape)))


def _static(a) -> tuple:
    """The static dimensions of a tensor (None where unknown)."""
    return tuple(a.shape)


def _dims(a) -> tuple:
    """The dimensions of a tensor: static where known, else ``tf.shape``'s."""
    dynamic = tf.shape(a)
    return tuple(d if d is not None else dynamic[i] for i, d in enumerate(a.shape))


def _build(layer, shape: tuple) -> tuple:
    """Builds ``layer`` for ``shape`` unless built; returns its output shape."""
    if not layer.built:
        layer.build(tuple(shape))
    return output_shape(layer, shape)


class NeuralLayer(keras.layers.Layer):
    """A layer whose weights and sublayers carry the Flax module's names.

    Subclasses list their own weights in ``_param_names`` (attribute names equal to the
    Flax parameter names) and override :meth:`jax_children` when they hold sublayers.
    """

    _param_names: tuple[str, ...] = ()

    def jax_params(self) -> dict:
        """Own weights by Flax parameter name."""
        return {n: getattr(self, n) for n in self._param_names if hasattr(self, n)}

    def jax_children(self) -> dict:
        """Sublayers by Flax submodule name."""
        return {}


class Sequence(NeuralLayer):
    """Runs layers one after another; the Flax ``Sequence`` of a block."""

    def __init__(self, layers: Seq, **kwargs) -> None:
        super().__init__(**kwargs)
        self.items = list(layers)

    def build(self, input_shape) -> None:
        shape = tuple(input_shape)
        for layer in self.items:
            shape = _build(layer, shape)

    def call(self, x, training=None) -> Any:
        for layer in self.items:
            x = layer(x, training=training)
        return x

    def compute_output_shape(self, input_shape) -> tuple:
        shape = tuple(input_shape)
        for layer in self.items:
            shape = output_shape(layer, shape)
        return shape

    def jax_children(self) -> dict:
        return {layer.name: layer for layer in self.items}


class Residual(NeuralLayer):
    """``ResidualConnection() { block }``: ``block(x) + x``, projecting ``x`` when needed."""

    _param_names = ("projection_kernel", "projection_bias")

    def __init__(self, block: Sequence, fail: Fail, **kwargs) -> None:
        super().__init__(**kwargs)
        self.block = block
        self.fail = fail  # the error at the ResidualConnection's plan
        self.strides: tuple[int, ...] | None = None

    def build(self, input_shape) -> None:
        x_shape = tuple(input_shape)
        y_shape = _build(self.block, x_shape)
        shape = projection_kernel(x_shape, y_shape, self.fail)
        if shape is None:
            return
        spatial = list(zip(x_shape[1:-1], y_shape[1:-1]))
        if any(a is None or b is None for a, b in spatial):
            raise self.fail(f"a projection shortcut for {x_shape} -> {y_shape} needs "
                            "known spatial sizes", "give the input shape in full")
        self.strides = projection_strides(x_shape, y_shape, self.fail)
        self.projection_kernel = self.add_weight(shape=shape, initializer="glorot_uniform",
                                                 name="projection_kernel")
        self.projection_bias = self.add_weight(shape=shape[-1:], initializer="zeros",
                                               name="projection_bias")

    def _projection(self, x, strides: tuple[int, ...]):
        if not strides:
            return tf.matmul(x, self.projection_kernel) + self.projection_bias
        y = tf.nn.convolution(x, self.projection_kernel, strides=strides, padding="VALID")
        return y + self.projection_bias

    def call(self, x, training=None) -> Any:
        return residual(lambda a: self.block(a, training=training), x, _static,
                        None if self.strides is None else self._projection, self.fail)

    def compute_output_shape(self, input_shape) -> tuple:
        return output_shape(self.block, input_shape)

    def jax_children(self) -> dict:
        return {"block": self.block}


class TimeDistributed(NeuralLayer):
    """``TimeDistributed(layer)``: the wrapped layer on ``(batch * time, ...)``."""

    def __init__(self, layer, **kwargs) -> None:
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape) -> None:
        _build(self.layer, (None,) + tuple(input_shape[2:]))

    def call(self, x, training=None) -> Any:
        return time_distributed(lambda a: self.layer(a, training=training), x, _dims,
                                lambda a, dims: tf.reshape(a, list(dims)))

    def compute_output_shape(self, input_shape) -> tuple:
        inner = output_shape(self.layer, (None,) + tuple(input_shape[2:]))
        return tuple(input_shape[:2]) + tuple(inner[1:])

    def jax_children(self) -> dict:
        return {"layer": self.layer}


class SelfAttention(NeuralLayer):
    """Multi-head self-attention (Vaswani et al. 2017, eq. 1); output dim = input's."""

    _param_names = ("query_kernel", "query_bias", "key_kernel", "key_bias", "value_kernel",
                    "value_bias", "output_kernel", "output_bias")

    def __init__(self, num_heads: int, key_dim: int, rate: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)
        self.drop = keras.layers.Dropout(float(rate), name="dropout")

    def build(self, input_shape) -> None:
        f, h, k = input_shape[-1], self.num_heads, self.key_dim
        for name in ("query", "key", "value"):
            setattr(self, f"{name}_kernel", self.add_weight(
                shape=(f, h, k), initializer="glorot_uniform", name=f"{name}_kernel"))
            setattr(self, f"{name}_bias", self.add_weight(
                shape=(h, k), initializer="zeros", name=f"{name}_bias"))
        self.output_kernel = self.add_weight(shape=(h, k, f), initializer="glorot_uniform",
                                             name="output_kernel")
        self.output_bias = self.add_weight(shape=(f,), initializer="zeros", name="output_bias")

    def call(self, x, training=None) -> Any:
        q = tf.einsum("btf,fhk->bthk", x, self.query_kernel) + self.query_bias
        k = tf.einsum("btf,fhk->bthk", x, self.key_kernel) + self.key_bias
        v = tf.einsum("btf,fhk->bthk", x, self.value_kernel) + self.value_bias
        scores = tf.einsum("bqhk,bshk->bhqs", q, k) / tf.sqrt(tf.cast(self.key_dim, x.dtype))
        probs = self.drop(tf.nn.softmax(scores, axis=-1), training=training)
        ctx = tf.einsum("bhqs,bshk->bqhk", probs, v)
        return tf.einsum("bqhk,hkf->bqf", ctx, self.output_kernel) + self.output_bias

    def compute_output_shape(self, input_shape) -> tuple:
        return tuple(input_shape)


class MultiHeadSelfAttention(NeuralLayer):
    """``MultiHeadAttention(num_heads, key_dim, dropout)`` applied to ``(x, x, x)``."""

    def __init__(self, num_heads: int, key_dim: int, rate: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.attention = SelfAttention(num_heads, key_dim, rate, name="attention")

    def build(self, input_shape) -> None:
        _build(self.attention, input_shape)

    def call(self, x, training=None) -> Any:
        return self.attention(x, training=training)

    def compute_output_shape(self, input_shape) -> tuple:
        return tuple(input_shape)

    def jax_children(self) -> dict:
        return {"attention": self.attention}


class TransformerEncoder(NeuralLayer):
    """Post-norm encoder block (KerasHub ``normalize_first=False``, layer-norm eps 1e-5)::

        y = LayerNorm(x + Dropout(MHA(x)))
        out = LayerNorm(y + Dropout(FFN(y)))     FFN = Dense(F)(act(Dense(ff_dim)(y))) or a block
    """

    def __init__(self, num_heads: int, ff_dim: int, rate: float, activation: str | None,
                 block: Sequence | None, where: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_heads, self.ff_dim, self.rate = int(num_heads), int(ff_dim), float(rate)
        self.activation, self.block, self.where = activation, block, where
        self.attn_norm = keras.layers.LayerNormalization(
            epsilon=1e-5, name="self_attention_layer_norm")
        self.ffn_norm = keras.layers.LayerNormalization(epsilon=1e-5,
                                                        name="feedforward_layer_norm")
        self.attn_drop = keras.layers.Dropout(self.rate, name="self_attention_dropout")
        self.ffn_drop = keras.layers.Dropout(self.rate, name="feedforward_dropout")
        self.self_attention = None
        self.dense_in = self.dense_out = None

    def build(self, input_shape) -> None:
        f = input_shape[-1]
        if f // self.num_heads < 1:
            raise BackendError(f"{self.where}: {self.num_heads} heads do not fit {f} features "
                               f"(head size {f} // {self.num_heads} = 0) (backend: {BACKEND})",
                               hint=f"use at most {f} heads")
        self.self_attention = SelfAttention(self.num_heads, f // self.num_heads, self.rate,
                                            name="self_attention")
        shape = tuple(input_shape)
        _build(self.self_attention, shape)
        _build(self.attn_norm, shape)
        if self.block is not None:
            _build(self.block, shape)
        else:
            self.dense_in = keras.layers.Dense(self.ff_dim, activation=self.activation,
                                               name="feedforward_intermediate_dense")
            self.dense_out = keras.layers.Dense(f, name="feedforward_output_dense")
            _build(self.dense_out, _build(self.dense_in, shape))
        _build(self.ffn_norm, shape)

    def call(self, x, training=None) -> Any:
        attn = self.self_attention(x, training=training)
        y = self.attn_norm(x + self.attn_drop(attn, training=training))
        if self.block is not None:
            ffn = self.block(y, training=training)
        else:
            ffn = self.dense_out(self.dense_in(y))
        return self.ffn_norm(y + self.ffn_drop(ffn, training=training))

    def compute_output_shape(self, input_shape) -> tuple:
        return tuple(input_shape)

    def jax_children(self) -> dict:
        out = {"self_attention": self.self_attention,
               "self_attention_layer_norm": self.attn_norm}
        if self.block is not None:
            out["block"] = self.block
        else:
            out["feedforward_intermediate_dense"] = self.dense_in
            out["feedforward_output_dense"] = self.dense_out
        out["feedforward_layer_norm"] = self.ffn_norm
        return out


class PositionalEmbedding(NeuralLayer):
    """``PositionalEmbedding(max_len)``: adds a learned ``(max_len, F)`` table's first rows."""

    _param_names = ("embeddings",)

    def __init__(self, max_len: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.max_len = int(max_len)

    def build(self, input_shape) -> None:
        self.embeddings = self.add_weight(shape=(self.max_len, input_shape[-1]),
                                          initializer="glorot_uniform", name="embeddings")

    def call(self, x, training=None) -> Any:
        return x + self.embeddings[: tf.shape(x)[1]]

    def compute_output_shape(self, input_shape) -> tuple:
        return tuple(input_shape)
