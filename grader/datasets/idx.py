"""Read idx files (the MNIST family's format), raw or gzipped, into uint8 arrays.

An idx file is two zero bytes, a dtype code (0x08 for uint8), the number of
dimensions, each dimension as a big-endian uint32, then the payload.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from grader.errors import DatasetError

_GZIP_MAGIC = b"\x1f\x8b"
_UINT8 = 0x08
_CHUNK = 1 << 20
DEFAULT_MAX_BYTES = 1 << 30
"""Decompressed-size cap used when the caller does not know the expected size."""


def read_bytes(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Return the file's content, gunzipped if it is gzip; DatasetError past ``max_bytes``."""
    return b"".join(_chunks(path, max_bytes))


def content_digest(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[str, int]:
    """Return (sha256, size) of the file's content, gunzipped if gzip, without holding it all."""
    digest = hashlib.sha256()
    size = 0
    for chunk in _chunks(path, max_bytes):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def parse_idx(data: bytes, *, name: str) -> np.ndarray:
    """Parse idx bytes into a writable uint8 array; ``name`` is used in error messages."""
    if len(data) < 4:
        raise DatasetError(f"{name}: not an idx file (only {len(data)} bytes); replace the file.")
    zero, code, ndim = struct.unpack_from(">HBB", data)
    if zero != 0 or ndim == 0:
        raise DatasetError(
            f"{name}: not an idx file (magic {data[:4].hex()}); replace the file with the real one."
        )
    if code != _UINT8:
        raise DatasetError(
            f"{name}: idx dtype code 0x{code:02x} is not 0x08 (uint8); replace the file."
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{name}: idx header is truncated; replace the file.")
    dims = struct.unpack_from(f">{ndim}I", data, 4)
    expected = math.prod(dims)
    got = len(data) - header
    if got != expected:
        raise DatasetError(
            f"{name}: idx payload is {got} bytes but dims {dims} need {expected} "
            "(truncated or corrupt); replace the file."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims).copy()


def read_idx(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> np.ndarray:
    """Read an idx file (raw or .gz) into a uint8 array; DatasetError names the file if bad."""
    return parse_idx(read_bytes(path, max_bytes=max_bytes), name=str(path))


def _chunks(path: Path, max_bytes: int) -> Iterator[bytes]:
    # Chunked with a running cap so a gzip bomb cannot fill memory.
    size = 0
    try:
        with _open(path) as stream:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise DatasetError(
                        f"{path}: content is larger than the expected {max_bytes} bytes; "
                        "replace the file with the real one."
                    )
                yield chunk
    except (OSError, EOFError, zlib.error) as err:
        raise DatasetError(f"{path}: cannot read ({err}); replace the file.") from err


def _open(path: Path) -> io.BufferedIOBase:
    with path.open("rb") as probe:
        magic = probe.read(len(_GZIP_MAGIC))
    if magic == _GZIP_MAGIC:
        return gzip.GzipFile(path, "rb")
    return path.open("rb")
