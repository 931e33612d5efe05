"""MNIST, Fashion-MNIST and CIFAR-10 read from the standard files in a data directory.

Images come back as raw uint8, channel-last: ``(N, 28, 28, 1)`` and ``(N, 32, 32, 3)``;
`fit_to_input` (or `Dataset.fit_to`) scales them to float32 in [0, 1] for a network.

A loader never substitutes one split for another. A directory that holds only the official
*test* files (``t10k-*``) cannot produce ``mnist``; it can produce ``mnist_t10k``, a dataset
named for what it is: the 10,000 official test images divided (stratified, fixed seed) into
8,000 training and 2,000 test images, for experiments on machines without the training
files. Its numbers are not comparable with results on the official MNIST split.
"""

from __future__ import annotations

import os
import pickle
import tarfile
from pathlib import Path

import numpy as np

from neural_jax.data._dataset import Dataset, split_indices
from neural_jax.data._errors import DatasetError
from neural_jax.data._idx import read_idx
from neural_jax.data._remote import (
    SOURCES,
    dataset_dir,
    download_file,
    downloads_enabled,
    missing_files_error,
)

__all__ = ["cifar10", "fashion_mnist", "fashion_mnist_t10k", "mnist", "mnist_t10k", "read_split"]

PathLike = str | os.PathLike[str] | None

_IDX_SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_CIFAR_FOLDER = "cifar-10-batches-py"
_CIFAR_SPLITS = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}


def _find_idx(directory: Path, base: str) -> Path | None:
    dotted = base.replace("-idx", ".idx")  # a common rename of the same files
    for name in (base + ".gz", base, dotted, dotted + ".gz"):
        if (directory / name).is_file():
            return directory / name
    return None


def _idx_paths(key: str, splits: tuple[str, ...], data_dir: PathLike, download: bool) -> list[Path]:
    source = SOURCES[key]
    directory = dataset_dir(source, data_dir)
    bases = [b for s in splits for b in _IDX_SPLITS[s]]
    found = {b: _find_idx(directory, b) for b in bases}
    missing = [b for b in bases if found[b] is None]
    error = None
    if missing and downloads_enabled(download):
        remotes = {f.name: f for f in source.files}
        for base in missing:
            try:
                found[base] = download_file(source, remotes[base + ".gz"], directory)
            except DatasetError as err:
                error = str(err)
                break
    still = [b for b in bases if found[b] is None]
    if still:
        hint = "Files without the .gz suffix (uncompressed) work as well."
        has_test = all(_find_idx(directory, b) for b in _IDX_SPLITS["test"])
        if "train" in splits and has_test:
            hint += (
                f" Only the official test split (t10k-*) is in {directory}; it is never used "
                f"in place of the training split. To experiment on it alone, use "
                f"load('{key}_t10k', data_dir=...), which divides those 10,000 images into "
                "8,000 train / 2,000 test."
            )
        raise missing_files_error(
            source, directory, [b + ".gz" for b in still], download_error=error, hint=hint
        )
    return [found[b] for b in bases]  # type: ignore[misc]


def _read_idx_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DatasetError(
            f"{images_path} should hold uint8 images of shape (N, rows, cols), got "
            f"{images.dtype} of shape {images.shape}"
        )
    if labels.ndim != 1:
        raise DatasetError(f"{labels_path} should hold labels of shape (N,), got {labels.shape}")
    if len(images) != len(labels):
        raise DatasetError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels"
        )
    if len(labels) and int(labels.max()) > 9:
        raise DatasetError(f"{labels_path} holds label {int(labels.max())}; expected 0..9")
    return images[..., None], labels.astype(np.int64)


def _load_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with path.open("rb") as f:
            # The official batches are python pickles; read only files you put there yourself.
            batch = pickle.load(f, encoding="bytes")
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
        images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    except (OSError, EOFError, pickle.UnpicklingError, KeyError, ValueError, TypeError) as err:
        raise DatasetError(f"{path} is not a readable CIFAR-10 batch ({err!r})") from None
    if len(images) != len(labels):
        raise DatasetError(f"{path} holds {len(images)} images but {len(labels)} labels")
    return np.ascontiguousarray(images), labels


def _cifar_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    except (OSError, ValueError, KeyError) as err:
        raise DatasetError(
            f"{path} must be an .npz with x_train, y_train, x_test, y_test ({err})"
        ) from None
    for k in ("x_train", "x_test"):
        x = arrays[k]
        if x.ndim == 4 and x.shape[1] == 3 and x.shape[-1] != 3:
            arrays[k] = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
        if arrays[k].shape[1:] != (32, 32, 3):
            raise DatasetError(f"{path}: {k} should be (N, 32, 32, 3) images, got {x.shape}")
    for k in ("y_train", "y_test"):
        arrays[k] = arrays[k].reshape(-1).astype(np.int64)
    return arrays


def _extract(archive: Path, directory: Path) -> None:
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(directory, filter="data")
            return
        root = directory.resolve()
        for member in tar.getmembers():  # older Pythons: refuse links and escaping paths
            target = (directory / member.name).resolve()
            if member.issym() or member.islnk() or root not in (target, *target.parents):
                raise tarfile.TarError(f"unsafe member {member.name!r}")
        tar.extractall(directory)


def _cifar_arrays(split: str, data_dir: PathLike, download: bool) -> tuple[np.ndarray, np.ndarray]:
    source = SOURCES["cifar10"]
    directory = dataset_dir(source, data_dir)
    if (directory / "cifar10.npz").is_file():
        arrays = _cifar_npz(directory / "cifar10.npz")
        return arrays[f"x_{split}"], arrays[f"y_{split}"]
    names = _CIFAR_SPLITS[split]

    def batch_dir() -> Path | None:
        for d in (directory / _CIFAR_FOLDER, directory):
            if all((d / n).is_file() for n in names):
                return d
        return None

    found, error = batch_dir(), None
    archive = directory / source.files[0].name
    if found is None and not archive.is_file() and downloads_enabled(download):
        try:
            download_file(source, source.files[0], directory)
        except DatasetError as err:
            error = str(err)
    if found is None and archive.is_file():
        try:
            _extract(archive, directory)
        except (OSError, tarfile.TarError) as err:
            raise DatasetError(f"cannot extract {archive} ({err}); delete it and retry") from None
        found = batch_dir()
    if found is None:
        raise missing_files_error(
            source, directory,
            [f"{_CIFAR_FOLDER}/{n}" for n in names],
            download_error=error,
            hint=(f"Alternatives: the archive {archive.name} in that directory, or a "
                  "cifar10.npz there with x_train, y_train, x_test, y_test."),
        )
    parts = [_load_cifar_batch(found / n) for n in names]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def read_split(
    name: str, split: str, data_dir: PathLike = None, *, download: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Reads one official split of a file-based dataset, and only that split.

    Args:
        name: ``"mnist"``, ``"fashion_mnist"`` or ``"cifar10"``.
        split: ``"train"`` or ``"test"``.
        data_dir: Data directory (see the module docstring of the data package).
        download: Whether to download missing files.

    Returns:
        (images, labels): uint8 channel-last images and int64 labels.

    Raises:
        DatasetError: On an unknown name or split, or missing or corrupt files.
    """
    key = name.lower()
    if split not in ("train", "test"):
        raise DatasetError(f"split must be 'train' or 'test', got {split!r}")
    if key == "cifar10":
        return _cifar_arrays(split, data_dir, download)
    if key not in ("mnist", "fashion_mnist"):
        raise DatasetError(f"read_split knows mnist, fashion_mnist and cifar10, not {name!r}")
    images_path, labels_path = _idx_paths(key, (split,), data_dir, download)
    return _read_idx_pair(images_path, labels_path)


def _idx_dataset(key: str, data_dir: PathLike, download: bool) -> Dataset:
    paths = _idx_paths(key, ("train", "test"), data_dir, download)
    x_train, y_train = _read_idx_pair(paths[0], paths[1])
    x_test, y_test = _read_idx_pair(paths[2], paths[3])
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DatasetError(
            f"{paths[0]} holds images of shape {x_train.shape[1:3]} but {paths[2]} holds "
            f"{x_test.shape[1:3]}"
        )
    return Dataset(x_train, y_train, x_test, y_test, 10, tuple(x_train.shape[1:]), key)


def _t10k_dataset(
    key: str, data_dir: PathLike, test_fraction: float, seed: int, download: bool
) -> Dataset:
    x, y = read_split(key, "test", data_dir, download=download)
    n_test = round(test_fraction * len(x))
    if not 0 < n_test < len(x):
        raise DatasetError(f"test_fraction must be in (0, 1), got {test_fraction}")
    train, test = split_indices(len(x), n_test, seed, stratify=y)
    return Dataset(x[train], y[train], x[test], y[test], 10, tuple(x.shape[1:]), f"{key}_t10k")


def mnist(data_dir: PathLike = None, *, download: bool = True) -> Dataset:
    """MNIST: 60,000 train and 10,000 test 28x28 digits from the four official IDX files."""
    return _idx_dataset("mnist", data_dir, download)


def fashion_mnist(data_dir: PathLike = None, *, download: bool = True) -> Dataset:
    """Fashion-MNIST: 60,000 train and 10,000 test 28x28 clothing images (IDX files)."""
    return _idx_dataset("fashion_mnist", data_dir, download)


def mnist_t10k(
    data_dir: PathLike = None, *, test_fraction: float = 0.2, seed: int = 0, download: bool = True
) -> Dataset:
    """The official MNIST *test* split alone, divided into train and test parts.

    Needs only ``t10k-images-idx3-ubyte(.gz)`` and ``t10k-labels-idx1-ubyte(.gz)``. With the
    defaults the 10,000 images become 8,000 train and 2,000 test (stratified, fixed seed).
    Meant for experiments where the training files are unavailable; the dataset is named
    ``mnist_t10k`` so that records never pass it off as MNIST.

    Args:
        data_dir: Data directory.
        test_fraction: Share of the 10,000 images in the test part.
        seed: Seed of the stratified division.
        download: Whether to download the two files when missing.
    """
    return _t10k_dataset("mnist", data_dir, test_fraction, seed, download)


def fashion_mnist_t10k(
    data_dir: PathLike = None, *, test_fraction: float = 0.2, seed: int = 0, download: bool = True
) -> Dataset:
    """The official Fashion-MNIST test split alone, divided like `mnist_t10k`."""
    return _t10k_dataset("fashion_mnist", data_dir, test_fraction, seed, download)


def cifar10(data_dir: PathLike = None, *, download: bool = True) -> Dataset:
    """CIFAR-10: 50,000 train and 10,000 test 32x32x3 images in 10 classes.

    Read from ``cifar-10-batches-py/`` (the official python pickle batches), from the
    official ``cifar-10-python.tar.gz`` (extracted on first use), or from ``cifar10.npz``.
    """
    x_train, y_train = _cifar_arrays("train", data_dir, download)
    x_test, y_test = _cifar_arrays("test", data_dir, download)
    return Dataset(x_train, y_train, x_test, y_test, 10, (32, 32, 3), "cifar10")
