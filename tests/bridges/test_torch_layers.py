"""Conformance of the PyTorch bridge, layer by layer: every registry layer has a rule, and
each computes what the Flax rule computes (evaluation mode, same variables), round-trips
its weights exactly, and trains."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import jax
import jax.numpy as jnp
import numpy as np
from layer_samples import sample_call, sample_inputs
from torch_helpers import (
    assert_close,
    final_shape,
    net_of,
    one_thread,  # noqa: F401 - an autouse fixture
    parity,
    random_variables,
    same_tree,
    sample_input,
    sgd_lowers_the_loss,
)

from bridges.torch import RULES, build_module, load_jax_variables, to_jax_variables
from neural_jax import NeuralValidationError
from neural_jax.ir import LAYERS
from neural_jax.jax import build_model


def _legal_cases() -> list:
    """(input shape, layer text) for every layer and every input rank the checker accepts."""
    cases = []
    for name in sorted(LAYERS):
        text = sample_call(name)
        for inp in sample_inputs(name):
            try:
                final_shape(net_of(inp, text))
            except NeuralValidationError:
                continue
            rank = 1 + len([d for d in inp.strip("()").split(",") if d.strip()])
            cases.append(pytest.param(inp, text, id=f"{name}-rank{rank}"))
    return cases


LAYER_CASES = _legal_cases()

#: padding, stride, dilation, transposed and wrapper variants where torch and Keras differ
VARIANTS = [
    ("(27, 27, 1)", "Conv2D(4, 4, strides=2, padding='same')"),
    ("(28, 28, 1)", "Conv2D(4, (3, 5), strides=(1, 2), dilation_rate=(2, 1), padding='same')"),
    ("(50, 4)", "Conv1D(6, 5, padding='causal', dilation_rate=4, activation='gelu')"),
    ("(50, 4)", "Conv1D(6, 3, padding='causal', strides=2)"),
    ("(6, 9, 9, 1)", "Conv3D(4, 3, padding='same', strides=2)"),
    ("(7, 7, 3)", "Conv2DTranspose(5, 3, strides=2)"),
    ("(7, 7, 3)", "Conv2DTranspose(5, 2, strides=3)"),
    ("(7, 7, 3)", "Conv2DTranspose(5, 3, strides=2, padding='same')"),
    ("(7, 7, 3)", "Conv2DTranspose(5, 4, strides=3, padding='same')"),
    ("(7, 7, 3)", "Conv2DTranspose(5, 3, dilation_rate=2, padding='same')"),
    ("(9, 9, 3)", "DepthwiseConv2D(3, depth_multiplier=2, strides=2, padding='same')"),
    ("(9, 9, 3)", "SeparableConv2D(10, 3, padding='same', dilation_rate=2, use_bias=false)"),
    ("(27, 27, 2)", "MaxPooling2D(3, strides=2, padding='same')"),
    ("(27, 27, 2)", "AveragePooling2D(3, strides=2, padding='same')"),
    ("(50, 8)", "AveragePooling1D(4, strides=3, padding='same')"),
    ("(5, 8, 8, 2)", "AveragePooling3D(2, padding='same')"),
    ("(20, 3)", "GRU(8, return_sequences=true, activation='relu')"),
    ("(20, 3)", "LSTM(8, return_sequences=true, dropout=0.2, recurrent_dropout=0.2)"),
    ("(20, 3)", "Bidirectional(SimpleRNN(8, return_sequences=true))"),
    ("(20, 3)", "Bidirectional(GRU(8), merge_mode='sum')"),
    ("(20, 3)", "Bidirectional(LSTM(8), merge_mode='mul')"),
    ("(20, 3)", "Bidirectional(LSTM(8, return_sequences=true), merge_mode='ave')"),
    ("(6, 8, 8, 3)", "TimeDistributed(Conv2D(4, 3))"),
    ("(20, 12)", "MultiHeadAttention(3, 5, dropout=0.1)"),
    ("(20, 12)", "TransformerEncoder(5, 16, activation='swish')"),
    ("(20, 12)", "TransformerEncoder(2, 16) { Dense(32, activation='gelu') Dense(12) }"),
    ("(5, 5, 8)", "ResidualConnection() { Conv2D(16, 3, strides=2, padding='same') }"),
    ("(10, 4)", "ResidualConnection() { Conv1D(6, 3, strides=2, padding='same') }"),
    ("(6,)", "ResidualConnection() { ResidualConnection() { Dense(6) } Dense(4) }"),
    ("(8, 8, 8)", "GroupNormalization(2, epsilon=0.1)"),
    ("(12,)", ("Dense(6) BatchNormalization(momentum=0.5, epsilon=0.01) "
               "Activation('leaky_relu') Dense(6, activation='selu') Dense(6, activation='elu') "
               "Dense(6, activation='softplus') Dense(6, activation='softmax')")),
    ("(12,)", "Reshape((3, -1)) LayerNormalization(epsilon=1e-6) Flatten()"),
]


def test_every_registry_layer_has_a_rule():
    assert set(RULES) == set(LAYERS)


def test_every_layer_is_sampled():
    sampled = {p.values[1].split("(")[0] for p in LAYER_CASES}
    assert sampled == set(LAYERS)


def _check_parity(inp: str, text: str) -> None:
    net = net_of(inp, text)
    y_jax, y_torch, module, variables, _ = parity(net)
    assert y_torch.shape == (2,) + final_shape(net)
    assert_close(y_jax, y_torch)
    assert same_tree(to_jax_variables(module), variables)


@pytest.mark.parametrize("inp,text", LAYER_CASES)
def test_layer_matches_jax(inp, text):
    _check_parity(inp, text)


@pytest.mark.parametrize("inp,text", VARIANTS)
def test_variant_matches_jax(inp, text):
    _check_parity(inp, text)


@pytest.mark.parametrize("inp,text", LAYER_CASES + VARIANTS[-3:])
def test_layer_trains(inp, text):
    sgd_lowers_the_loss(net_of(inp, text))


def test_training_mode_batch_statistics_match_jax():
    # Keras' momentum 0.9 is torch's 0.1; the moving variance takes the biased batch variance.
    net = net_of("(6, 6, 3)", "Conv2D(4, 3) BatchNormalization(momentum=0.9, epsilon=0.01) "
                              "Flatten() Dense(5) BatchNormalization()")
    model = build_model(net)
    x = sample_input(net, batch=4)
    variables = random_variables(model, x)
    y_jax, state = jax.jit(lambda v, x: model.apply(v, x, train=True))(variables, jnp.asarray(x))
    module = build_module(net)
    load_jax_variables(module, variables)
    module.train()
    y = module(torch.from_numpy(x))
    assert_close(np.asarray(y_jax), y.detach().numpy())
    stats = to_jax_variables(module)["batch_stats"]
    for layer, values in state["batch_stats"].items():
        for name, want in values.items():
            np.testing.assert_allclose(stats[layer][name], np.asarray(want), rtol=1e-5,
                                       atol=1e-6)
