"""Datasets for training: a registry of loaders returning in-memory numpy arrays.

Usage::

    from neural_jax import data

    ds = data.load("digits")                      # embedded default, (8, 8, 1) float32
    ds = data.load("MNIST", data_dir="~/data")    # IDX files, downloaded when online
    ds = data.load("synthetic", input_shape=(32,), num_classes=3)
    ds = data.load("iris.csv", label="species")   # or .npz; data.as_dataset((x, y)) too
    split = ds.split_validation(0.1, seed=0)      # validation carved from train only
    x = data.fit_to_input(ds.x_train, (784,))     # reshape/scale to the network's input

Datasets that read files look in ``data_dir``, else ``$NEURAL_DATA_DIR``, else the user
cache directory; see `neural_jax.data._remote`.
"""

from neural_jax.data._builtin import digits, synthetic
from neural_jax.data._dataset import Dataset, Split, from_arrays, load_npz
from neural_jax.data._errors import DatasetError
from neural_jax.data._fit import fit_to_input, scale_inputs
from neural_jax.data._idx import read_idx, write_idx
from neural_jax.data._inputs import load_csv, load_file
from neural_jax.data._registry import (
    DATASETS,
    as_dataset,
    list_datasets,
    load,
    register_dataset,
)
from neural_jax.data._remote import SOURCES, data_root
from neural_jax.data._vision import (
    cifar10,
    fashion_mnist,
    fashion_mnist_t10k,
    mnist,
    mnist_t10k,
    read_split,
)

__all__ = [
    "DATASETS",
    "SOURCES",
    "Dataset",
    "DatasetError",
    "Split",
    "as_dataset",
    "cifar10",
    "data_root",
    "digits",
    "fashion_mnist",
    "fashion_mnist_t10k",
    "fit_to_input",
    "from_arrays",
    "list_datasets",
    "load",
    "load_csv",
    "load_file",
    "load_npz",
    "mnist",
    "mnist_t10k",
    "read_idx",
    "read_split",
    "register_dataset",
    "scale_inputs",
    "synthetic",
    "write_idx",
]
