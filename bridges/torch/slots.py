"""Tensors of the torch layers and how each maps to a Flax variable.

Every layer module derives from :class:`BridgeLayer` and declares its tensors with
:meth:`BridgeLayer.add_slot`: the Flax name (``kernel``), the torch name (``weight``), the
tensor's Keras shape and a :class:`Layout` that converts between the Keras layout the JAX
side stores (see :mod:`neural_jax.jax.layers_conv`) and the torch layout the module
computes with:

=================  ===========================  =================================
Layout             Keras / Flax                 torch
=================  ===========================  =================================
``IDENTITY``       any                          the same
``TRANSPOSE``      Dense kernel ``(in, out)``   ``(out, in)`` (``F.linear``)
``CONV``           ``(*k, in, out)``            ``(out, in, *k)`` (``F.conv*d``);
                   transposed ``(*k, out, in)`` ``(in, out, *k)``
                                                (``F.conv_transpose*d``)
``HEADS_IN``       ``(F, H, K)``                ``(H*K, F)``
``HEADS_BIAS``     ``(H, K)``                   ``(H*K,)``
``HEADS_OUT``      ``(H, K, F)``                ``(F, H*K)``
``GRU_KERNEL``     ``(X, 3u)``, gates z, r, h   ``(3u, X)``, gates r, z, n (torch)
``GRU_BIAS``       ``(2, 3u)``, gates z, r, h   ``(2, 3u)``, gates r, z, n
=================  ===========================  =================================

Sub-module names mirror the Flax module names (``layers_0``, ``block``, ``layer``,
``attention``...), so a module's dotted path is the path of its variables in the Flax tree:
``layers_2.block.block_0.weight`` <-> ``params/layers_2/block/block_0/kernel``.

Parameters are initialised as Keras does (Glorot-uniform kernels, zero biases, orthogonal
recurrent kernels, unit ``gamma``), drawn in the Keras layout and converted, so a torch
model starts from the same distribution as the Flax one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["CONV", "GRU_BIAS", "GRU_KERNEL", "HEADS_BIAS", "HEADS_IN", "HEADS_OUT",
           "IDENTITY", "TRANSPOSE", "BridgeLayer", "Layout", "Slot", "glorot", "ones",
           "orthogonal", "uniform", "zeros"]

Tensor = torch.Tensor
Shape = tuple[int, ...]
Init = Callable[[Shape], Tensor]


@dataclass(frozen=True)
class Layout:
    """A conversion between a Keras-layout tensor and its torch layout.

    Attributes:
      name: for messages.
      to_torch: ``(keras tensor, keras shape) -> torch tensor``.
      to_keras: ``(torch tensor, keras shape) -> keras tensor``; the exact inverse.
    """

    name: str
    to_torch: Callable[[Tensor, Shape], Tensor]
    to_keras: Callable[[Tensor, Shape], Tensor]


def _conv_to_torch(t: Tensor, shape: Shape) -> Tensor:
    n = t.ndim - 2
    return t.permute(n + 1, n, *range(n))


def _conv_to_keras(t: Tensor, shape: Shape) -> Tensor:
    n = t.ndim - 2
    return t.permute(*range(2, n + 2), 1, 0)


def _gates(t: Tensor, axis: int) -> Tensor:
    """Swaps the first two of three gate blocks along ``axis`` (z, r, h <-> r, z, n)."""
    a, b, c = torch.chunk(t, 3, dim=axis)
    return torch.cat([b, a, c], dim=axis)


IDENTITY = Layout("identity", lambda t, s: t, lambda t, s: t)
TRANSPOSE = Layout("transpose", lambda t, s: t.t(), lambda t, s: t.t())
CONV = Layout("conv", _conv_to_torch, _conv_to_keras)
HEADS_IN = Layout("heads_in", lambda t, s: t.reshape(s[0], s[1] * s[2]).t(),
                  lambda t, s: t.t().reshape(s))
HEADS_BIAS = Layout("heads_bias", lambda t, s: t.reshape(-1), lambda t, s: t.reshape(s))
HEADS_OUT = Layout("heads_out", lambda t, s: t.reshape(s[0] * s[1], s[2]).t(),
                   lambda t, s: t.t().reshape(s))
GRU_KERNEL = Layout("gru_kernel", lambda t, s: _gates(t, 1).t(), lambda t, s: _gates(t.t(), 1))
GRU_BIAS = Layout("gru_bias", lambda t, s: _gates(t, 1), lambda t, s: _gates(t, 1))


# --- Keras initialisers, drawn from torch's global generator in the Keras shape --------

def glorot(shape: Shape) -> Tensor:
    """Glorot-uniform with the fans of ``jax.nn.initializers.glorot_uniform`` (in -2, out -1)."""
    receptive = math.prod(shape[:-2]) if len(shape) > 2 else 1
    fan_in = shape[-2] * receptive if len(shape) > 1 else shape[-1]
    fan_out = shape[-1] * receptive
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return torch.empty(shape).uniform_(-limit, limit)


def zeros(shape: Shape) -> Tensor:
    return torch.zeros(shape)


def ones(shape: Shape) -> Tensor:
    return torch.ones(shape)


def uniform(low: float, high: float) -> Init:
    """``U(low, high)`` (Keras' Embedding initialiser is ``U(-0.05, 0.05)``)."""
    return lambda shape: torch.empty(shape).uniform_(low, high)


def orthogonal(shape: Shape) -> Tensor:
    """An orthogonal matrix (Keras' recurrent-kernel initialiser)."""
    return nn.init.orthogonal_(torch.empty(shape))


@dataclass(frozen=True)
class Slot:
    """One tensor of a layer.

    Attributes:
      jax_name: the variable's name in the Flax tree (``kernel``, ``moving_mean``).
      torch_name: the parameter's or buffer's attribute name in the module.
      keras_shape: its shape in the Keras layout.
      layout: the conversion.
      collection: ``"params"`` (a torch parameter) or ``"batch_stats"`` (a buffer).
    """

    jax_name: str
    torch_name: str
    keras_shape: Shape
    layout: Layout
    collection: str = "params"


class BridgeLayer(nn.Module):
    """Base of the layer modules: tensors declared as :class:`Slot` s.

    A subclass creates its tensors with :meth:`add_slot` in ``__init__`` and implements
    ``forward(x)`` on channel-last input. Training behaviour (dropout, noise, batch
    statistics) follows ``self.training``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.slots: list[Slot] = []

    def add_slot(self, jax_name: str, torch_name: str, keras_shape: Shape, layout: Layout,
                 init: Init, collection: str = "params") -> Tensor:
        """Creates a parameter (or, for ``batch_stats``, a buffer) initialised by ``init``.

        Returns:
          The new tensor (also set as ``self.<torch_name>``).
        """
        keras_shape = tuple(int(d) for d in keras_shape)
        value = layout.to_torch(init(keras_shape).float(), keras_shape).contiguous()
        if collection == "params":
            setattr(self, torch_name, nn.Parameter(value))
        else:
            self.register_buffer(torch_name, value)
        self.slots.append(Slot(jax_name, torch_name, keras_shape, layout, collection))
        return getattr(self, torch_name)
