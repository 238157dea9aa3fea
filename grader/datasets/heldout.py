"""The held-out split of a task: a registry split, or an instructor's own image folders.

A task scores on ``[dataset] heldout`` of its registered dataset, unless task.toml
points at class folders kept outside the learner's tree::

    [dataset]
    name = "shapes"                 # the learner still trains on this
    heldout = "test"
    heldout_dir = "/srv/exam/task07-heldout"   # relative paths start at the task folder
    heldout_sha256 = "3f9c..."      # fingerprint of the decoded arrays

``$GRADER_HELDOUT_DIR_<TASK ID>`` (the id upper-cased, other characters as ``_``)
relocates the folder. Images are decoded and resized to the task's input shape by
:func:`grader.datasets.folders.read_image_folders`; a fingerprint other than the recorded
one is refused, so a held-out set that changed can never grade silently.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from grader.datasets.base import Dataset, PrivateSource, ProgressCallback
from grader.datasets.folders import read_image_folders
from grader.datasets.registry import get_source, load
from grader.errors import ChecksumError, DatasetError, DatasetMissingError

if TYPE_CHECKING:
    from grader.tasks.spec import TaskSpec


def env_var(task_id: str) -> str:
    """The environment variable that relocates ``task_id``'s held-out folder."""
    return "GRADER_HELDOUT_DIR_" + re.sub(r"[^A-Z0-9]", "_", task_id.upper())


def heldout_folder(task: TaskSpec) -> Path | None:
    """Where the task's held-out folder is, or None when it scores on a registry split."""
    configured = task.dataset.heldout_dir
    if configured is None:
        return None
    override = os.environ.get(env_var(task.id))
    path = Path(override or configured).expanduser()
    return path if path.is_absolute() else task.folder / path


def load_heldout(task: TaskSpec, *, on_progress: ProgressCallback | None = None) -> Dataset:
    """Load the split ``task`` is scored on; a changed or missing held-out folder raises."""
    folder = heldout_folder(task)
    if folder is not None:
        return read_checked(folder, task)
    source = get_source(task.dataset.name)
    if isinstance(source, PrivateSource) and task.dataset.heldout in source.private_splits:
        return source.load_private(task.dataset.heldout)
    return load(task.dataset.name, task.dataset.heldout, on_progress=on_progress)


def read_checked(folder: Path, task: TaskSpec) -> Dataset:
    """Decode ``folder`` at the task's image size and check it against task.toml's sha256."""
    shape = task.model.input_shape
    if len(shape) != 3 or shape[-1] not in (1, 3):
        raise DatasetError(
            f"{task.folder / 'task.toml'}: a held-out image folder needs model.input_shape "
            f"[height, width, 1 or 3], got {list(shape)}."
        )
    if not folder.is_dir():
        raise DatasetError(
            f"{folder}: held-out folder of task {task.id} not found; restore it or set "
            f"{env_var(task.id)} to where it is."
        )
    try:
        data = read_image_folders(folder, size=(shape[0], shape[1]), channels=shape[2])
    except DatasetMissingError as err:  # not downloadable: never a skip, always an error
        raise DatasetError(str(err)) from None
    expected = task.dataset.heldout_sha256
    if data.sha256 != expected:
        raise ChecksumError(
            f"{folder}: held-out images changed: expected sha256 {expected}, got "
            f"{data.sha256}; restore the folder, or record the new value as "
            f"[dataset] heldout_sha256 and bump the task version."
        )
    return data
