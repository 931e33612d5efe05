"""Small helpers shared by the JAX backend tests."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from neural_jax import parse
from neural_jax.ir import infer_shapes
from neural_jax.jax import build_model


def net_of(input_shape: str, layers: str, extra: str = ""):
    """A one-network DSL text -> Network."""
    return parse(f"network T {{ input: {input_shape} layers: {layers} {extra} }}")


def sample_input(net, batch: int = 2, seed: int = 0, vocab: int | None = None) -> jax.Array:
    """A random batch for ``net``'s input (token ids when the first layer is Embedding)."""
    shape = (batch,) + tuple(4 if d is None else d for d in net.input_shape)
    rng = np.random.default_rng(seed)
    first = net.layers[0]
    if getattr(first, "type", None) == "Embedding":
        high = vocab or first.get("input_dim")
        return jnp.asarray(rng.integers(0, high, shape), jnp.int32)
    return jnp.asarray(rng.normal(size=shape), jnp.float32)


def final_shape(net, config=None) -> tuple:
    """The checker's top-level output shape."""
    rows = [r for r in infer_shapes(net, config) if r[3] == 0]
    return tuple(rows[-1][2])


def numpy_variables(model, x, seed: int = 0):
    """Variables of ``model``'s shapes filled from numpy, so no PRNG program is compiled."""
    shapes = jax.eval_shape(model.init, jax.random.PRNGKey(0), x)
    rng = np.random.default_rng(seed)
    params = jax.tree.map(lambda s: jnp.asarray(0.2 * rng.normal(size=s.shape), s.dtype),
                          shapes["params"])
    stats = jax.tree.map(lambda s: jnp.ones(s.shape, s.dtype), shapes["batch_stats"])
    return {"params": params, "batch_stats": stats}


def run_eval(net, config=None, *, batch: int = 2, seed: int = 0):
    """Builds ``net`` and applies it in evaluation mode to numpy-made variables.

    Returns:
      (model, outputs).
    """
    model = build_model(net, config)
    x = sample_input(net, batch, seed)
    variables = numpy_variables(model, x, seed)
    y, _ = jax.jit(lambda v, x: model.apply(v, x))(variables, x)
    return model, y


def abstract_run(net, config=None, *, batch: int = 2):
    """Output shapes of init + a training apply, traced abstractly (nothing compiled)."""
    model = build_model(net, config)
    x = sample_input(net, batch)

    def init_apply(key, x):
        variables = model.init(key, x)
        return model.apply(variables, x, train=True, rng=key)

    y, _ = jax.eval_shape(init_apply, jax.random.PRNGKey(0), x)
    return model, y


def run(net, config=None, *, train: bool = True, batch: int = 2, seed: int = 0):
    """Builds, initialises and applies ``net``; returns (model, variables, outputs, state)."""
    model = build_model(net, config)
    x = sample_input(net, batch, seed)

    @jax.jit
    def init_apply(key, x):  # one compilation per case keeps the suite fast
        variables = model.init(key, x)
        y, state = model.apply(variables, x, train=train, rng=jax.random.fold_in(key, 1))
        return variables, y, state

    variables, y, state = init_apply(jax.random.PRNGKey(seed), x)
    return model, variables, y, state
