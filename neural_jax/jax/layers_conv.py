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

Two implementations of an ungrouped convolution (``conv_impl`` of
:func:`neural_jax.jax.build_model`): ``"xla"`` (``lax.conv_general_dilated``) and
``"patches"``, im2col followed by a matmul,

.. math:: y[b, o, c] = \\sum_{k} X[b, o, k]\\, W[k, c], \\qquad
          X[b, o, (i, j, c_{in})] = x_{pad}[b, o_h s + i d, o_w s + j d, c_{in}]

where the patch matrix :math:`X` is built from strided slices and the kernel's Keras layout
flattens in the same ``(i, j, c_in)`` order, so both give the same outputs (to rounding)
with the same parameters. Under ``jax.vmap`` over a population the XLA form becomes a
grouped convolution, which XLA's CPU backend runs 3-4x slower than torch; the patch form
becomes a batched matmul (DESIGN.md, benchmarks/RESULTS.md). Grouped convolutions
(depthwise, separable) always use XLA. With ``"patches"``, max/average pooling whose windows
tile the input (stride = window, ``"valid"``) is a reshape and a reduction
(:func:`pool_reshape`): same values, and a backward pass without XLA's slow CPU
``select_and_scatter`` (gradients at exactly tied maxima are shared rather than given to
the first one; after a ReLU such ties are zeros, whose gradient is zero either way).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import flax.linen as nn
import jax.numpy as jnp
from jax import lax

from neural_jax.ir.shapes import spatial_tuple
from neural_jax.jax.ops import Array, activate, glorot
from neural_jax.jax.padding import mask_width
from neural_jax.jax.plan import LayerPlan

__all__ = ["CONV_IMPLS", "ConvLayer", "GlobalPoolLayer", "PoolLayer", "SeparableConvLayer",
           "conv", "conv_nd", "conv_patches", "pool_reshape"]

#: values of ``conv_impl``
CONV_IMPLS = ("xla", "patches")

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


def _pads(padding: str, size, k, s, d) -> list[tuple[int, int]]:
    if padding == "causal":
        return [(di * (ki - 1), 0) for ki, di in zip(k, d)]
    if padding == "same":
        out = []
        for ni, ki, si, di in zip(size, k, s, d):
            eff = di * (ki - 1) + 1
            total = max((-(-ni // si) - 1) * si + eff - ni, 0)
            out.append((total // 2, total - total // 2))
        return out
    return [(0, 0)] * len(k)


def conv_patches(x: Array, kernel: Array, strides, padding: str, dilation) -> Array:
    """An ungrouped channel-last N-D convolution as patches x matmul (module docstring)."""
    n = x.ndim - 2
    k = tuple(kernel.shape[:n])
    s, d = tuple(strides), tuple(dilation)
    pads = _pads(str(padding).lower(), x.shape[1:-1], k, s, d)
    if any(p != (0, 0) for p in pads):
        x = jnp.pad(x, [(0, 0), *pads, (0, 0)])
    full = x.shape[1:-1]
    outs = [(fi - (di * (ki - 1) + 1)) // si + 1 for fi, ki, si, di in zip(full, k, s, d)]
    cols = []
    for offs in itertools.product(*[range(ki) for ki in k]):
        start = (0, *[o * di for o, di in zip(offs, d)], 0)
        ends = [o * di + (oi - 1) * si + 1 for o, di, oi, si in zip(offs, d, outs, s)]
        limit = (x.shape[0], *ends, x.shape[-1])
        cols.append(lax.slice(x, start, limit, (1, *s, 1)))
    patches = jnp.stack(cols, axis=-2)  # (B, *out, prod(k), cin)
    patches = patches.reshape(patches.shape[:-2] + (-1,))
    return jnp.einsum("...k,kc->...c", patches, kernel.reshape((-1, kernel.shape[-1])))


def conv(x: Array, kernel: Array, strides, padding: str, dilation, groups: int = 1,
         impl: str = "xla") -> Array:
    """:func:`conv_nd` or, for ``impl="patches"`` and ``groups == 1``, :func:`conv_patches`."""
    if impl == "patches" and groups == 1:
        return conv_patches(x, kernel, strides, padding, dilation)
    return conv_nd(x, kernel, strides, padding, dilation, groups)


def pool_reshape(x: Array, window, kind: str) -> Array:
    """Max/average pooling with ``strides == window`` and ``"valid"`` as a reshape + reduction.

    Trailing rows/columns that no window covers are dropped, as ``"valid"`` does.
    """
    n = len(window)
    outs = [s // w for s, w in zip(x.shape[1:-1], window)]
    x = x[(slice(None), *[slice(0, o * w) for o, w in zip(outs, window)], slice(None))]
    shape = [x.shape[0]]
    for o, w in zip(outs, window):
        shape += [o, w]
    x = x.reshape(shape + [x.shape[-1]])
    axes = tuple(2 + 2 * i for i in range(n))
    return jnp.max(x, axes) if kind == "max" else jnp.mean(x, axes)


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
    conv_impl: str = "xla"

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
            y = conv(x, kernel, s, pad, d, impl=self.conv_impl)
        if p.arg("use_bias", True):
            y = y + self.param("bias", _zeros, (cout,))
        return mask_width(activate(y, p.arg("activation"), hp), p, hp)


class SeparableConvLayer(nn.Module):
    """SeparableConv2D: a depthwise convolution (multiplier 1, no bias), then a 1x1 one."""

    plan: LayerPlan
    conv_impl: str = "xla"

    @nn.compact
    def __call__(self, x: Array, hp: Hp, train: bool) -> Array:
        p = self.plan
        k, s, d, pad = _spatial(p, 2)
        cin, cout = x.shape[-1], p.arg("filters")
        dw = self.param("depthwise_kernel", glorot, k + (1, cin))
        pw = self.param("pointwise_kernel", glorot, (1, 1, cin, cout))
        y = conv_nd(x, dw, s, pad, d, groups=cin)
        y = conv(y, pw, (1, 1), "valid", (1, 1), impl=self.conv_impl)
        if p.arg("use_bias", True):
            y = y + self.param("bias", _zeros, (cout,))
        return activate(y, p.arg("activation"), hp)


class PoolLayer(nn.Module):
    """MaxPooling1D/2D/3D and AveragePooling1D/2D/3D."""

    plan: LayerPlan
    n: int
    kind: str  # "max" | "average"
    conv_impl: str = "xla"

    def __call__(self, x: Array, hp: Hp, train: bool) -> Array:
        p = self.plan
        window = spatial_tuple(p.arg("pool_size", 2), self.n, "pool_size")
        st = p.arg("strides")
        strides = window if st is None else spatial_tuple(st, self.n, "strides")
        pad = str(p.arg("padding", "valid")).upper()
        if self.conv_impl == "patches" and strides == window and pad == "VALID":
            return pool_reshape(x, window, self.kind)
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
