"""What a user may hand a search or a trainer as its data, turned into a `Dataset`.

Accepted kinds (`neural_jax.data.as_dataset`):

* a `Dataset`;
* arrays: ``(x, y)`` or ``(x, y, x_test, y_test)`` (a test split is held out of ``(x, y)``
  as in `from_arrays`);
* the path of an ``.npz`` file (`load_npz`) or a ``.csv`` file (`load_csv`);
* a registered dataset name (``"digits"``, ``"mnist"``...).

A ``.csv`` file has one sample per row and an optional header row (the first row is one when
a feature cell of it is not a number, or its label cell is text above a number, or a
conventional label name; text labels alone do not make a header). Its label column is the one
named by ``label=`` (a header name or a 0-based index), else the header column called
``label``, ``target``, ``class`` or ``y``, else the last column. Integer labels are class ids;
text labels become class ids in sorted order; other numbers make a regression dataset.
"""

from __future__ import annotations

import csv
import os
from typing import Any

import numpy as np

from neural_jax.data._dataset import Dataset, from_arrays, load_npz
from neural_jax.data._errors import DatasetError

__all__ = ["ACCEPTED", "FILE_KINDS", "load_csv", "load_file"]

#: the words of every "cannot use this as data" message
ACCEPTED = ("a neural_jax.data.Dataset, an (x, y) tuple of arrays, the path of an .npz or "
            ".csv file, or a dataset name")

_LABEL_NAMES = ("label", "labels", "target", "class", "y")


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def load_csv(path: str | os.PathLike[str], label: str | int | None = None,
             **kwargs: Any) -> Dataset:
    """Loads a dataset from a ``.csv`` file (see the module docstring for its layout).

    Args:
        path: The file.
        label: The label column: a header name or a 0-based column index; default as above.
        **kwargs: Passed on to `from_arrays` (``num_classes``, ``task``, ``test_fraction``).

    Raises:
        DatasetError: A missing or empty file, ragged rows, an unknown label column, or a
            feature cell that is not a number (named by file:line:column).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise DatasetError(f"no such .csv file: {path}")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [(i + 1, r) for i, r in enumerate(csv.reader(f)) if any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DatasetError(f"cannot read {path} as a .csv file: {err}") from None
    if not rows:
        raise DatasetError(f"{path} is empty; expected one sample per row and a label column")
    header = None
    if _has_header(rows, label):
        header = [c.strip() for c in rows[0][1]]
        rows = rows[1:]
    if not rows:
        raise DatasetError(f"{path} has a header but no data rows")
    width = len(header) if header is not None else len(rows[0][1])
    for line, r in rows:
        if len(r) != width:
            raise DatasetError(f"{path}:{line}: {len(r)} columns, but the file has {width}")
    if width < 2:
        raise DatasetError(f"{path}: a .csv dataset needs feature columns and a label column, "
                           f"found {width} column")
    col = _label_column(path, header, width, label)
    feats = [j for j in range(width) if j != col]
    x = np.empty((len(rows), len(feats)), np.float32)
    for i, (line, r) in enumerate(rows):
        for k, j in enumerate(feats):
            v = _number(r[j])
            if v is None:
                raise DatasetError(f"{path}:{line}:{j + 1}: {r[j]!r} is not a number (column "
                                   f"{header[j] if header else j + 1!r}); every column but the "
                                   "label must be numeric")
            x[i, k] = v
    raw = [r[col].strip() for _, r in rows]
    nums = [_number(c) for c in raw]
    if any(v is None for v in nums):  # text labels: class ids in sorted order
        classes = sorted(set(raw))
        y = np.array([classes.index(c) for c in raw], np.int64)
    else:
        arr = np.array(nums, np.float64)
        integral = kwargs.get("task") != "regression" and np.all(np.mod(arr, 1) == 0)
        y = arr.astype(np.int64) if integral else arr.astype(np.float32)
    kwargs.setdefault("name", os.path.splitext(os.path.basename(path))[0])
    return from_arrays(x, y, **kwargs)


def _has_header(rows: list[tuple[int, list[str]]], label: str | int | None) -> bool:
    """Whether the first row names the columns rather than holding a sample.

    Text labels (``5.1,3.5,setosa``) make a first row of data hold text too, so text in the
    label column alone means a header only when it is a conventional label name, or the
    column holds a number in the next row; text in any other column always does.
    """
    first = rows[0][1]
    text = [j for j, c in enumerate(first) if _number(c) is None]
    if not text:
        return False
    if isinstance(label, str):  # a column named by the header
        return True
    width = len(first)
    col = label % width if isinstance(label, int) and -width <= label < width else width - 1
    if any(j != col for j in text) or first[col].strip().lower() in _LABEL_NAMES:
        return True
    below = rows[1][1] if len(rows) > 1 else []
    return col < len(below) and _number(below[col]) is not None


def _label_column(path: str, header: list[str] | None, width: int,
                  label: str | int | None) -> int:
    if label is None:
        if header is not None:
            for j, h in enumerate(header):
                if h.lower() in _LABEL_NAMES:
                    return j
        return width - 1
    if isinstance(label, int) and not isinstance(label, bool):
        if not -width <= label < width:
            raise DatasetError(f"{path}: label column {label} is out of range; the file has "
                               f"{width} columns")
        return label % width
    if header is None or str(label) not in header:
        known = f"its columns are {', '.join(header)}" if header else "it has no header row"
        raise DatasetError(f"{path}: no label column named {label!r}; {known}")
    return header.index(str(label))


def load_file(path: str | os.PathLike[str], **options: Any) -> Dataset:
    """Loads an ``.npz`` or ``.csv`` file by its extension.

    Raises:
        DatasetError: Another extension (naming the path and what is accepted) or a file that
            cannot be read.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in FILE_KINDS:
        why = f"{ext} files are not supported" if ext else "the file has no extension"
        raise DatasetError(f"cannot load {path} as a dataset: {why}; give {ACCEPTED}")
    return FILE_KINDS[ext](path, **options)


#: file extension -> loader
FILE_KINDS = {".npz": load_npz, ".csv": load_csv}
