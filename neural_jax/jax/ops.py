"""Pure functions the layer rules share: activations, per-call values, stochastic masks.

Notation: ``hp`` is the ``{path: scalar}`` dict a model is applied with (see
:class:`neural_jax.jax.plan.Dyn`); ``rate`` is a drop probability, ``keep = 1 - rate``.
Dropout is inverted (Srivastava et al. 2014, scaled by ``1 / keep`` at training time) as in
Keras, so evaluation is the identity.

Activations follow Keras 3: ``gelu`` is the exact (erf) form, ``leaky_relu`` has negative
slope 0.2 (Keras 3's default; Keras 2's ``LeakyReLU`` layer used 0.3), ``elu`` has
alpha 1, ``swish`` and ``silu`` are the same function, ``softmax`` is over the last axis.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from neural_jax.jax.plan import Dyn

__all__ = ["ACTIVATIONS", "Array", "activate", "dropout", "glorot", "is_zero", "value"]

Array = jax.Array


def _linear(x: Array) -> Array:
    return x


#: name -> elementwise function (SPEC §2's list)
ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "linear": _linear,
    "relu": jax.nn.relu,
    "gelu": partial(jax.nn.gelu, approximate=False),
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    "softmax": partial(jax.nn.softmax, axis=-1),
    "elu": jax.nn.elu,
    "selu": jax.nn.selu,
    "swish": jax.nn.silu,
    "silu": jax.nn.silu,
    "leaky_relu": partial(jax.nn.leaky_relu, negative_slope=0.2),
    "softplus": jax.nn.softplus,
}

#: Keras' default kernel initializer
glorot = jax.nn.initializers.glorot_uniform()


def value(v: Any, hp: Mapping[str, Array]) -> Any:
    """A plan argument's value for this call: the constant, or ``hp[path]`` for a Dyn."""
    if isinstance(v, Dyn):
        return hp[v.path]
    return v


def is_zero(v: Any) -> bool:
    """True for a constant 0 (a Dyn value is never known to be zero)."""
    return not isinstance(v, Dyn) and (v is None or v == 0)


def _fn(name: str | None) -> Callable[[Array], Array]:
    return _linear if name is None else ACTIVATIONS[name]


def activate(x: Array, act: Any, hp: Mapping[str, Array]) -> Array:
    """Applies a constant activation, or a searched one through ``lax.switch``.

    Args:
      x: the input.
      act: None (linear), an activation name, or a :class:`Dyn` whose ``hp`` value is
        the index of the option to use.
      hp: the per-call values.
    """
    if not isinstance(act, Dyn):
        return _fn(act)(x)
    branches: Sequence[Callable] = [_fn(o) for o in act.options]
    index = jnp.clip(jnp.asarray(hp[act.path], jnp.int32), 0, len(branches) - 1)
    return lax.switch(index, branches, x)


_LEVELS = 65536  # dropout's draws: uniform integers in [0, 2**16)


def dropout(x: Array, rate: Any, rng: Array, broadcast: Sequence[int] = (),
            layout: Callable[[Callable, tuple[int, ...]], Array] | None = None) -> Array:
    """Inverted dropout with a (possibly traced) rate.

    Args:
      x: the input.
      rate: drop probability in [0, 1).
      rng: a PRNG key.
      broadcast: axes along which one draw is shared (SpatialDropout, RNN masks).
      layout: ``layout(draw, shape)`` draws the uniform numbers of ``shape`` with
        ``draw`` (a width-padded layer lays them out as its narrow network does, see
        :func:`neural_jax.jax.padding.narrow_draw`); None draws ``shape`` directly.
    """
    # The draws are 16-bit integers, two from each 32-bit word: half the threefry work of
    # float32 uniforms (dropout's bits are the largest cost of a small network's step on a
    # CPU). The keep probability
    # is rounded to a multiple of 2**-16 (at most 7.6e-6 off) and the scale is exactly its
    # inverse, so the layer stays unbiased.
    keep = 1.0 - jnp.asarray(rate, jnp.float32)
    threshold = jnp.clip(jnp.round(keep * _LEVELS), 1, _LEVELS).astype(jnp.int32)
    shape = tuple(1 if i in broadcast else d for i, d in enumerate(x.shape))

    def draw(s: tuple[int, ...]) -> Array:
        n = math.prod(s)
        words = jax.random.bits(rng, ((n + 1) // 2,), jnp.uint32)  # two draws per word
        # draw i is half i % 2 of word i // 2: a longer draw extends a shorter one (the
        # prefix property width padding relies on, see padding.narrow_draw)
        halves = jnp.stack([words & 0xFFFF, words >> 16], axis=-1).reshape(-1)
        return halves[:n].reshape(s)

    bits = draw(shape) if layout is None else layout(draw, shape)
    mask = bits.astype(jnp.int32) < threshold
    scale = (_LEVELS / threshold.astype(jnp.float32)).astype(x.dtype)
    return jnp.where(mask, x * scale, jnp.zeros((), x.dtype))
