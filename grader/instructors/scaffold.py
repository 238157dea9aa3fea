"""``grade new``: scaffold ``tasks/<id>/`` so that adding a task is a five-minute job.

The folder gets a task.toml with every field documented, a prompt.md that states the input
contract, a starter.py that trains nothing (so it fails), and a reference.py for the
instructor to fill in; ``grade validate <id>`` then proves the task before it is committed.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from grader import datasets
from grader.datasets import image_sets
from grader.errors import DatasetError, WorkspaceError
from grader.tasks.spec import tasks_dir

_ID = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
_KNOWN: dict[str, tuple[list[int], int]] = {
    "fashion_mnist": ([28, 28, 1], 10),
    "mnist": ([28, 28, 1], 10),
    "cifar10": ([32, 32, 3], 10),
    **{s.name: ([*s.size, 3], len(s.class_names)) for s in image_sets.ALL},
}
"""Input shape and class count of the registered sets, for when their data is not here yet."""
_DEFAULT_SHAPE = [28, 28, 1]


def new_task(
    task_id: str,
    *,
    dataset: str = "fashion_mnist",
    classes: int | None = None,
    title: str | None = None,
    folder: Path | None = None,
) -> tuple[Path, list[str]]:
    """Write ``tasks/<task_id>/``; return the folder and notes for the instructor."""
    if not _ID.fullmatch(task_id):
        raise WorkspaceError(
            f"'{task_id}' is not a task id: use 2-32 lowercase letters, digits or _, "
            "starting with a letter (e.g. task07)"
        )
    target = (folder or tasks_dir()) / task_id
    if target.exists():
        raise WorkspaceError(f"{target} already exists; pick another id or edit that task")
    notes: list[str] = []
    shape, found = _dataset_facts(dataset, notes)
    if classes is None:
        classes = found or 10
        if found is None:
            notes.append(f"--classes not given; wrote {classes}, check [model].classes")
    if classes < 2:
        raise WorkspaceError(f"--classes must be at least 2, got {classes}")
    values = {
        "id": task_id,
        "title": title or f"{dataset}: a {classes}-class classifier",
        "dataset": dataset,
        "shape": ", ".join(str(d) for d in shape),
        "classes": classes,
    }
    target.mkdir(parents=True)
    templates = resources.files("grader.instructors") / "templates"
    for name in _FILES:
        template = (templates / f"{name}.tmpl").read_text(encoding="utf-8")
        (target / name).write_text(template.format(**values), encoding="utf-8")
    return target, notes


def _dataset_facts(name: str, notes: list[str]) -> tuple[list[int], int | None]:
    """Image shape and class count of a registered dataset, else sensible defaults + a note."""

    try:
        # A public split: the held-out one of a generated set is private.
        sample = datasets.load(name, datasets.public_splits(name)[0])
    except DatasetError as err:
        if name in _KNOWN:
            shape, classes = _KNOWN[name]
            notes.append(f"dataset '{name}' is not on this machine yet; wrote its published shape")
            return shape, classes
        notes.append(
            f"could not read dataset '{name}' ({err}); wrote input_shape {_DEFAULT_SHAPE}, "
            "check [model] before validating"
        )
        return _DEFAULT_SHAPE, None
    dims = [int(d) for d in sample.images.shape[1:]]
    shape = dims if len(dims) == 3 else [*dims, 1]
    return shape, len(sample.class_names)


_FILES = ("task.toml", "prompt.md", "starter.py", "reference.py")
"""Written from ``grader/instructors/templates/<name>.tmpl`` (``str.format`` fields: id,
title, dataset, shape, classes)."""
