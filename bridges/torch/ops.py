"""Functions the torch layer modules share: activations, stochastic masks, Keras padding.

Notation: tensors are channel-last, ``(batch, *spatial, channels)``, as on the JAX side;
``k`` kernel size, ``s`` stride, ``d`` dilation, ``k' = d (k - 1) + 1``. Everything here
computes what :mod:`neural_jax.jax.ops` and :mod:`neural_jax.jax.layers_conv` compute:

* activations follow Keras 3: exact (erf) ``gelu``, ``leaky_relu`` with slope 0.2, ``elu``
  with alpha 1, ``swish`` = ``silu``, ``softmax`` over the last axis;
* dropout is inverted (Srivastava et al. 2014): kept values are scaled by ``1 / (1 - rate)``;
* ``"same"`` padding pads ``max((ceil(n / s) - 1) s + k' - n, 0)`` in total per axis with
  the odd element at the end (TensorFlow's rule); ``"causal"`` pads ``k' - 1`` at the start.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

__all__ = ["ACTIVATIONS", "activate", "channels_first", "channels_last", "dropout",
           "pad_amounts", "pad_spatial"]

Tensor = torch.Tensor


def _linear(x: Tensor) -> Tensor:
    return x


#: name -> elementwise function (SPEC §2's list), the same functions as the JAX backend
ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "linear": _linear,
    "relu": F.relu,
    "gelu": lambda x: F.gelu(x, approximate="none"),
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "softmax": lambda x: F.softmax(x, dim=-1),
    "elu": lambda x: F.elu(x, alpha=1.0),
    "selu": F.selu,
    "swish": F.silu,
    "silu": F.silu,
    "leaky_relu": lambda x: F.leaky_relu(x, negative_slope=0.2),
    # torch's softplus returns x above its threshold (20); log1p(exp(x)) rounds to x there
    # in float32 as well, so this equals jax.nn.softplus.
    "softplus": F.softplus,
}


def activate(x: Tensor, name: str | None) -> Tensor:
    """Applies the activation ``name`` (None: linear)."""
    return x if name is None else ACTIVATIONS[name](x)


def dropout(x: Tensor, rate: float, broadcast: Sequence[int] = ()) -> Tensor:
    """Inverted dropout; ``broadcast`` axes share one draw (SpatialDropout, RNN masks).

    Args:
      x: the input.
      rate: drop probability in [0, 1).
      broadcast: axes along which the mask is shared.
    """
    if rate <= 0.0:
        return x
    keep = 1.0 - rate
    shape = tuple(1 if i in broadcast else d for i, d in enumerate(x.shape))
    mask = torch.rand(shape, device=x.device, dtype=x.dtype) < keep
    return torch.where(mask, x / keep, torch.zeros((), dtype=x.dtype, device=x.device))


def pad_amounts(sizes: Sequence[int], kernel: Sequence[int], strides: Sequence[int],
                dilation: Sequence[int], padding: str) -> list[tuple[int, int]]:
    """``(before, after)`` per spatial axis for a Keras padding name.

    Args:
      sizes: the input's spatial sizes.
      kernel: the window (kernel or pool) sizes.
      strides: the strides.
      dilation: the dilation rates (1 for pooling).
      padding: ``"valid"``, ``"same"`` or ``"causal"``.
    """
    out = []
    for n, k, s, d in zip(sizes, kernel, strides, dilation):
        eff = d * (k - 1) + 1
        if padding == "same":
            total = max((math.ceil(n / s) - 1) * s + eff - n, 0)
            out.append((total // 2, total - total // 2))
        elif padding == "causal":
            out.append((eff - 1, 0))
        else:
            out.append((0, 0))
    return out


def pad_spatial(x: Tensor, pads: Sequence[tuple[int, int]], value: float = 0.0) -> Tensor:
    """Pads the spatial axes of a channel-FIRST tensor ``(batch, channels, *spatial)``."""
    if not any(a or b for a, b in pads):
        return x
    flat: list[int] = []
    for before, after in reversed(pads):  # F.pad lists the last axis first
        flat += [before, after]
    return F.pad(x, flat, value=value)


def channels_first(x: Tensor) -> Tensor:
    """``(B, *spatial, C)`` -> ``(B, C, *spatial)``."""
    return x.movedim(-1, 1)


def channels_last(x: Tensor) -> Tensor:
    """``(B, C, *spatial)`` -> ``(B, *spatial, C)``."""
    return x.movedim(1, -1)
