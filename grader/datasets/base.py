"""The types every dataset source shares: the loaded split, the source protocol, progress."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

ProgressCallback = Callable[[int, int | None], None]
"""``on_progress(bytes_done, bytes_total)`` while downloading; total is None when unknown."""


@dataclass(frozen=True)
class Dataset:
    """One split of a dataset, loaded into memory."""

    images: np.ndarray
    """uint8 pixels, shape (N, height, width) or (N, height, width, channels)."""
    labels: np.ndarray
    """uint8 class indices, shape (N,)."""
    class_names: tuple[str, ...]
    """Human-readable name of each class index."""
    sha256: str
    """Fingerprint of the arrays (see :func:`fingerprint`); equal data gives an equal value."""
    source: str
    """Where the data was found: a folder or a URL, for reports."""

    def __len__(self) -> int:
        return int(self.labels.shape[0])


class DatasetSource(Protocol):
    """What the registry holds: something that can load a named split."""

    @property
    def name(self) -> str:
        """The registry name, e.g. "fashion_mnist"."""
        ...

    @property
    def splits(self) -> tuple[str, ...]:
        """The split names ``load`` accepts, e.g. ("train", "test")."""
        ...

    def load(self, split: str, *, on_progress: ProgressCallback | None = None) -> Dataset:
        """Return the split, finding or fetching the data as needed."""
        ...


@runtime_checkable
class PrivateSource(Protocol):
    """A source with private splits: generated at grading time from a secret, never loadable
    through :func:`grader.datasets.load` (see :mod:`grader.datasets.secret`)."""

    private_splits: tuple[str, ...]
    """Splits that only the grader may load, with :meth:`load_private`."""

    def load_private(self, split: str) -> Dataset:
        """Return a private split, generated from the held-out secret."""
        ...


def private_splits(source: DatasetSource) -> tuple[str, ...]:
    """The splits of ``source`` a learner's code may never load."""
    return source.private_splits if isinstance(source, PrivateSource) else ()


def fingerprint(images: np.ndarray, labels: np.ndarray) -> str:
    """Return a sha256 over dtypes and shapes, then the image bytes, then the label bytes."""
    digest = hashlib.sha256()
    for array in (images, labels):
        digest.update(f"{array.dtype.str}{array.shape};".encode())
    for array in (images, labels):
        digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()
