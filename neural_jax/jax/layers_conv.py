"""Convolution and pooling layers, channel-last (``(batch, *spatial, channels)``).

Notation: ``k`` kernel size, ``s`` stride, ``d`` dilation, ``k' = d (k - 1) + 1``.
Padding follows Keras/TensorFlow: ``"same"`` pads ``max((ceil(n/s) - 1) s + k' - n, 0)``
in total with the extra element at the end (``lax``'s ``"SAME"``), ``"causal"`` (Conv1D)
pads ``k' - 1`` at the start. A transposed convolution is the gradient of a convolution
(``lax.conv_transpose(..., transpose_kernel=True)``, TensorFlow's ``conv2d_transpose``), so
its output is ``n s + max(k' - s, 0)`` (valid) or ``n s`` (same), as in
:mod:`neural_jax.ir.shapes`. Average pooling with ``"same"`` padding averages over the
window's real elements only, as Keras does.

Kernels are stored in Keras' layouts: ``(*k, in, out)`` for a convolution,
``(*k, out, in)`` for a transposed one; a depthwise kernel is ``(*k, 1, in * multiplier)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import flax.linen as nn
import jax.numpy as jnp
from jax import lax

from neural_jax.ir.shapes import spatial_tuple
from neural_jax.jax.ops import Array, activate, glorot
from neural_jax.jax.plan import LayerPlan

__all__ = ["ConvLayer", "GlobalPoolLayer", "PoolLayer", "SeparableConvLayer", "conv_nd"]

Hp = Mapping[str, Array]
_DIMS = {1: ("NWC", "WIO", "NWC"), 2: ("NHWC", "HWIO", "NHWC"), 3: ("NDHWC", "DHWIO", "NDHWC")}
_zeros = nn.initializers.zeros


def _padding(padding: str, k: tuple[int, ...], d: tuple[int, ...]):
    if padding == "causal":
        return [(di * (ki - 1), 0) for ki, di in zip(k, d)]
    return padding.upper()


def conv_nd(x: Array, kernel: Array, strides, padding: str, dilation, groups: int = 1) -> Array:
    """A channel-last N-D convolution with Keras padding names."""
    n = x.ndim - 2
    k = kernel.shape[:n]
    return lax.conv_general_dilated(
        x, kernel, window_strides=tuple(strides), padding=_padding(padding, k, tuple(dilation)),
        rhs_dilation=tuple(dilation), dimension_numbers=_DIMS[n], feature_group_count=groups)


def _spatial(p: LayerPlan, n: int):
    k = spatial_tuple(p.arg("kernel_size"), n, "kernel_size")
    s = spatial_tuple(p.arg("strides", 1), n, "strides")
    d = spatial_tuple(p.arg("dilation_rate", 1), n, "dilation_rate")
    return k, s, d, str(p.arg("padding", "valid"))


class ConvLayer(nn.Module):
    """Conv1D/2D/3D, Conv2DTranspose and DepthwiseConv2D (``n`` spatial dimensions)."""

    plan: LayerPlan
    n: int
    mode: str = "conv"  # "conv" | "transpose" | "depthwise"

    @nn.compact
    def __call__(self, x: Array, hp: Hp, train: bool) -> Array:
        p = self.plan
        k, s, d, pad = _spatial(p, self.n)
        cin = x.shape[-1]
        if self.mode == "depthwise":
            cout = cin * p.arg("depth_multiplier", 1)
            kernel = self.param("kernel", glorot, k + (1, cout))
            y = conv_nd(x, kernel, s, pad, d, groups=cin)
        elif self.mode == "transpose":
            cout = p.arg("filters")
            kernel = self.param("kernel", glorot, k + (cout, cin))
            y = lax.conv_transpose(x, kernel, s, pad.upper(), rhs_dilation=d,
                                   dimension_numbers=_DIMS[self.n], transpose_kernel=True)
        else:
            cout = p.arg("filters")
            kernel = self.param("kernel", glorot, k + (cin, cout))
            y = conv_nd(x, kernel, s, pad, d)
        if p.arg("use_bias", True):
            y = y + self.param("bias", _zeros, (cout,))
        return activate(y, p.arg("activation"), hp)


class SeparableConvLayer(nn.Module):
    """SeparableConv2D: a depthwise convolution (multiplier 1, no bias), then a 1x1 one."""

    plan: LayerPlan

    @nn.compact
    def __call__(self, x: Array, hp: Hp, train: bool) -> Array:
        p = self.plan
        k, s, d, pad = _spatial(p, 2)
        cin, cout = x.shape[-1], p.arg("filters")
        dw = self.param("depthwise_kernel", glorot, k + (1, cin))
        pw = self.param("pointwise_kernel", glorot, (1, 1, cin, cout))
        y = conv_nd(x, dw, s, pad, d, groups=cin)
        y = conv_nd(y, pw, (1, 1), "valid", (1, 1))
        if p.arg("use_bias", True):
            y = y + self.param("bias", _zeros, (cout,))
        return activate(y, p.arg("activation"), hp)


class PoolLayer(nn.Module):
    """MaxPooling1D/2D/3D and AveragePooling1D/2D/3D."""

    plan: LayerPlan
    n: int
    kind: str  # "max" | "average"

    def __call__(self, x: Array, hp: Hp, train: bool) -> Array:
        p = self.plan
        window = spatial_tuple(p.arg("pool_size", 2), self.n, "pool_size")
        st = p.arg("strides")
        strides = window if st is None else spatial_tuple(st, self.n, "strides")
        pad = str(p.arg("padding", "valid")).upper()
        if self.kind == "max":
            return nn.max_pool(x, window, strides, pad)
        return nn.avg_pool(x, window, strides, pad, count_include_pad=False)


class GlobalPoolLayer(nn.Module):
    """GlobalAverage/GlobalMaxPooling1D/2D/3D: reduces every spatial axis."""

    plan: LayerPlan
    n: int
    kind: str

    def __call__(self, x: Array, hp: Hp, train: bool) -> Array:
        axes = tuple(range(1, x.ndim - 1))
        return jnp.max(x, axes) if self.kind == "max" else jnp.mean(x, axes)
