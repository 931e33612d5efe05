"""PyTorch convolution and pooling emitters, with TensorFlow's padding.

Notation: ``k`` kernel, ``s`` stride, ``d`` dilation, ``k' = d (k - 1) + 1``, ``n`` the input
size along one spatial axis. "same" pads ``max((ceil(n/s) - 1) s + k' - n, 0)`` in total with
the odd element at the end and "causal" pads ``k' - 1`` in front, as TensorFlow and the JAX
backend do. Symmetric padding is torch's own ``padding=``; anything else is padded
explicitly by the ``ChannelLast`` helper (with ``-inf`` for max pooling; average pooling
uses ``AvgPoolSame``, which does not count padded cells). A transposed convolution's full
output ``(n - 1) s + k'`` is cropped like TensorFlow's (the forward convolution's "same" pad,
``max(k' - s, 0)``, split with the odd element at the end) or extended with
``output_padding`` to ``n s`` when ``k' < s``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from bridges.codegen.context import lit, out_shape
from bridges.codegen.source import Call
from bridges.codegen.torch_mod import Mod
from bridges.errors import unsupported
from neural_jax.ir.plan import LayerPlan
from neural_jax.ir.shapes import spatial_tuple

__all__ = ["conv", "conv_transpose", "global_pool", "pool", "size", "wrap"]


def size(t: tuple) -> str:
    """An int when every axis has the same value, else the tuple."""
    return lit(t[0]) if len(set(t)) == 1 else lit(tuple(t))


def _geometry(p: LayerPlan, shape: tuple, n: int, pooling: bool = False):
    """Kernel, strides, dilation and TensorFlow's (before, after) padding per spatial axis."""
    if pooling:
        k = spatial_tuple(p.arg("pool_size", 2), n, "pool_size")
        st = p.arg("strides")
        s = k if st is None else spatial_tuple(st, n, "strides")
        d = (1,) * n
    else:
        k = spatial_tuple(p.arg("kernel_size"), n, "kernel_size")
        s = spatial_tuple(p.arg("strides", 1), n, "strides")
        d = spatial_tuple(p.arg("dilation_rate", 1), n, "dilation_rate")
    padding = str(p.arg("padding", "valid"))
    pads = []
    for n_in, ki, si, di in zip(shape[:n], k, s, d):
        keff = di * (ki - 1) + 1
        if padding == "causal":
            pads.append((keff - 1, 0))
        elif padding == "same" and n_in is None and si == 1:
            pads.append(((keff - 1) // 2, keff - 1 - (keff - 1) // 2))
        elif padding == "same":
            if n_in is None:
                raise unsupported(p, "pytorch", "'same' padding needs a known input size",
                                  "give the input shape in full")
            total = max((math.ceil(n_in / si) - 1) * si + keff - n_in, 0)
            pads.append((total // 2, total - total // 2))
        else:
            pads.append((0, 0))
    return k, s, d, pads


def _fpad(pads) -> str:
    """``F.pad`` amounts (last axis first) for per-axis (before, after) pads."""
    return lit(tuple(v for b, a in reversed(pads) for v in (b, a)))


def wrap(layer: Call, pads=None, value: str | None = None, crop=None) -> Call:
    """``ChannelLast(layer, ...)``: with explicit pads (and pad value) or a crop if given."""
    kw = {}
    if pads is not None:
        kw["pad"] = _fpad(pads)
        if value is not None:
            kw["pad_value"] = value
    if crop is not None:
        kw["crop"] = lit(tuple(crop))
    return Call("ChannelLast", [layer], kw)


def conv(n: int, mode: str = "conv") -> Callable[..., Mod]:
    """The emitter of an n-D convolution (``mode``: conv, depthwise or separable)."""

    def emit(p, shape, ctx):
        ctx.helpers.add("ChannelLast")
        cin = shape[-1]
        k, s, d, pads = _geometry(p, shape, n)
        kw = {"stride": size(s) if set(s) != {1} else None,
              "dilation": size(d) if set(d) != {1} else None}
        explicit = None
        if all(b == a for b, a in pads):
            if any(b for b, _ in pads):
                kw["padding"] = size(tuple(b for b, _ in pads))
        else:
            explicit = pads  # asymmetric: the odd element at the end, as TensorFlow
        bias = None if p.arg("use_bias", True) else "False"
        if mode == "depthwise":
            cout = cin * p.arg("depth_multiplier", 1)
            layer = Call(f"nn.Conv{n}d", [lit(cin), lit(cout), size(k)],
                         {**kw, "groups": lit(cin), "bias": bias})
        elif mode == "separable":
            depthwise = Call("nn.Conv2d", [lit(cin), lit(cin), size(k)],
                             {**kw, "groups": lit(cin), "bias": "False"})
            pointwise = Call("nn.Conv2d", [lit(cin), lit(p.arg("filters")), "1"], {"bias": bias})
            layer = Call("nn.Sequential", [depthwise, pointwise])
        else:
            layer = Call(f"nn.Conv{n}d", [lit(cin), lit(p.arg("filters")), size(k)],
                         {**kw, "bias": bias})
        return Mod(wrap(layer, explicit), p.arg("activation"))

    return emit


def conv_transpose(p, shape, ctx) -> Mod:
    """Conv2DTranspose: ``nn.ConvTranspose2d``, cropped or padded to TensorFlow's size."""
    ctx.helpers.add("ChannelLast")
    k, s, d, _ = _geometry(p, shape, 2)
    target = out_shape(p, shape)[:2]
    same = p.arg("padding", "valid") == "same"
    pads, crop, extra = [], [], []
    for n_in, ki, si, di, want in zip(shape[:2], k, s, d, target):
        keff = di * (ki - 1) + 1
        full = (n_in - 1) * si + keff
        total = max(keff - si, 0) if same else 0  # TensorFlow crops the forward conv's pad
        extra.append(max(want + total - full, 0))
        pads.append(total)
        crop.append((total // 2, total // 2 + want))
    kw = {"stride": size(s) if set(s) != {1} else None,
          "dilation": size(d) if set(d) != {1} else None,
          "output_padding": size(tuple(extra)) if any(extra) else None,
          "bias": None if p.arg("use_bias", True) else "False"}
    use_crop = None
    if any(pads):
        if all(t % 2 == 0 for t in pads):
            kw["padding"] = size(tuple(t // 2 for t in pads))
        else:
            use_crop = crop
    layer = Call("nn.ConvTranspose2d", [lit(shape[-1]), lit(p.arg("filters")), size(k)], kw)
    return Mod(wrap(layer, crop=use_crop), p.arg("activation"))


def pool(n: int, kind: str) -> Callable[..., Mod]:
    """The emitter of n-D max or average pooling."""

    def emit(p, shape, ctx):
        ctx.helpers.add("ChannelLast")
        k, s, _, pads = _geometry(p, shape, n, pooling=True)
        cls = f"nn.{'MaxPool' if kind == 'max' else 'AvgPool'}{n}d"
        kw = {"stride": size(s)} if s != k else {}
        symmetric = all(b == a for b, a in pads)
        if symmetric and any(b for b, _ in pads):
            kw["padding"] = size(tuple(b for b, _ in pads))
            if kind == "average":
                kw["count_include_pad"] = "False"
        layer = Call(cls, [size(k)], kw)
        if symmetric:
            return Mod(wrap(layer))
        if kind == "max":
            return Mod(wrap(layer, pads, 'float("-inf")'))
        ctx.helpers.add("AvgPoolSame")
        return Mod(wrap(Call("AvgPoolSame", [layer, _fpad(pads)])))

    return emit


def global_pool(kind: str) -> Callable[..., Mod]:
    """The emitter of global max or average pooling."""

    def emit(p, shape, ctx):
        ctx.helpers.add("GlobalPool")
        return Mod(Call("GlobalPool", [lit(kind)]))

    return emit
