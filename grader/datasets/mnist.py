"""MNIST: 28x28 grayscale handwritten digits, 60,000 train and 10,000 test images.

The data is the one ``mnist.npz`` file that ``tf.keras.datasets.mnist`` uses. It is
looked for, in order, in $GRADER_DATA (or its ``mnist`` subfolder), the Keras cache
(~/.keras/datasets) and the grader's download cache; failing all, it is downloaded
from the Keras origin into that cache, checked against its sha256 before it is kept.
The npz is read with ``allow_pickle=False``: no code in the file can run.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from grader.datasets import cache, download
from grader.datasets.base import Dataset, ProgressCallback, fingerprint
from grader.errors import DatasetError, DatasetMissingError

NAME = "mnist"
FILENAME = "mnist.npz"
ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
"""Where tf.keras.datasets.mnist downloads from; $GRADER_DATASET_MIRROR replaces it."""
SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
"""sha256 of the upstream mnist.npz."""
CLASS_NAMES = tuple(str(d) for d in range(10))
_KEYS = {"train": ("x_train", "y_train"), "test": ("x_test", "y_test")}
_MAX_BYTES = 64 << 20


def download_dir() -> Path:
    """Return the folder downloads go to: <grader cache>/mnist."""
    return cache.cache_root() / NAME


def search_dirs() -> list[Path]:
    """Return the folders to look in, best first; computed from HOME and env at call time."""
    dirs: list[Path] = []
    data = os.environ.get("GRADER_DATA")
    if data:
        root = Path(data).expanduser()
        dirs += [root / NAME, root]
    dirs += [Path.home() / ".keras" / "datasets", download_dir()]
    return dirs


class Mnist:
    """The registry's source for MNIST."""

    name = NAME
    splits: tuple[str, ...] = tuple(_KEYS)

    def __init__(self, *, base_url: str | None = None, sha256: str = SHA256) -> None:
        self.base_url = base_url
        """Overrides both the origin and $GRADER_DATASET_MIRROR when set."""
        self.sha256 = sha256
        """The checksum a downloaded file must have (tests serve their own small file)."""

    def load(self, split: str, *, on_progress: ProgressCallback | None = None) -> Dataset:
        """Return the split, reading (and caching) or downloading mnist.npz as needed."""
        path = next((d / FILENAME for d in search_dirs() if (d / FILENAME).is_file()), None)
        if path is None:
            path = self._download(on_progress)
        key = cache.key_for([path], self.sha256)
        hit = cache.load(NAME, split, key)
        if hit is not None:
            return Dataset(hit.images, hit.labels, CLASS_NAMES, hit.sha256, hit.source)
        images, labels = read_npz(path, *_KEYS[split])
        sha = fingerprint(images, labels)
        cache.save(NAME, split, key, cache.CachedArrays(images, labels, sha, str(path.parent)))
        return Dataset(images, labels, CLASS_NAMES, sha, str(path.parent))

    def _download(self, on_progress: ProgressCallback | None) -> Path:
        url = download.resolve_url(ORIGIN, FILENAME, base_url=self.base_url)
        try:
            return download.fetch(
                url,
                download_dir() / FILENAME,
                sha256=self.sha256,
                on_progress=on_progress,
                max_bytes=_MAX_BYTES,
            )
        except DatasetMissingError as err:
            why = download.reason(err.__cause__) if err.__cause__ is not None else str(err)
            looked = ", ".join(str(d) for d in search_dirs())
            raise DatasetMissingError(
                f"MNIST must be downloaded first: {url} could not be fetched ({why}) and "
                f"no {FILENAME} was found in {looked}; connect to the internet and run "
                "again, or copy mnist.npz into one of those folders."
            ) from err


def read_npz(path: Path, images_key: str, labels_key: str) -> tuple[np.ndarray, np.ndarray]:
    """Read two uint8 arrays from an npz (no pickles); DatasetError names the file if bad."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            images, labels = npz[images_key], npz[labels_key]
    except KeyError as err:
        raise DatasetError(f"{path}: has no array {err}; replace the file.") from err
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise DatasetError(f"{path}: not a readable .npz ({err}); replace the file.") from err
    if (
        images.dtype != np.uint8
        or labels.dtype != np.uint8
        or images.ndim != 3
        or labels.shape != images.shape[:1]
    ):
        raise DatasetError(
            f"{path}: arrays {images_key} {images.dtype}{images.shape} and {labels_key} "
            f"{labels.dtype}{labels.shape} are not uint8 images and labels; replace the file."
        )
    if labels.size and int(labels.max()) > 9:
        raise DatasetError(f"{path}: label {int(labels.max())} is not a digit; replace the file.")
    return images, labels
