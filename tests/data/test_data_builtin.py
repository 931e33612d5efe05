"""digits and synthetic: shapes, scaling, determinism and learnable structure."""

from __future__ import annotations

import numpy as np
import pytest

from neural_jax import data
from neural_jax.data import DatasetError


@pytest.fixture(scope="module")
def digits() -> data.Dataset:
    return data.load("digits")


def test_digits_shapes_classes_and_scaling(digits) -> None:
    assert digits.input_shape == (8, 8, 1)
    assert digits.x_train.shape == (1438, 8, 8, 1)
    assert digits.x_test.shape == (359, 8, 8, 1)
    assert digits.num_classes == 10
    assert digits.x_train.dtype == np.float32
    assert digits.x_train.min() == 0.0 and digits.x_train.max() == 1.0
    assert set(np.unique(digits.y_train)) == set(range(10))


def test_digits_split_is_fixed_and_stratified(digits) -> None:
    again = data.digits()
    np.testing.assert_array_equal(again.x_train, digits.x_train)
    np.testing.assert_array_equal(again.y_test, digits.y_test)
    train_share = np.bincount(digits.y_train) / len(digits.y_train)
    test_share = np.bincount(digits.y_test) / len(digits.y_test)
    assert np.abs(train_share - test_share).max() < 0.01


def test_digits_flat() -> None:
    flat = data.digits(flatten=True)
    assert flat.x_train.shape == (1438, 64) and flat.input_shape == (64,)


@pytest.mark.parametrize("shape", [(16,), (8, 8, 1), (28, 28, 1), (10, 6), (4, 4, 4, 2)])
def test_synthetic_any_input_shape(shape) -> None:
    ds = data.synthetic(shape, num_classes=5, n_train=40, n_test=10)
    assert ds.x_train.shape == (40, *shape) and ds.x_test.shape == (10, *shape)
    assert ds.input_shape == shape and ds.num_classes == 5
    assert ds.x_train.dtype == np.float32
    assert np.bincount(ds.y_train, minlength=5).min() >= 7  # balanced classes


def test_synthetic_is_deterministic_by_seed() -> None:
    a = data.synthetic((6,), n_train=20, n_test=5, seed=3)
    b = data.synthetic((6,), n_train=20, n_test=5, seed=3)
    c = data.synthetic((6,), n_train=20, n_test=5, seed=4)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train, c.x_train)


def test_synthetic_classification_is_learnable() -> None:
    from sklearn.linear_model import LogisticRegression

    ds = data.synthetic((8, 8, 1), num_classes=10, n_train=500, n_test=300, seed=1)
    model = LogisticRegression(max_iter=500).fit(ds.x_train.reshape(500, -1), ds.y_train)
    assert model.score(ds.x_test.reshape(300, -1), ds.y_test) > 0.8  # chance is 0.1


def test_synthetic_tokens_are_learnable() -> None:
    from sklearn.linear_model import LogisticRegression

    ds = data.synthetic((20,), num_classes=3, vocab_size=30, n_train=800, n_test=400, seed=0)
    assert ds.x_train.dtype == np.int32 and ds.vocab_size == 30
    assert ds.x_train.min() >= 0 and ds.x_train.max() < 30

    def counts(x: np.ndarray) -> np.ndarray:
        return np.stack([np.bincount(row, minlength=30) for row in x])

    model = LogisticRegression(max_iter=1000).fit(counts(ds.x_train), ds.y_train)
    assert model.score(counts(ds.x_test), ds.y_test) > 0.7  # chance is about 1/3


def test_synthetic_regression_follows_a_linear_teacher() -> None:
    from sklearn.linear_model import LinearRegression

    ds = data.synthetic((12,), task="regression", n_train=300, n_test=100)
    assert ds.num_classes is None and ds.task == "regression"
    assert ds.y_train.shape == (300,) and ds.y_train.dtype == np.float32
    model = LinearRegression().fit(ds.x_train, ds.y_train)
    assert model.score(ds.x_test, ds.y_test) > 0.9
    wide = data.synthetic((12,), task="regression", output_dim=3, n_train=30, n_test=10)
    assert wide.y_train.shape == (30, 3)


@pytest.mark.parametrize(
    "kwargs",
    [{"input_shape": (0, 3)}, {"n_train": 0}, {"task": "ranking"}, {"num_classes": 1},
     {"vocab_size": 1}],
)
def test_synthetic_rejects_bad_options(kwargs) -> None:
    with pytest.raises(DatasetError, match="synthetic"):
        data.synthetic(**kwargs)
