"""``synthetic`` data shaped for a network: open sequence axes and regression losses."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neural_jax.data.network_fit import (
    OPEN_AXIS_LENGTH,
    synthetic_for,
    synthetic_options,
)
from neural_jax.dsl.api import parse
from neural_jax.hpo import HPOptimizer
from neural_jax.ir import training
from neural_jax.train import spec

VARIABLE_LSTM = """
network Seq {
  input: (None, None, 8)
  layers:
    LSTM(HPO(choice(8, 16)))
    Output(3, activation="softmax")
  loss: "sparse_categorical_crossentropy"
  optimizer: Adam(learning_rate=1e-2)
  train { epochs: 1, batch_size: 64, validation_split: 0.2 }
}
"""


def test_an_open_sequence_axis_gets_a_fixed_length():
    net = parse(VARIABLE_LSTM)
    assert synthetic_options(net)["input_shape"] == (OPEN_AXIS_LENGTH, 8)
    ds = synthetic_for(net, n_train=200, n_test=50)
    assert ds.x_train.shape[1:] == (OPEN_AXIS_LENGTH, 8) and ds.num_classes == 3


def test_a_variable_length_lstm_searches_on_synthetic_data():
    opt = HPOptimizer(strategy="random", n_trials=2, population=2, seed=0,
                      compilation_cache=False)
    best = opt.optimize(VARIABLE_LSTM, dataset="synthetic")
    assert set(best) == {"layers[0].units"} and best["layers[0].units"] in (8, 16)
    assert all(t["state"] == "complete" and math.isfinite(t["value"]) for t in opt.trials)


def test_one_list_of_regression_losses_from_the_loss_registry():
    regression = {k for k, d in training.LOSSES.items() if not d.probabilistic}
    assert regression == {"mse", "mae", "huber"}
    assert regression | {"mean_squared_error", "huber_loss"} <= training.REGRESSION_LOSSES
    assert "log_cosh" not in training.REGRESSION_LOSSES  # not a loss of ours
    assert all(training.lookup(training.LOSSES, k) in regression
               for k in training.REGRESSION_LOSSES)
    assert training.is_regression_loss("MSE") and not training.is_regression_loss(
        "binary_crossentropy") and not training.is_regression_loss(None)


@pytest.mark.parametrize("loss", ["mse", "mean_squared_error", "huber"])
def test_a_regression_loss_means_regression_data_and_an_mae_metric(loss):
    net = parse(f"""
network R {{
  input: (4,)
  layers:
    Dense(8, activation="relu")
    Output(1)
  loss: "{loss}"
  train {{ epochs: 1 }}
}}""")
    opts = synthetic_options(net)
    assert opts["task"] == "regression" and opts["output_dim"] == 1
    ds = synthetic_for(net, n_train=50, n_test=10)
    assert ds.y_train.dtype == np.float32
    assert spec.training_spec(net).metrics == (("mae", {}),)
