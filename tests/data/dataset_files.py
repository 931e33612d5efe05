"""Writers of small dataset files in the official formats (IDX, CIFAR-10 pickles)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from neural_jax.data import write_idx

IDX_NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def fake_images(
    n: int, seed: int, shape: tuple[int, ...] = (28, 28)
) -> tuple[np.ndarray, np.ndarray]:
    """Returns ``n`` random uint8 images and balanced labels 0..9."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    return images, labels


def write_idx_dataset(
    directory: Path, n_train: int = 50, n_test: int = 20, *, gz: bool = True,
    splits: tuple[str, ...] = ("train", "test"),
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Writes MNIST-style IDX files into ``directory`` and returns the arrays written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for split in splits:
        images, labels = fake_images(n_train if split == "train" else n_test, len(written))
        suffix = ".gz" if gz else ""
        write_idx(directory / (IDX_NAMES[split][0] + suffix), images)
        write_idx(directory / (IDX_NAMES[split][1] + suffix), labels)
        written[split] = (images, labels)
    return written


def write_cifar_batches(directory: Path, per_batch: int = 10) -> dict[str, np.ndarray]:
    """Writes the six CIFAR-10 python pickle batches (tiny) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    xs, ys = {"train": [], "test": []}, {"train": [], "test": []}
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        data = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=per_batch)]
        with (directory / name).open("wb") as f:
            pickle.dump({b"data": data, b"labels": labels, b"batch_label": name.encode()}, f)
        split = "test" if name == "test_batch" else "train"
        xs[split].append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        ys[split].append(np.asarray(labels))
    return {f"{k}_{s}": np.concatenate(v[s]) for k, v in (("x", xs), ("y", ys)) for s in v}
