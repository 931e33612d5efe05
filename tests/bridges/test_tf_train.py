"""Trials trained in Keras: they learn, record what the JAX trainer records, stop as it does."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

import bridges.tensorflow as btf
from neural_jax import parse
from neural_jax.data import load
from neural_jax.jax import build_model as build_jax
from neural_jax.population import MemberResult
from neural_jax.population.trainer import Trainer
from neural_jax.population.trainer import train as train_jax

MLP = """network DigitsTF {{
  input: (8, 8, 1)
  layers:
    Flatten()
    Dense(HPO(choice(32, 64)), activation="relu")
    Dropout(0.1)
    Output(10, activation="softmax")
  loss: "sparse_categorical_crossentropy"
  metrics: ["accuracy", top_k_accuracy(k=3)]
  optimizer: {optimizer}
  train {{ epochs: {epochs}, batch_size: 32, validation_split: 0.2, seed: 1 {extra} }}
}}"""


def _net(optimizer="Adam(learning_rate=0.01)", epochs=3, extra=""):
    return parse(MLP.format(optimizer=optimizer, epochs=epochs, extra=extra))


@pytest.fixture(scope="module")
def digits():
    return load("digits")


@pytest.fixture(scope="module")
def trained(digits):
    seen = []
    result = btf.train_trial(_net(), digits, config={"layers[1].units": 32}, index=7,
                             on_epoch=lambda epoch, rec: seen.append((epoch, rec)))
    assert seen == list(enumerate(result.history, start=1))
    return result


def test_a_small_mlp_learns_digits(trained):
    r = trained
    assert isinstance(r, MemberResult)
    assert not r.failed and r.index == 7
    assert r.config["layers[1].units"] == 32
    assert len(r.history) == 3 and [h["epoch"] for h in r.history] == [1, 2, 3]
    assert r.history[-1]["loss"] < r.history[0]["loss"]
    assert r.val["accuracy"] > 0.8, r.val
    assert r.test["accuracy"] > 0.8, r.test
    assert r.stopped_by == "" and r.stopped_epoch is None
    best = min(r.history, key=lambda h: h["val_loss"])
    assert r.best_epoch == best["epoch"]
    assert r.val["loss"] == pytest.approx(best["val_loss"], rel=1e-5)


def test_history_keys_are_the_jax_trainers(trained):
    # Trainer.fit writes epoch, loss, the train metrics, the val_ metrics (dicts out of jit,
    # so sorted) and seconds; building a Trainer compiles nothing.
    metrics = sorted(Trainer(_net(), {"layers[1].units": 32}).metrics)
    keys = ["epoch", "loss", *metrics, *(f"val_{k}" for k in sorted(["loss", *metrics])),
            "seconds"]
    assert [list(h) for h in trained.history] == [keys] * 3
    assert list(trained.val) == sorted(["loss", *metrics])


@pytest.mark.slow
def test_history_keys_equal_a_real_jax_run(trained, digits):
    reference = train_jax(_net(epochs=1), digits, {"layers[1].units": 32}, epochs=1)
    assert [list(h) for h in trained.history] == [list(reference.history[0])] * 3
    assert list(trained.val) == list(reference.val)


def test_kept_variables_run_in_jax(trained, digits):
    # variables is a JAX tree: the JAX model reproduces the recorded test accuracy
    model = build_jax(_net(), {"layers[1].units": 32})
    x = digits.fit_to((8, 8, 1)).x_test
    logits, _ = model.apply(trained.variables, x)
    acc = float(np.mean(np.argmax(np.asarray(logits), -1) == digits.y_test))
    assert acc == pytest.approx(trained.test["accuracy"], abs=1e-6)


def test_divergence_is_reported_with_its_epoch(digits):
    net = _net("SGD(learning_rate=1e30)", epochs=5)
    r = btf.train_trial(net, digits)
    assert r.failed
    assert f"in epoch {len(r.history)}" in r.message
    assert not np.isfinite(r.history[-1]["loss"])
    assert r.val == {} and r.test == {}


def test_patience_stops_and_keeps_the_best(digits):
    # a learning rate of 1e-12 changes no prediction: the validation accuracy of epoch 1 is
    # never beaten, so patience 1 stops the run after epoch 3
    net = _net("SGD(learning_rate=1e-12)", epochs=10,
               extra='early_stopping { patience: 1, monitor: "val_accuracy" }')
    r = btf.train_trial(net, digits)
    assert not r.failed
    assert r.stopped_by == "patience" and r.stopped_epoch == 3
    assert len(r.history) == 3 and r.best_epoch == 1
    assert r.val["accuracy"] == pytest.approx(r.history[0]["val_accuracy"])
