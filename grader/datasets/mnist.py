"""MNIST: 28x28 grayscale handwritten digits, 60,000 train and 10,000 test images.

The data is the one ``mnist.npz`` file that ``tf.keras.datasets.mnist`` uses. It is
found, or downloaded from the Keras origin and checked against its sha256, as
:mod:`grader.datasets.single_file` describes.
The npz is read with ``allow_pickle=False``: no code in the file can run.
"""

from __future__ import annotations

import zipfile
from functools import partial
from pathlib import Path

import numpy as np

from grader.datasets import single_file
from grader.errors import DatasetError

NAME = "mnist"
FILENAME = "mnist.npz"
ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
"""Where tf.keras.datasets.mnist downloads from; $GRADER_DATASET_MIRROR replaces it."""
SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
"""sha256 of the upstream mnist.npz."""
CLASS_NAMES = tuple(str(d) for d in range(10))


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


SOURCE = single_file.SingleFileSource(
    NAME,
    title="MNIST",
    filename=FILENAME,
    origin=ORIGIN,
    sha256=SHA256,
    class_names=CLASS_NAMES,
    readers={
        "train": partial(read_npz, images_key="x_train", labels_key="y_train"),
        "test": partial(read_npz, images_key="x_test", labels_key="y_test"),
    },
    max_bytes=64 << 20,
)
"""The registry's source for MNIST."""
