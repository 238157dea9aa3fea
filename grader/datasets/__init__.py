"""Datasets by name: a registry of sources and the functions that load them.

A solution loads its training data with::

    from grader.datasets import load_arrays
    x, y = load_arrays("fashion_mnist", "train")
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

import numpy as np

from grader.datasets import cifar10, exported, image_sets, mnist
from grader.datasets.base import (
    Dataset,
    DatasetSource,
    ProgressCallback,
    fingerprint,
    private_splits,
)
from grader.datasets.fashion_mnist import FashionMnist
from grader.datasets.heldout import load_heldout
from grader.datasets.shapes import SHAPES, SHAPES_BINARY
from grader.errors import DatasetError

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
]

DATASETS: dict[str, DatasetSource] = {
    "fashion_mnist": FashionMnist(),
    "mnist": mnist.SOURCE,
    "cifar10": cifar10.SOURCE,
    "shapes": SHAPES,
    "shapes_binary": SHAPES_BINARY,
    **{source.name: source for source in image_sets.ALL},
}
"""Dataset name -> source."""


def get_source(name: str) -> DatasetSource:
    """Return the registered source, or raise DatasetError suggesting close names."""
    try:
        return DATASETS[name]
    except KeyError:
        pass
    close = difflib.get_close_matches(name, DATASETS, n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise DatasetError(
        f"Unknown dataset '{name}'.{hint} Known datasets: {', '.join(sorted(DATASETS))}."
    )


def load(name: str, split: str, *, on_progress: ProgressCallback | None = None) -> Dataset:
    """Load ``split`` ("train" or "test") of dataset ``name``, downloading it if needed.

    Inside a sandboxed child, the splits the grader exported for it are read instead
    (:mod:`grader.datasets.exported`). A private held-out split is refused. A download
    reports its bytes to ``on_progress`` (the CLI passes a progress bar); nothing is shown
    without one.
    """
    source = get_source(name)
    if split not in source.splits:
        raise DatasetError(
            f"Dataset '{name}' has no split '{split}'; use one of: {', '.join(source.splits)}."
        )
    given = exported.find(name, split)
    if given is not None:
        return given
    return source.load(split, on_progress=on_progress)


def export_train(name: str, dest: str | Path) -> Path:
    """Write dataset ``name``'s train split as class folders of PNGs under ``dest``.

    The layout ``keras.utils.image_dataset_from_directory(dest)`` reads; class folders
    sort in label order. Writing the same data again is a no-op.
    """
    from grader.datasets.folders import write_image_folders

    return write_image_folders(load(name, "train", on_progress=_stderr_progress(name)), Path(dest))


def load_arrays(name: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(images, labels)`` of a split as uint8 numpy arrays (a download shows its
    progress on stderr)."""
    dataset = load(name, split, on_progress=_stderr_progress(name))
    return dataset.images, dataset.labels


def public_splits(name: str) -> tuple[str, ...]:
    """The splits of ``name`` a learner's code may load: all but its private held-out ones."""
    source = get_source(name)
    hidden = private_splits(source)
    return tuple(s for s in source.splits if s not in hidden)


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
