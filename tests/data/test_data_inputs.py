"""Data a user hands over: Dataset, arrays, .npz and .csv files, and clear errors otherwise."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from neural_jax.data import Dataset, DatasetError, as_dataset, load, load_csv


def _digits():
    d = load_digits()
    return d.data.astype(np.float32), d.target.astype(np.int64)


def _write_csv(path, x, y, header=None, label_first=False):
    rows = []
    if header is not None:
        rows.append(",".join(header))
    for xi, yi in zip(x, y):
        cells = [f"{v:g}" for v in xi]
        rows.append(",".join([str(yi), *cells] if label_first else [*cells, str(yi)]))
    path.write_text("\n".join(rows) + "\n")
    return path


def test_csv_label_is_the_last_column_without_a_header(tmp_path):
    x, y = _digits()
    ds = load(str(_write_csv(tmp_path / "digits.csv", x, y)))
    assert ds.name == "digits" and ds.num_classes == 10 and ds.input_shape == (64,)
    assert len(ds.x_train) + len(ds.x_test) == len(x) == 1797
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    # every row kept its label: the feature sums of class 0 match the source's
    got = np.concatenate([ds.x_train, ds.x_test])[np.concatenate([ds.y_train, ds.y_test]) == 0]
    assert np.isclose(got.sum(), x[y == 0].sum())


def test_csv_label_column_by_name_or_a_conventional_header(tmp_path):
    x, y = _digits()
    header = ["target", *(f"px{i}" for i in range(64))]
    path = _write_csv(tmp_path / "d.csv", x[:300], y[:300], header, label_first=True)
    ds = load_csv(path)  # "target" is found by its name, though it is the first column
    assert ds.input_shape == (64,) and ds.num_classes == 10
    named = load(str(path), label="px0")  # any column by name: px0 is always 0 -> 1 class
    assert named.input_shape == (64,) and named.num_classes == 1
    with pytest.raises(DatasetError, match=r"d\.csv: no label column named 'digit'; "
                                           r"its columns are target, px0"):
        load_csv(path, label="digit")


def test_csv_text_labels_become_class_ids(tmp_path):
    path = tmp_path / "iris.csv"
    species = ["setosa", "virginica", "versicolor"]
    rows = ["a,b,species"] + [f"{i},{i % 3},{species[i % 3]}" for i in range(30)]
    path.write_text("\n".join(rows))
    ds = load_csv(path, test_fraction=0.2)
    assert ds.num_classes == 3
    first = {int(a): int(c) for (a, _), c in zip(ds.x_train, ds.y_train)}
    # sorted: setosa, versicolor, virginica
    assert first[0] == 0 and first[1] == 2 and first[2] == 1


def test_csv_errors_name_the_file_and_place(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n1,2,0\n3,x,1\n")
    with pytest.raises(DatasetError, match=r"bad\.csv:3:2: 'x' is not a number \(column 'b'\)"):
        load(str(bad))
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("1,2,0\n3,1\n")
    with pytest.raises(DatasetError, match=r"ragged\.csv:2: 2 columns, but the file has 3"):
        load(str(ragged))
    empty = tmp_path / "empty.csv"
    empty.write_text("\n")
    with pytest.raises(DatasetError, match="empty"):
        load(str(empty))
    with pytest.raises(DatasetError, match=r"no such \.csv file: .*missing\.csv"):
        load(str(tmp_path / "missing.csv"))


def test_a_csv_is_no_longer_read_as_pickled_data_and_other_files_are_refused(tmp_path):
    other = tmp_path / "data.parquet"
    other.write_bytes(b"PAR1....")
    with pytest.raises(DatasetError) as info:
        load(str(other))
    msg = str(info.value)
    assert str(other) in msg and ".parquet files are not supported" in msg
    assert ".npz or .csv" in msg and "pickle" not in msg
    with pytest.raises(DatasetError, match="is a directory"):
        load(str(tmp_path))


def test_npz_and_data_dir_is_ignored_for_files(tmp_path):
    x, y = _digits()
    np.savez(tmp_path / "d.npz", x=x.reshape(-1, 8, 8, 1), y=y)
    ds = load(str(tmp_path / "d.npz"), data_dir=str(tmp_path))
    assert ds.input_shape == (8, 8, 1) and ds.num_classes == 10
    with pytest.raises(DatasetError, match="does not take the options \\['bogus'\\]"):
        load(str(tmp_path / "d.npz"), bogus=1)
    with pytest.raises(DatasetError, match="label= names the label column of a .csv file"):
        load(str(tmp_path / "d.npz"), label="y")


def test_as_dataset_takes_every_accepted_kind(tmp_path):
    x, y = _digits()
    ds = as_dataset((x, y))
    assert isinstance(ds, Dataset) and ds.num_classes == 10 and ds.name == "arrays"
    four = as_dataset((x[:1000], y[:1000], x[1000:], y[1000:]))
    assert len(four.x_test) == 797
    assert as_dataset(ds) is ds
    assert as_dataset("digits").input_shape == (8, 8, 1)
    assert as_dataset(_write_csv(tmp_path / "p.csv", x[:100], y[:100])).input_shape == (64,)
    for bad, what in ((3, "int"), ({"x": x}, "dict"), ((x,), "tuple of 1 items")):
        with pytest.raises(DatasetError, match=f"cannot use .*{what}.* as a dataset; "
                                               "give a neural_jax.data.Dataset"):
            as_dataset(bad)


IRIS_ROWS = ["5.1,3.5,setosa", "4.9,3.0,setosa", "7.0,3.2,versicolor", "6.4,3.2,versicolor",
             "6.3,3.3,virginica"]


def _samples(ds):
    x = np.concatenate([ds.x_train, ds.x_test])
    y = np.concatenate([ds.y_train, ds.y_test])
    return sorted((tuple(float(v) for v in xi), int(yi)) for xi, yi in zip(x, y))


def test_csv_without_a_header_keeps_its_first_sample_when_labels_are_text(tmp_path):
    path = tmp_path / "iris.csv"
    path.write_text("\n".join(IRIS_ROWS) + "\n")
    ds = load_csv(path, test_fraction=0.2)
    assert ds.input_shape == (2,) and ds.num_classes == 3  # setosa, versicolor, virginica
    got = _samples(ds)
    assert len(got) == 5
    assert ((5.1, 3.5), 0) in [((round(a, 4), round(b, 4)), c) for (a, b), c in got]
    # the same file by label index, and with the label first
    assert len(_samples(load_csv(path, label=-1, test_fraction=0.2))) == 5
    first = tmp_path / "first.csv"
    first.write_text("\n".join(",".join([r.split(",")[2], *r.split(",")[:2]]) for r in IRIS_ROWS))
    assert len(_samples(load_csv(first, label=0, test_fraction=0.2))) == 5


@pytest.mark.parametrize("header", ["sepal_length,sepal_width,species",  # named features
                                    "1,2,label",  # numbered features, a conventional name
                                    "1,2,price"])  # label text above numbers
def test_csv_with_a_real_header_still_reads_it_as_one(tmp_path, header):
    path = tmp_path / "h.csv"
    body = IRIS_ROWS if header.endswith("species") else [
        r.rsplit(",", 1)[0] + f",{i}.5" for i, r in enumerate(IRIS_ROWS)]
    path.write_text("\n".join([header, *body]) + "\n")
    kwargs = {} if header.endswith("species") else {"task": "regression"}
    ds = load_csv(path, test_fraction=0.2, **kwargs)
    assert len(_samples(ds)) == 5 and ds.input_shape == (2,)
    if header.endswith("species"):
        named = load_csv(path, label="species", test_fraction=0.2)
        assert named.num_classes == 3 and len(_samples(named)) == 5
