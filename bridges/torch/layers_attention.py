"""Attention layers in torch: MultiHeadAttention (self-attention), TransformerEncoder,
PositionalEmbedding.

Notation as in :mod:`neural_jax.jax.layers_attention`: input ``(B, T, F)``, ``H`` heads of
size ``K``; per head ``softmax(Q K^T / sqrt(K)) V`` (Vaswani et al. 2017, eq. 1) with
``Q = x W_q + b_q`` and the heads projected back to ``F``. ``nn.MultiheadAttention`` needs
``H K = F``, which Keras' ``key_dim`` does not, so the projections are written out:
``query_weight`` ``(H K, F)`` (Keras ``(F, H, K)``), ``query_bias`` ``(H K,)``,
``output_weight`` ``(F, H K)`` (Keras ``(H, K, F)``). ``dropout`` drops attention
probabilities in training.

TransformerEncoder is KerasHub's post-norm block (layer-norm epsilon 1e-5, ``K = F // H``)::

    y = LayerNorm(x + Dropout(MHA(x)))
    out = LayerNorm(y + Dropout(FFN(y)))      FFN = Dense(F)(activation(Dense(ff_dim)(y)))

with the nested block, when given, as ``FFN``. PositionalEmbedding adds the first ``T`` rows
of a learned ``(max_len, F)`` table.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from bridges.errors import unsupported
from bridges.torch.layers_norm import LayerNormLayer
from bridges.torch.ops import activate, dropout
from bridges.torch.slots import (
    HEADS_BIAS,
    HEADS_IN,
    HEADS_OUT,
    IDENTITY,
    TRANSPOSE,
    BridgeLayer,
    glorot,
    zeros,
)
from neural_jax.ir.plan import LayerPlan

__all__ = ["MultiHeadAttentionLayer", "PositionalEmbeddingLayer", "SelfAttention",
           "TransformerEncoderLayer"]

Tensor = torch.Tensor
Shape = tuple


class SelfAttention(BridgeLayer):
    """Multi-head self-attention whose output dimension is the input's feature dimension."""

    def __init__(self, features: int, num_heads: int, key_dim: int, rate: float = 0.0) -> None:
        super().__init__()
        f, h, k = features, num_heads, key_dim
        self.num_heads, self.key_dim, self.rate = h, k, float(rate or 0.0)
        for name in ("query", "key", "value"):
            self.add_slot(f"{name}_kernel", f"{name}_weight", (f, h, k), HEADS_IN, glorot)
            self.add_slot(f"{name}_bias", f"{name}_bias", (h, k), HEADS_BIAS, zeros)
        self.add_slot("output_kernel", "output_weight", (h, k, f), HEADS_OUT, glorot)
        self.add_slot("output_bias", "output_bias", (f,), IDENTITY, zeros)

    def _heads(self, x: Tensor, name: str) -> Tensor:
        y = F.linear(x, getattr(self, f"{name}_weight"), getattr(self, f"{name}_bias"))
        return y.reshape(x.shape[0], x.shape[1], self.num_heads, self.key_dim).transpose(1, 2)

    def forward(self, x: Tensor) -> Tensor:
        q, k, v = self._heads(x, "query"), self._heads(x, "key"), self._heads(x, "value")
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.key_dim)  # (B, H, T, T)
        probs = torch.softmax(scores, dim=-1)
        if self.training and self.rate > 0:
            probs = dropout(probs, self.rate)
        ctx = (probs @ v).transpose(1, 2).reshape(x.shape[0], x.shape[1], -1)
        return F.linear(ctx, self.output_weight, self.output_bias)


class MultiHeadAttentionLayer(BridgeLayer):
    """``MultiHeadAttention(num_heads, key_dim, dropout)`` applied to ``(x, x, x)``."""

    def __init__(self, plan: LayerPlan, shape: Shape) -> None:
        super().__init__()
        self.attention = SelfAttention(shape[-1], plan.arg("num_heads"), plan.arg("key_dim"),
                                       plan.arg("dropout", 0.0))

    def forward(self, x: Tensor) -> Tensor:
        return self.attention(x)


class _Dense(BridgeLayer):
    """A plain ``flax.linen.Dense`` (the encoder's feed-forward layers)."""

    def __init__(self, features_in: int, features_out: int) -> None:
        super().__init__()
        self.add_slot("kernel", "weight", (features_in, features_out), TRANSPOSE, glorot)
        self.add_slot("bias", "bias", (features_out,), IDENTITY, zeros)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)


class TransformerEncoderLayer(BridgeLayer):
    """``TransformerEncoder(num_heads, ff_dim, dropout, activation) [{ ffn block }]``."""

    def __init__(self, plan: LayerPlan, shape: Shape, sequence: Callable | None = None) -> None:
        """Builds the layer; ``sequence(plans, shape)`` builds a feed-forward block (the rule
        table's ``Sequence``, given by the rule so that this module does not import it)."""
        super().__init__()
        f, heads = shape[-1], plan.arg("num_heads")
        if f // heads < 1:
            raise unsupported(plan, "pytorch", f"{heads} heads do not fit {f} features "
                              f"(head size {f} // {heads} = 0)", f"use at most {f} heads")
        self.rate = float(plan.arg("dropout", 0.1) or 0.0)
        self.activation = plan.arg("activation", "relu")
        self.self_attention = SelfAttention(f, heads, f // heads, self.rate)
        self.self_attention_layer_norm = LayerNormLayer(None, shape, epsilon=1e-5)
        if plan.block is not None:
            if sequence is None:
                raise unsupported(plan, "pytorch", "a feed-forward block needs the rule "
                                  "table's Sequence")
            self.block = sequence(plan.block, shape)
        else:
            self.block = None
            self.feedforward_intermediate_dense = _Dense(f, plan.arg("ff_dim"))
            self.feedforward_output_dense = _Dense(plan.arg("ff_dim"), f)
        self.feedforward_layer_norm = LayerNormLayer(None, shape, epsilon=1e-5)

    def _drop(self, y: Tensor) -> Tensor:
        return dropout(y, self.rate) if self.training and self.rate > 0 else y

    def forward(self, x: Tensor) -> Tensor:
        y = self.self_attention_layer_norm(x + self._drop(self.self_attention(x)))
        if self.block is not None:
            ffn = self.block(y)
        else:
            hidden = activate(self.feedforward_intermediate_dense(y), self.activation)
            ffn = self.feedforward_output_dense(hidden)
        return self.feedforward_layer_norm(y + self._drop(ffn))


class PositionalEmbeddingLayer(BridgeLayer):
    """``PositionalEmbedding(max_len)``: learned positions (``weight``) added to the input."""

    def __init__(self, plan: LayerPlan, shape: Shape) -> None:
        super().__init__()
        self.add_slot("embeddings", "weight", (plan.arg("max_len"), shape[-1]), IDENTITY,
                      glorot)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.weight[: x.shape[1]]
