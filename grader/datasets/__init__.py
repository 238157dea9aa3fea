"""Datasets by name: a registry of sources and the functions that load them.

A solution loads its training data with::

    from grader.datasets import load_arrays
    x, y = load_arrays("fashion_mnist", "train")
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from grader.datasets.base import (
    Dataset,
    DatasetSource,
    ProgressCallback,
    fingerprint,
    private_splits,
)
from grader.datasets.folders import write_image_folders
from grader.datasets.heldout import load_heldout
from grader.datasets.registry import DATASETS, get_source, load, public_splits

__all__ = [
    "DATASETS",
    "Dataset",
    "DatasetSource",
    "ProgressCallback",
    "export_train",
    "fingerprint",
    "get_source",
    "load",
    "load_arrays",
    "load_heldout",
    "private_splits",
    "public_splits",
]


def export_train(name: str, dest: str | Path) -> Path:
    """Write dataset ``name``'s train split as class folders of PNGs under ``dest``.

    The layout ``keras.utils.image_dataset_from_directory(dest)`` reads; class folders
    sort in label order. Writing the same data again is a no-op.
    """
    return write_image_folders(load(name, "train", on_progress=_stderr_progress(name)), Path(dest))


def load_arrays(name: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(images, labels)`` of a split as uint8 numpy arrays (a download shows its
    progress on stderr)."""
    dataset = load(name, split, on_progress=_stderr_progress(name))
    return dataset.images, dataset.labels


def _stderr_progress(name: str) -> ProgressCallback:
    """Plain-text download progress for learner code (no rich: it may run in the sandbox)."""
    shown = [-1]

    def report(done: int, total: int | None) -> None:
        tenth = done * 10 // total if total else done >> 24  # every 10 %, or every 16 MB
        if tenth != shown[0]:
            shown[0] = tenth
            of = f" of {total / 1e6:.1f}" if total else ""
            print(f"Downloading {name}: {done / 1e6:.1f}{of} MB", file=sys.stderr, flush=True)

    return report
