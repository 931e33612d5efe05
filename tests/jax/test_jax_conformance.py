"""Conformance: every layer rule's real output shape equals the IR checker's shape rule."""

from __future__ import annotations

import pathlib
import warnings

import jax.numpy as jnp
import pytest
from jax_helpers import abstract_run, final_shape, net_of, run_eval
from layer_samples import sample_call, sample_inputs

from neural_jax import NeuralValidationError, parse_all
from neural_jax.ir import LAYERS
from neural_jax.jax import RULES

EXAMPLES = sorted((pathlib.Path(__file__).resolve().parents[2] / "examples").glob("*.neural"))

def legal_call(name: str) -> list[tuple[str, str]]:
    """(input shape, layer text) pairs the checker accepts for layer ``name``."""
    out = []
    text = sample_call(name)
    for inp in sample_inputs(name):
        try:
            final_shape(net_of(inp, text))
        except NeuralValidationError:
            continue
        out.append((inp, text))
    return out


def test_every_registry_layer_has_a_rule():
    assert set(RULES) == set(LAYERS)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_layer_matches_its_shape_rule(name):
    cases = legal_call(name)
    assert cases, f"{name} accepted no sample input"
    inp, text = cases[0]
    # One layer for real, then (abstractly, in training mode) followed or preceded by another.
    second = (f"Activation('tanh')\n {text}" if name == "Output"
              else f"{text}\n Activation('tanh')")
    net = net_of(inp, text)
    _, y = run_eval(net)
    assert y.shape == (2,) + final_shape(net)
    assert bool(jnp.all(jnp.isfinite(y)))
    net = net_of(inp, second)
    _, y = abstract_run(net)
    assert y.shape == (2,) + final_shape(net)


VARIANTS = [
    ("(28, 28, 1)", "Conv2D(4, 3, padding='same')"),
    ("(28, 28, 1)", "Conv2D(4, 3, strides=2)"),
    ("(28, 28, 1)", "Conv2D(4, 3, strides=2, padding='same')"),
    ("(27, 27, 1)", "Conv2D(4, 4, strides=2, padding='same')"),
    ("(28, 28, 1)", "Conv2D(4, (3, 5), strides=(1, 2))"),
    ("(28, 28, 1)", "Conv2D(4, 3, dilation_rate=2, padding='same')"),
    ("(50, 4)", "Conv1D(6, 5, padding='causal', dilation_rate=4)"),
    ("(50, 4)", "Conv1D(6, 3, padding='causal', strides=2)"),
    ("(50, 4)", "Conv1D(6, 5, strides=3)"),
    ("(6, 9, 9, 1)", "Conv3D(4, 3, padding='same', strides=2)"),
    ("(7, 7, 3)", "Conv2DTranspose(5, 3, strides=2)"),
    ("(7, 7, 3)", "Conv2DTranspose(5, 3, strides=2, padding='same')"),
    ("(7, 7, 3)", "Conv2DTranspose(5, 2, strides=3)"),
    ("(7, 7, 3)", "Conv2DTranspose(5, 4, strides=2, padding='same')"),
    ("(7, 7, 3)", "Conv2DTranspose(5, 3, dilation_rate=2)"),
    ("(9, 9, 3)", "DepthwiseConv2D(3, depth_multiplier=2, strides=2, padding='same')"),
    ("(9, 9, 3)", "SeparableConv2D(10, 3, padding='same', dilation_rate=2)"),
    ("(9, 9, 3)", "SeparableConv2D(10, 3, strides=2, use_bias=false)"),
    ("(27, 27, 2)", "MaxPooling2D(2)"),
    ("(27, 27, 2)", "MaxPooling2D(2, padding='same')"),
    ("(27, 27, 2)", "AveragePooling2D(3, strides=2)"),
    ("(27, 27, 2)", "AveragePooling2D(3, strides=2, padding='same')"),
    ("(50, 8)", "MaxPooling1D(4, strides=3, padding='same')"),
    ("(5, 8, 8, 2)", "AveragePooling3D(2, padding='same')"),
    ("(5, 8, 8, 2)", "MaxPooling3D((1, 2, 2))"),
    ("(12,)", "Reshape((3, -1))"),
    ("(10, 12)", "Dense(5)"),
    ("(20, 3)", "GRU(8, return_sequences=true)"),
    ("(20, 3)", "SimpleRNN(8, return_sequences=true)"),
    ("(20, 3)", "LSTM(8, return_sequences=true, dropout=0.2, recurrent_dropout=0.2)"),
    ("(20, 3)", "Bidirectional(SimpleRNN(8, return_sequences=true))"),
    ("(20, 3)", "Bidirectional(GRU(8), merge_mode='sum')"),
    ("(20, 3)", "Bidirectional(LSTM(8), merge_mode='mul')"),
    ("(20, 3)", "Bidirectional(LSTM(8, return_sequences=true), merge_mode='ave')"),
    ("(6, 8, 8, 3)", "TimeDistributed(Conv2D(4, 3))"),
    ("(20, 12)", "MultiHeadAttention(3, 5, dropout=0.1)"),
    ("(20, 12)", "TransformerEncoder(5, 16)"),
    ("(20, 12)", "TransformerEncoder(2, 16) { Dense(32, activation='gelu') Dense(12) }"),
    ("(4, 4, 8)", "ResidualConnection() { Conv2D(16, 3, strides=2, padding='same') }"),
    ("(5, 5, 8)", "ResidualConnection() { Conv2D(16, 3, strides=2, padding='same') }"),
    ("(6, 6, 8)", "ResidualConnection() { Conv2D(8, 3, padding='same') }"),
    ("(6,)", "ResidualConnection() { Dense(3) }"),
    ("(10, 4)", "ResidualConnection() { Conv1D(6, 3, strides=2, padding='same') }"),
    ("(6,)", "ResidualConnection() { ResidualConnection() { Dense(6) } Dense(4) }"),
    ("(8, 8, 8)", "GroupNormalization(2)"),
]


@pytest.mark.parametrize("inp,layer", VARIANTS)
def test_variants_match_their_shape_rule(inp, layer):
    # Shapes are static in JAX: an abstract trace of init + apply gives the real ones.
    net = net_of(inp, layer)
    _, y = abstract_run(net)
    assert y.shape == (2,) + final_shape(net)


def _example_networks():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [pytest.param(net, id=f"{path.stem}-{net.name}")
                for path in EXAMPLES for net in parse_all(path.read_text(), str(path))]


@pytest.mark.parametrize("net", _example_networks())
def test_examples_match_the_checker(net):
    model, y = run_eval(net)
    assert y.shape == (2,) + final_shape(net, model.config)
    assert model.output_shape == final_shape(net, model.config)
