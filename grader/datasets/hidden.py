"""The folders a sandboxed child must never see, in one list.

Every data root the loaders search (:func:`grader.datasets.locations.data_roots`), the
workspace's private ``.grader/`` folder (gradebook, held-out secret, private held-out cache)
and a task's instructor held-out folder. A child's filesystem view binds none of them; the
list covers any that lie inside a folder the view does bind (``/usr/share/datasets``).
"""

from __future__ import annotations

from pathlib import Path

from grader.datasets.heldout import heldout_folder
from grader.datasets.locations import data_roots
from grader.datasets.secret import secret_path
from grader.tasks.spec import TaskSpec


def hidden_folders(task: TaskSpec | None = None) -> tuple[Path, ...]:
    """The folders no child may see, with ``task``'s instructor held-out folder if it has one."""
    folders = [*data_roots(), secret_path().parent]
    if task is not None and (instructor := heldout_folder(task)) is not None:
        folders.append(instructor)
    return tuple(dict.fromkeys(p.resolve() for p in folders))
