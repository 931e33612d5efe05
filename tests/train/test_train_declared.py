"""The JAX trainer implements exactly the training names the IR declares, and runs what the
DSL accepts: every optimizer, schedule, loss and metric, the formerly drifted spellings in
real trainings, and the one default configuration."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from training_samples import (
    LOSSES,
    METRICS,
    OPTIMIZERS,
    SCHEDULES,
    sample_args,
    schedule_sample,
)

from neural_jax import parse
from neural_jax.data import load as load_dataset
from neural_jax.ir import check
from neural_jax.ir.training import lookup, metric_preset
from neural_jax.jax import build_model
from neural_jax.population.trainer import Trainer, train
from neural_jax.train import (
    build_optimizer,
    get_loss,
    get_metric,
    get_schedule,
    hyperparams_of,
    losses,
    metrics,
    optimizers,
    schedules,
)


@pytest.mark.parametrize("table,decls", [
    (optimizers.OPTIMIZERS, OPTIMIZERS), (schedules.SCHEDULES, SCHEDULES),
    (losses.LOSSES, LOSSES), (metrics.METRICS, METRICS)],
    ids=["optimizers", "schedules", "losses", "metrics"])
def test_every_jax_table_is_keyed_by_exactly_the_declared_names(table, decls):
    assert set(table) == set(decls)


def _steps(tx, n=3):
    params = {"w": jnp.array([1.0, -2.0, 3.0])}
    state = tx.init(params)
    for k in range(n):
        g = {"w": jnp.array([0.5, -1.0, 2.0]) * (k + 1)}
        updates, state = tx.update(g, state, params)
        params = optax.apply_updates(params, updates)
    return np.asarray(params["w"]), state


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_declared_optimizer_updates_with_its_declared_defaults(name):
    w, state = _steps(build_optimizer(name))
    assert np.all(np.isfinite(w)) and not np.allclose(w, [1.0, -2.0, 3.0])
    hp = hyperparams_of(state)
    decl = OPTIMIZERS[name]
    for p in decl.params:  # every float default of the declaration is what the state holds
        if isinstance(p.default, float) and p.name not in decl.structural:
            assert float(hp[p.name]) == pytest.approx(p.default, rel=1e-6), p.name


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_every_declared_schedule_drives_an_optimizer(name):
    reference = get_schedule(name, sample_args(SCHEDULES[name]))
    _, state = _steps(build_optimizer("SGD", {"learning_rate": schedule_sample(name)}), n=4)
    # the rate of the latest (4th, step 3) update is the schedule's at step 3
    assert float(hyperparams_of(state)["learning_rate"]) == pytest.approx(float(reference(3)))


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_declared_loss_spelling_computes(name):
    z = jnp.array([[2.0, -1.0, 0.5], [0.1, 0.2, 3.0]])
    y = {"sparse_categorical_crossentropy": jnp.array([0, 2]),
         "categorical_crossentropy": jnp.eye(3)[jnp.array([0, 2])]}.get(
        name, jnp.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]]))
    for spelling in (name, *LOSSES[name].aliases):
        loss = get_loss(spelling, final_activation="softmax" if LOSSES[name].labels else None)
        assert loss.name == name
        values = np.asarray(loss(z, y))
        assert values.shape == (2,) and np.all(np.isfinite(values)) and np.all(values > 0)


@pytest.mark.parametrize("name", sorted(METRICS))
def test_every_declared_metric_spelling_computes(name):
    z = jnp.array([[2.0, -1.0, 0.5], [0.1, 3.0, 0.2]])
    labels = jnp.array([0, 2])
    targets = {None: labels, "sparse": labels, "categorical": jnp.eye(3)[labels],
               "binary": jnp.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])}
    loss = get_loss("sparse_categorical_crossentropy", final_activation="softmax")
    for spelling in (name, *METRICS[name].aliases):
        kind = metric_preset(spelling).get("kind")
        y = targets["binary" if name in ("mse", "mae") else kind]
        context = {"loss": loss} if name in ("accuracy", "loss") else {}
        metric = get_metric(spelling, **context)
        assert metric.name == name
        values = np.asarray(metric(z, y))
        assert values.shape == (2,) and np.all(np.isfinite(values)), spelling
        if name == "accuracy" and kind != "binary":  # the first is right, the second wrong
            assert values.tolist() == [1.0, 0.0], spelling


def test_an_undeclared_name_is_a_typed_error_naming_the_declared_ones():
    from neural_jax.train import TrainConfigError

    with pytest.raises(TrainConfigError, match="Did you mean 'InverseTimeDecay'.*Known "
                                               "schedules: CosineDecay, ExponentialDecay"):
        get_schedule("InverseTimeDecy")
    assert lookup(OPTIMIZERS, "nadam") == "Nadam"


# --- the names the DSL used to reject, in real trainings ---------------------------------

MLP = """
network DigitsMLP {{
  input: (8, 8, 1)
  layers:
    Flatten()
    Dense(32, activation="relu")
    Output(10, activation="softmax")
  optimizer: SGD(learning_rate={lr}, momentum=0.9)
  train {{ epochs: 2, batch_size: 64, validation_split: 0.2, seed: 3 }}
}}
"""


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _fit(lr: str, digits):
    net = parse(MLP.format(lr=lr))
    check(net)
    result = train(net, digits)
    assert not result.failed, result.message
    return result


@pytest.mark.parametrize("schedule,same_as", [
    ("StepDecay(initial_learning_rate=0.1, step_size=10, gamma=0.5)",
     "StepDecay(initial=0.1, step_size=10, gamma=0.5)"),
    ("CosineDecay(0.0, 30, warmup_target=0.1, warmup_steps=10)",
     "WarmupCosineDecay(peak=0.1, warmup_steps=10, decay_steps=30)"),
], ids=["StepDecay(initial_learning_rate=)", "CosineDecay(warmup_steps=)"])
def test_formerly_rejected_schedule_trains_as_its_equivalent(schedule, same_as, digits):
    a, b = _fit(schedule, digits), _fit(same_as, digits)
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
    assert a.val["accuracy"] == b.val["accuracy"] > 0.5, a.val


def test_inverse_time_decay_trains_at_its_keras_rates(digits):
    lr = "InverseTimeDecay(initial_learning_rate=0.1, decay_steps=4, decay_rate=0.5)"
    result = _fit(lr, digits)
    assert result.val["accuracy"] > 0.5, result.val
    losses_ = [h["loss"] for h in result.history]
    assert losses_[1] < losses_[0]
    spec = Trainer(parse(MLP.format(lr=lr))).spec
    _, state = _steps(build_optimizer(spec.optimizer, spec.optimizer_args), n=9)
    assert float(hyperparams_of(state)["learning_rate"]) == pytest.approx(
        0.1 / (1 + 0.5 * 8 / 4))
    constant = _fit("0.1", digits)
    assert [h["loss"] for h in constant.history] != losses_


# --- one default configuration -------------------------------------------------------------

def test_build_model_and_trainer_build_the_same_network():
    net = parse("""network W {
      input: (8,)
      layers: Dense(HPO(range(16, 256, step=16)), activation="relu") Output(3)
      loss: "mse"
    }""")
    trainer = Trainer(net)
    model = build_model(net)
    x = jnp.ones((2, 8))
    shapes = jax.tree.map(jnp.shape, model.init(jax.random.PRNGKey(0), x)["params"])
    trained = jax.tree.map(jnp.shape, trainer.model.init(jax.random.PRNGKey(0), x)["params"])
    assert shapes == trained
    kernels = [s for s in jax.tree.leaves(shapes, is_leaf=lambda v: isinstance(v, tuple))
               if len(s) == 2]
    assert (8, 144) in kernels
