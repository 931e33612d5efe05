"""The `Dataset` record, validation splits and datasets built from user arrays.

A dataset is four numpy arrays (train and test inputs and targets) plus the metadata a
trainer needs: the number of classes, the shape of one input sample and a name for messages.
The test split is only ever read for the final report; model selection uses a validation
split carved out of the training arrays by `Dataset.split_validation`.
"""

from __future__ import annotations

import dataclasses
import os
from typing import NamedTuple

import numpy as np

from neural_jax.data._errors import DatasetError
from neural_jax.data._fit import fit_to_input

__all__ = ["Dataset", "DatasetError", "Split", "from_arrays", "load_npz"]


class Split(NamedTuple):
    """Training arrays divided into the part used for fitting and the part used for selection."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test dataset held in memory as numpy arrays.

    Attributes:
        x_train: Training inputs, shape ``(N, *input_shape)``. Images are either float32 in
            [0, 1] or raw uint8 pixels (`fit_to_input` scales the latter).
        y_train: Training targets: int64 class ids, shape ``(N,)``, for classification;
            float32 values, shape ``(N,)`` or ``(N, k)``, for regression.
        x_test: Test inputs, shape ``(M, *input_shape)``; used for the final report only.
        y_test: Test targets, like ``y_train``.
        num_classes: Number of classes, or None for a regression dataset.
        input_shape: Shape of one input sample, channel-last for images.
        name: Name used in messages and records.
        vocab_size: For integer token inputs (Embedding layers), the number of distinct
            tokens; None otherwise.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int | None
    input_shape: tuple[int, ...]
    name: str
    vocab_size: int | None = None

    @property
    def task(self) -> str:
        """``"classification"`` when the dataset has classes, else ``"regression"``."""
        return "regression" if self.num_classes is None else "classification"

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, train={self.x_train.shape} {self.x_train.dtype}, "
            f"test={self.x_test.shape}, num_classes={self.num_classes}, "
            f"input_shape={self.input_shape})"
        )

    def split_validation(self, fraction: float = 0.1, seed: int = 0) -> Split:
        """Carves a validation split out of the training data; the test split is untouched.

        Classification data is split stratified by class (every class keeps its share);
        regression data is shuffled and split.

        Args:
            fraction: Share of the training samples that go to validation, in (0, 1).
            seed: Seed of the shuffle; the same seed gives the same split.

        Returns:
            A `Split` of (x_train, y_train, x_val, y_val).

        Raises:
            DatasetError: If ``fraction`` is not in (0, 1) or leaves either part empty.
        """
        if not 0.0 < fraction < 1.0:
            raise DatasetError(f"validation fraction must be in (0, 1), got {fraction}")
        n = len(self.x_train)
        n_val = round(fraction * n)
        if n_val < 1 or n_val >= n:
            raise DatasetError(
                f"a validation fraction of {fraction} of {n} training samples of dataset "
                f"{self.name!r} leaves an empty split; choose a fraction between "
                f"{1 / n:.3g} and {1 - 1 / n:.3g}"
            )
        stratify = None
        if self.num_classes is not None:  # by class id; one-hot labels by their argmax
            y = np.asarray(self.y_train)
            stratify = y.argmax(axis=-1) if y.ndim == 2 else y
        keep, val = split_indices(n, n_val, seed, stratify=stratify)
        return Split(self.x_train[keep], self.y_train[keep], self.x_train[val], self.y_train[val])

    def fit_to(self, input_shape: tuple[int | None, ...]) -> Dataset:
        """Returns a copy whose inputs are reshaped and scaled to a network's input shape.

        Args:
            input_shape: The network's input shape without the batch axis.

        Raises:
            DatasetError: If the samples cannot be fitted unambiguously.
        """
        x_train = fit_to_input(self.x_train, input_shape, name=self.name)
        x_test = fit_to_input(self.x_test, input_shape, name=self.name)
        return dataclasses.replace(
            self, x_train=x_train, x_test=x_test, input_shape=tuple(x_train.shape[1:])
        )


def split_indices(
    n: int, n_second: int, seed: int, stratify: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Splits ``range(n)`` into two sorted index arrays, the second of size ``n_second``.

    With ``stratify`` (integer labels), each class contributes to the second part in
    proportion to its size; per-class counts are rounded by largest remainder so that the
    total is exactly ``n_second``.

    Args:
        n: Number of samples.
        n_second: Size of the second part.
        seed: Seed of the permutation.
        stratify: Optional labels of shape ``(n,)``.

    Returns:
        (first, second) index arrays.
    """
    rng = np.random.default_rng(seed)
    if stratify is None:
        perm = rng.permutation(n)
        return np.sort(perm[n_second:]), np.sort(perm[:n_second])
    classes, inverse, counts = np.unique(stratify, return_inverse=True, return_counts=True)
    quota = counts * (n_second / n)
    take = np.floor(quota).astype(np.int64)
    remainder = quota - take
    order = np.lexsort((rng.random(len(classes)), -remainder))
    take[order[: n_second - int(take.sum())]] += 1
    second = []
    for c in range(len(classes)):
        members = np.flatnonzero(inverse == c)
        second.append(rng.permutation(members)[: take[c]])
    second_idx = np.sort(np.concatenate(second)) if second else np.zeros(0, np.int64)
    mask = np.ones(n, dtype=bool)
    mask[second_idx] = False
    return np.flatnonzero(mask), second_idx


def _check_pair(x: np.ndarray, y: np.ndarray, part: str, name: str) -> None:
    if x.ndim < 2:
        raise DatasetError(
            f"dataset {name!r}: x_{part} must have a sample axis and at least one feature axis "
            f"(shape (N, ...)), got shape {x.shape}"
        )
    if len(x) != len(y):
        raise DatasetError(
            f"dataset {name!r}: x_{part} has {len(x)} samples but y_{part} has {len(y)}"
        )
    if len(x) == 0:
        raise DatasetError(f"dataset {name!r}: the {part} split is empty")
    for label, arr in ((f"x_{part}", x), (f"y_{part}", y)):
        if arr.dtype == object or not (
            np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_
        ):
            raise DatasetError(f"dataset {name!r}: {label} must be numeric, got dtype {arr.dtype}")
        if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
            bad = int(np.size(arr) - np.isfinite(arr).sum())
            raise DatasetError(f"dataset {name!r}: {label} contains {bad} NaN or inf values")


def from_arrays(
    x: np.ndarray,
    y: np.ndarray,
    x_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
    *,
    num_classes: int | None = None,
    task: str | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
    name: str = "arrays",
) -> Dataset:
    """Builds a `Dataset` from user arrays, checking lengths, dtypes and NaN.

    Args:
        x: Training inputs, shape ``(N, ...)``.
        y: Training targets, shape ``(N,)`` (class ids or values) or ``(N, k)`` (values).
        x_test: Optional test inputs; without them a test split of ``test_fraction`` is held
            out of ``x`` (stratified for classification).
        y_test: Test targets, required with ``x_test``.
        num_classes: Number of classes; inferred as ``max(label) + 1`` for classification.
        task: ``"classification"`` or ``"regression"``; inferred from the dtype of ``y``
            (integers: classification, floats: regression) when None.
        test_fraction: Share held out as the test split when no test arrays are given.
        seed: Seed of that hold-out.
        name: Name used in messages.

    Returns:
        The dataset.

    Raises:
        DatasetError: On mismatched lengths, non-numeric data, NaN/inf, negative labels.
    """
    x, y = np.asarray(x), np.asarray(y)
    if (x_test is None) != (y_test is None):
        raise DatasetError(f"dataset {name!r}: give both x_test and y_test, or neither")
    _check_pair(x, y, "train", name)
    if task is None:
        task = "classification" if np.issubdtype(y.dtype, np.integer) else "regression"
    if task not in ("classification", "regression"):
        raise DatasetError(f"task must be 'classification' or 'regression', got {task!r}")
    if task == "classification":
        if y.ndim != 1 or not np.all(np.mod(y, 1) == 0):
            raise DatasetError(
                f"dataset {name!r}: classification labels must be integer class ids of shape "
                f"(N,), got shape {y.shape} dtype {y.dtype}"
            )
        y = y.astype(np.int64)
    if x_test is None:
        n_test = round(test_fraction * len(x))
        if not 0 < n_test < len(x):
            raise DatasetError(
                f"dataset {name!r}: test_fraction={test_fraction} of {len(x)} samples leaves "
                "an empty split"
            )
        strat = y if task == "classification" else None
        tr, te = split_indices(len(x), n_test, seed, stratify=strat)
        x, y, x_test, y_test = x[tr], y[tr], x[te], y[te]
    else:
        x_test, y_test = np.asarray(x_test), np.asarray(y_test)
        _check_pair(x_test, y_test, "test", name)
        if x_test.shape[1:] != x.shape[1:]:
            raise DatasetError(
                f"dataset {name!r}: train samples have shape {x.shape[1:]} but test samples "
                f"have shape {x_test.shape[1:]}"
            )
        if task == "classification":
            y_test = y_test.astype(np.int64)
    if task == "classification":
        low = min(int(y.min()), int(y_test.min()))
        high = max(int(y.max()), int(y_test.max()))
        if low < 0:
            raise DatasetError(f"dataset {name!r}: class labels must be >= 0, found {low}")
        if num_classes is None:
            num_classes = high + 1
        elif high >= num_classes:
            raise DatasetError(
                f"dataset {name!r}: label {high} is out of range for num_classes={num_classes}"
            )
    else:
        num_classes = None
        y, y_test = y.astype(np.float32), y_test.astype(np.float32)
    if np.issubdtype(x.dtype, np.floating):
        x, x_test = x.astype(np.float32), x_test.astype(np.float32)
    return Dataset(x, y, x_test, y_test, num_classes, tuple(x.shape[1:]), name)


def load_npz(path: str | os.PathLike[str], **kwargs: object) -> Dataset:
    """Loads a dataset from an ``.npz`` file.

    The file holds either ``x_train``, ``y_train``, ``x_test``, ``y_test`` or just ``x``
    and ``y`` (a test split is then held out as in `from_arrays`).

    Args:
        path: The ``.npz`` file.
        **kwargs: Passed on to `from_arrays` (``num_classes``, ``task``, ...).

    Raises:
        DatasetError: If the file is missing, unreadable or lacks the keys.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DatasetError(f"no such .npz file: {path}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as err:
        raise DatasetError(f"cannot read {path} as an .npz file: {err}") from None
    kwargs.setdefault("name", os.path.splitext(os.path.basename(path))[0])
    if {"x_train", "y_train"} <= arrays.keys():
        return from_arrays(
            arrays["x_train"], arrays["y_train"], arrays.get("x_test"), arrays.get("y_test"),
            **kwargs,  # type: ignore[arg-type]
        )
    if {"x", "y"} <= arrays.keys():
        return from_arrays(arrays["x"], arrays["y"], **kwargs)  # type: ignore[arg-type]
    raise DatasetError(
        f"{path} holds the keys {sorted(arrays)}; expected x_train, y_train, x_test, y_test "
        "(or x and y)"
    )
