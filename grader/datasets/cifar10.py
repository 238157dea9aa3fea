"""CIFAR-10: 32x32 colour photos in 10 classes, 50,000 train and 10,000 test images.

The data is the CIFAR "python version" tarball ``cifar-10-python.tar.gz``. It is
found, or downloaded and kept only once its sha256 matches, as
:mod:`grader.datasets.single_file` describes.

The batches inside are Python pickles, so they are read with care:

- the tarball is never extracted to disk; every member is checked first, and an
  absolute path, a ``..`` component, a link or a device is refused;
- each batch is unpickled by a restricted Unpickler that builds only dicts, lists,
  bytes, str, int and numpy arrays; any other global (``os.system``...) is refused.
"""

from __future__ import annotations

import io
import pickle
import tarfile
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from grader.datasets import single_file
from grader.errors import DatasetError

NAME = "cifar10"
FILENAME = "cifar-10-python.tar.gz"
ORIGIN = "https://www.cs.toronto.edu/~kriz/"
"""Where the CIFAR tarball is published; $GRADER_DATASET_MIRROR replaces it."""
SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
CLASS_NAMES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
FOLDER = "cifar-10-batches-py"
BATCHES = {
    "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
    "test": ("test_batch",),
}
"""Split -> the batch members that make it up."""
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


def read_tarball(path: Path, batches: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Read ``batches`` from the tarball into uint8 (N, 32, 32, 3) images and labels."""
    try:
        with tarfile.open(path, "r:gz") as tar:
            members = {_checked(path, m): m for m in tar.getmembers()}
            parts = []
            for batch in batches:
                member = members.get(f"{FOLDER}/{batch}")
                if member is None:
                    raise DatasetError(f"{path}: no member {FOLDER}/{batch}; replace the file.")
                stream = tar.extractfile(member)
                if stream is None:
                    raise DatasetError(f"{path}: {member.name} is not a file; replace the file.")
                parts.append(_batch(path, member.name, stream.read()))
    except (tarfile.TarError, OSError, EOFError) as err:
        raise DatasetError(f"{path}: not a readable .tar.gz ({err}); replace the file.") from err
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    return images, labels


def _checked(path: Path, member: tarfile.TarInfo) -> str:
    name = PurePosixPath(member.name)
    if name.is_absolute() or ".." in name.parts:
        raise DatasetError(f"{path}: member '{member.name}' points outside the archive; refused.")
    if not (member.isfile() or member.isdir()):
        raise DatasetError(f"{path}: member '{member.name}' is a link or device; refused.")
    return str(name)


class _RestrictedUnpickler(pickle.Unpickler):
    """Builds only plain containers and numpy arrays; any other global is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global '{module}.{name}' is not allowed")


def _batch(path: Path, member: str, data: bytes) -> tuple[np.ndarray, np.ndarray]:
    where = f"{path}: {member}"
    try:
        raw = _RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as err:
        raise DatasetError(f"{where}: refused to unpickle ({err}); replace the file.") from err
    if not isinstance(raw, dict):
        raise DatasetError(f"{where}: not a CIFAR batch (no dict); replace the file.")
    pixels, labels = raw.get(b"data"), raw.get(b"labels")
    if not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8 or pixels.ndim != 2:
        raise DatasetError(f"{where}: 'data' is not a uint8 (N, 3072) array; replace the file.")
    if pixels.shape[1] != 3 * 32 * 32 or not isinstance(labels, list):
        raise DatasetError(f"{where}: not a CIFAR-10 batch layout; replace the file.")
    label_array = np.asarray(labels, dtype=np.int64)
    if label_array.shape != (pixels.shape[0],) or (
        label_array.size and not 0 <= label_array.min() <= label_array.max() <= 9
    ):
        raise DatasetError(f"{where}: labels do not match the images; replace the file.")
    images = pixels.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), label_array.astype(np.uint8)


SOURCE = single_file.SingleFileSource(
    NAME,
    title="CIFAR-10",
    filename=FILENAME,
    origin=ORIGIN,
    sha256=SHA256,
    class_names=CLASS_NAMES,
    readers={split: partial(read_tarball, batches=names) for split, names in BATCHES.items()},
    max_bytes=256 << 20,
)
"""The registry's source for CIFAR-10."""
