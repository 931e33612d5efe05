"""Shape rules: the output shape of each layer kind from its input shape and arguments.

Notation: shapes exclude the batch axis and are channel-last (Keras): an image is
``(H, W, C)``, a sequence ``(T, F)``. ``None`` is a dimension unknown until run time.
Convolution/pooling output along one spatial axis, for input ``n``, kernel ``k``, stride
``s``, dilation ``d`` and effective kernel ``k' = d (k - 1) + 1``:

* ``valid``: ``floor((n - k') / s) + 1`` (needs ``n >= k'``)
* ``same``:  ``ceil(n / s)``
* transposed, ``valid``: ``n s + max(k' - s, 0)``; transposed, ``same``: ``n s``

Every rule has the signature ``rule(shape, args, ctx) -> shape`` and raises
:class:`ShapeError` with a hint when the input cannot feed the layer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from neural_jax.core.errors import MessageError

__all__ = ["ShapeError", "RuleContext", "RULES", "spatial_tuple", "fmt_shape"]

Shape = tuple


class ShapeError(MessageError):
    """A layer cannot take its input shape; carries a hint."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message, hint=hint)


@dataclass
class RuleContext:
    """What a rule may call besides its own arguments.

    Attributes:
      name: the layer's name, for messages.
      block: maps a shape through the layer's nested block (None when it has none).
      inner: maps a shape through a wrapped layer (Bidirectional, TimeDistributed).
    """

    name: str
    block: Callable[[Shape], Shape] | None = None
    inner: Callable[[Shape], Shape] | None = None


def fmt_shape(shape: Shape) -> str:
    """``(None, 28, 28, 1)`` style text, batch axis included."""
    return "(" + ", ".join(["None"] + ["None" if d is None else str(d) for d in shape]) + ")"


def spatial_tuple(v: Any, n: int, what: str) -> tuple[int, ...]:
    """Expands an int to an n-tuple; checks a tuple's length."""
    if isinstance(v, tuple):
        if len(v) == 1:
            return v * n
        if len(v) != n:
            raise ShapeError(
                f"{what} {v} has {len(v)} values but this layer has {n} spatial "
                f"dimension{'s' if n > 1 else ''}",
                f"give one value or a tuple of {n}",
            )
        return v
    return (v,) * n


def _need_rank(shape: Shape, rank: int, ctx: RuleContext, hint: str) -> None:
    if len(shape) != rank:
        raise ShapeError(
            f"{ctx.name} expects input of rank {rank + 1} (batch included), "
            f"got {fmt_shape(shape)}",
            hint,
        )


def _conv_out(n, k, s, d, padding, transpose=False):
    if n is None:
        return None
    keff = d * (k - 1) + 1
    if transpose:
        return n * s if padding == "same" else n * s + max(keff - s, 0)
    if padding in ("same", "causal"):
        return -(-n // s)  # ceil(n / s), exact for any int
    if n < keff:
        raise ShapeError(
            f"kernel/pool of size {keff} does not fit an input of size {n}",
            "use padding=\"same\", a smaller kernel, or fewer downsampling layers before it",
        )
    return (n - keff) // s + 1


_RANK_HINT = {
    1: "add Reshape(...) or a sequence input (T, F)",
    2: "add Reshape(...) so the input is (length, channels)",
    3: "the input must be (height, width, channels); add Reshape(...)",
    4: "the input must be (depth, height, width, channels)",
}


def conv(n: int, *, transpose=False, depthwise=False, separable=False):
    """Rule for an n-D convolution (also transposed / depthwise / separable)."""

    def rule(shape: Shape, a: Mapping[str, Any], ctx: RuleContext) -> Shape:
        _need_rank(shape, n + 1, ctx, _RANK_HINT[n + 1 if n + 1 <= 4 else 4])
        k = spatial_tuple(a["kernel_size"], n, "kernel_size")
        s = spatial_tuple(a["strides"], n, "strides")
        d = spatial_tuple(a.get("dilation_rate", 1), n, "dilation_rate")
        pad = str(a["padding"]).lower()
        out = tuple(
            _conv_out(shape[i], k[i], s[i], d[i], pad, transpose) for i in range(n)
        )
        if depthwise:
            ch = None if shape[-1] is None else shape[-1] * a["depth_multiplier"]
        else:
            ch = a["filters"]
        return out + (ch,)

    return rule


def pool(n: int):
    def rule(shape, a, ctx):
        _need_rank(shape, n + 1, ctx, _RANK_HINT[min(n + 1, 4)])
        p = spatial_tuple(a["pool_size"], n, "pool_size")
        st = a.get("strides")
        s = p if st is None else spatial_tuple(st, n, "strides")
        pad = str(a["padding"]).lower()
        return tuple(_conv_out(shape[i], p[i], s[i], 1, pad) for i in range(n)) + (shape[-1],)

    return rule


def global_pool(n: int):
    def rule(shape, a, ctx):
        _need_rank(shape, n + 1, ctx, _RANK_HINT[min(n + 1, 4)])
        return (shape[-1],)

    return rule


def same(shape, a, ctx):
    if not shape:
        raise ShapeError(f"{ctx.name} needs an input with at least one axis")
    return shape


def dense(shape, a, ctx):
    if len(shape) > 2:
        raise ShapeError(
            f"{ctx.name} expects a flat input (rank 2, batch included) or a sequence "
            f"(rank 3), got rank {len(shape) + 1} {fmt_shape(shape)}",
            "add Flatten() or a GlobalAveragePooling layer before it",
        )
    if not shape:
        raise ShapeError(f"{ctx.name} needs an input with a feature axis")
    return shape[:-1] + (a["units"],)


def flatten(shape, a, ctx):
    if not shape:
        raise ShapeError("Flatten needs an input with at least one axis")
    if any(d is None for d in shape):
        return (None,)
    return (math.prod(shape),)


def reshape(shape, a, ctx):
    target = a["target_shape"]
    target = target if isinstance(target, tuple) else (target,)
    if any(d is None for d in shape):
        return tuple(None if t == -1 else t for t in target)
    total = math.prod(shape)
    known = math.prod(t for t in target if t != -1)
    if -1 in target:
        if total % known:
            raise ShapeError(
                f"cannot reshape {fmt_shape(shape)} ({total} values) to {target}",
                f"{total} is not divisible by {known}",
            )
        return tuple(total // known if t == -1 else t for t in target)
    if known != total:
        raise ShapeError(
            f"cannot reshape {fmt_shape(shape)} ({total} values) to {target} ({known} values)",
            "the number of values must stay the same; use -1 for one dimension",
        )
    return target


def embedding(shape, a, ctx):
    if len(shape) != 1:
        raise ShapeError(
            "Embedding expects integer token ids of rank 2 (batch, length), "
            f"got {fmt_shape(shape)}",
            "the network's input should be (length,)",
        )
    return shape + (a["output_dim"],)


def recurrent(shape, a, ctx):
    _need_rank(shape, 2, ctx, "recurrent layers take (timesteps, features); add Reshape(...)")
    return (shape[0], a["units"]) if a["return_sequences"] else (a["units"],)


def bidirectional(shape, a, ctx):
    out = ctx.inner(shape)
    merge = str(a.get("merge_mode", "concat")).lower()
    if merge == "concat":
        return out[:-1] + (None if out[-1] is None else 2 * out[-1],)
    return out


def time_distributed(shape, a, ctx):
    if len(shape) < 2:
        raise ShapeError(
            f"TimeDistributed expects (timesteps, ...), got {fmt_shape(shape)}",
            "its input needs a time axis after the batch",
        )
    return (shape[0],) + ctx.inner(shape[1:])


def attention(shape, a, ctx):
    _need_rank(shape, 2, ctx, "attention takes (length, features); add Reshape(...) or Embedding")
    return shape


def transformer(shape, a, ctx):
    _need_rank(shape, 2, ctx, "TransformerEncoder takes (length, features)")
    if ctx.block is not None:
        out = ctx.block(shape)
        if out != shape:
            raise ShapeError(
                f"the feed-forward block of TransformerEncoder maps {fmt_shape(shape)} to "
                f"{fmt_shape(out)}; it must keep the shape",
                f"end the block with a Dense({shape[-1]})",
            )
    return shape


def positional(shape, a, ctx):
    _need_rank(shape, 2, ctx,
               "PositionalEmbedding takes (length, features); put it after Embedding")
    if shape[0] is not None and shape[0] > a["max_len"]:
        raise ShapeError(
            f"sequence length {shape[0]} exceeds PositionalEmbedding max_len={a['max_len']}",
            f"use max_len >= {shape[0]}",
        )
    return shape


def group_norm(shape, a, ctx):
    ch = shape[-1] if shape else None
    if ch is not None and ch % a["groups"]:
        raise ShapeError(
            f"GroupNormalization groups={a['groups']} does not divide the {ch} channels",
            f"use a divisor of {ch}",
        )
    return shape


def spatial_dropout(n: int):
    def rule(shape, a, ctx):
        _need_rank(shape, n + 1, ctx, _RANK_HINT[min(n + 1, 4)])
        return shape

    return rule


def residual(shape, a, ctx):
    out = ctx.block(shape) if ctx.block is not None else shape
    if out == shape:
        return shape
    if len(out) != len(shape):
        raise ShapeError(
            f"the residual block changes the rank: {fmt_shape(shape)} -> {fmt_shape(out)}",
            "a residual block must keep the rank so that block(x) + x is defined",
        )
    # A 1x1 projection (strided when the block downsamples) makes x match block(x).
    for n_in, n_out in zip(shape[:-1], out[:-1]):
        if n_in is None or n_out is None:
            continue
        stride = -(-n_in // n_out) if n_out else 0
        if n_out == 0 or -(-n_in // stride) != n_out:
            raise ShapeError(
                f"the residual block maps {fmt_shape(shape)} to {fmt_shape(out)}; no 1x1 "
                "projection can match the input to that",
                "keep the spatial size (padding=\"same\") or downsample by an integer stride",
            )
    return out


RULES: dict[str, Callable[..., Shape]] = {
    "dense": dense,
    "same": same,
    "flatten": flatten,
    "reshape": reshape,
    "embedding": embedding,
    "recurrent": recurrent,
    "bidirectional": bidirectional,
    "time_distributed": time_distributed,
    "attention": attention,
    "transformer": transformer,
    "positional": positional,
    "group_norm": group_norm,
    "residual": residual,
}
