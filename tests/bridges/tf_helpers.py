"""Small helpers shared by the TensorFlow bridge tests (JAX reference runs, tolerances)."""

from __future__ import annotations

import jax
import numpy as np
from bridge_helpers import net_of, sample_input

from neural_jax import NeuralValidationError
from neural_jax.ir import infer_shapes
from neural_jax.jax import build_model as build_jax

#: eval-mode outputs agree to this, relative to the output scale max(1, max |y|)
TOL = 1e-5


def legal(input_shape: str, layers: str) -> bool:
    """Whether the checker accepts ``layers`` on ``input_shape``."""
    try:
        infer_shapes(net_of(input_shape, layers))
    except NeuralValidationError:
        return False
    return True


def random_variables(model, x, seed: int = 0) -> dict:
    """JAX variables of ``model``'s shapes from numpy (no PRNG program is compiled).

    Kernels are scaled by 1/sqrt(fan-in) so deep networks keep outputs of order one;
    moving statistics are non-trivial so evaluation-mode BatchNorm is really checked.
    """
    shapes = jax.eval_shape(model.init, jax.random.PRNGKey(0), x)
    rng = np.random.default_rng(seed)

    def param(s):
        fan_in = int(np.prod(s.shape[:-1])) if len(s.shape) > 1 else 25
        return (rng.normal(size=s.shape) / np.sqrt(max(fan_in, 1))).astype(np.float32)

    def stat(path, s):
        if "moving_variance" in jax.tree_util.keystr(path):
            return rng.uniform(0.5, 1.5, s.shape).astype(np.float32)
        return (0.1 * rng.normal(size=s.shape)).astype(np.float32)

    return {"params": jax.tree.map(param, shapes["params"]),
            "batch_stats": jax.tree_util.tree_map_with_path(stat, shapes["batch_stats"])}


def jax_reference(net, config=None, *, batch: int = 2, seed: int = 0):
    """(JAX model, numpy input, variables, eval-mode outputs) for ``net``."""
    model = build_jax(net, config)
    x = sample_input(net, batch, seed)
    variables = random_variables(model, x, seed)
    y, _ = jax.jit(lambda v, x: model.apply(v, x))(variables, x)
    return model, x, variables, np.asarray(y)


def assert_close(got, want, tol: float = TOL) -> float:
    """Checks ``max |got - want| <= tol * max(1, max |want|)``; returns the scaled error."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert np.isfinite(want).all()
    scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
    err = float(np.max(np.abs(got - want))) / scale if want.size else 0.0
    assert err <= tol, f"max error {err:.3g} (relative to scale {scale:.3g}) > {tol}"
    return err


def assert_same_tree(a, b) -> None:
    """Same structure and bit-identical leaves."""
    assert jax.tree.structure(a) == jax.tree.structure(jax.tree.map(np.asarray, b))
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        assert np.asarray(x).dtype == np.asarray(y).dtype
        assert np.array_equal(np.asarray(x), np.asarray(y))
