"""Core and noise layers: Dense/Output, Dropout, Flatten, Reshape, Activation, Embedding,
GaussianNoise, SpatialDropout1D/2D.

Every module takes ``(x, hp, train)``: the input, the per-call values and whether this is a
training call. Parameter names follow Keras (``kernel``, ``bias``, ``embeddings``) so that
weights can be carried across backends by name. Stochastic layers draw from the
``"dropout"`` PRNG stream and are the identity when ``train`` is False. Dense and the
channel-wise layers after it honour width padding (:mod:`neural_jax.jax.padding`).
"""

from __future__ import annotations

from collections.abc import Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp

from neural_jax.jax.ops import Array, activate, dropout, glorot, is_zero, value
from neural_jax.jax.padding import mask_width, narrow_draw
from neural_jax.jax.plan import LayerPlan

__all__ = [
    "ActivationLayer",
    "DenseLayer",
    "DropoutLayer",
    "EmbeddingLayer",
    "FlattenLayer",
    "GaussianNoiseLayer",
    "ReshapeLayer",
]

Hp = Mapping[str, Array]


class DenseLayer(nn.Module):
    """``Dense(units, activation, use_bias)`` on the last axis (rank 2 or 3 input)."""

    plan: LayerPlan

    @nn.compact
    def __call__(self, x: Array, hp: Hp, train: bool) -> Array:
        p = self.plan
        units = p.arg("units")
        kernel = self.param("kernel", glorot, (x.shape[-1], units))
        y = x @ kernel
        if p.arg("use_bias", True):
            y = y + self.param("bias", nn.initializers.zeros, (units,))
        return mask_width(activate(y, p.arg("activation"), hp), p, hp)


def _layout(plan: LayerPlan, hp: Hp):
    def layout(draw, shape):
        return narrow_draw(draw, shape, plan, hp)

    return layout


class DropoutLayer(nn.Module):
    """``Dropout(rate)``: inverted dropout in training, identity in evaluation.

    ``spatial``: SpatialDropout1D/2D, one draw per example and channel (whole channels drop).
    """

    plan: LayerPlan
    spatial: bool = False

    @nn.compact
    def __call__(self, x: Array, hp: Hp, train: bool) -> Array:
        rate = self.plan.arg("rate")
        if not train or is_zero(rate):
            return x
        broadcast = tuple(range(1, x.ndim - 1)) if self.spatial else ()
        y = dropout(x, value(rate, hp), self.make_rng("dropout"), broadcast=broadcast,
                    layout=_layout(self.plan, hp))
        return mask_width(y, self.plan, hp)


class GaussianNoiseLayer(nn.Module):
    """``GaussianNoise(stddev)``: adds N(0, stddev^2) noise in training only."""

    plan: LayerPlan

    @nn.compact
    def __call__(self, x: Array, hp: Hp, train: bool) -> Array:
        std = self.plan.arg("stddev")
        if not train or is_zero(std):
            return x
        rng = self.make_rng("dropout")
        noise = narrow_draw(lambda s: jax.random.normal(rng, s, x.dtype), x.shape, self.plan, hp)
        return mask_width(x + jnp.asarray(value(std, hp), x.dtype) * noise, self.plan, hp)


class FlattenLayer(nn.Module):
    """``Flatten()``: keeps the batch axis, flattens the rest (row-major, as Keras)."""

    plan: LayerPlan

    def __call__(self, x: Array, hp: Hp, train: bool) -> Array:
        return x.reshape(x.shape[0], -1)


class ReshapeLayer(nn.Module):
    """``Reshape(target_shape)``; one dimension may be -1."""

    plan: LayerPlan

    def __call__(self, x: Array, hp: Hp, train: bool) -> Array:
        target = self.plan.arg("target_shape")
        target = target if isinstance(target, tuple) else (target,)
        return x.reshape((x.shape[0],) + tuple(target))


class ActivationLayer(nn.Module):
    """``Activation(function)``."""

    plan: LayerPlan

    def __call__(self, x: Array, hp: Hp, train: bool) -> Array:
        return mask_width(activate(x, self.plan.arg("function"), hp), self.plan, hp)


class EmbeddingLayer(nn.Module):
    """``Embedding(input_dim, output_dim)``: integer ids -> vectors (Keras init U(-0.05, 0.05))."""

    plan: LayerPlan

    @nn.compact
    def __call__(self, x: Array, hp: Hp, train: bool) -> Array:
        p = self.plan
        table = self.param(
            "embeddings",
            lambda key, shape: jax.random.uniform(key, shape, jnp.float32, -0.05, 0.05),
            (p.arg("input_dim"), p.arg("output_dim")))
        return jnp.take(table, x.astype(jnp.int32), axis=0)
