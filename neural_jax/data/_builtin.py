"""Datasets that need no file: scikit-learn's bundled digits and synthetic generators.

``digits`` is the embedded default: 1,797 real 8x8 handwritten digits (values 0..16 in the
original, scaled here to float32 in [0, 1]) with a fixed stratified 80/20 train/test split.

``synthetic`` makes data of any input shape with structure a model can learn:

* classification, float inputs: class ``c`` is a Gaussian cloud ``x = m_c + e``,
  ``e ~ N(0, noise^2 I)``, around a random prototype ``m_c`` of norm ``4 * class_sep``;
  labels are balanced.
* classification, token inputs (``vocab_size`` given): ``x`` holds uniform token ids and the
  label is ``argmax_c sum_t E[x_t, c]`` for a random teacher table ``E`` (a bag-of-tokens
  teacher that an Embedding plus pooling can represent).
* regression: ``y = x W / sqrt(d) + noise_y * e`` for a random linear teacher ``W``
  (for tokens: ``y = sum_t E[x_t] / sqrt(T)``).

Everything is a pure function of ``seed``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neural_jax.data._dataset import Dataset, split_indices
from neural_jax.data._errors import DatasetError

__all__ = ["digits", "synthetic"]


def digits(*, flatten: bool = False, test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """scikit-learn's bundled 8x8 handwritten digits, 10 classes.

    Args:
        flatten: Give samples of shape ``(64,)`` instead of ``(8, 8, 1)``.
        test_fraction: Share of the 1,797 images held out as the test split (stratified).
        seed: Seed of that split; the default split is fixed across runs.

    Returns:
        The dataset, inputs float32 in [0, 1].
    """
    from sklearn.datasets import (
        load_digits,  # lazy: keeps `import neural_jax.data` light
    )

    bunch = load_digits()
    x = (np.asarray(bunch.data, dtype=np.float32) / np.float32(16.0))
    y = np.asarray(bunch.target, dtype=np.int64)
    x = x.reshape(-1, 64) if flatten else x.reshape(-1, 8, 8, 1)
    n_test = round(test_fraction * len(x))
    if not 0 < n_test < len(x):
        raise DatasetError(f"test_fraction must be in (0, 1), got {test_fraction}")
    train, test = split_indices(len(x), n_test, seed, stratify=y)
    return Dataset(x[train], y[train], x[test], y[test], 10, tuple(x.shape[1:]), "digits")


def _teacher_tokens(
    rng: np.random.Generator, n: int, shape: tuple[int, ...], vocab_size: int, out: int
) -> tuple[np.ndarray, np.ndarray]:
    x = rng.integers(0, vocab_size, size=(n, *shape), dtype=np.int32)
    table = rng.standard_normal((vocab_size, out)).astype(np.float32)
    seq = x.reshape(n, -1)
    scores = table[seq].sum(axis=1) / np.sqrt(seq.shape[1])
    return x, scores


def synthetic(
    input_shape: Sequence[int] = (8, 8, 1),
    num_classes: int = 10,
    *,
    n_train: int = 1000,
    n_test: int = 200,
    task: str = "classification",
    vocab_size: int | None = None,
    output_dim: int = 1,
    class_sep: float = 1.0,
    noise: float = 1.0,
    seed: int = 0,
) -> Dataset:
    """Generates a learnable dataset of any input shape.

    Args:
        input_shape: Shape of one sample, e.g. ``(28, 28, 1)``, ``(32,)`` or ``(20,)`` for
            a sequence of 20 tokens.
        num_classes: Number of classes (classification).
        n_train: Number of training samples.
        n_test: Number of test samples.
        task: ``"classification"`` or ``"regression"``.
        vocab_size: When given, samples are int32 token ids in ``[0, vocab_size)``, as an
            Embedding layer expects.
        output_dim: Width of regression targets; 1 gives targets of shape ``(N,)``.
        class_sep: Distance scale between class prototypes (float classification).
        noise: Standard deviation of the input noise (classification) or target noise
            relative to the signal (regression).
        seed: Seed of every random draw.

    Returns:
        The dataset, named ``"synthetic"``.

    Raises:
        DatasetError: On a bad shape, size, task or class count.
    """
    shape = tuple(int(d) for d in input_shape)
    if not shape or any(d <= 0 for d in shape):
        raise DatasetError(f"synthetic: input_shape must be positive sizes, got {input_shape}")
    if n_train < 1 or n_test < 1:
        raise DatasetError(f"synthetic: n_train and n_test must be >= 1, got {n_train}, {n_test}")
    if task not in ("classification", "regression"):
        raise DatasetError(
            f"synthetic: task must be 'classification' or 'regression', got {task!r}"
        )
    if task == "classification" and num_classes < 2:
        raise DatasetError(f"synthetic: num_classes must be >= 2, got {num_classes}")
    if vocab_size is not None and vocab_size < 2:
        raise DatasetError(f"synthetic: vocab_size must be >= 2, got {vocab_size}")
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    d = int(np.prod(shape))
    if task == "classification":
        if vocab_size is not None:
            x, scores = _teacher_tokens(rng, n, shape, vocab_size, num_classes)
            y = np.argmax(scores, axis=1).astype(np.int64)
        else:
            protos = rng.standard_normal((num_classes, d))
            protos *= 4.0 * class_sep / np.linalg.norm(protos, axis=1, keepdims=True)
            # Balanced within each split, not just overall.
            y = np.concatenate([rng.permutation(np.arange(k) % num_classes)
                                for k in (n_train, n_test)]).astype(np.int64)
            x = protos[y] + noise * rng.standard_normal((n, d))
            x = x.reshape(n, *shape).astype(np.float32)
        classes: int | None = num_classes
    else:
        if vocab_size is not None:
            x, target = _teacher_tokens(rng, n, shape, vocab_size, output_dim)
        else:
            x = rng.standard_normal((n, *shape)).astype(np.float32)
            w = rng.standard_normal((d, output_dim))
            target = x.reshape(n, d) @ w / np.sqrt(d)
        target = target + noise * 0.1 * rng.standard_normal(target.shape)
        y = (target[:, 0] if output_dim == 1 else target).astype(np.float32)
        classes = None
    return Dataset(
        x[:n_train], y[:n_train], x[n_train:], y[n_train:], classes, shape, "synthetic",
        vocab_size=vocab_size,
    )
