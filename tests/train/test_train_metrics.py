"""Metrics: values by hand, batch accumulation, population vmap, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from neural_jax.train import (
    METRICS,
    TrainConfigError,
    get_loss,
    get_metric,
    mean_from_stats,
)

Z = np.array([[3.0, 1.0, 0.0, -1.0],
              [0.0, 2.0, 5.0, 1.0],
              [1.0, 1.5, 0.5, 2.0]], np.float32)
LABELS = np.array([0, 1, 0])  # ranks of the true class: 0, 1, 2


def test_registry_covers_the_spec():
    assert set(METRICS) == {"accuracy", "top_k_accuracy", "loss", "mae", "mse"}


def test_sparse_and_categorical_accuracy():
    acc = get_metric("accuracy")
    np.testing.assert_array_equal(acc(Z, LABELS), [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(acc(Z, np.eye(4)[LABELS]), [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(acc(Z, LABELS[:, None]), [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(
        get_metric("sparse_categorical_accuracy")(Z, LABELS), [1.0, 0.0, 0.0])


def test_binary_accuracy_on_logits_and_probabilities():
    logits = np.array([[2.0], [-1.0], [0.3], [-0.2]], np.float32)
    y = np.array([1.0, 1.0, 0.0, 0.0], np.float32)
    want = [1.0, 0.0, 0.0, 1.0]
    on_logits = get_metric("accuracy", final_activation="sigmoid")
    np.testing.assert_array_equal(on_logits(logits, y), want)
    np.testing.assert_array_equal(get_metric("accuracy")(jax.nn.sigmoid(logits), y), want)
    bce = get_loss("binary_crossentropy", final_activation="sigmoid")
    np.testing.assert_array_equal(get_metric("accuracy", loss=bce)(logits, y), want)
    # Multi-label outputs: Keras picks binary accuracy from the loss name.
    multi = np.array([[0.9, 0.2], [0.4, 0.7]], np.float32)
    np.testing.assert_allclose(
        get_metric("accuracy", loss="binary_crossentropy")(multi, np.array([[1, 1], [0, 1]])),
        [0.5, 1.0])


@pytest.mark.parametrize("k,want", [(1, [1, 0, 0]), (2, [1, 1, 0]), (3, [1, 1, 1]),
                                    (5, [1, 1, 1])])
def test_top_k_accuracy(k, want):
    metric = get_metric("top_k_accuracy", k=k)
    np.testing.assert_array_equal(metric(Z, LABELS), want)
    np.testing.assert_array_equal(metric(Z, np.eye(4)[LABELS]), want)


def test_top_k_default_is_five():
    assert get_metric("top_k_accuracy").params["k"] == 5


def test_loss_metric_is_the_per_example_loss():
    loss = get_loss("sparse_categorical_crossentropy", final_activation="softmax")
    metric = get_metric("loss", loss=loss)
    np.testing.assert_allclose(metric(Z, LABELS), loss(Z, LABELS))


def test_batch_stats_average_over_uneven_batches_and_masks():
    acc = get_metric("accuracy")
    first = acc.batch_stats(Z[:2], LABELS[:2])
    # A padded second batch: the last row is padding and must not count.
    padded_z = np.concatenate([Z[2:], Z[:1]])
    second = acc.batch_stats(padded_z, np.array([2, 0]), mask=np.array([1, 0]))
    total = jax.tree.map(lambda a, b: a + b, first, second)
    assert float(mean_from_stats(total)) == pytest.approx(1 / 3)
    assert float(mean_from_stats((0.0, 0.0))) == 0.0


def test_metrics_vmap_over_a_population():
    population = jnp.stack([jnp.asarray(Z), -jnp.asarray(Z)])
    acc = get_metric("accuracy")
    stats = jax.jit(jax.vmap(lambda z: acc.batch_stats(z, LABELS)))(population)
    np.testing.assert_allclose(jax.vmap(mean_from_stats)(stats), [1 / 3, 0.0])


@pytest.mark.parametrize("call,match", [
    (lambda: get_metric("acuracy"), "Did you mean 'accuracy'"),
    (lambda: get_metric("top_k_accuracy", k=0), "k must be"),
    (lambda: get_metric("top_k_accuracy", kk=3), "Did you mean 'k'"),
    (lambda: get_metric("loss"), "needs the configured loss"),
    (lambda: get_metric("accuracy", kind="multi"), "kind must be"),
    (lambda: get_metric("accuracy", threshold=2.0), "threshold"),
])
def test_bad_metric_config_is_a_typed_error(call, match):
    with pytest.raises(TrainConfigError, match=match):
        call()


def test_regression_metrics_on_outputs_and_after_sigmoid():
    z = jnp.array([[1.0], [2.0]])
    assert get_metric("mae")(z, jnp.array([0.0, 4.0])).tolist() == [1.0, 2.0]
    assert get_metric("mean_squared_error")(z, jnp.array([[0.0], [4.0]])).tolist() == [1.0, 4.0]
    p = get_metric("mse", final_activation="sigmoid")(jnp.zeros((2, 1)), jnp.array([1.0, 0.0]))
    assert p.tolist() == [0.25, 0.25]
    with pytest.raises(TrainConfigError, match="k"):
        get_metric("mae", k=3)
