"""Recurrent layers in torch: SimpleRNN, LSTM, GRU and Bidirectional, as Keras 3 computes them.

Notation as in :mod:`neural_jax.jax.layers_recurrent`: ``x_t`` input, ``h_t`` state,
``act`` the layer's activation (tanh by default), ``sig`` the logistic sigmoid.

* SimpleRNN: ``h_t = act(x_t W + b + h_{t-1} U)``.
* LSTM (gates i, f, c, o; torch's i, f, g, o is the same order): ``z = x_t W + h_{t-1} U + b``,
  ``c_t = sig(z_f) c_{t-1} + sig(z_i) act(z_c)``, ``h_t = sig(z_o) act(c_t)``.
* GRU, ``reset_after=True`` (Keras' default, and torch's ``nn.GRU`` form):
  ``z = sig(m_x^z + m_h^z)``, ``r = sig(m_x^r + m_h^r)``, ``n = act(m_x^n + r m_h^n)``,
  ``h_t = z h_{t-1} + (1 - z) n`` with ``m_x = x_t W + b_0``, ``m_h = h_{t-1} U + b_1``.

torch layout: ``weight_ih`` ``(gates * units, features)``, ``weight_hh``
``(gates * units, units)``; ``bias`` ``(gates * units,)``, for GRU ``(2, 3 units)`` (input
and recurrent bias); GRU gates are stored in torch's order r, z, n. The loop is written
out (not ``nn.LSTM``) because the activation may be any of SPEC §2's and the dropout masks
are Keras' (Gal & Ghahramani 2016): one input mask per sequence shared by every step,
one mask on the previous state shared by every step.
"""

from __future__ import annotations

import torch

from bridges.torch.ops import activate, dropout
from bridges.torch.slots import (
    GRU_BIAS,
    GRU_KERNEL,
    IDENTITY,
    TRANSPOSE,
    BridgeLayer,
    glorot,
    orthogonal,
    zeros,
)
from neural_jax.ir.plan import LayerPlan
from neural_jax.ir.registry import LAYERS
from neural_jax.ir.wrappers import failure, merge, merge_mode, wrapped

__all__ = ["BidirectionalLayer", "RNNLayer"]

Tensor = torch.Tensor
Shape = tuple


def _lstm_bias(shape: Shape) -> Tensor:
    b = torch.zeros(shape)
    units = shape[0] // 4
    b[units:2 * units] = 1.0  # Keras' unit_forget_bias
    return b


class RNNLayer(BridgeLayer):
    """One recurrent layer; ``reverse`` runs it backwards (Bidirectional's second half)."""

    def __init__(self, plan: LayerPlan, shape: Shape, reverse: bool = False) -> None:
        super().__init__()
        self.kind, self.reverse = plan.type, reverse
        self.units = units = plan.arg("units")
        self.activation = plan.arg("activation", "tanh")
        self.return_sequences = bool(plan.arg("return_sequences", False))
        self.rate = float(plan.arg("dropout", 0.0) or 0.0)
        self.recurrent_rate = float(plan.arg("recurrent_dropout", 0.0) or 0.0)
        g = LAYERS[self.kind].gates
        gru = self.kind == "GRU"
        kernel_layout = GRU_KERNEL if gru else TRANSPOSE
        self.add_slot("kernel", "weight_ih", (shape[-1], g * units), kernel_layout, glorot)
        self.add_slot("recurrent_kernel", "weight_hh", (units, g * units), kernel_layout,
                      orthogonal)
        if gru:
            self.add_slot("bias", "bias", (2, g * units), GRU_BIAS, zeros)
        else:
            self.add_slot("bias", "bias", (g * units,), IDENTITY,
                          _lstm_bias if self.kind == "LSTM" else zeros)

    def _step(self, mx: Tensor, h: Tensor, c: Tensor, mask: Tensor | None
              ) -> tuple[Tensor, Tensor]:
        hm = h if mask is None else h * mask
        mh = hm @ self.weight_hh.t()
        act = self.activation
        if self.kind == "SimpleRNN":
            return activate(mx + mh, act), c
        if self.kind == "LSTM":
            zi, zf, zc, zo = torch.chunk(mx + mh, 4, dim=-1)
            c = torch.sigmoid(zf) * c + torch.sigmoid(zi) * activate(zc, act)
            return torch.sigmoid(zo) * activate(c, act), c
        xr, xz, xn = torch.chunk(mx, 3, dim=-1)
        hr, hz, hn = torch.chunk(mh + self.bias[1], 3, dim=-1)
        z, r = torch.sigmoid(xz + hz), torch.sigmoid(xr + hr)
        return z * h + (1.0 - z) * activate(xn + r * hn, act), c

    def forward(self, x: Tensor) -> Tensor:
        batch, steps = x.shape[0], x.shape[1]
        if self.training and self.rate > 0:
            x = dropout(x, self.rate, broadcast=(1,))
        mask = None
        if self.training and self.recurrent_rate > 0:
            mask = dropout(x.new_ones((batch, self.units)), self.recurrent_rate)
        b_in = self.bias[0] if self.kind == "GRU" else self.bias
        mx = x @ self.weight_ih.t() + b_in  # (batch, time, gates * units)
        h = x.new_zeros((batch, self.units))
        c = x.new_zeros((batch, self.units))
        order = range(steps - 1, -1, -1) if self.reverse else range(steps)
        outputs = []
        for t in order:
            h, c = self._step(mx[:, t], h, c, mask)
            outputs.append(h)
        if not self.return_sequences:
            return h
        if self.reverse:
            outputs.reverse()
        return torch.stack(outputs, dim=1)


class BidirectionalLayer(BridgeLayer):
    """``Bidirectional(layer, merge_mode)``: ``forward_layer`` and ``backward_layer``."""

    def __init__(self, plan: LayerPlan, shape: Shape) -> None:
        super().__init__()
        fail = failure(plan, "pytorch")
        inner = wrapped(plan, fail)
        self.merge = merge_mode(plan, fail)
        self.forward_layer = RNNLayer(inner, shape)
        self.backward_layer = RNNLayer(inner, shape, reverse=True)

    def forward(self, x: Tensor) -> Tensor:
        fwd, bwd = self.forward_layer(x), self.backward_layer(x)
        return merge(fwd, bwd, self.merge, lambda xs: torch.cat(xs, dim=-1))
