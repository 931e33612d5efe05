"""Member pytrees on the host and the device: gathers, scatters, eval batches, selection.

A population's members are pytrees whose leaves have a leading member axis. Between
compiled calls they live in host memory, so gathering the survivors of an epoch or
scattering a chunk back is numpy indexing, not a device program.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["eval_batches", "to_host", "tree_put", "tree_take", "where_members"]


def tree_take(tree: Any, idx: Any) -> Any:
    """``tree[idx]`` on every leaf (numpy indexing on host leaves: no device program)."""
    return jax.tree.map(lambda a: a[idx], tree)


def tree_put(tree: Any, idx: Any, sub: Any, n: int) -> Any:
    """``tree[idx] = sub[:n]`` on every leaf (host numpy or device arrays)."""
    def put(a, s):
        if isinstance(a, np.ndarray):
            a[idx] = np.asarray(s)[:n]
            return a
        return a.at[idx].set(s[:n])
    return jax.tree.map(put, tree, sub)


def to_host(tree: Any) -> Any:
    """Writable host copies of every leaf."""
    return jax.tree.map(lambda a: np.array(a), jax.device_get(tree))


def eval_batches(x: np.ndarray, y: np.ndarray,
                 batch_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(xb, yb, mask)`` of shape ``(n, E, ...)``: padded, masked batches (as the Trainer)."""
    eb = min(batch_size * 4, 1024)
    n = max(1, math.ceil(len(x) / eb))
    pad = n * eb - len(x)
    xp = np.concatenate([x, np.zeros((pad,) + x.shape[1:], x.dtype)])
    yp = np.concatenate([y, np.zeros((pad,) + y.shape[1:], y.dtype)])
    mask = np.concatenate([np.ones(len(x), np.float32), np.zeros(pad, np.float32)])
    return (xp.reshape((n, eb) + x.shape[1:]), yp.reshape((n, eb) + y.shape[1:]),
            mask.reshape(n, eb))


def where_members(ok: Any, new: Any, old: Any) -> Any:
    """``new`` where the member mask ``ok`` is True, else ``old``, on every leaf."""
    def pick(a, b):
        return jnp.where(ok.reshape(ok.shape + (1,) * (a.ndim - ok.ndim)), a, b)

    return jax.tree.map(pick, new, old)

