"""Convolution as patches x matmul (and tiling pools as reshapes), for CPU populations.

Under ``jax.vmap`` over members, a convolution whose input *and* kernel carry the member
axis becomes one grouped convolution (``feature_group_count = P``), which XLA's CPU
backend runs 3-4x slower than torch (DESIGN.md). Written as im2col instead,

.. math:: y[b, o, c] = \\sum_{k} X[b, o, k]\\, W[k, c], \\qquad
          X[b, o, (i, j, c_{in})] = x_{pad}[b, o_h s + i d, o_w s + j d, c_{in}]

the patch matrix :math:`X` is built with strided slices (no convolution) and the product
is a ``dot_general``, which vmap turns into a batched matmul over members. The kernel's
Keras layout ``(*k, in, out)`` flattens in the same ``(i, j, c_in)`` order, so the weights
are the same parameters as the convolution's and give the same outputs (to rounding).

:func:`conv_as_patches` swaps the convolution the JAX backend's conv layers call
(``neural_jax.jax.layers_conv.conv_nd``) while a function is being traced; grouped
convolutions (depthwise / separable) keep the original op. It also computes max/average
pooling whose windows tile the input (stride = window, ``"valid"``) as a reshape and a
reduction (:func:`pool_reshape`): same values, and a backward pass without XLA's slow CPU
``select_and_scatter`` (gradients at exactly tied maxima are shared rather than given to
the first one; after a ReLU such ties are zeros, whose gradient is zero either way). It is a trace-time switch
because the backend has no execution option for it yet; a ``conv_impl`` argument of
``build_model`` would replace it.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import threading
from collections.abc import Callable, Iterator

import jax.numpy as jnp
from jax import lax

__all__ = ["conv_as_patches", "conv_patches", "patched", "pool_reshape"]

_LOCK = threading.RLock()


def _pads(padding, n: int, size, k, s, d):
    if isinstance(padding, (list, tuple)):
        return [tuple(p) for p in padding]
    if padding == "causal":
        return [(di * (ki - 1), 0) for ki, di in zip(k, d)]
    if str(padding).lower() == "same":
        out = []
        for ni, ki, si, di in zip(size, k, s, d):
            eff = di * (ki - 1) + 1
            total = max((-(-ni // si) - 1) * si + eff - ni, 0)
            out.append((total // 2, total - total // 2))
        return out
    return [(0, 0)] * n


def conv_patches(x, kernel, strides, padding, dilation, groups: int = 1):
    """Channel-last N-D convolution computed as patches x matmul (see module docstring)."""
    n = x.ndim - 2
    k = tuple(kernel.shape[:n])
    s, d = tuple(strides), tuple(dilation)
    if groups != 1:
        return _ORIGINAL(x, kernel, s, padding, d, groups)
    size = x.shape[1:-1]
    pads = _pads(padding if not isinstance(padding, str) else padding.lower(), n, size, k, s, d)
    if any(p != (0, 0) for p in pads):
        x = jnp.pad(x, [(0, 0), *pads, (0, 0)])
    full = x.shape[1:-1]
    outs = [(fi - (di * (ki - 1) + 1)) // si + 1 for fi, ki, si, di in zip(full, k, s, d)]
    cols = []
    for offs in itertools.product(*[range(ki) for ki in k]):
        start = (0, *[o * di for o, di in zip(offs, d)], 0)
        limit = (x.shape[0], *[o * di + (oi - 1) * si + 1 for o, di, oi, si in zip(offs, d, outs, s)],
                 x.shape[-1])
        cols.append(lax.slice(x, start, limit, (1, *s, 1)))
    patches = jnp.stack(cols, axis=-2)  # (B, *out, prod(k), cin)
    patches = patches.reshape(patches.shape[:-2] + (-1,))
    w = kernel.reshape((-1, kernel.shape[-1]))
    return jnp.einsum("...k,kc->...c", patches, w)


def pool_reshape(x, window, strides, padding, kind: str):
    """Max/average pooling whose windows tile the input, as a reshape and a reduction.

    Used when ``strides == window`` and the padding is ``"VALID"``: the backward pass is
    then an elementwise mask instead of XLA's ``select_and_scatter``, which is slow on CPU.
    Trailing rows/columns that no window covers are dropped, as ``"VALID"`` does.
    """
    n = len(window)
    spatial = x.shape[1:-1]
    outs = [s // w for s, w in zip(spatial, window)]
    x = x[(slice(None), *[slice(0, o * w) for o, w in zip(outs, window)], slice(None))]
    shape = [x.shape[0]]
    for o, w in zip(outs, window):
        shape += [o, w]
    x = x.reshape(shape + [x.shape[-1]])
    axes = tuple(2 + 2 * i for i in range(n))
    return jnp.max(x, axes) if kind == "max" else jnp.mean(x, axes)


class _PoolingNn:
    """Stands in for ``flax.linen`` inside the conv module while patches are active."""

    def __init__(self, real) -> None:
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    def _pool(self, kind, x, window, strides=None, padding="VALID", **kw):
        window = tuple(window)
        strides = tuple(strides) if strides is not None else window
        if strides == window and str(padding).upper() == "VALID":
            return pool_reshape(x, window, strides, padding, kind)
        real = self._real.max_pool if kind == "max" else self._real.avg_pool
        return real(x, window, strides, padding, **kw)

    def max_pool(self, x, window_shape, strides=None, padding="VALID"):
        return self._pool("max", x, window_shape, strides, padding)

    def avg_pool(self, x, window_shape, strides=None, padding="VALID", count_include_pad=True):
        return self._pool("average", x, window_shape, strides, padding,
                          count_include_pad=count_include_pad)


def _original():
    from neural_jax.jax import layers_conv

    return layers_conv.conv_nd


_ORIGINAL = _original()


@contextlib.contextmanager
def conv_as_patches() -> Iterator[None]:
    """While active, the backend's convolutions are traced as patches x matmul."""
    from neural_jax.jax import layers_conv

    with _LOCK:
        real_nn = layers_conv.nn
        layers_conv.conv_nd = conv_patches
        layers_conv.nn = _PoolingNn(real_nn)
        try:
            yield
        finally:
            layers_conv.conv_nd = _ORIGINAL
            layers_conv.nn = real_nn


def patched(fn: Callable) -> Callable:
    """``fn`` traced with :func:`conv_as_patches` active (wrap it before ``jax.jit``)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with conv_as_patches():
            return fn(*args, **kwargs)

    return wrapper
