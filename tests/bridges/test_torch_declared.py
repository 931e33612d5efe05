"""The PyTorch bridge implements every optimizer, schedule, loss and metric the IR declares
(:mod:`neural_jax.ir.training`), and no name the IR lacks; each one with the declared
defaults gives the JAX trainer's numbers."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import optax
import pytest

torch = pytest.importorskip("torch")

from torch_helpers import one_thread  # noqa: F401 - an autouse fixture
from training_samples import LOSSES, METRICS, OPTIMIZERS, SCHEDULES, schedule_sample

from bridges.torch import build_optimizer
from bridges.torch import losses as torch_losses
from bridges.torch.optim import UPDATES
from bridges.torch.schedules import SCHEDULES as TORCH_SCHEDULES
from neural_jax.train import build_optimizer as optax_optimizer
from neural_jax.train import get_loss, get_metric


@pytest.mark.parametrize("table,decls", [
    (UPDATES, OPTIMIZERS), (TORCH_SCHEDULES, SCHEDULES), (torch_losses.LOSSES, LOSSES),
    (torch_losses.METRICS, METRICS)], ids=["optimizers", "schedules", "losses", "metrics"])
def test_every_torch_table_is_keyed_by_exactly_the_declared_names(table, decls):
    assert set(table) == set(decls)


def _run(name: str, args: dict) -> tuple[np.ndarray, np.ndarray]:
    start = np.array([1.0, -2.0, 3.0], np.float32)
    grads = [np.array([0.5, -1.0, 2.0], np.float32) * (k + 1) for k in range(4)]
    tx = optax_optimizer(name, args)
    pj = {"w": jnp.asarray(start)}
    state = tx.init(pj)
    pt = torch.nn.Parameter(torch.tensor(start))
    opt = build_optimizer(name, args, [pt])
    for g in grads:
        u, state = tx.update({"w": jnp.asarray(g)}, state, pj)
        pj = optax.apply_updates(pj, u)
        pt.grad = torch.tensor(g)
        opt.step()
    return pt.detach().numpy(), np.asarray(pj["w"])


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_declared_optimizer_with_its_defaults(name):
    got, want = _run(name, {})
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_every_declared_schedule(name):
    got, want = _run("SGD", {"learning_rate": schedule_sample(name)})
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_declared_loss(name):
    z = np.array([[2.0, -1.0, 0.5], [0.1, 0.2, 3.0]], np.float32)
    y = {"sparse_categorical_crossentropy": np.array([0, 2]),
         "categorical_crossentropy": np.eye(3, dtype=np.float32)[[0, 2]]}.get(
        name, np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]], np.float32))
    loss = get_loss(name, final_activation="softmax" if LOSSES[name].labels else None)
    got = torch_losses.torch_loss(loss)(torch.tensor(z), torch.tensor(y)).numpy()
    np.testing.assert_allclose(got, np.asarray(loss(jnp.asarray(z), jnp.asarray(y))),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(METRICS))
def test_every_declared_metric(name):
    z = np.array([[2.0, -1.0, 0.5], [0.1, 3.0, 0.2]], np.float32)
    y = (np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], np.float32) if name in ("mse", "mae")
         else np.array([0, 2]))
    loss = get_loss("sparse_categorical_crossentropy", final_activation="softmax")
    metric = get_metric(name, **({"loss": loss} if name in ("accuracy", "loss") else {}))
    got = torch_losses.torch_metric(metric)(torch.tensor(z), torch.tensor(y)).numpy()
    np.testing.assert_allclose(got, np.asarray(metric(jnp.asarray(z), jnp.asarray(y))),
                               rtol=1e-5, atol=1e-6)
