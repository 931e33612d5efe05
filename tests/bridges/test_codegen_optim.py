"""Conformance of the generated optimizers and schedules with :mod:`neural_jax.train`.

Every schedule's generated ``learning_rate(step)`` (plain Python for PyTorch, ``jax.numpy``
for optax) and Keras schedule object give the rates of
:func:`neural_jax.train.get_schedule`; every optimizer of a generated PyTorch or optax
script makes the same updates as :func:`neural_jax.train.build_optimizer` over a few steps.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from bridges.codegen import generate_code
from bridges.codegen.schedules import _schedule, keras_schedule, schedule_function

SCHEDULES = [
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 100, "decay_rate": 0.5}),
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 100, "decay_rate": 0.5,
                          "staircase": True}),
    ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 100, "decay_rate": 0.5}),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 1000, "alpha": 0.1}),
    ("CosineDecay", {"initial_learning_rate": 0.01, "decay_steps": 1000,
                     "warmup_target": 0.2, "warmup_steps": 100}),
    ("WarmupCosineDecay", {"peak": 0.01, "warmup_steps": 100, "decay_steps": 1000}),
    ("PiecewiseConstantDecay", {"boundaries": [100, 200], "values": [0.1, 0.01, 0.001]}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 1000,
                         "end_learning_rate": 1e-4, "power": 2.0}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 300, "power": 0.5,
                         "cycle": True}),
    ("StepDecay", {"initial": 0.1, "step_size": 10, "gamma": 0.5}),
]
STEPS = [0, 1, 5, 99, 100, 101, 150, 200, 201, 650, 999, 1000, 1500, 5000]


@pytest.mark.parametrize("name,args", SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_generated_schedules_match_neural_jax(name, args):
    import jax.numpy as jnp
    import keras

    from neural_jax.train import get_schedule

    reference = get_schedule(name, args)
    canonical, full = _schedule({"schedule": name, "args": args})
    py_ns, jax_ns = {"math": math}, {"jnp": jnp}
    exec(schedule_function(canonical, full, jax=False), py_ns)  # noqa: S102
    exec(schedule_function(canonical, full, jax=True), jax_ns)  # noqa: S102
    keras_obj = eval(keras_schedule(canonical, full).flat(), {"keras": keras})  # noqa: S307
    for step in STEPS:
        want = float(reference(step))
        assert py_ns["learning_rate"](step) == pytest.approx(want, rel=1e-5, abs=1e-9), step
        got = float(jax_ns["learning_rate"](jnp.asarray(step, jnp.int32)))
        assert got == pytest.approx(want, rel=1e-5, abs=1e-9), step
        assert float(keras_obj(step)) == pytest.approx(want, rel=1e-4, abs=1e-8), step


OPTIMIZERS = [
    "Adam(learning_rate=0.01, beta_1=0.8)",
    "Adam(learning_rate=0.01, amsgrad=true)",
    "AdamW(learning_rate=0.01, weight_decay=0.1)",
    "SGD(learning_rate=0.1, momentum=0.9, nesterov=true)",
    "SGD(learning_rate=0.1, weight_decay=0.05)",
    "RMSprop(learning_rate=0.01, rho=0.8, momentum=0.5)",
    "Adagrad(learning_rate=0.1)",
    "Adamax(learning_rate=0.01, weight_decay=0.02)",
    "Nadam(learning_rate=0.01)",
    "Lion(learning_rate=0.01, weight_decay=0.1)",
    "Adam(learning_rate=ExponentialDecay(0.1, 2, 0.5))",
    "SGD(learning_rate=StepDecay(0.1, 2, 0.5), momentum=0.9)",
]
GRADS = [np.array([0.5, -1.0, 2.0], np.float32), np.array([-0.3, 0.2, 1.0], np.float32),
         np.array([0.1, 0.4, -2.0], np.float32), np.array([1.0, -0.5, 0.25], np.float32)]


def _script(optimizer: str, backend: str) -> dict:
    text = ("network T { input: (3,) layers: Output(3) loss: \"mse\" "
            f"optimizer: {optimizer} }}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = generate_code(text, backend)
    ns = {"__name__": "generated"}
    exec(compile(code, "<generated>", "exec"), ns)  # noqa: S102
    return ns


def _reference(optimizer: str) -> np.ndarray:
    import jax.numpy as jnp
    import optax

    from neural_jax import parse
    from neural_jax.train import build_optimizer
    from neural_jax.train.spec import training_spec

    spec = training_spec(parse("network T { input: (3,) layers: Output(3) "
                               f"optimizer: {optimizer} }}"))
    tx = build_optimizer(spec.optimizer, spec.optimizer_args)
    params = {"w": jnp.array([1.0, -2.0, 3.0])}
    state = tx.init(params)
    for g in GRADS:
        updates, state = tx.update({"w": jnp.asarray(g)}, state, params)
        params = optax.apply_updates(params, updates)
    return np.asarray(params["w"])


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_generated_jax_optimizer_matches_neural_jax(optimizer):
    import jax
    import jax.numpy as jnp
    import optax

    ns = _script(optimizer, "jax")
    tx = ns["build_optimizer"]()
    params = {"w": jnp.array([1.0, -2.0, 3.0])}
    state = tx.init(params)
    wd = "weight_decay" in optimizer and optimizer.startswith(("SGD", "RMSprop", "Adagrad"))
    for step, g in enumerate(GRADS):
        updates, state = tx.update({"w": jnp.asarray(g)}, state, params)
        if wd:  # these decay in the generated training step, as written there
            lr = float(ns["learning_rate"](step)) if "learning_rate" in ns else 0.1
            updates = jax.tree.map(lambda u, p, lr=lr: u - lr * 0.05 * p, updates, params)
        params = optax.apply_updates(params, updates)
    np.testing.assert_allclose(np.asarray(params["w"]), _reference(optimizer), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_generated_pytorch_optimizer_matches_neural_jax(optimizer):
    import torch

    known = {  # where torch's stock optimizer follows Keras and neural_jax's optax does not
        "Nadam": "torch's NAdam decays the momentum as Keras does; optax.nadam does not",
        "amsgrad": "torch's AMSGrad keeps the maximum of the raw second moment, as Keras",
        "StepDecay": "torch's momentum sums raw gradients, so a changing rate scales the past "
                     "steps too (Keras and optax sum rate-scaled ones)",
    }
    for key, reason in known.items():
        if key in optimizer:
            pytest.skip(reason)
    ns = _script(optimizer, "pytorch")
    holder = torch.nn.Module()
    holder.w = torch.nn.Parameter(torch.tensor([1.0, -2.0, 3.0]))
    opt = ns["build_optimizer"](holder)
    wd = 0.0
    if "weight_decay" in optimizer and not optimizer.startswith(("Adam(", "AdamW(")):
        wd = float(optimizer.split("weight_decay=")[1].rstrip(")"))
    for step, g in enumerate(GRADS):
        if "learning_rate" in ns:
            for group in opt.param_groups:
                group["lr"] = ns["learning_rate"](step)
        holder.w.grad = torch.as_tensor(g)
        with torch.no_grad():  # the generated loop's decoupled weight decay
            holder.w.mul_(1.0 - opt.param_groups[0]["lr"] * wd)
        opt.step()
    tol = 1e-3 if optimizer.startswith(("RMSprop", "Adagrad")) else 1e-5  # eps placement
    np.testing.assert_allclose(holder.w.detach().numpy(), _reference(optimizer), rtol=tol,
                               atol=tol)
