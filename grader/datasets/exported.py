"""Splits handed to a sandboxed child that trains: arrays in a read-only folder it can see.

A child sees none of the machine's data folders (:mod:`grader.datasets.locations`). When it
runs a learner's solution, the grader writes the splits that solution may use (the training
split, and a test split only where the dataset publishes it) as ``<name>/<split>/`` array
entries into a folder mounted read-only in the child, and names it in ``$GRADER_ARRAYS``.
:func:`grader.datasets.load` looks there first, so ``load_arrays`` and ``export_train`` work
inside the sandbox exactly as outside. Private held-out splits are never exported.
"""

from __future__ import annotations

import os
from pathlib import Path

from grader.datasets import cache
from grader.datasets.base import Dataset
from grader.errors import DatasetError

ARRAYS_ENV = "GRADER_ARRAYS"
"""Environment variable naming the exported-splits folder: set inside a child, and by a
Gradescope autograder for the splits its zip ships (:mod:`grader.instructors.gradescope`)."""


def export(data: Dataset, name: str, split: str, folder: Path) -> None:
    """Write ``data`` as the ``name``/``split`` entry of ``folder``."""
    entry = cache.CachedArrays(data.images, data.labels, data.sha256, data.source, data.class_names)
    if cache.write_entry(folder / name / split, entry) is None:
        raise DatasetError(
            f"cannot write the {name} {split} split for the sandbox into {folder}; "
            "check that the temporary folder has space"
        )


def find(name: str, split: str) -> Dataset | None:
    """The exported split, when this process runs in a child that was given it."""
    folder = os.environ.get(ARRAYS_ENV)
    if not folder:
        return None
    hit = cache.read_entry(Path(folder) / name / split)
    if hit is None:
        return None
    return Dataset(hit.images, hit.labels, hit.class_names, hit.sha256, hit.source)
