"""Normalisation layers: BatchNormalization, LayerNormalization, GroupNormalization.

Notation: ``x`` has channels last; ``mu`` and ``sigma^2`` are the (biased) mean and variance
over the normalised axes; every layer returns ``gamma (x - mu) / sqrt(sigma^2 + eps) + beta``
with per-channel ``gamma`` (init 1) and ``beta`` (init 0), Keras' names and defaults.

BatchNormalization (Ioffe & Szegedy 2015, Alg. 1) normalises over every axis but the last
with the batch statistics in training and with the moving statistics in evaluation. The
moving statistics follow Keras' convention::

    moving = momentum * moving + (1 - momentum) * batch

and live in the ``"batch_stats"`` collection as ``moving_mean`` / ``moving_variance``.
``momentum`` and ``epsilon`` may be per-call values (searched per member).

GroupNormalization (Wu & He 2018, eq. 1) splits the channels into ``groups`` and normalises
each group over its channels and every spatial axis; LayerNormalization normalises over the
last axis.
"""

from __future__ import annotations

from collections.abc import Mapping

import flax.linen as nn
import jax.numpy as jnp
from jax import lax

from neural_jax.jax.ops import Array, value
from neural_jax.jax.plan import LayerPlan

__all__ = ["BatchNormLayer", "GroupNormLayer", "LayerNormLayer", "layer_norm"]

Hp = Mapping[str, Array]


def _affine(module: nn.Module, y: Array, channels: int) -> Array:
    gamma = module.param("gamma", nn.initializers.ones, (channels,))
    beta = module.param("beta", nn.initializers.zeros, (channels,))
    return y * gamma + beta


def layer_norm(module: nn.Module, x: Array, eps) -> Array:
    """Normalises ``x`` over its last axis with ``module``'s ``gamma``/``beta``."""
    mu = jnp.mean(x, -1, keepdims=True)
    var = jnp.mean(jnp.square(x - mu), -1, keepdims=True)
    return _affine(module, (x - mu) * lax.rsqrt(var + eps), x.shape[-1])


class BatchNormLayer(nn.Module):
    """``BatchNormalization(momentum, epsilon)`` with Keras' moving-average rule."""

    plan: LayerPlan

    @nn.compact
    def __call__(self, x: Array, hp: Hp, train: bool) -> Array:
        c = x.shape[-1]
        momentum = value(self.plan.arg("momentum", 0.99), hp)
        eps = value(self.plan.arg("epsilon", 1e-3), hp)
        moving_mean = self.variable("batch_stats", "moving_mean", jnp.zeros, (c,), jnp.float32)
        moving_var = self.variable("batch_stats", "moving_variance", jnp.ones, (c,), jnp.float32)
        if train:
            axes = tuple(range(x.ndim - 1))
            mean = jnp.mean(x, axes)
            var = jnp.mean(jnp.square(x - mean), axes)
            if not self.is_initializing():
                moving_mean.value = momentum * moving_mean.value + (1.0 - momentum) * mean
                moving_var.value = momentum * moving_var.value + (1.0 - momentum) * var
        else:
            mean, var = moving_mean.value, moving_var.value
        return _affine(self, (x - mean) * lax.rsqrt(var + eps), c)


class LayerNormLayer(nn.Module):
    """``LayerNormalization(epsilon)`` over the last axis."""

    plan: LayerPlan

    @nn.compact
    def __call__(self, x: Array, hp: Hp, train: bool) -> Array:
        return layer_norm(self, x, value(self.plan.arg("epsilon", 1e-3), hp))


class GroupNormLayer(nn.Module):
    """``GroupNormalization(groups, epsilon)``."""

    plan: LayerPlan

    @nn.compact
    def __call__(self, x: Array, hp: Hp, train: bool) -> Array:
        groups = self.plan.arg("groups", 32)
        eps = value(self.plan.arg("epsilon", 1e-3), hp)
        c = x.shape[-1]
        g = x.reshape(x.shape[:-1] + (groups, c // groups))
        axes = tuple(range(1, x.ndim - 1)) + (x.ndim,)
        mu = jnp.mean(g, axes, keepdims=True)
        var = jnp.mean(jnp.square(g - mu), axes, keepdims=True)
        y = ((g - mu) * lax.rsqrt(var + eps)).reshape(x.shape)
        return _affine(self, y, c)
