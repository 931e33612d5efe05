"""Spot checks of what the layer rules compute (not only their shapes)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax
from jax_helpers import net_of, numpy_variables, sample_input

from neural_jax.jax import BackendError, build_model

KEY = jax.random.PRNGKey(0)


def _build(inp: str, layers: str, batch: int = 4, seed: int = 0):
    net = net_of(inp, layers)
    model = build_model(net)
    x = sample_input(net, batch, seed)
    return model, x, numpy_variables(model, x, seed)


def test_batchnorm_keras_momentum_rule_and_eval_uses_moving_stats():
    model, x, _ = _build("(5,)", "BatchNormalization(momentum=0.9, epsilon=0.001)", batch=8)
    v = model.init(KEY, x)
    y, state = model.apply(v, x, train=True)
    xn = np.asarray(x)
    mean, var = xn.mean(0), xn.var(0)
    np.testing.assert_allclose(y, (xn - mean) / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-5)
    stats = state["batch_stats"]["layers_0"]
    np.testing.assert_allclose(stats["moving_mean"], 0.1 * mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stats["moving_variance"], 0.9 + 0.1 * var, rtol=1e-5)
    v2 = {**v, **state}
    y_eval, same = model.apply(v2, x)
    expect = (xn - 0.1 * mean) / np.sqrt(0.9 + 0.1 * var + 1e-3)
    np.testing.assert_allclose(y_eval, expect, rtol=1e-4, atol=1e-5)
    assert jax.tree.structure(same) == jax.tree.structure(state)


def test_batchnorm_momentum_is_a_per_call_value():
    model, x, _ = _build("(3,)", "BatchNormalization(momentum=HPO(range(0.5, 0.99)))", batch=6)
    assert model.dynamic_paths == ("layers[0].momentum",)
    v = model.init(KEY, x)
    _, s_default = model.apply(v, x, train=True)
    _, s_half = model.apply(v, x, train=True, hparams={"layers[0].momentum": 0.9})
    mean = np.asarray(x).mean(0)
    # the default configuration takes the middle of the range: momentum 0.745
    np.testing.assert_allclose(s_default["batch_stats"]["layers_0"]["moving_mean"],
                               (1 - 0.745) * mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(s_half["batch_stats"]["layers_0"]["moving_mean"],
                               0.1 * mean, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layer", ["Dropout(0.5)", "GaussianNoise(0.5)"])
def test_noise_is_identity_in_eval_and_random_in_training(layer):
    model, x, v = _build("(64,)", layer)
    y_eval, _ = model.apply(v, x)
    np.testing.assert_array_equal(y_eval, x)
    y1, _ = model.apply(v, x, train=True, rng=jax.random.PRNGKey(1))
    y2, _ = model.apply(v, x, train=True, rng=jax.random.PRNGKey(2))
    assert not np.allclose(y1, x) and not np.allclose(y1, y2)
    if layer.startswith("Dropout"):
        kept = np.asarray(y1) != 0
        np.testing.assert_allclose(np.asarray(y1)[kept], 2 * np.asarray(x)[kept], rtol=1e-6)
        assert 0.3 < kept.mean() < 0.7


def test_spatial_dropout_drops_whole_channels():
    model, x, v = _build("(6, 6, 16)", "SpatialDropout2D(0.5)")
    y, _ = model.apply(v, x, train=True, rng=jax.random.PRNGKey(3))
    zero = np.all(np.asarray(y) == 0, axis=(1, 2))
    kept = np.all(np.isclose(np.asarray(y), 2 * np.asarray(x)), axis=(1, 2))
    assert np.all(zero | kept) and zero.any() and kept.any()


def test_train_without_rng_is_a_clear_error():
    model, x, v = _build("(4,)", "Dropout(0.5)")
    with pytest.raises(ValueError, match="rng"):
        model.apply(v, x, train=True)


def test_same_padding_with_stride_pads_the_end_like_keras():
    # n=6, k=3, s=2 -> 3 outputs; total padding 1, all of it at the end (TensorFlow's rule).
    model, _, v = _build("(6, 1)", "Conv1D(1, 3, strides=2, padding='same', use_bias=false)")
    v = {**v, "params": {"layers_0": {"kernel": jnp.ones((3, 1, 1))}}}
    y, _ = model.apply(v, jnp.ones((1, 6, 1)))
    np.testing.assert_allclose(np.asarray(y)[0, :, 0], [3, 3, 2])
    model, _, _ = _build("(5, 1)", "AveragePooling1D(2, padding='same')")
    y, _ = model.apply({}, jnp.arange(5.0).reshape(1, 5, 1))
    np.testing.assert_allclose(np.asarray(y)[0, :, 0], [0.5, 2.5, 4.0])  # pads not averaged
    model, _, _ = _build("(5, 1)", "MaxPooling1D(2, padding='same')")
    y, _ = model.apply({}, -jnp.arange(5.0).reshape(1, 5, 1))
    np.testing.assert_allclose(np.asarray(y)[0, :, 0], [0, -2, -4])


def test_causal_conv_sees_only_the_past():
    model, x, v = _build("(10, 2)", "Conv1D(3, 3, padding='causal', dilation_rate=2)")
    y1, _ = model.apply(v, x)
    y2, _ = model.apply(v, x.at[:, 6:].set(5.0))
    np.testing.assert_allclose(y1[:, :6], y2[:, :6], rtol=1e-6)
    assert not np.allclose(y1[:, 6:], y2[:, 6:])


@pytest.mark.parametrize("padding,k,size", [("valid", 3, 15), ("same", 3, 14), ("same", 4, 14)])
def test_conv2d_transpose_is_the_adjoint_of_the_strided_conv(padding, k, size):
    """Keras' Conv2DTranspose is the gradient of Conv2D: <T(x), y> == <x, C(y)>."""
    model, x, v = _build("(7, 7, 3)", f"Conv2DTranspose(5, {k}, strides=2, padding='{padding}', "
                         "use_bias=false)", batch=1)
    tx, _ = model.apply(v, x)
    assert tx.shape == (1, size, size, 5)
    y = jax.random.normal(KEY, tx.shape)
    kernel = v["params"]["layers_0"]["kernel"]  # (kh, kw, filters, in): a conv filters -> in
    cy = lax.conv_general_dilated(y, kernel, (2, 2), padding.upper(),
                                  dimension_numbers=("NHWC", "HWIO", "NHWC"))
    assert cy.shape == x.shape
    np.testing.assert_allclose(jnp.vdot(tx, y), jnp.vdot(x, cy), rtol=1e-4)


def test_bidirectional_concat_doubles_features_and_merges_agree():
    model, x, v = _build("(7, 3)", "Bidirectional(LSTM(4, return_sequences=true))")
    y, _ = model.apply(v, x)
    assert y.shape == (4, 7, 8)
    ave, _, _ = _build("(7, 3)", "Bidirectional(LSTM(4, return_sequences=true), merge_mode='ave')")
    y_ave, _ = ave.apply(v, x)
    np.testing.assert_allclose(y_ave, (y[..., :4] + y[..., 4:]) / 2, rtol=1e-5, atol=1e-6)
    # The backward half at step t has read the sequence from the end down to t.
    y_cut, _ = model.apply(v, x.at[:, :3].set(0.0))
    np.testing.assert_allclose(y[:, 3:, 4:], y_cut[:, 3:, 4:], rtol=1e-5, atol=1e-6)


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def test_simple_rnn_and_lstm_follow_keras_equations():
    model, x, v = _build("(2, 3)", "SimpleRNN(4)")
    p = {k: np.asarray(a) for k, a in v["params"]["layers_0"].items()}
    xn = np.asarray(x)
    h = np.tanh(xn[:, 0] @ p["kernel"] + p["bias"])
    h = np.tanh(xn[:, 1] @ p["kernel"] + p["bias"] + h @ p["recurrent_kernel"])
    np.testing.assert_allclose(model.apply(v, x)[0], h, rtol=1e-4, atol=1e-5)
    model, x, v = _build("(1, 3)", "LSTM(2)")
    p = {k: np.asarray(a) for k, a in v["params"]["layers_0"].items()}
    z = np.asarray(x)[:, 0] @ p["kernel"] + p["bias"]
    i, _, c, o = np.split(z, 4, axis=-1)
    h = _sigmoid(o) * np.tanh(_sigmoid(i) * np.tanh(c))
    np.testing.assert_allclose(model.apply(v, x)[0], h, rtol=1e-4, atol=1e-5)


def test_residual_projection_and_identity_paths():
    model, x, v = _build("(5, 5, 8)", "ResidualConnection() { Conv2D(16, 3, strides=2, "
                         "padding='same') }")
    params = v["params"]["layers_0"]
    assert params["projection_kernel"].shape == (1, 1, 8, 16)
    zero_block = jax.tree.map(jnp.zeros_like, params["block"])
    v = {**v, "params": {"layers_0": {**params, "block": zero_block}}}
    y, _ = model.apply(v, x)
    expect = np.asarray(x)[:, ::2, ::2, :] @ params["projection_kernel"][0, 0] \
        + params["projection_bias"]
    np.testing.assert_allclose(y, expect, rtol=1e-4, atol=1e-5)
    model, x, v = _build("(6,)", "ResidualConnection() { Dense(6) }")
    assert "projection_kernel" not in v["params"]["layers_0"]
    v = jax.tree.map(jnp.zeros_like, v)
    np.testing.assert_allclose(model.apply(v, x)[0], x)


def test_output_returns_logits_and_names_its_activation():
    model, x, v = _build("(4,)", "Output(3, activation='softmax')")
    assert model.final_activation == "softmax"
    y, _ = model.apply(v, x)
    p = v["params"]["layers_0"]
    np.testing.assert_allclose(y, np.asarray(x) @ p["kernel"] + p["bias"], rtol=1e-5)
    model, _, _ = _build("(4,)", "Output(1, activation='relu')")
    assert model.final_activation is None


def test_activation_choice_matches_the_fixed_activation():
    model, x, v = _build("(5,)", "Dense(4, activation=HPO(choice('relu', 'leaky_relu', 'gelu')))")
    for i, name in enumerate(("relu", "leaky_relu", "gelu")):
        fixed, _, _ = _build("(5,)", f"Dense(4, activation='{name}')")
        want, _ = fixed.apply(v, x)
        by_index, _ = model.apply(v, x, hparams={"layers[0].activation": i})
        by_name, _ = model.apply(v, x, hparams=model.hparams({"layers[0].activation": name}))
        np.testing.assert_allclose(by_index, want, rtol=1e-6)
        np.testing.assert_allclose(by_name, want, rtol=1e-6)


def test_unexpressible_values_raise_backend_errors():
    net = net_of("(4,)", "Output(3, activation=HPO(choice('softmax', 'relu')))")
    with pytest.raises(BackendError, match="Output at layers\\[0\\].*backend: jax"):
        build_model(net)
    model, _, v = _build("(4,)", "Dense(2)")
    with pytest.raises(BackendError, match="takes inputs of shape"):
        model.apply(v, jnp.ones((2, 5)))


def test_layer_choice_and_config_pick_the_structure():
    net = net_of("(6,)", "HPO(choice(Dense(HPO(choice(4, 8))), Dropout(0.3)))\n Output(2)")
    dense = build_model(net, {"layers[0]": 0, "layers[0].choice[0].units": 8})
    x = jnp.ones((2, 6))
    assert dense.init(KEY, x)["params"]["layers_0"]["kernel"].shape == (6, 8)
    drop = build_model(net, {"layers[0]": 1})
    assert "layers_0" not in drop.init(KEY, x)["params"]


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.3, 0.77, 0.95])
def test_dropout_keeps_one_minus_rate_and_stays_unbiased(rate):
    """Dropout draws 16-bit integers: the keep probability is rounded to 2**-16 and the
    kept values are scaled by exactly its inverse."""
    from neural_jax.jax.ops import dropout

    x = jnp.ones((400, 500))
    y = np.asarray(dropout(x, rate, jax.random.PRNGKey(7)))
    threshold = min(max(round((1 - rate) * 65536), 1), 65536)
    kept = y != 0
    np.testing.assert_allclose(y[kept], 65536 / threshold, rtol=1e-6)
    p = threshold / 65536
    assert abs(p - (1 - rate)) <= 2 ** -17
    sigma = np.sqrt(p * (1 - p) / x.size)
    assert abs(kept.mean() - p) <= 4 * sigma + 1e-12
    assert abs(y.mean() - 1.0) <= 4 * sigma / p + 1e-12  # unbiased


def test_dropout_masks_are_independent_across_draws_and_extend_as_prefixes():
    from neural_jax.jax.ops import dropout

    key = jax.random.PRNGKey(3)
    long = np.asarray(dropout(jnp.ones(1001), 0.5, key)) != 0
    short = np.asarray(dropout(jnp.ones(400), 0.5, key)) != 0
    np.testing.assert_array_equal(long[:400], short)  # what width padding relies on
    # neighbours come from the two halves of one 32-bit word: they must not be correlated
    a, b = long[:-1:2].astype(float), long[1::2].astype(float)
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.15
    other = np.asarray(dropout(jnp.ones(1001), 0.5, jax.random.PRNGKey(4))) != 0
    assert 0.4 < (long == other).mean() < 0.6
