"""Splits handed to a sandboxed child that trains: arrays in a read-only folder it can see.

A child sees none of the machine's data folders (:mod:`grader.datasets.locations`). When it
runs a learner's solution, the grader writes the splits that solution may use (the training
split, and a test split only where the dataset publishes it) as ``<name>/<split>/`` array
entries into a folder mounted read-only in the child, and names it in ``$GRADER_ARRAYS``.
:func:`grader.datasets.load` looks there first, so ``load_arrays`` and ``export_train`` work
inside the sandbox exactly as outside. Private held-out splits are never exported.

A Gradescope autograder ships the same entries, but of the training split only the rows
grading predicts (:func:`export_sample`, read back by :func:`find_sample`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.datasets import cache
from grader.datasets.base import Dataset
from grader.errors import DatasetError

ARRAYS_ENV = "GRADER_ARRAYS"
"""Environment variable naming the exported-splits folder: set inside a child, and by a
Gradescope autograder for the splits its zip ships (:mod:`grader.instructors.gradescope`)."""
SAMPLE_SUFFIX = "-sample"
"""A sample of a split is the entry ``<name>/<split>-sample`` (see :func:`export_sample`)."""
_POSITIONS = "sample.json"


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


@dataclass(frozen=True)
class Sample:
    """Some rows of a split, with where they sit in it (a Gradescope zip ships only these)."""

    data: Dataset
    """The sampled rows; its sha256 is the WHOLE split's fingerprint."""
    indices: np.ndarray
    """Positions of the rows in the whole split, sorted."""
    total: int
    """Length of the whole split."""


def export_sample(data: Dataset, indices: np.ndarray, name: str, split: str, folder: Path) -> None:
    """Write only the rows ``indices`` of ``data`` (the whole ``split``) into ``folder``."""
    target = folder / name / f"{split}{SAMPLE_SUFFIX}"
    picked = Dataset(
        data.images[indices], data.labels[indices], data.class_names, data.sha256, data.source
    )
    export(picked, name, f"{split}{SAMPLE_SUFFIX}", folder)
    positions = {"total": len(data), "indices": [int(i) for i in indices]}
    (target / _POSITIONS).write_text(json.dumps(positions), encoding="utf-8")


def find_sample(name: str, split: str) -> Sample | None:
    """The exported sample of ``split`` (see :func:`export_sample`), if this process has one."""
    folder = os.environ.get(ARRAYS_ENV)
    if not folder:
        return None
    entry = Path(folder) / name / f"{split}{SAMPLE_SUFFIX}"
    hit = cache.read_entry(entry)
    try:
        positions = json.loads((entry / _POSITIONS).read_text(encoding="utf-8"))
        indices = np.asarray(positions["indices"], dtype=np.int64)
        total = int(positions["total"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if hit is None or len(indices) != len(hit.labels):
        return None
    data = Dataset(hit.images, hit.labels, hit.class_names, hit.sha256, hit.source)
    return Sample(data, indices, total)
