"""MNIST: 28x28 grayscale handwritten digits, 60,000 train and 10,000 test images.

The data is the one ``mnist.npz`` file that ``tf.keras.datasets.mnist`` uses. It is
looked for, in order, in $GRADER_DATA (or its ``mnist`` subfolder), the Keras cache
(~/.keras/datasets) and the grader's download cache; failing all, it is downloaded
from the Keras origin into that cache, checked against its sha256 before it is kept.
The npz is read with ``allow_pickle=False``: no code in the file can run.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from grader.datasets import single_file
from grader.datasets.base import Dataset, ProgressCallback
from grader.errors import DatasetError

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
    return single_file.download_dir(NAME)


def search_dirs() -> list[Path]:
    """Return the folders to look in, best first."""
    return single_file.search_dirs(NAME)


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
        path = single_file.find_or_fetch(
            NAME,
            FILENAME,
            origin=ORIGIN,
            sha256=self.sha256,
            title="MNIST",
            max_bytes=_MAX_BYTES,
            base_url=self.base_url,
            on_progress=on_progress,
        )
        return single_file.load_split(
            NAME,
            split,
            path,
            sha256=self.sha256,
            class_names=CLASS_NAMES,
            read=lambda p: read_npz(p, *_KEYS[split]),
        )


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
