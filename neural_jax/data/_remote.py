"""Where dataset files live, and fetching them with checksum verification.

The data directory is, in order: the ``data_dir`` argument, the ``NEURAL_DATA_DIR``
environment variable, or the user cache directory (``platformdirs.user_cache_dir``). A
dataset's files sit in ``<data dir>/<dataset folder>/`` (``mnist/``, ``fashion_mnist/``,
``cifar10/``); an explicit ``data_dir`` may also be the folder holding the files.

Missing files are downloaded from the mirrors of `SOURCES` (short timeout, checksum checked
before the file is moved into place) unless ``download=False`` or ``NEURAL_DATA_OFFLINE=1``.
When that fails, the error says which files to put in which directory. Files a user placed
by hand are not checksummed: recompressed copies of the same data are fine.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import tempfile
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from neural_jax.data._errors import DatasetError

__all__ = ["SOURCES", "RemoteFile", "Source", "data_root", "dataset_dir", "download_file"]

log = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT_S = 10.0
_CHUNK = 1 << 20


@dataclasses.dataclass(frozen=True)
class RemoteFile:
    """One downloadable file and its published checksum."""

    name: str
    md5: str | None = None
    sha256: str | None = None


@dataclasses.dataclass(frozen=True)
class Source:
    """Where a dataset's files come from.

    Attributes:
        title: Human name for messages.
        folder: Folder under the data root that holds the files.
        mirrors: Base URLs (ending in ``/``) tried in order.
        files: The files, with checksums.
        markers: Names whose presence in a directory shows that it is the dataset folder.
    """

    title: str
    folder: str
    mirrors: tuple[str, ...]
    files: tuple[RemoteFile, ...]
    markers: tuple[str, ...] = ()


def _idx_files(md5s: Sequence[str]) -> tuple[RemoteFile, ...]:
    names = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    return tuple(RemoteFile(n, md5=m) for n, m in zip(names, md5s, strict=True))


def _idx_markers(files: Sequence[RemoteFile]) -> tuple[str, ...]:
    bases = [f.name.removesuffix(".gz") for f in files]
    return tuple(v for b in bases for v in (b, b + ".gz"))


_MNIST = _idx_files(("f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
                     "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"))
_FASHION = _idx_files(("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
                       "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"))

# Published checksums (the same as torchvision's tables); mirrors in order of preference.
SOURCES: dict[str, Source] = {
    "mnist": Source(
        "MNIST", "mnist",
        ("https://ossci-datasets.s3.amazonaws.com/mnist/",
         "https://storage.googleapis.com/cvdf-datasets/mnist/"),
        _MNIST, _idx_markers(_MNIST),
    ),
    "fashion_mnist": Source(
        "Fashion-MNIST", "fashion_mnist",
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
         "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
        _FASHION, _idx_markers(_FASHION),
    ),
    "cifar10": Source(
        "CIFAR-10", "cifar10",
        ("https://www.cs.toronto.edu/~kriz/",),
        (RemoteFile("cifar-10-python.tar.gz", md5="c58f30108f718f92721af3b95e74349a"),),
        ("cifar-10-batches-py", "cifar10.npz", "data_batch_1", "test_batch"),
    ),
}


def data_root(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Returns the data directory: ``data_dir``, else ``$NEURAL_DATA_DIR``, else the user cache."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get("NEURAL_DATA_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs  # lazy: only needed when no directory is given

    return Path(platformdirs.user_cache_dir("neural_jax")) / "datasets"


def dataset_dir(source: Source, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Returns the folder holding (or to hold) a dataset's files.

    That is ``<root>/<source.folder>``, or an explicitly given ``data_dir`` itself when it
    already contains one of the dataset's files. MNIST and Fashion-MNIST share file names,
    so the shortcut is refused for a directory named after another dataset's folder (a
    folder ``mnist/`` never serves as Fashion-MNIST), and never applies to the directory
    from ``NEURAL_DATA_DIR`` or the cache, where each dataset has its own folder.
    """
    root = data_root(data_dir)
    if data_dir is None:
        return root / source.folder
    others = {s.folder for s in SOURCES.values()} - {source.folder}
    if root.name not in others and any((root / m).exists() for m in source.markers):
        return root
    return root / source.folder


def downloads_enabled(download: bool) -> bool:
    """Whether to try the network: ``download`` and not ``NEURAL_DATA_OFFLINE=1``."""
    flag = os.environ.get("NEURAL_DATA_OFFLINE", "").strip().lower()
    return download and flag not in ("1", "true", "yes", "on")


def _verify(path: Path, remote: RemoteFile) -> str | None:
    """Returns None when the checksum matches, else a description of the mismatch."""
    for algo, expected in (("sha256", remote.sha256), ("md5", remote.md5)):
        if expected is None:
            continue
        digest = hashlib.new(algo)
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                digest.update(chunk)
        if digest.hexdigest() != expected.lower():
            return f"checksum mismatch ({algo} expected {expected}, got {digest.hexdigest()})"
    return None


def download_file(
    source: Source, remote: RemoteFile, directory: Path, *, timeout: float = DOWNLOAD_TIMEOUT_S
) -> Path:
    """Downloads one file into ``directory``, verifying its checksum.

    Each mirror is tried in turn; the data is written to a temporary file that replaces
    the destination only after its checksum matched, so a failed or concurrent download
    never leaves a half-written file under the real name.

    Args:
        source: The dataset's source (mirrors).
        remote: The file to fetch.
        directory: Destination folder; created if needed.
        timeout: Socket timeout in seconds for each mirror.

    Returns:
        The path of the downloaded file.

    Raises:
        DatasetError: When every mirror failed; the message gives each mirror's reason.
    """
    dest = directory / remote.name
    reasons = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DatasetError(f"cannot create {directory}: {err.strerror or err}") from None
    for base in source.mirrors:
        url = base + remote.name
        log.info("downloading %s", url)
        try:
            fd, tmp_name = tempfile.mkstemp(
                prefix=remote.name + ".", suffix=".part", dir=directory
            )
        except OSError as err:
            raise DatasetError(f"cannot write to {directory}: {err.strerror or err}") from None
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                for chunk in iter(lambda: resp.read(_CHUNK), b""):
                    out.write(chunk)
            problem = _verify(tmp, remote)
            if problem is None:
                os.replace(tmp, dest)
                return dest
            reasons.append(f"{url}: {problem}")
        except (OSError, ValueError) as err:  # URLError, HTTPError and timeouts are OSErrors
            reasons.append(f"{url}: {getattr(err, 'reason', None) or err}")
        finally:
            tmp.unlink(missing_ok=True)
    raise DatasetError("; ".join(reasons) or "no mirror is configured")


def missing_files_error(
    source: Source,
    directory: Path,
    missing: Sequence[str],
    *,
    download_error: str | None = None,
    hint: str | None = None,
) -> DatasetError:
    """Builds the error for files that are neither present nor downloadable."""
    lines = [
        f"{source.title} files are missing. Put these files in {directory}:",
        *(f"  {name}" for name in missing),
    ]
    if download_error is not None:
        lines.append(f"Downloading them failed: {download_error}")
    else:
        lines.append("Downloading is switched off (download=False or NEURAL_DATA_OFFLINE=1).")
    urls = ", ".join(source.mirrors)
    lines.append(
        f"They are published at {urls}. Or point data_dir (or NEURAL_DATA_DIR) at a "
        f"directory that holds them directly or in a '{source.folder}/' folder."
    )
    if hint:
        lines.append(hint)
    return DatasetError("\n".join(lines))
