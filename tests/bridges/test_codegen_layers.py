"""Conformance of the code generators: every layer kind in every backend.

Each case generates a script for a one-layer network, executes its text in a fresh namespace
and builds the model: the model's output shape must equal the IR checker's shape rule. The
PyTorch helpers that re-create TensorFlow's padding (strided "same", "causal", transposed
convolutions, average pooling that does not count pads) are also compared numerically with
the JAX backend, weights copied across.
"""

from __future__ import annotations

import itertools
import sys
import types
import warnings

import numpy as np
import pytest
from layer_samples import sample_call, sample_inputs

from bridges.codegen import generate_code
from bridges.codegen.emit_flax import FLAX
from bridges.codegen.emit_keras import KERAS
from bridges.codegen.emit_torch import TORCH
from neural_jax import NeuralValidationError, parse
from neural_jax.ir import LAYERS, infer_shapes

BACKENDS = ("tensorflow", "pytorch", "jax")
_COUNT = itertools.count()

#: tricky arguments, on top of every layer's plain sample call
VARIANTS = [
    ("(27, 27, 3)", "Conv2D(4, 4, strides=2, padding='same')"),
    ("(28, 28, 3)", "Conv2D(4, 3, strides=2, padding='same', use_bias=false)"),
    ("(28, 28, 3)", "Conv2D(4, (3, 5), strides=(1, 2), padding='same', activation='gelu')"),
    ("(28, 28, 3)", "Conv2D(4, 4, dilation_rate=2, padding='same')"),
    ("(50, 4)", "Conv1D(6, 5, padding='causal', dilation_rate=4)"),
    ("(9, 9, 3)", "Conv2DTranspose(4, 3, strides=2, padding='same')"),
    ("(9, 9, 3)", "Conv2DTranspose(4, 4, strides=2, padding='same')"),
    ("(9, 9, 3)", "Conv2DTranspose(4, 2, strides=3)"),
    ("(9, 9, 3)", "Conv2DTranspose(4, 1, strides=2, padding='same')"),
    ("(9, 9, 3)", "DepthwiseConv2D(3, strides=2, depth_multiplier=2, padding='same')"),
    ("(11, 11, 3)", "SeparableConv2D(5, 3, strides=2, padding='same')"),
    ("(9, 9, 3)", "MaxPooling2D(2, padding='same')"),
    ("(9, 9, 3)", "AveragePooling2D(2, padding='same')"),
    ("(10, 10, 3)", "AveragePooling2D(3, strides=1, padding='same')"),
    ("(9, 9, 3)", "AveragePooling2D(3, strides=2)"),
    ("(7, 7, 7, 2)", "AveragePooling3D(2, padding='same')"),
    ("(15, 3)", "MaxPooling1D(4, strides=3, padding='same')"),
    ("(12, 8)", "LSTM(5, recurrent_dropout=0.2, return_sequences=true)"),
    ("(12, 8)", "GRU(5, activation='relu')"),
    ("(12, 8)", "SimpleRNN(5, activation='relu', dropout=0.1)"),
    ("(12, 8)", "Bidirectional(GRU(5), merge_mode='sum')"),
    ("(12, 8)", "Bidirectional(LSTM(5, recurrent_dropout=0.1), merge_mode='ave')"),
    ("(12, 8)", "TransformerEncoder(2, 16) { Dense(12, activation='relu') Dense(8) }"),
    ("(12, 8)", "TransformerEncoder(3, 16, activation='gelu')"),
    ("(16,)", "ResidualConnection() { Dense(8) }"),
    ("(9, 9, 4)", "ResidualConnection() { Conv2D(8, 3, strides=2, padding='same') }"),
    ("(6, 9, 9, 3)", "TimeDistributed(Conv2D(4, 3))"),
    ("(16,)", "GroupNormalization(groups=4)"),
    ("(16, 16, 8)", "BatchNormalization(momentum=0.9, epsilon=1e-5)"),
    ("(16, 8)", "Reshape((4, -1, 2))"),
]


def _legal(name: str) -> tuple[str, str]:
    text = sample_call(name)
    for inp in sample_inputs(name):
        try:
            infer_shapes(parse(f"network T {{ input: {inp} layers: {text} }}"))
        except NeuralValidationError:
            continue
        return inp, text
    raise AssertionError(f"{name} accepted no sample input")


CASES = [_legal(name) for name in sorted(LAYERS)] + VARIANTS


def _net(inp: str, text: str):
    return parse(f"network T {{ input: {inp} layers: {text} }}")


def _exec(net, backend: str) -> dict:
    """The generated script's namespace: its text executed as a fresh module (not __main__)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = generate_code(net, backend)
    module = types.ModuleType(f"generated_{backend}_{next(_COUNT)}")
    sys.modules[module.__name__] = module  # flax resolves dataclass annotations through it
    exec(compile(code, f"<{module.__name__}>", "exec"), module.__dict__)  # noqa: S102
    return module.__dict__


def _input(net, batch: int = 2) -> np.ndarray:
    shape = (batch,) + tuple(net.input_shape)
    rng = np.random.default_rng(0)
    first = net.layers[0]
    if first.type == "Embedding":
        return rng.integers(0, first.get("input_dim"), shape)
    return rng.normal(size=shape).astype(np.float32)


def _expected(net) -> tuple:
    return (2,) + tuple([r for r in infer_shapes(net) if r[3] == 0][-1][2])


def test_every_backend_has_one_emitter_per_layer():
    for table in (KERAS, TORCH, FLAX):
        assert set(table) == set(LAYERS)


@pytest.mark.parametrize("inp,text", CASES, ids=[c[1].split("(")[0] + f"-{i}"
                                                 for i, c in enumerate(CASES)])
def test_pytorch_layer_shapes(inp, text):
    import torch

    net = _net(inp, text)
    ns = _exec(net, "pytorch")
    model = ns["build_model"]().eval()
    with torch.no_grad():
        y = model(torch.as_tensor(_input(net)))
    assert tuple(y.shape) == _expected(net)
    assert bool(torch.isfinite(y).all())


@pytest.mark.parametrize("inp,text", CASES, ids=[c[1].split("(")[0] + f"-{i}"
                                                 for i, c in enumerate(CASES)])
def test_jax_layer_shapes(inp, text):
    import jax

    net = _net(inp, text)
    ns = _exec(net, "jax")
    model = ns["build_model"]()
    x = _input(net)
    y = jax.eval_shape(lambda k, x: model.init_with_output(k, x)[0], jax.random.PRNGKey(0), x)
    assert tuple(y.shape) == _expected(net)
    # and a training call, abstractly (dropout and noise draw from the "dropout" stream)
    variables = jax.eval_shape(model.init, jax.random.PRNGKey(0), x)
    y = jax.eval_shape(lambda v, x, k: model.apply(v, x, train=True, rngs={"dropout": k},
                                                   mutable=["batch_stats"])[0],
                       variables, x, jax.random.PRNGKey(1))
    assert tuple(y.shape) == _expected(net)


@pytest.mark.parametrize("inp,text", CASES, ids=[c[1].split("(")[0] + f"-{i}"
                                                 for i, c in enumerate(CASES)])
def test_keras_layer_shapes(inp, text):
    net = _net(inp, text)
    ns = _exec(net, "tensorflow")
    model = ns["build_model"]()
    assert (2,) + tuple(model.output_shape[1:]) == _expected(net)


# --- PyTorch numerics against the JAX backend ---------------------------------------------

NUMERIC = [
    ("(27, 27, 3)", "Conv2D(4, 4, strides=2, padding='same')"),
    ("(28, 28, 3)", "Conv2D(4, 3, strides=2, padding='same')"),
    ("(28, 28, 3)", "Conv2D(4, 4, padding='same')"),
    ("(50, 4)", "Conv1D(6, 5, padding='causal', dilation_rate=4)"),
    ("(9, 9, 3)", "Conv2DTranspose(4, 3, strides=2, padding='same')"),
    ("(9, 9, 3)", "Conv2DTranspose(4, 4, strides=2, padding='same')"),
    ("(9, 9, 3)", "Conv2DTranspose(4, 5, strides=2, padding='same')"),
    ("(9, 9, 3)", "Conv2DTranspose(4, 2, strides=3)"),
    ("(9, 9, 3)", "Conv2DTranspose(4, 3, strides=2)"),
    ("(9, 9, 3)", "DepthwiseConv2D(3, strides=2, depth_multiplier=2, padding='same')"),
    ("(9, 9, 3)", "MaxPooling2D(2, padding='same')"),
    ("(9, 9, 3)", "AveragePooling2D(2, padding='same')"),
    ("(10, 10, 3)", "AveragePooling2D(3, strides=1, padding='same')"),
    ("(7, 7, 7, 2)", "AveragePooling3D(2, padding='same')"),
    ("(15, 3)", "MaxPooling1D(4, strides=3, padding='same')"),
    ("(6, 5, 4)", "GlobalMaxPooling2D()"),
    ("(6, 5, 4)", "Flatten()"),
    ("(16, 8)", "Reshape((4, -1, 2))"),
]


@pytest.mark.parametrize("inp,text", NUMERIC)
def test_pytorch_padding_matches_jax(inp, text):
    import jax
    import torch

    from neural_jax.jax import build_model

    net = _net(inp, text)
    x = _input(net)
    model = build_model(net)
    # variables made with numpy from their abstract shapes: only the apply is compiled
    shapes = jax.eval_shape(model.init, jax.random.PRNGKey(0), x)
    rng = np.random.default_rng(1)
    variables = jax.tree.map(lambda s: rng.normal(size=s.shape).astype(np.float32), shapes)
    y_jax, _ = jax.jit(model.apply)(variables, x)
    ns = _exec(net, "pytorch")
    tmodel = ns["build_model"]().eval()
    params = variables["params"]
    if params:  # one convolution: Keras' (*k, in, out) kernels to torch's (out, in, *k)
        (layer,) = params.values()
        kernel = np.asarray(layer["kernel"])
        n = kernel.ndim - 2
        perm = (n + 1, n) + tuple(range(n))
        conv = next(m for m in tmodel.modules() if isinstance(m, torch.nn.modules.conv._ConvNd))
        with torch.no_grad():
            conv.weight.copy_(torch.as_tensor(kernel.transpose(perm).copy()))
            conv.bias.copy_(torch.as_tensor(np.array(layer["bias"])))
    with torch.no_grad():
        y_torch = tmodel(torch.as_tensor(x)).numpy()
    np.testing.assert_allclose(y_torch, np.asarray(y_jax), rtol=1e-4, atol=1e-5)


# --- JAX/Flax numerics against the JAX backend (layers without trained weights) ------------

PARAMETER_FREE = [
    ("(6, 5, 8)", "GroupNormalization(groups=4)"),
    ("(6, 8)", "LayerNormalization(epsilon=1e-5)"),
    ("(9, 9, 3)", "AveragePooling2D(2, padding='same')"),
    ("(15, 3)", "MaxPooling1D(4, strides=3, padding='same')"),
    ("(6, 5, 4)", "GlobalAveragePooling2D()"),
    ("(6, 4)", "Activation('gelu')"),
    ("(6, 4)", "Activation('leaky_relu')"),
    ("(6, 4)", "Activation('softmax')"),
    ("(16, 8)", "Reshape((4, -1, 2))"),
]


@pytest.mark.parametrize("inp,text", PARAMETER_FREE)
def test_jax_parameter_free_layers_match_the_jax_backend(inp, text):
    import jax

    from neural_jax.jax import build_model

    net = _net(inp, text)
    x = _input(net)
    model = build_model(net)
    expected, _ = model.apply(model.init(jax.random.PRNGKey(0), x), x)
    ns = _exec(net, "jax")
    flax_model = ns["build_model"]()
    got = flax_model.apply(flax_model.init(jax.random.PRNGKey(0), x), x)
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-5, atol=1e-5)
