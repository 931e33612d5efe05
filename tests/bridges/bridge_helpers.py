"""Helpers every bridge's tests use: a network from a layer list, and a sample batch."""

from __future__ import annotations

import numpy as np

from neural_jax import parse


def net_of(input_shape: str, layers: str, extra: str = ""):
    """A one-network DSL text -> Network."""
    return parse(f"network T {{ input: {input_shape} layers: {layers} {extra} }}")


def sample_input(net, batch: int = 2, seed: int = 0) -> np.ndarray:
    """A random batch for ``net`` (token ids below ``input_dim`` for an Embedding)."""
    shape = (batch,) + tuple(4 if d is None else d for d in net.input_shape)
    rng = np.random.default_rng(seed)
    first = net.layers[0]
    if getattr(first, "type", None) == "Embedding":
        return rng.integers(0, first.get("input_dim"), shape).astype(np.int32)
    return rng.normal(size=shape).astype(np.float32)
