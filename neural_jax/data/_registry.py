"""The dataset registry: a plain dict from name to loader, looked up case-insensitively.

A config or the DSL names a dataset (``dataset_name="MNIST"``, ``--dataset digits``);
`load` finds its loader and passes the options on. A name that is a path to an ``.npz`` or
``.csv`` file loads that file (`neural_jax.data._inputs`); another existing file is an error
naming it and the accepted kinds. An unknown name raises `DatasetError` listing the known
names and the closest match.
"""

from __future__ import annotations

import difflib
import inspect
import os
from collections.abc import Callable, Sequence
from typing import Any

from neural_jax.data._builtin import digits, synthetic
from neural_jax.data._dataset import Dataset, from_arrays
from neural_jax.data._errors import DatasetError
from neural_jax.data._inputs import ACCEPTED, FILE_KINDS, load_file
from neural_jax.data._vision import (
    cifar10,
    fashion_mnist,
    fashion_mnist_t10k,
    mnist,
    mnist_t10k,
)

__all__ = ["DATASETS", "as_dataset", "list_datasets", "load", "register_dataset"]

Loader = Callable[..., Dataset]

DATASETS: dict[str, Loader] = {
    "digits": digits,
    "synthetic": synthetic,
    "mnist": mnist,
    "mnist_t10k": mnist_t10k,
    "fashion_mnist": fashion_mnist,
    "fashion_mnist_t10k": fashion_mnist_t10k,
    "cifar10": cifar10,
}


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def register_dataset(name: str, loader: Loader, *, overwrite: bool = False) -> None:
    """Adds a loader under ``name`` (stored lower-case).

    Args:
        name: Dataset name.
        loader: Callable returning a `Dataset`; keyword options of `load` are passed to it.
        overwrite: Allow replacing an existing entry.

    Raises:
        DatasetError: If the name is taken and ``overwrite`` is False.
    """
    key = _key(name)
    if key in DATASETS and not overwrite:
        raise DatasetError(f"dataset {name!r} is already registered")
    DATASETS[key] = loader


def list_datasets() -> list[str]:
    """Returns the registered names, sorted."""
    return sorted(DATASETS)


def _unknown(name: str) -> DatasetError:
    key = _key(name)
    close = difflib.get_close_matches(key, list(DATASETS), n=1, cutoff=0.5)
    if not close:  # e.g. "fashion" or "cifar": a prefix of a known name
        close = [k for k in sorted(DATASETS) if k.startswith(key) or key.startswith(k)][:1]
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return DatasetError(
        f"unknown dataset {name!r}.{hint} Known datasets: {', '.join(list_datasets())}; "
        "or give the path of an .npz or .csv file."
    )


def load(name: str, **options: object) -> Dataset:
    """Loads a dataset by registry name (case-insensitive) or ``.npz`` / ``.csv`` path.

    Args:
        name: A registered name such as ``"digits"``, ``"MNIST"``, ``"synthetic"``, or a
            path to an ``.npz`` or ``.csv`` file (``label=`` names a CSV's label column).
        **options: Options of that loader, e.g. ``data_dir=...`` for the file datasets or
            ``input_shape=(28, 28, 1)`` for ``synthetic``.

    Returns:
        The dataset.

    Raises:
        DatasetError: For an unknown name, an option the loader does not take, or any
            failure of the loader itself.
    """
    if isinstance(name, os.PathLike):
        name = os.fspath(name)
    if not isinstance(name, str):
        raise DatasetError(f"a dataset name must be a string, got {type(name).__name__}")
    key = _key(name)
    if key not in DATASETS:
        if os.path.splitext(name)[1].lower() in FILE_KINDS or os.path.isfile(name):
            return _load_file(name, options)
        if os.path.isdir(name):
            raise DatasetError(f"{name} is a directory; give a dataset name or the path of an "
                               ".npz or .csv file (dataset files of a name go in --data-dir)")
        raise _unknown(name)
    loader = DATASETS[key]
    try:
        inspect.signature(loader).bind(**options)
    except TypeError:
        params = [p for p in inspect.signature(loader).parameters]
        raise DatasetError(
            f"dataset {key!r} does not take the options {sorted(options)}; "
            f"it takes {', '.join(params) or 'no options'}"
        ) from None
    return loader(**options)


def _load_file(path: str, options: dict[str, object]) -> Dataset:
    """A dataset file; ``data_dir`` (meant for named datasets) does not apply to it."""
    options = {k: v for k, v in options.items() if k != "data_dir"}
    allowed = set(inspect.signature(from_arrays).parameters) - {"x", "y", "x_test", "y_test"}
    allowed.add("label")
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise DatasetError(f"a dataset file does not take the options {unknown}; it takes "
                           f"{', '.join(sorted(allowed))}")
    if "label" in options and not path.lower().endswith(".csv"):
        raise DatasetError(f"label= names the label column of a .csv file, not of {path}")
    return load_file(path, **options)


def as_dataset(data: Any, **options: Any) -> Dataset:
    """Turns any accepted kind of data (see `neural_jax.data._inputs`) into a `Dataset`.

    Args:
        data: The data.
        **options: For a name or a file: the loader's options (``data_dir``, ``label``...);
            for arrays: options of `from_arrays`.

    Raises:
        DatasetError: Anything else, naming what was given and the accepted kinds.
    """
    if isinstance(data, Dataset):
        return data
    if isinstance(data, (str, os.PathLike)):
        return load(os.fspath(data), **options)
    if isinstance(data, Sequence) and len(data) in (2, 4) and all(
            hasattr(a, "shape") or isinstance(a, (list, tuple)) for a in data):
        return from_arrays(*data, **{"name": "arrays", **options})
    what = type(data).__name__
    if isinstance(data, Sequence):
        what = f"a {what} of {len(data)} items"
    raise DatasetError(f"cannot use {what} as a dataset; give {ACCEPTED}")
