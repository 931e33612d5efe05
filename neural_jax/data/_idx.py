"""Reading and writing IDX files, the format of MNIST and Fashion-MNIST.

An IDX file is a header and a big-endian array::

    bytes 0-1   0x00 0x00
    byte  2     dtype code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64
    byte  3     number of dimensions k
    4k bytes    the k sizes, big-endian uint32
    rest        prod(sizes) values of the dtype, big-endian, row-major

Files may be gzip-compressed (recognised by the gzip magic number, not the file name). A
file whose header is malformed or whose payload is shorter or longer than the header says
raises `DatasetError` naming the file.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib

import numpy as np

from neural_jax.data._errors import DatasetError

__all__ = ["read_idx", "write_idx"]

_CODES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as err:
        raise DatasetError(f"cannot read IDX file {path}: {err.strerror or err}") from None
    if raw[:2] == _GZIP_MAGIC:
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise DatasetError(
                f"IDX file {path} is a corrupt or truncated gzip file ({err}); "
                "delete it and download it again"
            ) from None
    return raw


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Reads an IDX file (gzip-compressed or not) into a numpy array.

    Args:
        path: The file.

    Returns:
        The array in native byte order, with the dtype and dimensions of the header.

    Raises:
        DatasetError: If the file cannot be read, is not IDX, or is truncated.
    """
    path = os.fspath(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise DatasetError(f"IDX file {path} is truncated: {len(data)} bytes, no full header")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0:
        raise DatasetError(
            f"{path} is not an IDX file: it starts with 0x{data[:4].hex()} instead of "
            "0x0000 followed by a dtype code and the number of dimensions"
        )
    if code not in _CODES:
        raise DatasetError(f"IDX file {path} has an unknown dtype code 0x{code:02X}")
    if ndim == 0:
        raise DatasetError(f"IDX file {path} declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"IDX file {path} is truncated inside its header")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = _CODES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    got = len(data) - header
    if got != expected:
        what = "truncated" if got < expected else "longer than its header says"
        raise DatasetError(
            f"IDX file {path} is {what}: the header declares shape {tuple(dims)} "
            f"({expected} bytes of data) but the file holds {got}; "
            "delete it and download it again"
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def write_idx(
    path: str | os.PathLike[str], array: np.ndarray, *, compress: bool | None = None
) -> None:
    """Writes an array as an IDX file.

    Args:
        path: Destination.
        array: Array of a dtype IDX supports (uint8, int8, int16, int32, float32, float64).
        compress: Gzip the file; by default, when the name ends in ``.gz``.

    Raises:
        DatasetError: If the dtype has no IDX code.
    """
    path = os.fspath(path)
    array = np.asarray(array)
    code = next(
        (c for c, dt in _CODES.items() if dt.newbyteorder("=") == array.dtype.newbyteorder("=")),
        None,
    )
    if code is None:
        raise DatasetError(f"IDX cannot store dtype {array.dtype}")
    big = array.astype(_CODES[code], copy=False)
    header = struct.pack(">HBB", 0, code, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    payload = header + big.tobytes(order="C")
    if compress is None:
        compress = path.endswith(".gz")
    if compress:
        payload = gzip.compress(payload, mtime=0)
    with open(path, "wb") as f:
        f.write(payload)
