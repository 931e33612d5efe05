"""Fitting dataset samples to the input shape a network declares.

A network says ``input: (28, 28, 1)``; datasets come as ``(N, 28, 28)`` uint8 images,
``(N, 784)`` rows or ``(N, 1, 28, 28)`` channel-first tensors. `fit_to_input` converts when
exactly one conversion makes sense, and otherwise raises a `DatasetError` that names both
shapes. The conversions, tried in order:

1. Same shape: nothing to do.
2. Same values up to axes of size 1: ``(28, 28) <-> (28, 28, 1)``, ``(1, 28, 28) -> (28, 28, 1)``.
3. Flatten to a 1-D input (an MLP): ``(28, 28, 1) -> (784,)``.
4. Unflatten 1-D rows to the input, read in row-major, channel-last order:
   ``(64,) -> (8, 8, 1)``.
5. Channel-first to channel-last with at most 4 channels: ``(3, 32, 32) -> (32, 32, 3)``.

Scaling: uint8 inputs (raw pixels) become float32 in [0, 1]; other floats become float32;
other integer inputs (token ids for an Embedding layer) are kept as they are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from neural_jax.data._errors import DatasetError

__all__ = ["fit_to_input", "scale_inputs"]


def scale_inputs(x: np.ndarray) -> np.ndarray:
    """Scales raw uint8 pixels to float32 in [0, 1] and floats to float32.

    Args:
        x: Input array of any shape.

    Returns:
        The scaled array; integer arrays other than uint8 are returned unchanged.
    """
    if x.dtype == np.uint8:
        return x.astype(np.float32) / np.float32(255.0)
    if np.issubdtype(x.dtype, np.floating) and x.dtype != np.float32:
        return x.astype(np.float32)
    if x.dtype == np.bool_:
        return x.astype(np.float32)
    return x


def _fmt(shape: Sequence[int | None]) -> str:
    return str(tuple(shape))


def fit_to_input(
    x: np.ndarray,
    input_shape: Sequence[int | None],
    *,
    name: str = "data",
    scale: bool = True,
) -> np.ndarray:
    """Reshapes (and scales) a batch of samples to a network's input shape.

    Args:
        x: Samples, shape ``(N, ...)``.
        input_shape: The network's input shape without the batch axis. A leading None
            batch axis (``(None, 28, 28, 1)``) is accepted and ignored; other None axes
            match any size but rule out reshaping.
        name: Dataset name used in error messages.
        scale: Whether to apply `scale_inputs`; turn off for integer pixel tokens.

    Returns:
        An array of shape ``(N, *input_shape)``.

    Raises:
        DatasetError: If no unambiguous conversion exists, naming the data shape and the
            network's input shape.
    """
    x = np.asarray(x)
    if x.ndim < 1:
        raise DatasetError(f"dataset {name!r}: expected a batch of samples, got a scalar")
    target = tuple(input_shape)
    if len(target) == x.ndim and target and target[0] is None:
        target = target[1:]
    if scale:
        x = scale_inputs(x)
    src = tuple(x.shape[1:])
    n = x.shape[0]

    def mismatch(reason: str) -> DatasetError:
        return DatasetError(
            f"dataset {name!r} has samples of shape {_fmt(src)}; the network's input is "
            f"{_fmt(target)}. {reason}"
        )

    if len(src) == len(target) and all(
        t is None or s == t for s, t in zip(src, target, strict=True)
    ):
        return x
    if any(t is None for t in target):
        raise mismatch("An input shape with free (None) axes other than the batch axis "
                       "must match the data exactly.")
    if any(not isinstance(t, (int, np.integer)) or t <= 0 for t in target):
        raise DatasetError(f"the network's input shape {_fmt(target)} is not a shape")
    size_src, size_t = math.prod(src), math.prod(target)  # type: ignore[arg-type]
    if size_src != size_t:
        raise mismatch(
            f"A sample holds {size_src} values and the input {size_t}, so no reshape fits; "
            "use data of the right size or change the network's input shape."
        )
    squeezed_src = tuple(d for d in src if d != 1)
    squeezed_t = tuple(d for d in target if d != 1)
    if squeezed_src == squeezed_t or len(target) == 1 or len(src) == 1:
        return x.reshape((n, *target))  # type: ignore[arg-type]
    channels = src[0]
    if (
        len(src) == len(target) >= 3
        and channels <= 4
        and src == (target[-1], *target[:-1])
        and src[-1] != channels
    ):
        return np.ascontiguousarray(np.moveaxis(x, 1, -1))
    raise mismatch(
        f"Both hold {size_src} values, but which axes map to which is ambiguous; reshape the "
        "data yourself (e.g. with from_arrays) or change the network's input shape."
    )
