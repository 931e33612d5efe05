"""The data hook of a generated script for a built-in dataset: the real data, split as
``neural_jax`` splits it.

``load_data()`` then reads the same examples ``neural run --dataset NAME`` trains on: the
dataset's own train/test division (digits: scikit-learn's bundled images, 20% held out,
stratified, seed 0; MNIST / Fashion-MNIST: the official IDX files from ``$NEURAL_DATA_DIR``;
``*_t10k``: the official test file divided 8,000 / 2,000; CIFAR-10: the python batches), the
inputs reshaped to the network's input and raw pixels scaled to [0, 1], and the validation
split carved with ``SEED``, stratified (:func:`neural_jax.data._dataset.split_indices`,
written out in the script). ``load_test_data()`` gives the test part, which the script
only reports (``--evaluate``).
"""

from __future__ import annotations

import numpy as np

from bridges.codegen.context import Context, lit
from bridges.codegen.source import indent
from neural_jax.core.errors import NeuralValidationError

__all__ = ["DATASETS", "dataset_hook"]

#: datasets a script can read: name -> (raw sample shape, dtype)
DATASETS = {
    "digits": ((8, 8, 1), np.float32),
    "mnist": ((28, 28, 1), np.uint8),
    "mnist_t10k": ((28, 28, 1), np.uint8),
    "fashion_mnist": ((28, 28, 1), np.uint8),
    "fashion_mnist_t10k": ((28, 28, 1), np.uint8),
    "cifar10": ((32, 32, 3), np.uint8),
}

_SPLIT = '''\
def split_indices(n: int, n_second: int, seed: int, stratify: np.ndarray | None = None):
    """Splits range(n) into two sorted index arrays, the second of size n_second; with
    stratify (labels) every class keeps its share (neural_jax's split, exactly)."""
    rng = np.random.default_rng(seed)
    if stratify is None:
        perm = rng.permutation(n)
        return np.sort(perm[n_second:]), np.sort(perm[:n_second])
    classes, inverse, counts = np.unique(stratify, return_inverse=True, return_counts=True)
    quota = counts * (n_second / n)
    take = np.floor(quota).astype(np.int64)
    order = np.lexsort((rng.random(len(classes)), -(quota - take)))
    take[order[: n_second - int(take.sum())]] += 1
    second = [rng.permutation(np.flatnonzero(inverse == c))[: take[c]]
              for c in range(len(classes))]
    second_idx = np.sort(np.concatenate(second))
    mask = np.ones(n, dtype=bool)
    mask[second_idx] = False
    return np.flatnonzero(mask), second_idx'''

_IDX = '''\
def read_idx(folder: str, base: str) -> np.ndarray:
    """One IDX file of FOLDER (``base``, ``base.gz`` or the dotted spelling)."""
    import gzip
    import os

    dotted = base.replace("-idx", ".idx")
    for name in (base + ".gz", base, dotted, dotted + ".gz"):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            with (gzip.open if name.endswith(".gz") else open)(path, "rb") as f:
                data = f.read()
            ndim = data[3]
            shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
            return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)
    raise SystemExit(f"error: {base}.gz is not in {folder}; put the dataset's files there "
                     "or set NEURAL_DATA_DIR")'''


def _folder(name: str) -> list[str]:
    base = name.removesuffix("_t10k")
    return ["import os",
            "",
            'root = os.environ.get("NEURAL_DATA_DIR") or os.path.join(',
            '    os.path.expanduser("~"), ".cache", "neural_jax", "datasets")',
            f'folder = os.path.join(root, "{base}")']


def _read(name: str) -> list[str]:
    """Lines that set ``x, y, x_test, y_test`` to the dataset's own train/test parts."""
    if name == "digits":
        return ["from sklearn.datasets import load_digits",
                "",
                "bunch = load_digits()",
                "x = (bunch.data.astype(np.float32) / np.float32(16.0)).reshape(-1, 8, 8, 1)",
                "y = bunch.target.astype(np.int64)",
                "train, test = split_indices(len(x), round(0.2 * len(x)), 0, stratify=y)",
                "x, y, x_test, y_test = x[train], y[train], x[test], y[test]"]
    if name == "cifar10":
        return [*_folder(name),
                "import pickle",
                "",
                "def batches(names):",
                "    xs, ys = [], []",
                "    for n in names:",
                '        with open(os.path.join(folder, "cifar-10-batches-py", n), "rb") as f:',
                '            d = pickle.load(f, encoding="bytes")',
                '        xs.append(np.asarray(d[b"data"], np.uint8).reshape(-1, 3, 32, 32))',
                '        ys.append(np.asarray(d[b"labels"], np.int64))',
                "    return np.concatenate(xs).transpose(0, 2, 3, 1), np.concatenate(ys)",
                "",
                'x, y = batches([f"data_batch_{i}" for i in range(1, 6)])',
                'x_test, y_test = batches(["test_batch"])']
    lines = _folder(name)
    if name.endswith("_t10k"):
        return [*lines,
                'x = read_idx(folder, "t10k-images-idx3-ubyte")[..., None]',
                'y = read_idx(folder, "t10k-labels-idx1-ubyte").astype(np.int64)',
                "train, test = split_indices(len(x), round(0.2 * len(x)), 0, stratify=y)",
                "x, y, x_test, y_test = x[train], y[train], x[test], y[test]"]
    return [*lines,
            'x = read_idx(folder, "train-images-idx3-ubyte")[..., None]',
            'y = read_idx(folder, "train-labels-idx1-ubyte").astype(np.int64)',
            'x_test = read_idx(folder, "t10k-images-idx3-ubyte")[..., None]',
            'y_test = read_idx(folder, "t10k-labels-idx1-ubyte").astype(np.int64)']


def _check_fits(ctx: Context, name: str) -> None:
    """The dataset's samples must reshape to the network's input (as neural_jax fits them)."""
    from neural_jax.data import DatasetError
    from neural_jax.data._fit import fit_to_input

    raw, dtype = DATASETS[name]
    sample = np.arange(int(np.prod(raw)), dtype=np.float64).reshape((1,) + raw).astype(dtype)
    try:
        fitted = fit_to_input(sample, ctx.input_shape, name=name, scale=False)
    except DatasetError as e:
        raise NeuralValidationError(
            f"--dataset {name}: its samples {raw} do not fit network '{ctx.net.name}': {e}",
            hint="choose a dataset of the network's input shape, or none (random data)") from None
    if ctx.vocab_size is not None or not np.array_equal(
            fitted.reshape(-1), sample.reshape(-1)):
        raise NeuralValidationError(
            f"--dataset {name}: network '{ctx.net.name}' takes input {ctx.input_shape}, which "
            f"a script cannot read {name}'s {raw} samples as",
            hint="choose a dataset of the network's input shape, or none (random data)")


def dataset_hook(ctx: Context, name: str) -> list[str]:
    """The script's sections reading ``name``: helpers, ``load_dataset``, ``load_data`` and
    ``load_test_data``."""
    _check_fits(ctx, name)
    scale = DATASETS[name][1] == np.uint8
    targets = []
    if ctx.task.loss == "categorical_crossentropy":
        targets = ["y_train, y_val, y_test = (np.eye(OUTPUT_SHAPE[-1], dtype=np.float32)[a]"
                   " for a in (y_train, y_val, y_test))  # one-hot"]
    fit = ["def fit(a: np.ndarray) -> np.ndarray:  # to the network's input, channel-last",
           "    a = a.reshape((len(a),) + INPUT_SHAPE)",
           ("    return a.astype(np.float32) / np.float32(255.0)  # raw pixels to [0, 1]"
            if scale else "    return a.astype(np.float32)"),
           "",
           "x, x_test = fit(x), fit(x_test)"]
    body = [
        f'"""``(x_train, y_train, x_val, y_val, x_test, y_test)`` of {name}, as neural_jax',
        "splits it: the dataset's own test part, and VALIDATION_SPLIT of the rest carved with",
        '``seed``, stratified by class."""',
        *_read(name),
        *fit,
        "if VALIDATION_SPLIT > 0:",
        "    keep, val = split_indices(len(x), round(VALIDATION_SPLIT * len(x)), seed, stratify=y)",
        "else:",
        "    keep, val = np.arange(len(x)), np.arange(0)",
        "x_train, y_train, x_val, y_val = x[keep], y[keep], x[val], y[val]",
        *targets,
        "return x_train, y_train, x_val, y_val, x_test, y_test",
    ]
    parts = [_SPLIT]
    if name not in ("digits", "cifar10"):
        parts.append(_IDX)
    parts.append("def load_dataset(seed: int = SEED) -> tuple[np.ndarray, ...]:\n"
                 + indent("\n".join(body), 4))
    parts.append(
        "def load_data(n_train: int | None = N_TRAIN, seed: int = SEED)"
        " -> tuple[np.ndarray, ...]:\n"
        '    """Returns ``(x_train, y_train, x_val, y_val)`` (the first ``n_train`` training\n'
        f'    examples when given) of {name}."""\n'
        "    x_train, y_train, x_val, y_val, _, _ = load_dataset(seed)\n"
        "    if n_train is not None:\n"
        "        x_train, y_train = x_train[:n_train], y_train[:n_train]\n"
        "    return x_train, y_train, x_val, y_val")
    parts.append(
        "def load_test_data() -> tuple[np.ndarray, np.ndarray]:\n"
        f'    """The test part of {name} (only reported: ``--evaluate``)."""\n'
        "    return load_dataset()[4:]")
    return parts


def dataset_constant(name: str) -> list[str]:
    """The constants a real-data script adds."""
    return [f"DATASET = {lit(name)}  # load_data() reads it (see load_dataset())",
            "N_TRAIN = None  # every training example"]
