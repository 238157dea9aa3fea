"""A model's weights, fingerprinted statically: the same arrays give the same fingerprint
whatever the file, layer names or layer order.

Copying a classmate's model and re-saving it (or renaming its layers) changes every byte of
the file but not one weight. So the fingerprint is a sha256 over the sorted multiset of the
weight arrays (dtype, shape and bytes of each), optimizer state left out. The file is read
through :mod:`grader.sandbox.files` and opened with the inspector's own archive and HDF5
readers (:mod:`grader.sandbox.static_check`), with the same caps; nothing is loaded.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

from grader.errors import InvalidModelError
from grader.sandbox.files import read_regular
from grader.sandbox.static_check import (
    HDF5_MAGIC,
    ZIP_MAGIC,
    h5_file,
    h5_weights,
    keras_archive,
    max_unpacked_bytes,
)


def fingerprint(path: Path, *, max_bytes: int, max_params: int) -> str:
    """The weights fingerprint of the model file at ``path`` (a .keras zip or an .h5 file).

    Raises InvalidModelError (or ModelNotFoundError) when the file cannot be read within
    the caps: not a regular file, over ``max_bytes``, more than ``max_params`` weights, or
    not a Keras model file.
    """
    data = read_regular(path, max_bytes=max_bytes)
    name = path.name
    if data.startswith(ZIP_MAGIC):
        _, digest = keras_archive(
            io.BytesIO(data),
            name,
            len(data),
            max_unpacked_bytes(max_params),
            lambda weights: h5_file(weights, name, lambda f: _digest(f, name, None, max_params)),
        )
        return digest
    if data.startswith(HDF5_MAGIC):
        return h5_file(
            io.BytesIO(data),
            name,
            lambda f: _digest(f, name, "model_weights", max_params),
            "HDF5 file",
        )
    raise InvalidModelError(f"{name} is not a Keras model file (.keras zip or .h5)")


def _digest(f: Any, name: str, under: str | None, max_params: int) -> str:
    datasets = list(h5_weights(f, name, under))
    n_params = sum(int(d.size or 0) for d in datasets)
    if n_params > max_params:  # checked before a single array is read
        raise InvalidModelError(
            f"{name} has {n_params:,} parameters; this task allows at most {max_params:,}"
        )
    arrays = sorted(_array_digest(d) for d in datasets)
    return hashlib.sha256("\n".join(arrays).encode()).hexdigest()


def _array_digest(dataset: Any) -> str:
    array = dataset[()]
    digest = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()
