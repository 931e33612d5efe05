"""Every optimizer, schedule, loss and metric of neural_jax.train has the same math in Keras."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

tf = pytest.importorskip("tensorflow")

from bridges.errors import BackendError
from bridges.tensorflow.losses import loss_fn, metric_fn
from bridges.tensorflow.optim import build_optimizer, build_schedule
from neural_jax.train import get_loss, get_metric
from neural_jax.train.losses import LOSSES
from neural_jax.train.metrics import METRICS
from neural_jax.train.optimizers import OPTIMIZERS
from neural_jax.train.optimizers import build_optimizer as build_optax
from neural_jax.train.schedules import SCHEDULES, get_schedule

EXP = {"schedule": "ExponentialDecay",
       "args": {"initial_learning_rate": 0.05, "decay_steps": 2, "decay_rate": 0.5}}

OPTIMIZER_CASES = [
    ("Adam", {"learning_rate": 0.05}),
    ("Adam", {"learning_rate": EXP, "amsgrad": True, "weight_decay": 0.1}),
    ("AdamW", {"learning_rate": 0.05, "beta_1": 0.8, "clipnorm": 0.5}),
    ("SGD", {"learning_rate": 0.1}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True, "clipvalue": 0.3}),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True}),
    ("RMSprop", {"learning_rate": EXP, "rho": 0.8, "weight_decay": 0.01}),
    ("Adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.2}),
    ("Adamax", {"learning_rate": 0.05, "global_clipnorm": 1.0}),
    ("Nadam", {"learning_rate": 0.05, "beta_2": 0.99}),
    ("Lion", {"learning_rate": 0.01, "weight_decay": 0.5}),
]

SCHEDULE_CASES = {
    "ExponentialDecay": {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.5,
                         "staircase": True},
    "InverseTimeDecay": {"initial_learning_rate": 0.1, "decay_steps": 5, "decay_rate": 0.3},
    "CosineDecay": {"initial_learning_rate": 0.1, "decay_steps": 50, "alpha": 0.1,
                    "warmup_target": 0.5, "warmup_steps": 10},
    "WarmupCosineDecay": {"peak": 0.3, "warmup_steps": 10, "decay_steps": 40},
    "PiecewiseConstantDecay": {"boundaries": [5, 20], "values": [0.3, 0.2, 0.1]},
    "PolynomialDecay": {"initial_learning_rate": 0.1, "decay_steps": 15, "power": 2.0,
                        "cycle": True},
    "StepDecay": {"initial_learning_rate": 0.1, "step_size": 4, "gamma": 0.5},
}


def test_every_optimizer_is_covered():
    assert {name for name, _ in OPTIMIZER_CASES} == set(OPTIMIZERS)


def test_every_schedule_is_covered():
    assert set(SCHEDULE_CASES) == set(SCHEDULES)


@pytest.mark.parametrize("name,args", OPTIMIZER_CASES,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPTIMIZER_CASES)])
def test_optimizer_follows_the_optax_chain(name, args):
    rng = np.random.default_rng(0)
    params = {"w": rng.normal(size=(3, 4)).astype(np.float32),
              "b": rng.normal(size=(4,)).astype(np.float32)}
    grads = [{k: rng.normal(size=v.shape).astype(np.float32) for k, v in params.items()}
             for _ in range(6)]
    tx = build_optax(name, args)
    state = tx.init(params)
    update = jax.jit(tx.update)
    p = {k: jnp.asarray(v) for k, v in params.items()}
    for g in grads:
        updates, state = update(g, state, p)
        p = optax.apply_updates(p, updates)
    opt = build_optimizer(name, args)
    variables = [tf.Variable(params["w"]), tf.Variable(params["b"])]
    for g in grads:
        opt.apply_gradients(zip([tf.constant(g["w"]), tf.constant(g["b"])], variables))
    for var, key in zip(variables, ("w", "b")):
        np.testing.assert_allclose(var.numpy(), np.asarray(p[key]), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(SCHEDULE_CASES))
def test_schedule_follows_the_jax_formula(name):
    args = SCHEDULE_CASES[name]
    steps = np.array([0, 1, 3, 4, 5, 9, 10, 11, 20, 21, 29, 30, 31, 49, 60, 1000])
    want = np.asarray(jax.vmap(get_schedule(name, args))(jnp.asarray(steps)))
    sched = build_schedule({"schedule": name, "args": args})
    got = np.array([float(sched(tf.constant(s, tf.int64))) for s in steps])
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)


def test_a_python_learning_rate_function_is_refused():
    with pytest.raises(BackendError, match="Python function"):
        build_optimizer("Adam", {"learning_rate": lambda step: 0.1})


def _outputs(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32) * 2.0


def _probs(shape, seed=0):
    z = np.exp(_outputs(shape, seed))
    return (z / z.sum(-1, keepdims=True)).astype(np.float32)


_LABELS = np.array([0, 3, 1, 4, 2, 3])
_ONE_HOT = np.eye(5, dtype=np.float32)[_LABELS]
_BINARY = np.array([[1.0], [0.0], [1.0], [1.0], [0.0], [0.0]], np.float32)

LOSS_CASES = [
    ("sparse_categorical_crossentropy", {"final_activation": "softmax"}, (6, 5), _LABELS),
    ("sparse_categorical_crossentropy", {"final_activation": "sigmoid"}, (6, 5), _LABELS),
    ("sparse_categorical_crossentropy", {"from_logits": True}, (6, 5), _LABELS[:, None]),
    ("sparse_categorical_crossentropy", {}, "probs", _LABELS),
    ("categorical_crossentropy", {"final_activation": "softmax", "label_smoothing": 0.1},
     (6, 5), _ONE_HOT),
    ("categorical_crossentropy", {"from_logits": True}, (6, 5), _ONE_HOT),
    ("categorical_crossentropy", {}, "probs", _ONE_HOT),
    ("binary_crossentropy", {"final_activation": "sigmoid"}, (6, 1), _BINARY[:, 0]),
    ("binary_crossentropy", {"final_activation": "softmax"}, (6, 5), _ONE_HOT),
    ("binary_crossentropy", {"from_logits": True, "label_smoothing": 0.2}, (6, 1), _BINARY),
    ("binary_crossentropy", {}, "probs", _ONE_HOT),
    ("mse", {}, (6, 3, 2), np.ones((6, 3, 2), np.float32)),
    ("mse", {"final_activation": "softmax"}, (6, 5), _ONE_HOT),
    ("mae", {"final_activation": "sigmoid"}, (6, 1), _BINARY[:, 0]),
    ("huber", {"delta": 0.5}, (6, 4), np.zeros((6, 4), np.float32)),
]


@pytest.mark.parametrize("name,kwargs,shape,y", LOSS_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(LOSS_CASES)])
def test_loss_matches_jax(name, kwargs, shape, y):
    z = _probs((6, 5)) if shape == "probs" else _outputs(shape)
    loss = get_loss(name, **kwargs)
    want = np.asarray(jax.jit(lambda z, y: loss(z, y))(z, y))
    got = loss_fn(loss)(tf.constant(z), tf.constant(y)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_an_out_of_range_label_gives_nan():
    loss = get_loss("sparse_categorical_crossentropy", final_activation="softmax")
    got = loss_fn(loss)(tf.constant(_outputs((2, 3))), tf.constant([1, 7])).numpy()
    assert np.isfinite(got[0]) and np.isnan(got[1])


METRIC_CASES = [
    ("accuracy", {"loss": "sparse_categorical_crossentropy"}, (6, 5), _LABELS),
    ("accuracy", {}, (6, 5), _LABELS[:, None]),
    ("accuracy", {}, (6, 5), _ONE_HOT),
    ("categorical_accuracy", {}, (6, 5), _ONE_HOT),
    ("accuracy", {"final_activation": "sigmoid"}, (6, 1), _BINARY[:, 0]),
    ("binary_accuracy", {"threshold": 0.7}, "probs", _ONE_HOT),
    ("accuracy", {"kind": "binary", "final_activation": "softmax"}, (6, 5), _ONE_HOT),
    ("top_k_accuracy", {"k": 2}, (6, 5), _LABELS),
    ("top_k_accuracy", {"k": 1}, (6, 5), _ONE_HOT),
    ("mae", {"final_activation": "softmax"}, (6, 5), _ONE_HOT),
    ("mean_squared_error", {}, (6, 1), _BINARY[:, 0]),
    ("mse", {"final_activation": "sigmoid"}, (6, 2, 3), np.ones((6, 2, 3), np.float32)),
]


@pytest.mark.parametrize("name,kwargs,shape,y", METRIC_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(METRIC_CASES)])
def test_metric_matches_jax(name, kwargs, shape, y):
    z = _probs((6, 5)) if shape == "probs" else _outputs(shape, seed=1)
    metric = get_metric(name, **kwargs)
    want = np.asarray(jax.jit(lambda z, y: metric(z, y))(z, y))
    got = metric_fn(metric, None)(tf.constant(z), tf.constant(y)).numpy()
    if metric.name in ("mae", "mse"):
        np.testing.assert_allclose(got, want, rtol=1e-6)
        return
    np.testing.assert_array_equal(got, want)
    assert 0 < want.sum() < len(want)  # the case separates right from wrong


def test_every_loss_and_metric_is_covered():
    assert {c[0] for c in LOSS_CASES} == set(LOSSES)
    assert {get_metric(c[0], **c[1]).name for c in METRIC_CASES} | {"loss"} == set(METRICS)


def test_the_loss_metric_is_the_loss():
    loss = get_loss("huber", delta=2.0)
    fn = loss_fn(loss)
    assert metric_fn(get_metric("loss", loss=loss), fn) is fn
