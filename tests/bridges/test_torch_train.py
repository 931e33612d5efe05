"""Training in PyTorch with the DSL's settings: every optimizer, schedule, loss and metric
against its JAX/optax definition, and train_trial on the bundled digits."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

torch = pytest.importorskip("torch")

from torch_helpers import net_of, one_thread  # noqa: F401 - an autouse fixture

from bridges.errors import BackendError
from bridges.torch import build_optimizer, train_trial
from bridges.torch.losses import torch_loss, torch_metric
from bridges.torch.schedules import SCHEDULES, schedule_fn
from neural_jax.data import load
from neural_jax.ir.training.resolve import resolve_schedule
from neural_jax.population.trainer import Trainer
from neural_jax.train.losses import LOSSES, get_loss
from neural_jax.train.metrics import get_metric
from neural_jax.train.optimizers import OPTIMIZERS
from neural_jax.train.optimizers import build_optimizer as optax_optimizer
from neural_jax.train.schedules import SCHEDULES as JAX_SCHEDULES
from neural_jax.train.schedules import get_schedule

# --- optimizers and schedules --------------------------------------------------------------

_PIECEWISE = {"schedule": "PiecewiseConstantDecay",
              "args": {"boundaries": [1, 3], "values": [0.05, 0.02, 0.01]}}
OPTIMIZER_CASES = [
    ("Adam", {"learning_rate": 0.05}),
    ("Adam", {"learning_rate": 0.05, "amsgrad": True, "weight_decay": 0.1, "epsilon": 0.1}),
    ("AdamW", {"learning_rate": _PIECEWISE, "beta_1": 0.5}),
    ("SGD", {"learning_rate": 0.05}),
    ("SGD", {"learning_rate": _PIECEWISE, "momentum": 0.9, "nesterov": True,
             "weight_decay": 0.01}),
    ("RMSprop", {"learning_rate": 0.05, "momentum": 0.5, "epsilon": 0.1}),
    ("RMSprop", {"learning_rate": 0.05, "centered": True, "rho": 0.5}),
    ("Adagrad", {"learning_rate": 0.05, "initial_accumulator_value": 0.2, "clipnorm": 0.5,
                 "epsilon": 0.1}),
    ("Adamax", {"learning_rate": 0.05, "clipvalue": 0.3}),
    ("Nadam", {"learning_rate": 0.05, "global_clipnorm": 0.5, "beta_2": 0.9}),
    ("Lion", {"learning_rate": _PIECEWISE, "weight_decay": 0.1}),
]


def test_every_optimizer_is_checked():
    assert {name for name, _ in OPTIMIZER_CASES} == set(OPTIMIZERS)


def _grads(p: dict[str, np.ndarray], step: int) -> dict[str, np.ndarray]:
    return {k: (np.sin(3.0 * v + step) * (1 + step)).astype(np.float32) for k, v in p.items()}


@pytest.mark.parametrize("name,args", OPTIMIZER_CASES)
def test_optimizer_matches_optax(name, args):
    rng = np.random.default_rng(0)
    start = {"a": rng.normal(size=(3, 4)).astype(np.float32),
             "b": rng.normal(size=(5,)).astype(np.float32)}
    tx = optax_optimizer(name, args)
    pj = {k: jnp.asarray(v) for k, v in start.items()}
    state = tx.init(pj)
    update = jax.jit(tx.update)
    pt = {k: torch.nn.Parameter(torch.tensor(v)) for k, v in start.items()}
    opt = build_optimizer(name, args, pt.values())
    for step in range(5):
        g = _grads({k: np.asarray(v) for k, v in pj.items()}, step)
        u, state = update({k: jnp.asarray(v) for k, v in g.items()}, state, pj)
        pj = optax.apply_updates(pj, u)
        grads = _grads({k: p.detach().numpy() for k, p in pt.items()}, step)
        for p, g in zip(pt.values(), grads.values()):  # same key order
            p.grad = torch.tensor(g)
        opt.step()
    for k, p0 in start.items():
        moved = np.abs(np.asarray(pj[k]) - p0).max()
        assert moved > 1e-3
        assert np.abs(np.asarray(pj[k]) - pt[k].detach().numpy()).max() <= 1e-5 * moved


SCHEDULE_CASES = {
    "ExponentialDecay": {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.5,
                         "staircase": True},
    "InverseTimeDecay": {"initial_learning_rate": 0.1, "decay_steps": 5, "decay_rate": 0.3},
    "CosineDecay": {"initial_learning_rate": 0.01, "decay_steps": 20, "alpha": 0.1,
                    "warmup_target": 0.1, "warmup_steps": 6},
    "WarmupCosineDecay": {"peak": 0.1, "warmup_steps": 5, "decay_steps": 20},
    "PiecewiseConstantDecay": {"boundaries": [3, 10], "values": [0.1, 0.05, 0.01]},
    "PolynomialDecay": {"initial_learning_rate": 0.1, "decay_steps": 9, "power": 2.0,
                        "cycle": True},
    "StepDecay": {"initial": 0.1, "step_size": 4, "gamma": 0.5},
}


def test_every_schedule_is_checked():
    assert set(SCHEDULE_CASES) == set(SCHEDULES)
    assert set(SCHEDULES) == set(JAX_SCHEDULES)


@pytest.mark.parametrize("name", sorted(SCHEDULE_CASES))
def test_schedule_matches_jax(name):
    args = SCHEDULE_CASES[name]
    steps = np.arange(40)
    want = np.asarray(jax.vmap(get_schedule(name, args))(jnp.asarray(steps)))
    resolved = resolve_schedule(name, args)
    fn = schedule_fn(name, resolved.dynamic, resolved.static)
    got = np.array([fn(int(t)) for t in steps])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-9)  # JAX computes in float32


# --- losses and metrics ----------------------------------------------------------------------

def _targets(name: str, z: np.ndarray, rng) -> np.ndarray:
    if name == "sparse_categorical_crossentropy":
        return rng.integers(0, z.shape[-1], z.shape[:-1])
    if name == "categorical_crossentropy":
        return np.eye(z.shape[-1], dtype=np.float32)[rng.integers(0, z.shape[-1], z.shape[:-1])]
    if name == "binary_crossentropy":
        return rng.integers(0, 2, z.shape).astype(np.float32)
    return rng.normal(size=z.shape).astype(np.float32)


LOSS_CASES = [(name, act, logits) for name in sorted(LOSSES)
              for act, logits in ((None, False), ("softmax", False), ("sigmoid", False),
                                  (None, True))
              if not (logits and name in ("mse", "mae", "huber"))]


@pytest.mark.parametrize("name,act,logits", LOSS_CASES)
def test_loss_matches_jax(name, act, logits):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(6, 3, 4)).astype(np.float32)
    if act is None and not logits:
        z = np.abs(z) / 4  # probabilities
    y = _targets(name, z, rng)
    params = {"label_smoothing": 0.1} if name in ("categorical_crossentropy",
                                                  "binary_crossentropy") else {}
    if name == "huber":
        params = {"delta": 0.5}
    loss = get_loss(name, final_activation=act, from_logits=logits or None, **params)
    want = np.asarray(loss(jnp.asarray(z), jnp.asarray(y)))
    got = torch_loss(loss)(torch.from_numpy(z), torch.from_numpy(np.asarray(y))).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


METRIC_CASES = [("accuracy", {"loss": "sparse_categorical_crossentropy"}, "sparse"),
                ("accuracy", {}, "categorical"), ("accuracy", {"kind": "binary"}, "binary"),
                ("accuracy", {"final_activation": "sigmoid"}, "binary1"),
                ("top_k_accuracy", {"k": 2}, "sparse"), ("top_k_accuracy", {"k": 3}, "categorical"),
                ("mae", {}, "categorical"), ("mse", {"final_activation": "sigmoid"}, "binary")]


@pytest.mark.parametrize("name,params,targets", METRIC_CASES)
def test_metric_matches_jax(name, params, targets):
    rng = np.random.default_rng(1)
    z = rng.normal(size=(16, 5)).astype(np.float32)
    if targets == "sparse":
        y = rng.integers(0, 5, 16)
    elif targets == "categorical":
        y = np.eye(5, dtype=np.float32)[rng.integers(0, 5, 16)]
    elif targets == "binary":
        z, y = 1 / (1 + np.exp(-z)), rng.integers(0, 2, (16, 5)).astype(np.float32)
    else:
        z, y = z[:, :1], rng.integers(0, 2, 16)
    metric = get_metric(name, **params)
    want = np.asarray(metric(jnp.asarray(z), jnp.asarray(y)))
    got = torch_metric(metric)(torch.from_numpy(z), torch.from_numpy(y)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6)  # float32 means of 5 values


def test_a_metric_without_a_torch_form_is_a_backend_error():
    from neural_jax.train.metrics import Metric

    with pytest.raises(BackendError, match="metric 'auc' has no PyTorch form"):
        torch_metric(Metric("auc", {}, lambda z, y: z))


# --- train_trial -----------------------------------------------------------------------------

MLP = ("(8, 8, 1)", "Flatten() Dense(64, activation='relu') Output(10, activation='softmax')")


def _mlp(optimizer: str = "Adam(learning_rate=0.01)", train: str = "epochs: 3") -> object:
    return net_of(*MLP, extra=f"loss: 'sparse_categorical_crossentropy' "
                              f"metrics: ['accuracy', top_k_accuracy(k=3)] "
                              f"optimizer: {optimizer} "
                              f"train {{ {train}, batch_size: 32, validation_split: 0.2 }}")


@pytest.fixture(scope="module")
def digits():
    return load("digits")


def test_trial_learns_digits_with_the_jax_history_keys(digits):
    result = train_trial(_mlp(), digits, index=3)
    assert not result.failed, result.message
    assert result.index == 3 and [h["epoch"] for h in result.history] == [1, 2, 3]
    assert result.val["accuracy"] > 0.8 and result.test["accuracy"] > 0.8
    assert result.history[-1]["val_accuracy"] > 0.8
    assert result.best_epoch == 3 and result.stopped_by == "" and result.stopped_epoch is None
    assert set(result.variables) == {"layers_1.weight", "layers_1.bias",
                                     "layers_2.weight", "layers_2.bias"}
    jax_run = Trainer(_mlp(), overrides={"epochs": 1}).fit(digits)
    assert set(result.history[0]) == set(jax_run.history[0])
    assert set(result.val) == set(jax_run.val)


def test_trial_is_reproducible_and_leaves_the_caller_rng_alone(digits):
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    first = train_trial(_mlp(train="epochs: 1"), digits, overrides={"seed": 5})
    assert torch.equal(torch.rand(3), before)
    again = train_trial(_mlp(train="epochs: 1"), digits, overrides={"seed": 5})
    assert first.history[0]["loss"] == again.history[0]["loss"]


def test_a_diverging_trial_fails_naming_the_epoch(digits):
    result = train_trial(_mlp("SGD(learning_rate=1e12)"), digits)
    assert result.failed
    assert re_epoch(result.message) == 1 and "the training loss became" in result.message
    assert len(result.history) == 1 and result.val == {} and result.test == {}


def re_epoch(message: str) -> int:
    return int(message.rsplit("epoch", 1)[1])


def test_patience_stops_and_keeps_the_best_weights(digits):
    # 35 steps per epoch: a good first epoch, a destructive second, then no change at all.
    lr = "PiecewiseConstantDecay(boundaries=[34, 69], values=[0.05, 2.0, 0.0])"
    result = train_trial(_mlp(f"SGD(learning_rate={lr})", "epochs: 6, early_stopping: 1"),
                         digits)
    assert not result.failed, result.message
    hist = result.history
    assert result.stopped_by == "patience" and result.stopped_epoch == 3 and len(hist) == 3
    assert result.best_epoch == 1 and hist[1]["val_loss"] > hist[0]["val_loss"]
    assert math.isclose(result.val["loss"], hist[0]["val_loss"], rel_tol=1e-6)


def test_threads_knob_is_restored(digits):
    threads = torch.get_num_threads()
    train_trial(_mlp(train="epochs: 1"), digits, overrides={"batch_size": 256}, num_threads=2)
    assert torch.get_num_threads() == threads
