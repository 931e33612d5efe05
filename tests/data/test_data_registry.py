"""The registry: one conformance test over every entry, lookup rules and errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from neural_jax import data
from neural_jax.data import DATASETS, Dataset, DatasetError

# Small options per entry so that the conformance test stays fast.
OPTIONS = {
    "synthetic": {"n_train": 64, "n_test": 16},
}


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_every_registered_dataset_conforms(name: str, data_root) -> None:
    ds = data.load(name, **OPTIONS.get(name, {}))
    assert isinstance(ds, Dataset)
    assert ds.name == name
    assert len(ds.x_train) == len(ds.y_train) > 0
    assert len(ds.x_test) == len(ds.y_test) > 0
    assert ds.x_train.shape[1:] == ds.x_test.shape[1:] == tuple(ds.input_shape)
    assert ds.task == "classification"
    assert ds.y_train.dtype == np.int64
    for y in (ds.y_train, ds.y_test):
        assert y.min() >= 0 and y.max() < ds.num_classes
    fitted = ds.fit_to(ds.input_shape)
    assert fitted.x_train.dtype in (np.float32, np.int32)
    if fitted.x_train.dtype == np.float32:
        assert fitted.x_train.min() >= 0.0 or name == "synthetic"
        assert fitted.x_train.max() <= 1.0 or name == "synthetic"


def test_lookup_is_case_insensitive(data_root) -> None:
    assert data.load("MNIST").name == "mnist"
    assert data.load("Fashion-MNIST").name == "fashion_mnist"
    assert data.load(" Digits ").name == "digits"


def test_unknown_dataset_suggests_the_closest_name() -> None:
    with pytest.raises(DatasetError) as info:
        data.load("mnsit")
    msg = str(info.value)
    assert "Did you mean 'mnist'?" in msg
    for name in DATASETS:
        assert name in msg
    assert isinstance(info.value, ValueError)


def test_prefix_of_a_name_is_suggested() -> None:
    with pytest.raises(DatasetError, match="Did you mean 'cifar10'"):
        data.load("cifar")


def test_unknown_option_is_a_clear_error() -> None:
    with pytest.raises(DatasetError, match=r"does not take the options.*input_shape"):
        data.load("digits", input_shape=(8, 8, 1))


def test_npz_path_loads_through_the_registry(tmp_path) -> None:
    path = tmp_path / "mine.npz"
    x = np.random.default_rng(0).random((30, 4)).astype(np.float32)
    np.savez(path, x=x, y=np.arange(30) % 3)
    ds = data.load(str(path))
    assert ds.name == "mine"
    assert len(ds.x_train) + len(ds.x_test) == 30


def test_register_dataset_adds_and_protects_entries(monkeypatch) -> None:
    monkeypatch.setattr(data._registry, "DATASETS", dict(DATASETS))

    def tiny() -> Dataset:
        return data.from_arrays(np.eye(4), np.arange(4), np.eye(4), np.arange(4), name="tiny")

    data.register_dataset("Tiny", tiny)
    assert "tiny" in data.list_datasets()
    assert data.load("TINY").name == "tiny"
    with pytest.raises(ValueError, match="already registered"):
        data.register_dataset("tiny", tiny)


def test_import_is_light() -> None:
    code = (
        "import sys, neural_jax.data; "
        "print(sorted(m for m in ('jax', 'sklearn', 'platformdirs') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
