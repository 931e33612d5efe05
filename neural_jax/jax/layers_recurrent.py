"""Recurrent layers: SimpleRNN, LSTM, GRU and Bidirectional, as Keras 3 computes them.

Notation: ``x_t`` input at step t, ``h_t`` output/state, ``c_t`` LSTM cell, ``W`` kernel
(features x gates*units), ``U`` recurrent kernel (units x gates*units), ``b`` bias,
``act`` the layer's ``activation`` (tanh by default), ``sig`` the logistic sigmoid
(Keras 3's ``recurrent_activation``). Gate order and parameter layout are Keras':

* SimpleRNN: ``h_t = act(x_t W + b + h_{t-1} U)``.
* LSTM (Hochreiter & Schmidhuber 1997; gates i, f, c, o; forget bias initialised to 1):
  ``z = x_t W + h_{t-1} U + b``, ``c_t = sig(z_f) c_{t-1} + sig(z_i) act(z_c)``,
  ``h_t = sig(z_o) act(c_t)``.
* GRU (Cho et al. 2014, ``reset_after=True``, Keras' default; gates z, r, h; ``b`` is
  ``(2, 3 units)``: input and recurrent bias): ``m_x = x_t W + b_0``, ``m_h = h_{t-1} U + b_1``,
  ``z = sig(m_x^z + m_h^z)``, ``r = sig(m_x^r + m_h^r)``, ``n = act(m_x^n + r m_h^n)``,
  ``h_t = z h_{t-1} + (1 - z) n``.

``dropout`` masks the inputs and ``recurrent_dropout`` the previous state, with one mask per
sequence shared by every step and every gate (Gal & Ghahramani 2016, as Keras 3 does).
Kernels use Glorot-uniform, recurrent kernels orthogonal initialisation, as Keras.
"""

from __future__ import annotations

from collections.abc import Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from neural_jax.ir.registry import LAYERS
from neural_jax.ir.wrappers import failure, merge, merge_mode, wrapped
from neural_jax.jax.ops import Array, activate, dropout, glorot, is_zero, value
from neural_jax.jax.plan import LayerPlan

__all__ = ["BidirectionalLayer", "RNNLayer"]

Hp = Mapping[str, Array]


def _lstm_bias(key, shape, dtype=jnp.float32):
    units = shape[0] // 4
    return jnp.zeros(shape, dtype).at[units:2 * units].set(1.0)


class RNNLayer(nn.Module):
    """One recurrent layer; ``reverse`` runs it backwards (Bidirectional's second half)."""

    plan: LayerPlan
    reverse: bool = False

    @nn.compact
    def __call__(self, x: Array, hp: Hp, train: bool) -> Array:
        p = self.plan
        kind, units = p.type, p.arg("units")
        gates = LAYERS[kind].gates
        act = p.arg("activation", "tanh")
        w = self.param("kernel", glorot, (x.shape[-1], gates * units))
        u = self.param("recurrent_kernel", nn.initializers.orthogonal(), (units, gates * units))
        if kind == "GRU":
            b = self.param("bias", nn.initializers.zeros, (2, gates * units))
            b_in, b_rec = b[0], b[1]
        else:
            b_in = self.param("bias", _lstm_bias if kind == "LSTM" else nn.initializers.zeros,
                              (gates * units,))
            b_rec = jnp.zeros_like(b_in)
        batch = x.shape[0]
        in_rate, rec_rate = p.arg("dropout", 0.0), p.arg("recurrent_dropout", 0.0)
        if train and not is_zero(in_rate):
            x = dropout(x, value(in_rate, hp), self.make_rng("dropout"), broadcast=(1,))
        rec_mask = jnp.ones((batch, units), x.dtype)
        if train and not is_zero(rec_rate):
            rec_mask = dropout(rec_mask, value(rec_rate, hp), self.make_rng("dropout"))
        xs = jnp.swapaxes(x @ w + b_in, 0, 1)  # (time, batch, gates*units)
        if self.reverse:
            xs = xs[::-1]

        def step(carry, mx):
            h, c = carry
            mh = (h * rec_mask) @ u + b_rec
            if kind == "SimpleRNN":
                h = activate(mx + mh, act, hp)
            elif kind == "LSTM":
                zi, zf, zc, zo = jnp.split(mx + mh, 4, axis=-1)
                c = jax.nn.sigmoid(zf) * c + jax.nn.sigmoid(zi) * activate(zc, act, hp)
                h = jax.nn.sigmoid(zo) * activate(c, act, hp)
            else:
                xz, xr, xn = jnp.split(mx, 3, axis=-1)
                hz, hr, hn = jnp.split(mh, 3, axis=-1)
                z, r = jax.nn.sigmoid(xz + hz), jax.nn.sigmoid(xr + hr)
                h = z * h + (1.0 - z) * activate(xn + r * hn, act, hp)
            return (h, c), h

        zeros = jnp.zeros((batch, units), x.dtype)
        (h_last, _), hs = lax.scan(step, (zeros, zeros), xs)
        if not p.arg("return_sequences", False):
            return h_last
        if self.reverse:
            hs = hs[::-1]
        return jnp.swapaxes(hs, 0, 1)


class BidirectionalLayer(nn.Module):
    """``Bidirectional(layer, merge_mode)``: a forward and a backward copy of the layer."""

    plan: LayerPlan

    @nn.compact
    def __call__(self, x: Array, hp: Hp, train: bool) -> Array:
        fail = failure(self.plan, "jax")
        inner = wrapped(self.plan, fail)
        mode = merge_mode(self.plan, fail)
        fwd = RNNLayer(inner, name="forward_layer")(x, hp, train)
        bwd = RNNLayer(inner, reverse=True, name="backward_layer")(x, hp, train)
        return merge(fwd, bwd, mode, lambda xs: jnp.concatenate(xs, axis=-1))
