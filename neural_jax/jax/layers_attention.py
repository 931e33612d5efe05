"""Attention layers: MultiHeadAttention (self-attention), TransformerEncoder,
PositionalEmbedding.

Notation: input ``x`` is ``(B, T, F)``; ``H`` heads of size ``K``. Scaled dot-product
attention (Vaswani et al. 2017, eq. 1) per head: ``softmax(Q K^T / sqrt(K)) V`` with
``Q = x W_q + b_q`` etc. (``W_q`` is ``(F, H, K)``, Keras' EinsumDense layout); the heads are
projected back to ``F`` by ``W_o`` (``(H, K, F)``), so the output keeps the input's shape.
``dropout`` drops attention probabilities in training, as Keras does.

TransformerEncoder is the post-norm encoder block of KerasHub (``normalize_first=False``,
layer-norm epsilon 1e-5, head size ``F // num_heads``)::

    y = LayerNorm(x + Dropout(MHA(x)))
    out = LayerNorm(y + Dropout(FFN(y)))      FFN = Dense(F)(activation(Dense(ff_dim)(y)))

A nested block, when given, replaces ``FFN`` (the dropout, residual and norm stay).
PositionalEmbedding adds a learned ``(max_len, F)`` table's first ``T`` rows to its input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from neural_jax.jax.layers_norm import layer_norm
from neural_jax.jax.ops import Array, activate, dropout, glorot, is_zero, value
from neural_jax.jax.plan import LayerPlan, error

__all__ = [
    "MultiHeadAttentionLayer",
    "PositionalEmbeddingLayer",
    "SelfAttention",
    "TransformerEncoderLayer",
]

Hp = Mapping[str, Array]
_zeros = nn.initializers.zeros


class SelfAttention(nn.Module):
    """Multi-head self-attention whose output dimension is the input's feature dimension."""

    num_heads: int
    key_dim: int
    rate: Any = 0.0

    @nn.compact
    def __call__(self, x: Array, hp: Hp, train: bool) -> Array:
        f, h, k = x.shape[-1], self.num_heads, self.key_dim

        def project(name: str) -> Array:
            w = self.param(f"{name}_kernel", glorot, (f, h, k))
            b = self.param(f"{name}_bias", _zeros, (h, k))
            return jnp.einsum("btf,fhk->bthk", x, w) + b

        q, key, v = project("query"), project("key"), project("value")
        scores = jnp.einsum("bqhk,bshk->bhqs", q, key) / jnp.sqrt(jnp.asarray(k, x.dtype))
        probs = jax.nn.softmax(scores, axis=-1)
        if train and not is_zero(self.rate):
            probs = dropout(probs, value(self.rate, hp), self.make_rng("dropout"))
        ctx = jnp.einsum("bhqs,bshk->bqhk", probs, v)
        wo = self.param("output_kernel", glorot, (h, k, f))
        bo = self.param("output_bias", _zeros, (f,))
        return jnp.einsum("bqhk,hkf->bqf", ctx, wo) + bo


class MultiHeadAttentionLayer(nn.Module):
    """``MultiHeadAttention(num_heads, key_dim, dropout)`` applied to ``(x, x, x)``."""

    plan: LayerPlan

    @nn.compact
    def __call__(self, x: Array, hp: Hp, train: bool) -> Array:
        p = self.plan
        return SelfAttention(p.arg("num_heads"), p.arg("key_dim"), p.arg("dropout", 0.0),
                             name="attention")(x, hp, train)


class TransformerEncoderLayer(nn.Module):
    """``TransformerEncoder(num_heads, ff_dim, dropout, activation) [{ ffn block }]``.

    Attributes:
      plan: the layer's plan.
      sequence: the block runner, ``sequence(plans, name=...)`` (the rule table's
        ``Sequence``, given by the rule so that this module does not import the table).
    """

    plan: LayerPlan
    sequence: Any = None

    @nn.compact
    def __call__(self, x: Array, hp: Hp, train: bool) -> Array:
        p = self.plan
        f, heads = x.shape[-1], p.arg("num_heads")
        if f // heads < 1:
            raise error(None, p, f"{heads} heads do not fit {f} features (head size "
                        f"{f} // {heads} = 0)", f"use at most {f} heads")
        rate = p.arg("dropout", 0.1)
        stochastic = train and not is_zero(rate)

        def drop(y: Array) -> Array:
            return dropout(y, value(rate, hp), self.make_rng("dropout")) if stochastic else y

        attn = SelfAttention(heads, f // heads, rate, name="self_attention")(x, hp, train)
        y = _Norm(name="self_attention_layer_norm")(x + drop(attn))
        if p.block is not None:
            if self.sequence is None:
                raise error(None, p, "a feed-forward block needs the rule table's Sequence")
            ffn = self.sequence(p.block, name="block")(y, hp, train)
        else:
            hidden = nn.Dense(p.arg("ff_dim"), kernel_init=glorot,
                              name="feedforward_intermediate_dense")(y)
            hidden = activate(hidden, p.arg("activation", "relu"), hp)
            ffn = nn.Dense(f, kernel_init=glorot, name="feedforward_output_dense")(hidden)
        return _Norm(name="feedforward_layer_norm")(y + drop(ffn))


class _Norm(nn.Module):
    """KerasHub's encoder layer norm (epsilon 1e-5)."""

    @nn.compact
    def __call__(self, x: Array) -> Array:
        return layer_norm(self, x, 1e-5)


class PositionalEmbeddingLayer(nn.Module):
    """``PositionalEmbedding(max_len)``: learned positions added to the input."""

    plan: LayerPlan

    @nn.compact
    def __call__(self, x: Array, hp: Hp, train: bool) -> Array:
        table = self.param("embeddings", glorot, (self.plan.arg("max_len"), x.shape[-1]))
        return x + table[: x.shape[1]]
