"""Convolutions with both ``strides > 1`` and ``dilation_rate > 1``, which Keras refuses, and
dilated transposed convolutions, which TensorFlow's CPU kernels refuse.

``lax`` computes them, so the Flax rules accept them. Notation: kernel ``k``, stride ``s``,
dilation ``d``, ``k' = d (k - 1) + 1``, input size ``n``.

* :class:`StridedDilatedConv` (Conv1D/2D/3D) pads as TensorFlow's ``"same"`` (total
  ``max((ceil(n/s) - 1) s + k' - n, 0)``, the extra element at the end) or ``"causal"``
  (``k' - 1`` in front), convolves with stride 1 and keeps every ``s``-th output.
* :class:`StridedDilatedConvTranspose` (Conv2DTranspose) inserts ``s - 1`` zeros between
  inputs, pads as ``lax.conv_transpose`` does and convolves with the flipped kernel.

Both are exact and keep Keras' kernel layouts and weight names. :func:`glorot_like` draws
reshaped (depthwise) kernels with Flax's Glorot fans.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bridges.tensorflow._keras import load
from bridges.tensorflow.custom import NeuralLayer

tf, keras = load()

__all__ = ["StridedDilatedConv", "StridedDilatedConvTranspose", "glorot_like"]


def _same_pads(n: int, k: int, s: int) -> tuple[int, int]:
    total = max((-(-n // s) - 1) * s + k - n, 0)
    return total // 2, total - total // 2


class StridedDilatedConv(NeuralLayer):
    """Conv1D/2D/3D with ``strides > 1`` and ``dilation_rate > 1`` (Keras' kernel layout)."""

    _param_names = ("kernel", "bias")

    def __init__(self, rank: int, filters: int, kernel_size: tuple, strides: tuple,
                 padding: str, dilation_rate: tuple, activation, use_bias: bool,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.rank, self.filters = rank, int(filters)
        self.kernel_size, self.strides = tuple(kernel_size), tuple(strides)
        self.padding, self.dilation_rate = padding, tuple(dilation_rate)
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)

    def build(self, input_shape) -> None:
        self.kernel = self.add_weight(shape=self.kernel_size + (input_shape[-1], self.filters),
                                      initializer="glorot_uniform", name="kernel")
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")

    def _pads(self, spatial) -> list[tuple[int, int]]:
        pads = []
        for n, k, s, d in zip(spatial, self.kernel_size, self.strides, self.dilation_rate):
            keff = d * (k - 1) + 1
            if self.padding == "causal":
                pads.append((keff - 1, 0))
            elif self.padding == "same":
                pads.append(_same_pads(n, keff, s))
            else:
                pads.append((0, 0))
        return pads

    def call(self, x, training=None) -> Any:
        pads = self._pads(x.shape[1:-1])
        x = tf.pad(x, [(0, 0)] + pads + [(0, 0)])
        y = tf.nn.convolution(x, self.kernel, strides=1, padding="VALID",
                              dilations=self.dilation_rate)
        y = y[(slice(None),) + tuple(slice(None, None, s) for s in self.strides)]
        if self.use_bias:
            y = y + self.bias
        return self.activation(y)

    def compute_output_shape(self, input_shape) -> tuple:
        out = []
        for n, (a, b), k, s, d in zip(input_shape[1:-1], self._pads(input_shape[1:-1]),
                                      self.kernel_size, self.strides, self.dilation_rate):
            out.append((n + a + b - d * (k - 1) - 1) // s + 1)
        return (input_shape[0],) + tuple(out) + (self.filters,)


def _transpose_pads(keff: int, s: int, padding: str) -> tuple[int, int]:
    """``lax``'s padding of a transposed convolution (``_conv_transpose_padding``)."""
    if padding == "same":
        total = keff + s - 2
        before = keff - 1 if s > keff - 1 else -(-total // 2)
    else:
        total = keff + s - 2 + max(keff - s, 0)
        before = keff - 1
    return before, total - before


class StridedDilatedConvTranspose(NeuralLayer):
    """Conv2DTranspose with ``dilation_rate > 1`` (any strides); kernel ``(*k, out, in)``."""

    _param_names = ("kernel", "bias")

    def __init__(self, filters: int, kernel_size: tuple, strides: tuple, padding: str,
                 dilation_rate: tuple, activation, use_bias: bool, **kwargs) -> None:
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size, self.strides = tuple(kernel_size), tuple(strides)
        self.padding, self.dilation_rate = padding, tuple(dilation_rate)
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)

    def build(self, input_shape) -> None:
        self.kernel = self.add_weight(shape=self.kernel_size + (self.filters, input_shape[-1]),
                                      initializer="glorot_uniform", name="kernel")
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")

    def call(self, x, training=None) -> Any:
        n = len(self.kernel_size)
        for axis, s in enumerate(self.strides, start=1):
            if s == 1:
                continue
            # insert s - 1 zeros after every element along `axis`, then drop the trailing ones
            size = x.shape[axis]
            x = tf.expand_dims(x, axis + 1)
            pad = [(0, 0)] * len(x.shape)
            pad[axis + 1] = (0, s - 1)
            x = tf.pad(x, pad)
            shape = [-1] + [d if d is not None else tf.shape(x)[i]
                            for i, d in enumerate(x.shape) if i > 0]
            shape[axis:axis + 2] = [size * s]
            x = tf.reshape(x, shape)
            x = x[(slice(None),) * axis + (slice(0, (size - 1) * s + 1),)]
        pads = [_transpose_pads(d * (k - 1) + 1, s, self.padding)
                for k, s, d in zip(self.kernel_size, self.strides, self.dilation_rate)]
        x = tf.pad(x, [(0, 0)] + pads + [(0, 0)])
        kernel = tf.reverse(self.kernel, axis=list(range(n)))  # (*k, out, in), flipped
        kernel = tf.transpose(kernel, list(range(n)) + [n + 1, n])  # (*k, in, out)
        y = tf.nn.convolution(x, kernel, strides=1, padding="VALID",
                              dilations=self.dilation_rate)
        if self.use_bias:
            y = y + self.bias
        return self.activation(y)

    def compute_output_shape(self, input_shape) -> tuple:
        out = []
        for n, k, s, d in zip(input_shape[1:-1], self.kernel_size, self.strides,
                              self.dilation_rate):
            keff = d * (k - 1) + 1
            out.append(None if n is None else
                       n * s if self.padding == "same" else n * s + max(keff - s, 0))
        return (input_shape[0],) + tuple(out) + (self.filters,)


def glorot_like(jax_shape: tuple) -> keras.initializers.Initializer:
    """Glorot-uniform with the fans of the Flax shape ``jax_shape`` (for reshaped kernels).

    A depthwise kernel is ``(*k, 1, C m)`` in Flax and ``(*k, C, m)`` in Keras: the same
    numbers, but Glorot's fans differ, so the Keras layer draws with Flax's fans.
    """
    receptive = int(np.prod(jax_shape[:-2]))
    fan_in, fan_out = jax_shape[-2] * receptive, jax_shape[-1] * receptive
    return keras.initializers.RandomUniform(-math.sqrt(6.0 / (fan_in + fan_out)),
                                            math.sqrt(6.0 / (fan_in + fan_out)))
