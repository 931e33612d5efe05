"""File datasets: IDX parsing, MNIST-style loaders, CIFAR-10, data directories, downloads."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
import tarfile
from pathlib import Path

import numpy as np
import pytest
from dataset_files import IDX_NAMES, write_cifar_batches, write_idx_dataset

from neural_jax import data
from neural_jax.data import DatasetError, _remote, read_idx, write_idx

SHARED_MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist"
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
needs_shared = pytest.mark.skipif(
    not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").is_file(),
    reason=f"the real MNIST test split is not at {SHARED_MNIST} (shared/ sits next to the repo)",
)


# --- IDX ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, dtype, suffix) -> None:
    arr = (np.arange(2 * 3 * 4) - 5).reshape(2, 3, 4).astype(dtype)
    path = tmp_path / f"a.idx{suffix}"
    write_idx(path, arr)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    out = read_idx(path)
    assert out.dtype == np.dtype(dtype).newbyteorder("=") and out.shape == arr.shape
    np.testing.assert_array_equal(out, arr)


def test_idx_header_is_big_endian(tmp_path) -> None:
    write_idx(tmp_path / "x", np.zeros((3, 2), np.int32))
    raw = (tmp_path / "x").read_bytes()
    assert raw[:4] == b"\x00\x00\x0c\x02" and raw[4:12] == b"\x00\x00\x00\x03\x00\x00\x00\x02"


def test_truncated_idx_names_the_file(tmp_path) -> None:
    path = tmp_path / "train-images-idx3-ubyte"
    write_idx(path, np.zeros((10, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DatasetError, match=f"{path}.*truncated.*\\(10, 28, 28\\)"):
        read_idx(path)


def test_truncated_gzip_names_the_file(tmp_path) -> None:
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    write_idx(path, np.zeros(1000, np.uint8))
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(DatasetError, match=f"{path}.*corrupt or truncated gzip"):
        read_idx(path)


@pytest.mark.parametrize(
    "payload, message",
    [
        (b"\x01\x02\x08\x01\x00\x00\x00\x01\x00", "not an IDX file"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x00", "unknown dtype code 0x07"),
        (b"\x00\x00\x08\x03\x00\x00", "truncated inside its header"),
        (b"\x00\x00", "no full header"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x00\x00", "longer than its header says"),
    ],
)
def test_corrupt_idx_is_a_clear_error(tmp_path, payload, message) -> None:
    path = tmp_path / "bad-idx"
    path.write_bytes(payload)
    with pytest.raises(DatasetError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_missing_idx_file(tmp_path) -> None:
    with pytest.raises(DatasetError, match="cannot read IDX file"):
        read_idx(tmp_path / "nope")


# --- MNIST-style loaders on files written here -------------------------------------------


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_from_written_idx_files(tmp_path, gz) -> None:
    written = write_idx_dataset(tmp_path / "mnist", n_train=60, n_test=30, gz=gz)
    for data_dir in (tmp_path, tmp_path / "mnist"):  # the root or the folder itself
        ds = data.load("mnist", data_dir=data_dir, download=False)
        assert ds.x_train.shape == (60, 28, 28, 1) and ds.x_test.shape == (30, 28, 28, 1)
        assert ds.x_train.dtype == np.uint8 and ds.input_shape == (28, 28, 1)
        np.testing.assert_array_equal(ds.x_train[..., 0], written["train"][0])
        np.testing.assert_array_equal(ds.y_test, written["test"][1])
        assert ds.num_classes == 10


def test_mixed_compressed_and_dotted_names(tmp_path) -> None:
    write_idx_dataset(tmp_path, n_train=20, n_test=10, gz=False)
    (tmp_path / "train-images-idx3-ubyte").rename(tmp_path / "train-images.idx3-ubyte")
    raw = (tmp_path / "t10k-labels-idx1-ubyte").read_bytes()
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(raw))
    ds = data.mnist(tmp_path, download=False)
    assert len(ds.x_train) == 20 and len(ds.y_test) == 10


def test_fashion_mnist_from_env_dir(data_root) -> None:
    ds = data.load("fashion_mnist")  # NEURAL_DATA_DIR set by the fixture, files uncompressed
    assert ds.name == "fashion_mnist" and ds.x_train.shape == (50, 28, 28, 1)


def test_inconsistent_idx_pair_is_an_error(tmp_path) -> None:
    write_idx_dataset(tmp_path, n_train=20, n_test=10)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(19, np.uint8))
    with pytest.raises(DatasetError, match=r"20 images but .*19 labels"):
        data.mnist(tmp_path, download=False)


def test_missing_files_message_names_files_and_directory(tmp_path) -> None:
    with pytest.raises(DatasetError) as info:
        data.load("mnist", data_dir=tmp_path, download=False)
    msg = str(info.value)
    assert f"Put these files in {tmp_path / 'mnist'}" in msg
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        assert name in msg
    assert "NEURAL_DATA_DIR" in msg


def test_test_split_is_never_used_in_place_of_train(tmp_path) -> None:
    write_idx_dataset(tmp_path, n_test=30, splits=("test",))
    with pytest.raises(DatasetError) as info:
        data.mnist(tmp_path, download=False)
    msg = str(info.value)
    assert "train-images-idx3-ubyte.gz" in msg and "t10k-images" not in msg.split("\n")[1]
    assert "mnist_t10k" in msg and "never used in place of the training split" in msg
    x, y = data.read_split("mnist", "test", tmp_path, download=False)
    assert x.shape == (30, 28, 28, 1) and len(y) == 30
    with pytest.raises(DatasetError, match="train-images"):
        data.read_split("mnist", "train", tmp_path, download=False)


def test_offline_env_switches_downloads_off(tmp_path, monkeypatch) -> None:
    def fail(*args, **kwargs):
        raise AssertionError("no download expected")

    monkeypatch.setattr(_remote, "download_file", fail)
    monkeypatch.setenv("NEURAL_DATA_OFFLINE", "1")
    with pytest.raises(DatasetError, match="Downloading is switched off"):
        data.mnist(tmp_path)


def test_mnist_files_never_serve_as_fashion_mnist(tmp_path, monkeypatch) -> None:
    write_idx_dataset(tmp_path / "mnist", n_train=20, n_test=10)
    with pytest.raises(DatasetError, match="Fashion-MNIST files are missing"):
        data.fashion_mnist(tmp_path / "mnist", download=False)
    write_idx_dataset(tmp_path / "flat", n_train=20, n_test=10)
    monkeypatch.setenv("NEURAL_DATA_DIR", str(tmp_path / "flat"))
    with pytest.raises(DatasetError, match=f"Put these files in {tmp_path / 'flat' / 'mnist'}"):
        data.mnist(download=False)  # under NEURAL_DATA_DIR each dataset has its own folder


def test_default_data_root(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("NEURAL_DATA_DIR", raising=False)
    root = data.data_root()
    assert "neural_jax" in str(root) and root.name == "datasets"
    monkeypatch.setenv("NEURAL_DATA_DIR", str(tmp_path))
    assert data.data_root() == tmp_path
    assert data.data_root(tmp_path / "x") == tmp_path / "x"


# --- downloads ---------------------------------------------------------------------------


def _mirror(tmp_path: Path, corrupt: str | None = None) -> tuple[Path, _remote.Source]:
    """A local file:// mirror of tiny MNIST files and a Source pointing at it."""
    mirror = tmp_path / "mirror"
    write_idx_dataset(mirror, n_train=40, n_test=20)
    files = []
    for remote in _remote.SOURCES["mnist"].files:
        md5 = hashlib.md5((mirror / remote.name).read_bytes()).hexdigest()
        if remote.name == corrupt:
            md5 = "0" * 32
        files.append(dataclasses.replace(remote, md5=md5))
    source = dataclasses.replace(
        _remote.SOURCES["mnist"],
        mirrors=("http://unreachable.invalid/", mirror.as_uri() + "/"),
        files=tuple(files),
    )
    return mirror, source


def test_download_from_mirror_with_checksums(tmp_path, monkeypatch) -> None:
    _, source = _mirror(tmp_path)
    monkeypatch.setitem(_remote.SOURCES, "mnist", source)
    ds = data.load("mnist", data_dir=tmp_path / "root")
    assert len(ds.x_train) == 40 and len(ds.x_test) == 20
    got = sorted(os.listdir(tmp_path / "root" / "mnist"))
    assert got == sorted(r.name for r in source.files)  # no temporary files left


def test_checksum_mismatch_keeps_nothing_and_says_so(tmp_path, monkeypatch) -> None:
    _, source = _mirror(tmp_path, corrupt="train-labels-idx1-ubyte.gz")
    monkeypatch.setitem(_remote.SOURCES, "mnist", source)
    target = tmp_path / "root" / "mnist"
    with pytest.raises(DatasetError) as info:
        data.mnist(tmp_path / "root")
    msg = str(info.value)
    assert "checksum mismatch (md5 expected 0000" in msg
    assert "network disabled" in msg  # the first mirror's reason is reported too
    assert f"Put these files in {target}" in msg and "train-labels-idx1-ubyte.gz" in msg
    assert sorted(os.listdir(target)) == ["train-images-idx3-ubyte.gz"]


def test_download_failure_offline_names_files(tmp_path) -> None:
    with pytest.raises(DatasetError) as info:
        data.fashion_mnist(tmp_path)
    msg = str(info.value)
    assert "Downloading them failed" in msg and "network disabled" in msg
    assert str(tmp_path / "fashion_mnist") in msg and "train-images-idx3-ubyte.gz" in msg


# --- the real MNIST test split in shared/ -----------------------------------------------


@needs_shared
def test_real_mnist_test_split() -> None:
    x, y = data.read_split("mnist", "test", SHARED_MNIST, download=False)
    assert x.shape == (10000, 28, 28, 1) and x.dtype == np.uint8
    assert np.bincount(y).tolist() == MNIST_TEST_COUNTS
    assert 0 < x.mean() < 255 and x.max() == 255


def test_read_only_directory_is_a_clear_error(tmp_path, monkeypatch) -> None:
    def no_temp(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(_remote.tempfile, "mkstemp", no_temp)
    with pytest.raises(DatasetError, match="Downloading them failed: cannot write to"):
        data.mnist(tmp_path)


@needs_shared
def test_real_mnist_t10k_dataset_and_no_substitution() -> None:
    ds = data.load("mnist_t10k", data_dir=SHARED_MNIST, download=False)
    assert ds.name == "mnist_t10k"
    assert len(ds.x_train) == 8000 and len(ds.x_test) == 2000
    counts = np.bincount(ds.y_train) + np.bincount(ds.y_test)
    assert counts.tolist() == MNIST_TEST_COUNTS
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte\.gz"):
        data.load("mnist", data_dir=SHARED_MNIST, download=False)


# --- CIFAR-10 ----------------------------------------------------------------------------


def test_cifar10_from_pickle_batches(tmp_path) -> None:
    arrays = write_cifar_batches(tmp_path / "cifar-10-batches-py", per_batch=6)
    ds = data.cifar10(tmp_path, download=False)
    assert ds.x_train.shape == (30, 32, 32, 3) and ds.x_test.shape == (6, 32, 32, 3)
    np.testing.assert_array_equal(ds.x_train, arrays["x_train"])
    np.testing.assert_array_equal(ds.y_test, arrays["y_test"])


def test_cifar10_from_npz_channel_first(tmp_path) -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (8, 3, 32, 32), dtype=np.uint8)
    np.savez(tmp_path / "cifar10.npz", x_train=x, y_train=np.arange(8), x_test=x[:2],
             y_test=np.arange(2).reshape(2, 1))
    ds = data.cifar10(tmp_path, download=False)
    assert ds.x_train.shape == (8, 32, 32, 3) and ds.y_test.shape == (2,)
    np.testing.assert_array_equal(ds.x_train[1, :, :, 2], x[1, 2])


def test_cifar10_from_archive(tmp_path) -> None:
    src = tmp_path / "src"
    write_cifar_batches(src / "cifar-10-batches-py", per_batch=4)
    target = tmp_path / "root" / "cifar10"
    target.mkdir(parents=True)
    with tarfile.open(target / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(src / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    ds = data.cifar10(tmp_path / "root", download=False)
    assert len(ds.x_train) == 20 and len(ds.x_test) == 4


def test_cifar10_corrupt_and_missing(tmp_path) -> None:
    with pytest.raises(DatasetError, match="cifar-10-batches-py/data_batch_1"):
        data.cifar10(tmp_path, download=False)
    write_cifar_batches(tmp_path / "cifar-10-batches-py", per_batch=2)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(DatasetError, match="test_batch is not a readable CIFAR-10 batch"):
        data.cifar10(tmp_path, download=False)


def test_idx_names_match_the_source_table() -> None:
    names = {r.name for r in _remote.SOURCES["mnist"].files}
    assert names == {n + ".gz" for pair in IDX_NAMES.values() for n in pair}
