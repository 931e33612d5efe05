"""Loss conformance: numpy references, logits vs probabilities, extreme logits."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from neural_jax.train import LOSSES, TrainConfigError, get_loss, takes_logits

rng = np.random.default_rng(0)
Z = rng.normal(size=(6, 5)).astype(np.float32) * 3
LABELS = np.array([0, 4, 2, 1, 3, 3])
ONE_HOT = np.eye(5, dtype=np.float32)[LABELS]
ZB = rng.normal(size=(6, 3)).astype(np.float32) * 3
YB = (rng.uniform(size=(6, 3)) > 0.5).astype(np.float32)
REG_Y = rng.normal(size=(6, 3)).astype(np.float32)


def np_softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def np_sigmoid(z):
    return 1 / (1 + np.exp(-z))


def np_huber(r, d):
    a = np.abs(r)
    return np.where(a <= d, 0.5 * a**2, d * a - 0.5 * d**2)


# name -> (params, outputs, targets, numpy per-example reference on those outputs)
CASES = {
    "sparse_categorical_crossentropy": (
        {}, Z, LABELS, lambda z, y: -np.log(np_softmax(z)[np.arange(6), y])),
    "categorical_crossentropy": (
        {}, Z, ONE_HOT, lambda z, y: -(y * np.log(np_softmax(z))).sum(-1)),
    "binary_crossentropy": (
        {}, ZB, YB, lambda z, y: -(y * np.log(np_sigmoid(z))
                                   + (1 - y) * np.log(1 - np_sigmoid(z))).mean(-1)),
    "mse": ({}, ZB, REG_Y, lambda z, y: ((z - y) ** 2).mean(-1)),
    "mae": ({}, ZB, REG_Y, lambda z, y: np.abs(z - y).mean(-1)),
    "huber": ({"delta": 0.7}, ZB, REG_Y, lambda z, y: np_huber(z - y, 0.7).mean(-1)),
}
ACTIVATION = {"sparse_categorical_crossentropy": "softmax",
              "categorical_crossentropy": "softmax", "binary_crossentropy": "sigmoid"}


def test_every_loss_has_a_case():
    assert set(CASES) == set(LOSSES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_matches_numpy(name):
    params, z, y, reference = CASES[name]
    activation = ACTIVATION.get(name)
    if activation is None:
        loss = get_loss(name, **params)
        want = reference(z, y)
    else:
        loss = get_loss(name, final_activation=activation, **params)
        want = reference(z, y)  # the references apply the activation themselves
    got = jax.jit(loss.__call__)(z, y)
    assert got.shape == (6,)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(ACTIVATION))
def test_logits_and_probabilities_agree(name):
    _, z, y, _ = CASES[name]
    activation = ACTIVATION[name]
    probs = np_softmax(z) if activation == "softmax" else np_sigmoid(z)
    from_activation = get_loss(name, final_activation=activation)(z, y)
    from_logits = get_loss(name, from_logits=True)(z, y) if activation == "softmax" or \
        name == "binary_crossentropy" else None
    from_probs = get_loss(name)(probs, y)
    np.testing.assert_allclose(from_activation, from_probs, rtol=1e-4)
    np.testing.assert_allclose(from_activation, from_logits, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("activation", ["softmax", "sigmoid", None])
def test_extreme_logits_give_no_nan(name, activation):
    _, _, y, _ = CASES[name]
    if name == "sparse_categorical_crossentropy" or name == "categorical_crossentropy":
        z = np.zeros((6, 5), np.float32)
    else:
        z = np.zeros((6, 3), np.float32)
    # Without a final activation, regression outputs are values, not logits: 1e30
    # squared overflows float32 in any implementation, so use a large finite scale.
    big = 1e15 if (activation is None and name not in ACTIVATION) else 1e30
    z[:, 0], z[:, 1] = big, -big
    z[::2] *= -1
    kwargs = {"from_logits": True} if (activation is None and name in ACTIVATION) else {}
    loss = get_loss(name, final_activation=activation, **kwargs)
    per_example, grad = jax.jit(jax.value_and_grad(
        lambda z: (jnp.mean(loss(z, y)), loss(z, y)), has_aux=True))(jnp.asarray(z))
    (value, per_example) = per_example
    assert np.all(np.isfinite(np.asarray(per_example)))
    assert np.isfinite(float(value))
    assert np.all(np.isfinite(np.asarray(grad)))


def test_probability_inputs_at_zero_and_one_are_clipped():
    p = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], np.float32)
    wrong = np.array([1, 0])
    out = get_loss("sparse_categorical_crossentropy")(p, wrong)
    np.testing.assert_allclose(out, -np.log(1e-7), rtol=1e-4)
    out = get_loss("binary_crossentropy")(p, 1 - p)
    assert np.all(np.isfinite(np.asarray(out)))


def test_label_smoothing():
    loss = get_loss("categorical_crossentropy", final_activation="softmax",
                    label_smoothing=0.1)
    smoothed = ONE_HOT * 0.9 + 0.1 / 5
    np.testing.assert_allclose(loss(Z, ONE_HOT),
                               -(smoothed * np.log(np_softmax(Z))).sum(-1), rtol=1e-5)
    loss = get_loss("binary_crossentropy", final_activation="sigmoid", label_smoothing=0.2)
    ys = YB * 0.8 + 0.1
    want = -(ys * np.log(np_sigmoid(ZB)) + (1 - ys) * np.log(1 - np_sigmoid(ZB))).mean(-1)
    np.testing.assert_allclose(loss(ZB, YB), want, rtol=1e-5)


def test_regression_losses_apply_the_final_activation():
    loss = get_loss("mse", final_activation="sigmoid")
    np.testing.assert_allclose(loss(ZB, YB), ((np_sigmoid(ZB) - YB) ** 2).mean(-1),
                               rtol=1e-5)


def test_shapes_rank_one_and_trailing_label_axis():
    z = np.array([0.5, -1.0, 2.0], np.float32)
    y = np.array([1.0, 0.0, 1.0], np.float32)
    assert get_loss("mse")(z, y).shape == (3,)
    bce = get_loss("binary_crossentropy", final_activation="sigmoid")
    np.testing.assert_allclose(bce(z[:, None], y), bce(z, y), rtol=1e-6)
    sce = get_loss("sparse_categorical_crossentropy", final_activation="softmax")
    np.testing.assert_allclose(sce(Z, LABELS[:, None]), sce(Z, LABELS))
    seq = np.stack([Z, Z], axis=1)  # (B, T, C)
    np.testing.assert_allclose(sce(seq, np.stack([LABELS, LABELS], 1)), sce(Z, LABELS),
                               rtol=1e-6)


def test_loss_params_vmap_over_members():
    loss = get_loss("huber")
    deltas = jnp.array([0.1, 0.5, 1.0, 2.0])
    out = jax.jit(jax.vmap(lambda d: loss(ZB, REG_Y, params={"delta": d})))(deltas)
    for i, d in enumerate([0.1, 0.5, 1.0, 2.0]):
        np.testing.assert_allclose(out[i], np_huber(ZB - REG_Y, d).mean(-1), rtol=1e-5)


def test_takes_logits():
    assert takes_logits("softmax") and takes_logits("Sigmoid")
    assert not takes_logits("relu") and not takes_logits(None)


@pytest.mark.parametrize("call,match", [
    (lambda: get_loss("sparse_categorical_crossentropi"), "Did you mean"),
    (lambda: get_loss("huber", delt=1.0), "Did you mean 'delta'"),
    (lambda: get_loss("huber", delta=0.0), "delta"),
    (lambda: get_loss("categorical_crossentropy", label_smoothing=1.5), "label_smoothing"),
    (lambda: get_loss("categorical_crossentropy", from_logits=True,
                      final_activation="softmax"), "contradicts"),
    (lambda: get_loss("mse", from_logits=True), "no from_logits"),
    (lambda: get_loss("mse", final_activation=3), "activation name"),
])
def test_bad_loss_config_is_a_typed_error(call, match):
    with pytest.raises(TrainConfigError, match=match):
        call()


def test_loss_aliases_and_case():
    assert get_loss("Mean_Squared_Error").name == "mse"
    assert get_loss("MAE").name == "mae"
