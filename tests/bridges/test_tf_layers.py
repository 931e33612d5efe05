"""Conformance of the TensorFlow bridge: every layer computes what its Flax rule computes.

For every layer and every input rank the checker accepts (``tests/layer_samples.py``), and
for variants with strides, dilation, padding and wrappers: JAX variables copied into the
Keras model give the same evaluation-mode outputs (within ``TOL`` of the output scale),
``to_jax_variables`` gives the variables back bit for bit, a training-mode call has the
JAX training output's shape, and (once per layer and rank) a few SGD steps lower a loss.
"""

from __future__ import annotations

import sys

import jax
import pytest
from layer_samples import sample_call, sample_inputs
from tf_helpers import assert_close, assert_same_tree, jax_reference, legal, net_of

tf = pytest.importorskip("tensorflow")

import bridges.tensorflow as btf
from bridges.errors import BackendError
from neural_jax.ir import LAYERS


def _cases():
    out = []
    for name in sorted(LAYERS):
        text = sample_call(name)
        for inp in sample_inputs(name):
            if legal(inp, text):
                out.append(pytest.param(inp, text, id=f"{name}-{inp}"))
    return out


CASES = _cases()

VARIANTS = [
    ("(12, 12, 1)", "Conv2D(4, 3, strides=2, padding='same')"),
    ("(11, 11, 1)", "Conv2D(4, 4, strides=2, padding='same')"),
    ("(12, 12, 1)", "Conv2D(4, (3, 5), strides=(1, 2), activation='elu')"),
    ("(12, 12, 1)", "Conv2D(4, 3, dilation_rate=2, padding='same', use_bias=false)"),
    ("(13, 13, 2)", "Conv2D(4, 3, strides=2, dilation_rate=2, padding='same')"),
    ("(13, 13, 2)", "Conv2D(4, 3, strides=(2, 3), dilation_rate=(2, 1))"),
    ("(30, 4)", "Conv1D(6, 5, padding='causal', dilation_rate=4)"),
    ("(30, 4)", "Conv1D(6, 3, padding='causal', strides=2, dilation_rate=2)"),
    ("(30, 4)", "Conv1D(6, 5, strides=3, activation='selu')"),
    ("(6, 9, 9, 1)", "Conv3D(4, 3, padding='same', strides=2)"),
    ("(7, 7, 3)", "Conv2DTranspose(5, 3, strides=2)"),
    ("(7, 7, 3)", "Conv2DTranspose(5, 3, strides=2, padding='same')"),
    ("(7, 7, 3)", "Conv2DTranspose(5, 2, strides=3)"),
    ("(7, 7, 3)", "Conv2DTranspose(5, 4, strides=2, padding='same')"),
    ("(7, 7, 3)", "Conv2DTranspose(5, 3, dilation_rate=2)"),
    ("(7, 7, 3)", "Conv2DTranspose(5, 3, strides=2, dilation_rate=2)"),
    ("(7, 7, 3)", "Conv2DTranspose(5, 3, strides=(2, 3), dilation_rate=2, padding='same')"),
    ("(9, 9, 3)", "DepthwiseConv2D(3, depth_multiplier=2, strides=2, padding='same')"),
    ("(9, 9, 3)", "DepthwiseConv2D(3, depth_multiplier=2, strides=2, dilation_rate=2)"),
    ("(9, 9, 3)", "SeparableConv2D(10, 3, padding='same', dilation_rate=2)"),
    ("(9, 9, 3)", "SeparableConv2D(10, 3, strides=2, use_bias=false)"),
    ("(11, 11, 3)", "SeparableConv2D(4, 3, strides=2, dilation_rate=2, padding='same')"),
    ("(15, 15, 2)", "MaxPooling2D(2, padding='same')"),
    ("(15, 15, 2)", "AveragePooling2D(3, strides=2, padding='same')"),
    ("(30, 8)", "MaxPooling1D(4, strides=3, padding='same')"),
    ("(30, 8)", "AveragePooling1D(3, padding='same')"),
    ("(5, 8, 8, 2)", "AveragePooling3D(2, padding='same')"),
    ("(5, 8, 8, 2)", "MaxPooling3D((1, 2, 2))"),
    ("(12,)", "Reshape((3, -1)) Activation('softplus')"),
    ("(10, 12)", "Dense(5, activation='swish', use_bias=false)"),
    ("(12,)", "Dense(6, activation='silu') Dense(6, activation='sigmoid') "
              "Dense(4, activation='softmax')"),
    ("(12,)", "Dense(6, activation='tanh') Dense(6, activation='linear') "
              "Dense(6, activation='relu')"),
    ("(6, 3)", "GRU(8, return_sequences=true)"),
    ("(6, 3)", "GRU(8, activation='relu')"),
    ("(6, 3)", "SimpleRNN(8, return_sequences=true)"),
    ("(6, 3)", "LSTM(8, return_sequences=true, dropout=0.2, recurrent_dropout=0.2)"),
    ("(6, 3)", "LSTM(8, activation='gelu')"),
    ("(6, 3)", "Bidirectional(SimpleRNN(8, return_sequences=true))"),
    ("(6, 3)", "Bidirectional(GRU(8), merge_mode='sum')"),
    ("(6, 3)", "Bidirectional(LSTM(8), merge_mode='mul')"),
    ("(6, 3)", "Bidirectional(LSTM(8, return_sequences=true), merge_mode='ave')"),
    ("(4, 8, 8, 3)", "TimeDistributed(Conv2D(4, 3))"),
    ("(5, 6)", "TimeDistributed(BatchNormalization()) TimeDistributed(Dense(3))"),
    ("(10, 12)", "MultiHeadAttention(3, 5, dropout=0.1)"),
    ("(10, 12)", "TransformerEncoder(5, 16)"),
    ("(10, 12)", "TransformerEncoder(2, 16, activation='gelu') "
                 "{ Dense(32, activation='gelu') Dense(12) }"),
    ("(10, 12)", "PositionalEmbedding(10) LayerNormalization(epsilon=1e-5)"),
    ("(4, 4, 8)", "ResidualConnection() { Conv2D(16, 3, strides=2, padding='same') }"),
    ("(5, 5, 8)", "ResidualConnection() "
                  "{ Conv2D(16, 3, strides=2, padding='same') BatchNormalization() }"),
    ("(6, 6, 8)", "ResidualConnection() { Conv2D(8, 3, padding='same') }"),
    ("(6,)", "ResidualConnection() { Dense(3) }"),
    ("(10, 4)", "ResidualConnection() { Conv1D(6, 3, strides=2, padding='same') }"),
    ("(6,)", "ResidualConnection() { ResidualConnection() { Dense(6) } Dense(4) }"),
    ("(8, 8, 8)", "GroupNormalization(2, epsilon=1e-5)"),
    ("(6, 5)", "BatchNormalization(momentum=0.9, epsilon=1e-5)"),
    ("(6,)", "Dense(4) Output(1, activation='sigmoid')"),
    ("(6, 5)", "GaussianNoise(0.3) SpatialDropout1D(0.5) Flatten() Dropout(0.5)"),
]


def _check(inp: str, text: str, sgd: bool = True) -> None:
    net = net_of(inp, text)
    jmodel, x, variables, y_jax = jax_reference(net)
    model = btf.build_model(net)
    assert model.final_activation == jmodel.final_activation
    btf.load_jax_variables(model, variables)
    assert_close(model(x, training=False).numpy(), y_jax)
    assert_same_tree(btf.to_jax_variables(model), variables)
    # training mode: the JAX training output's shape; without randomness, its values and
    # (BatchNormalization) the updated moving statistics
    y_train = model(x, training=True)
    if "BatchNormalization" in text and not jmodel.stochastic:
        want, state = jax.jit(lambda v, x: jmodel.apply(v, x, train=True))(variables, x)
        assert_close(y_train.numpy(), want)
        for got, ref in zip(jax.tree.leaves(btf.to_jax_variables(model)["batch_stats"]),
                            jax.tree.leaves(state["batch_stats"])):
            assert_close(got, ref)
    else:
        want = jax.eval_shape(lambda v, x: jmodel.apply(v, x, train=True,
                                                        rng=jax.random.PRNGKey(0))[0],
                              variables, x)
    assert tuple(y_train.shape) == tuple(want.shape)
    if sgd:
        _sgd_lowers_the_loss(model, x)


def _sgd_lowers_the_loss(model, x) -> None:
    """Three SGD steps on mean((y - 0.5)^2) in training mode lower it (layers with weights).

    The random seeds of dropout and noise are reset before every call, so every step sees
    the same masks and the objective is one fixed function.
    """
    variables = model.trainable_variables
    if not variables:
        return
    weights = {id(v) for v in model.weights}
    seeds = [v for v in model.variables if id(v) not in weights]
    start = [v.numpy() for v in seeds]

    def loss():
        for v, value in zip(seeds, start):
            v.assign(value)
        y = tf.cast(model(x, training=True), tf.float32)
        return tf.reduce_mean(tf.square(y - 0.5))

    before = float(loss())
    for _ in range(3):
        with tf.GradientTape() as tape:
            value = loss()
        grads = tape.gradient(value, variables)
        for v, g in zip(variables, grads):
            if g is not None:
                v.assign_sub(0.05 * tf.convert_to_tensor(g))
    after = float(loss())
    assert after < before, (before, after)


def test_every_registry_layer_has_a_rule():
    assert set(btf.RULES) == set(LAYERS)


def test_every_layer_has_a_legal_sample():
    names = {p.id.split("-")[0] for p in CASES}
    assert names == set(LAYERS)


@pytest.mark.parametrize("inp,text", CASES)
def test_every_layer_matches_jax(inp, text):
    _check(inp, text)


@pytest.mark.parametrize("inp,text", VARIANTS)
def test_variants_match_jax(inp, text):
    # the SGD check ran for every layer kind above; here the numbers matter
    _check(inp, text, sgd=False)


def test_unsupported_names_layer_path_and_backend():
    # The stride of a projection shortcut over an unknown length is known to JAX only when
    # it runs; a Keras model needs it when it is built.
    net = net_of("(None, None, 4)", "Dense(4) ResidualConnection() { "
                 "Conv1D(6, 3, strides=2, padding='same') }")
    with pytest.raises(BackendError) as e:
        btf.build_model(net)
    assert "ResidualConnection at layers[1]" in str(e.value)
    assert "backend: tensorflow" in str(e.value)


def test_keras_must_run_on_tensorflow(monkeypatch):
    import keras

    from bridges.tensorflow import _keras

    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(BackendError, match="KERAS_BACKEND=tensorflow"):
        _keras.load()
    # before keras is imported, another KERAS_BACKEND is refused rather than overridden
    monkeypatch.delitem(sys.modules, "keras")
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    with pytest.raises(BackendError, match="KERAS_BACKEND is 'jax'"):
        _keras.load()
