"""The dataset registry: a plain dict from name to loader, looked up case-insensitively.

A config or the DSL names a dataset (``dataset_name="MNIST"``, ``--dataset digits``);
`load` finds its loader and passes the options on. A name that is a path to an ``.npz`` file
loads that file. An unknown name raises `DatasetError` listing the known names and the
closest match.
"""

from __future__ import annotations

import difflib
import inspect
import os
from collections.abc import Callable

from neural_jax.data._builtin import digits, synthetic
from neural_jax.data._dataset import Dataset, DatasetError, load_npz
from neural_jax.data._vision import cifar10, fashion_mnist, fashion_mnist_t10k, mnist, mnist_t10k

__all__ = ["DATASETS", "list_datasets", "load", "register_dataset"]

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
        ValueError: If the name is taken and ``overwrite`` is False.
    """
    key = _key(name)
    if key in DATASETS and not overwrite:
        raise ValueError(f"dataset {name!r} is already registered")
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
        "or give the path of an .npz file."
    )


def load(name: str, **options: object) -> Dataset:
    """Loads a dataset by registry name (case-insensitive) or ``.npz`` path.

    Args:
        name: A registered name such as ``"digits"``, ``"MNIST"``, ``"synthetic"``, or a
            path to an ``.npz`` file.
        **options: Options of that loader, e.g. ``data_dir=...`` for the file datasets or
            ``input_shape=(28, 28, 1)`` for ``synthetic``.

    Returns:
        The dataset.

    Raises:
        DatasetError: For an unknown name, an option the loader does not take, or any
            failure of the loader itself.
    """
    if not isinstance(name, str):
        raise DatasetError(f"a dataset name must be a string, got {type(name).__name__}")
    key = _key(name)
    if key not in DATASETS:
        if name.endswith(".npz") or os.path.isfile(name):
            return load_npz(name, **options)
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
