"""Helpers shared by the PyTorch bridge tests: tiny networks, JAX reference runs, tolerances."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from bridge_helpers import net_of, sample_input  # noqa: F401 - re-exported

from bridges.torch import build_module, load_jax_variables
from neural_jax.ir import infer_shapes
from neural_jax.jax import build_model

#: eval-mode agreement, relative to the output's scale (float32 throughout)
TOL = 1e-5


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Torch on one thread for a test module: the suite shares two cores, and torch's
    spinning worker threads slow tiny ops 100x there (import it into a module to use it)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def final_shape(net, config=None) -> tuple:
    """The checker's top-level output shape."""
    rows = [r for r in infer_shapes(net, config) if r[3] == 0]
    return tuple(rows[-1][2])


def random_variables(model, x: np.ndarray, seed: int = 0, scale: float = 0.3) -> dict:
    """Variables of ``model``'s shapes with random values everywhere (biases and moving
    statistics too, so that every tensor's mapping is exercised); nothing is compiled."""
    shapes = jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.asarray(x))
    rng = np.random.default_rng(seed + 1)

    def fill(path, s):
        name = str(path[-1].key)
        if name == "moving_variance":
            return np.asarray(rng.uniform(0.5, 1.5, s.shape), np.float32)
        return np.asarray(scale * rng.normal(size=s.shape), np.float32)

    return {"params": jax.tree_util.tree_map_with_path(fill, shapes["params"]),
            "batch_stats": jax.tree_util.tree_map_with_path(fill, shapes["batch_stats"])}


def parity(net, config=None, *, batch: int = 2, seed: int = 0):
    """Runs ``net`` in evaluation mode in JAX and in torch from the same variables.

    Returns:
      ``(jax outputs, torch outputs, torch module, variables, input)`` (outputs as numpy).
    """
    model = build_model(net, config)
    x = sample_input(net, batch, seed)
    variables = random_variables(model, x, seed)
    # one compiled program is faster than op-by-op dispatch, even counting the compilation
    y_jax = jax.jit(lambda v, x: model.apply(v, x)[0])(variables, jnp.asarray(x))
    module = build_module(net, config)
    load_jax_variables(module, variables)
    module.eval()
    with torch.no_grad():
        y_torch = module(torch.from_numpy(x))
    return np.asarray(y_jax), y_torch.numpy(), module, variables, x


def assert_close(expected: np.ndarray, got: np.ndarray, tol: float = TOL) -> float:
    """Asserts agreement to ``tol`` relative to ``max(1, max |expected|)``.

    Returns:
      The largest absolute difference divided by that scale.
    """
    assert expected.shape == got.shape, (expected.shape, got.shape)
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    err = float(np.max(np.abs(expected - got))) / scale if expected.size else 0.0
    assert np.all(np.isfinite(got)), "non-finite torch outputs"
    assert err <= tol, f"max difference {err:.3g} (relative to scale {scale:.3g}) > {tol}"
    return err


def same_tree(a, b) -> bool:
    """Whether two variable trees have the same structure and bit-identical leaves."""
    la, _ = jax.tree_util.tree_flatten_with_path(a)
    lb, _ = jax.tree_util.tree_flatten_with_path(b)
    if [p for p, _ in la] != [p for p, _ in lb]:
        return False
    return all(np.asarray(x).shape == np.asarray(y).shape
               and np.array_equal(np.asarray(x), np.asarray(y)) for (_, x), (_, y) in zip(la, lb))


def sgd_lowers_the_loss(net, steps: int = 3, lr: float = 0.05) -> None:
    """Training mode keeps the shape, and a few SGD steps on a fixed target lower the loss."""
    torch.manual_seed(0)
    module = build_module(net)
    module.train()
    x = torch.from_numpy(sample_input(net, batch=4))
    expected = (4,) + tuple(d for d in final_shape(net, module.config))

    def loss_now():
        torch.manual_seed(1)  # the same dropout and noise draws every time
        y = module(x)
        assert tuple(y.shape) == expected
        return torch.mean(torch.square(y - target))

    with torch.no_grad():
        target = torch.randn(expected)
    params = [p for p in module.parameters() if p.requires_grad]
    if not params:
        loss_now()
        return
    opt = torch.optim.SGD(params, lr=lr)
    with torch.no_grad():
        first = float(loss_now())
    for _ in range(steps):
        opt.zero_grad()
        loss_now().backward()
        opt.step()
    with torch.no_grad():
        last = float(loss_now())
    assert last < first, (first, last)
