"""User arrays and .npz files, validation splits, and fitting samples to a network input."""

from __future__ import annotations

import numpy as np
import pytest

from neural_jax import data
from neural_jax.data import DatasetError, fit_to_input

RNG = np.random.default_rng(0)


# --- from_arrays / npz -------------------------------------------------------------------


def test_from_arrays_with_test_split_given() -> None:
    x, y = RNG.random((20, 5)), np.arange(20) % 4
    ds = data.from_arrays(x, y, x[:6], y[:6], name="mine")
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert ds.num_classes == 4 and ds.input_shape == (5,) and ds.name == "mine"
    assert len(ds.x_test) == 6


def test_from_arrays_holds_out_a_stratified_test_split() -> None:
    x, y = RNG.random((100, 3)), np.repeat(np.arange(4), 25)
    ds = data.from_arrays(x, y, test_fraction=0.2, seed=1)
    assert len(ds.x_train) == 80 and len(ds.x_test) == 20
    assert np.bincount(ds.y_test).tolist() == [5, 5, 5, 5]


def test_from_arrays_regression_inferred_from_float_targets() -> None:
    ds = data.from_arrays(RNG.random((10, 2)), RNG.random(10), RNG.random((4, 2)), RNG.random(4))
    assert ds.task == "regression" and ds.num_classes is None
    assert ds.y_train.dtype == np.float32


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"x": np.zeros((10, 3)), "y": np.zeros(9, int)}, "10 samples but y_train has 9"),
        ({"x": np.zeros((10, 3)), "y": np.zeros(10, int), "x_test": np.zeros((4, 3)),
          "y_test": np.zeros(5, int)}, "x_test has 4 samples but y_test has 5"),
        ({"x": np.full((4, 2), np.nan), "y": np.zeros(4, int)}, "x_train contains 8 NaN"),
        ({"x": np.zeros((4, 2)), "y": np.array([0.0, np.inf, 1, 2])}, "y_train contains 1 NaN"),
        ({"x": np.array([["a", "b"]] * 3), "y": np.zeros(3, int)}, "must be numeric"),
        ({"x": np.zeros(5), "y": np.zeros(5, int)}, "sample axis and at least one feature"),
        ({"x": np.zeros((4, 2)), "y": np.array([0, 1, -1, 0])}, "must be >= 0"),
        ({"x": np.zeros((4, 2)), "y": np.array([0, 1, 5, 0]), "num_classes": 3}, "out of range"),
        ({"x": np.zeros((4, 2)), "y": np.zeros(4, int), "x_test": np.zeros((2, 2))},
         "give both x_test and y_test"),
        ({"x": np.zeros((4, 2)), "y": np.zeros(4, int), "x_test": np.zeros((2, 3)),
          "y_test": np.zeros(2, int)}, r"shape \(2,\) but test samples have shape \(3,\)"),
    ],
)
def test_from_arrays_rejects_bad_input(kwargs, message) -> None:
    with pytest.raises(DatasetError, match=message):
        data.from_arrays(**kwargs)


def test_npz_with_four_keys(tmp_path) -> None:
    x = RNG.integers(0, 256, (12, 28, 28), dtype=np.uint8)
    np.savez(tmp_path / "d.npz", x_train=x, y_train=np.arange(12) % 10, x_test=x[:3],
             y_test=np.arange(3))
    ds = data.load_npz(tmp_path / "d.npz")
    assert ds.name == "d" and ds.x_train.dtype == np.uint8 and ds.num_classes == 10


def test_npz_with_x_and_y(tmp_path) -> None:
    np.savez(tmp_path / "xy.npz", x=RNG.random((40, 3)), y=np.arange(40) % 2)
    ds = data.load_npz(tmp_path / "xy.npz", test_fraction=0.25)
    assert len(ds.x_train) == 30 and len(ds.x_test) == 10


def test_npz_errors(tmp_path) -> None:
    with pytest.raises(DatasetError, match=r"no such \.npz file"):
        data.load_npz(tmp_path / "missing.npz")
    np.savez(tmp_path / "wrong.npz", a=np.zeros(3))
    with pytest.raises(DatasetError, match=r"holds the keys \['a'\]; expected x_train"):
        data.load_npz(tmp_path / "wrong.npz")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(DatasetError, match="cannot read"):
        data.load_npz(tmp_path / "junk.npz")
    np.savez(tmp_path / "short.npz", x=np.zeros((5, 2)), y=np.zeros(4, int))
    with pytest.raises(DatasetError, match="5 samples but y_train has 4"):
        data.load_npz(tmp_path / "short.npz")


# --- validation split --------------------------------------------------------------------


def test_split_validation_uses_training_data_only() -> None:
    ds = data.synthetic((4,), num_classes=4, n_train=200, n_test=50)
    split = ds.split_validation(0.25, seed=0)
    assert len(split.x_train) == 150 and len(split.x_val) == 50
    assert sorted(np.bincount(split.y_val).tolist()) == [12, 12, 13, 13]  # stratified
    pool = {row.tobytes() for row in ds.x_train}
    assert all(row.tobytes() in pool for row in split.x_val)
    assert not {row.tobytes() for row in split.x_val} & {r.tobytes() for r in split.x_train}
    again = ds.split_validation(0.25, seed=0)
    np.testing.assert_array_equal(again.x_val, split.x_val)
    assert not np.array_equal(ds.split_validation(0.25, seed=1).x_val, split.x_val)


def test_split_validation_regression_and_bad_fractions() -> None:
    ds = data.synthetic((3,), task="regression", n_train=10, n_test=2)
    assert len(ds.split_validation(0.3).x_val) == 3
    for bad in (0.0, 1.0, 0.01):
        with pytest.raises(DatasetError):
            ds.split_validation(bad)


# --- fit_to_input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data_shape, input_shape",
    [
        ((64,), (8, 8, 1)),  # digits rows -> image
        ((8, 8), (8, 8, 1)),  # add a channel axis
        ((28, 28), (28, 28, 1)),
        ((28, 28), (784,)),  # flatten for an MLP
        ((28, 28, 1), (784,)),
        ((28, 28, 1), (28, 28)),
        ((1, 28, 28), (28, 28, 1)),
        ((8, 8, 1), (None, 8, 8, 1)),  # a batch axis in the input shape is ignored
        ((8, 8, 1), (None, 8, 1)),  # a free axis matches any size
    ],
)
def test_fit_to_input_reshapes_when_unambiguous(data_shape, input_shape) -> None:
    x = RNG.random((3, *data_shape)).astype(np.float32)
    out = fit_to_input(x, input_shape)
    assert out.shape[1:] == data_shape or out.shape[1:] == tuple(input_shape)
    np.testing.assert_array_equal(out.reshape(3, -1), x.reshape(3, -1))


def test_fit_to_input_channel_first_is_transposed() -> None:
    x = RNG.integers(0, 256, (2, 3, 32, 32), dtype=np.uint8)
    out = fit_to_input(x, (32, 32, 3))
    assert out.shape == (2, 32, 32, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out[1, 5, 7], x[1, :, 5, 7] / 255.0, rtol=1e-6)


def test_fit_to_input_scaling() -> None:
    pixels = np.array([[0, 128, 255]], dtype=np.uint8)
    out = fit_to_input(pixels, (3,))
    assert out.dtype == np.float32 and out.max() == 1.0 and out.min() == 0.0
    assert fit_to_input(np.zeros((2, 3)), (3,)).dtype == np.float32
    tokens = np.array([[1, 5, 9]], dtype=np.int32)
    assert fit_to_input(tokens, (3,)).dtype == np.int32  # token ids stay integers
    assert fit_to_input(pixels, (3,), scale=False).dtype == np.uint8


def test_fit_to_input_size_mismatch_names_both_shapes() -> None:
    digits = data.digits()
    with pytest.raises(DatasetError) as info:
        digits.fit_to((28, 28, 1))
    assert str(info.value).startswith(
        "dataset 'digits' has samples of shape (8, 8, 1); the network's input is (28, 28, 1)"
    )


@pytest.mark.parametrize(
    "data_shape, input_shape, message",
    [
        ((4, 16), (8, 8), "ambiguous"),
        ((28, 28, 1), (14, 56, 1), "ambiguous"),
        ((8, 8, 1), (None, 64), "free \\(None\\) axes"),
        ((10,), (0, 10), "is not a shape"),
    ],
)
def test_fit_to_input_rejects_ambiguous_shapes(data_shape, input_shape, message) -> None:
    with pytest.raises(DatasetError, match=message):
        fit_to_input(np.zeros((2, *data_shape), np.float32), input_shape, name="x")


def test_dataset_fit_to_updates_input_shape() -> None:
    ds = data.digits(flatten=True).fit_to((8, 8, 1))
    assert ds.input_shape == (8, 8, 1) and ds.x_test.shape[1:] == (8, 8, 1)
    assert repr(ds).startswith("Dataset(name='digits'")
