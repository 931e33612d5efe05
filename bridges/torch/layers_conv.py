"""Convolution and pooling layers in torch, on channel-last input.

Notation: ``k`` kernel size, ``s`` stride, ``d`` dilation, ``k' = d (k - 1) + 1``, ``n``
an input size. The modules compute what :mod:`neural_jax.jax.layers_conv` computes:

* Padding is TensorFlow's (:func:`bridges.torch.ops.pad_amounts`): the input is padded
  explicitly (the odd element of ``"same"`` at the end, ``"causal"`` at the start) and the
  torch convolution runs unpadded, because torch's own ``padding=`` is symmetric.
* A transposed convolution is ``lax.conv_transpose(..., transpose_kernel=True)``: the
  gradient of a convolution, which is what ``F.conv_transpose*d`` computes with
  ``padding=0``. That gives the full output of length ``(n - 1) s + k'``; the JAX output
  starts ``k' - 1 - a`` into it, where ``a`` is ``lax``'s leading pad
  (``k' - 1`` for valid, and for same ``k' - 1`` when ``s >= k'``, else
  ``ceil((k' + s - 2) / 2)``), and is ``n s + max(k' - s, 0)`` (valid) or ``n s`` (same)
  long; positions past the full output see only padding (zeros before the bias).
* Depthwise convolutions are grouped convolutions with ``groups = in`` (output channel
  ``o`` reads input channel ``o // multiplier``, as ``feature_group_count`` does).
* Max pooling pads with ``-inf``; average pooling divides each window's sum by the number
  of real (unpadded) elements, as Keras does.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from bridges.torch.ops import (
    activate,
    channels_first,
    channels_last,
    pad_amounts,
    pad_spatial,
)
from bridges.torch.slots import CONV, IDENTITY, BridgeLayer, glorot, zeros
from neural_jax.ir.plan import LayerPlan
from neural_jax.ir.shapes import spatial_tuple

__all__ = ["ConvLayer", "GlobalPoolLayer", "PoolLayer", "SeparableConvLayer", "conv_nd"]

Tensor = torch.Tensor
Shape = tuple
_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
_MAX = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}


def conv_nd(x: Tensor, weight: Tensor, strides, padding: str, dilation, groups: int = 1
            ) -> Tensor:
    """A convolution of a channel-FIRST tensor with Keras padding names."""
    n = x.ndim - 2
    k = weight.shape[2:]
    x = pad_spatial(x, pad_amounts(x.shape[2:], k, strides, dilation, padding))
    return _CONV[n](x, weight, None, tuple(strides), 0, tuple(dilation), groups)


def _spatial(p: LayerPlan, n: int):
    k = spatial_tuple(p.arg("kernel_size"), n, "kernel_size")
    s = spatial_tuple(p.arg("strides", 1), n, "strides")
    d = spatial_tuple(p.arg("dilation_rate", 1), n, "dilation_rate")
    return k, s, d, str(p.arg("padding", "valid"))


def _transpose_pad(k: int, s: int, padding: str) -> int:
    """``lax``'s leading pad of a transposed convolution (``k`` the dilated kernel)."""
    if padding == "same" and s <= k - 1:
        return math.ceil((k + s - 2) / 2)
    return k - 1


class ConvLayer(BridgeLayer):
    """Conv1D/2D/3D, Conv2DTranspose and DepthwiseConv2D (``n`` spatial dimensions).

    ``weight`` is ``(out, in // groups, *k)`` for a convolution and ``(in, out, *k)`` for
    a transposed one.
    """

    def __init__(self, plan: LayerPlan, shape: Shape, n: int, mode: str = "conv") -> None:
        super().__init__()
        self.n, self.mode = n, mode
        self.kernel, self.strides, self.dilation, self.padding = _spatial(plan, n)
        self.activation = plan.arg("activation")
        cin = shape[-1]
        self.groups = 1
        if mode == "depthwise":
            cout = cin * plan.arg("depth_multiplier", 1)
            keras = self.kernel + (1, cout)
            self.groups = cin
        elif mode == "transpose":
            cout = plan.arg("filters")
            keras = self.kernel + (cout, cin)
        else:
            cout = plan.arg("filters")
            keras = self.kernel + (cin, cout)
        self.add_slot("kernel", "weight", keras, CONV, glorot)
        self.bias = None
        if plan.arg("use_bias", True):
            self.add_slot("bias", "bias", (cout,), IDENTITY, zeros)

    def _transpose(self, x: Tensor) -> Tensor:
        full = _CONV_T[self.n](x, self.weight, None, self.strides, 0, 0, 1, self.dilation)
        for axis, (n_in, k, s, d) in enumerate(zip(x.shape[2:], self.kernel, self.strides,
                                                   self.dilation)):
            eff = d * (k - 1) + 1
            length = n_in * s + (max(eff - s, 0) if self.padding == "valid" else 0)
            start = eff - 1 - _transpose_pad(eff, s, self.padding)
            dim = axis + 2
            missing = start + length - full.shape[dim]
            if missing > 0:
                pads = [0, 0] * (full.ndim - dim - 1) + [0, missing]
                full = F.pad(full, pads)
            full = full.narrow(dim, start, length)
        return full

    def forward(self, x: Tensor) -> Tensor:
        x = channels_first(x)
        if self.mode == "transpose":
            y = self._transpose(x)
        else:
            y = conv_nd(x, self.weight, self.strides, self.padding, self.dilation, self.groups)
        y = channels_last(y)
        if self.bias is not None:
            y = y + self.bias
        return activate(y, self.activation)


class SeparableConvLayer(BridgeLayer):
    """SeparableConv2D: a depthwise convolution (multiplier 1, no bias), then a 1x1 one."""

    def __init__(self, plan: LayerPlan, shape: Shape) -> None:
        super().__init__()
        self.kernel, self.strides, self.dilation, self.padding = _spatial(plan, 2)
        self.activation = plan.arg("activation")
        cin, cout = shape[-1], plan.arg("filters")
        self.add_slot("depthwise_kernel", "depthwise_weight", self.kernel + (1, cin), CONV,
                      glorot)
        self.add_slot("pointwise_kernel", "pointwise_weight", (1, 1, cin, cout), CONV, glorot)
        self.bias = None
        if plan.arg("use_bias", True):
            self.add_slot("bias", "bias", (cout,), IDENTITY, zeros)

    def forward(self, x: Tensor) -> Tensor:
        x = channels_first(x)
        y = conv_nd(x, self.depthwise_weight, self.strides, self.padding, self.dilation,
                    groups=x.shape[1])
        y = channels_last(F.conv2d(y, self.pointwise_weight))
        if self.bias is not None:
            y = y + self.bias
        return activate(y, self.activation)


def _sum_pool(x: Tensor, window, strides) -> Tensor:
    """Window sums of a channel-first tensor (1D runs as 2D with a unit axis)."""
    if len(window) == 1:
        y = F.avg_pool2d(x.unsqueeze(2), (1,) + window, (1,) + strides, divisor_override=1)
        return y.squeeze(2)
    pool = F.avg_pool2d if len(window) == 2 else F.avg_pool3d
    return pool(x, window, strides, divisor_override=1)


class PoolLayer(BridgeLayer):
    """MaxPooling1D/2D/3D and AveragePooling1D/2D/3D."""

    def __init__(self, plan: LayerPlan, shape: Shape, n: int, kind: str) -> None:
        super().__init__()
        self.n, self.kind = n, kind
        self.window = spatial_tuple(plan.arg("pool_size", 2), n, "pool_size")
        st = plan.arg("strides")
        self.strides = self.window if st is None else spatial_tuple(st, n, "strides")
        self.padding = str(plan.arg("padding", "valid"))

    def forward(self, x: Tensor) -> Tensor:
        x = channels_first(x)
        pads = pad_amounts(x.shape[2:], self.window, self.strides, (1,) * self.n, self.padding)
        if self.kind == "max":
            y = _MAX[self.n](pad_spatial(x, pads, -math.inf), self.window, self.strides)
            return channels_last(y)
        total = _sum_pool(pad_spatial(x, pads), self.window, self.strides)
        ones = torch.ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype, device=x.device)
        count = _sum_pool(pad_spatial(ones, pads), self.window, self.strides)
        return channels_last(total / count)


class GlobalPoolLayer(BridgeLayer):
    """GlobalAverage/GlobalMaxPooling1D/2D/3D: reduces every spatial axis."""

    def __init__(self, plan: LayerPlan, shape: Shape, n: int, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def forward(self, x: Tensor) -> Tensor:
        axes = tuple(range(1, x.ndim - 1))
        return torch.amax(x, axes) if self.kind == "max" else torch.mean(x, axes)
