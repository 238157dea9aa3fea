"""The learner's workspace: where tasks/ and solutions/ live, and where models are found."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from grader.errors import ModelNotFoundError, WorkspaceError

MODEL_NAMES = ("model.keras", "model.h5")
"""Files ``grade <task>`` looks for in ``solutions/<task>/``, in this order."""
_SUFFIXES = (".keras", ".h5")

_CHOSEN: ContextVar[Path | None] = ContextVar("grader_workspace", default=None)


@contextmanager
def using(root: Path | str | None) -> Iterator[None]:
    """Make ``root`` the workspace for the calls inside (``check(..., workspace=root)``);
    None keeps the usual search."""
    if root is None:
        yield
        return
    token = _CHOSEN.set(Path(root).expanduser().resolve())
    try:
        yield
    finally:
        _CHOSEN.reset(token)


def workspace_root() -> Path:
    """The folder chosen with :func:`using`, else ``$GRADER_HOME``, else the nearest folder
    upward holding a task catalogue ``tasks/``, else this checkout."""
    chosen = _CHOSEN.get()
    if chosen is not None:
        return chosen
    env = os.environ.get("GRADER_HOME")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if has_catalogue(folder):
            return folder
    checkout = Path(__file__).resolve().parents[2]
    return checkout if has_catalogue(checkout) else here


def has_catalogue(folder: Path) -> bool:
    """Whether ``folder/tasks/`` is a task catalogue. A Python package named ``tasks`` (this
    package's own ``grader/tasks/``, when a notebook has ``cd``-ed into ``grader/``) is not."""
    tasks = folder / "tasks"
    return tasks.is_dir() and not (tasks / "__init__.py").exists()


def solution_dir(task_id: str) -> Path:
    """``solutions/<task_id>/`` in the workspace (may not exist yet)."""
    return workspace_root() / "solutions" / task_id


@dataclass(frozen=True)
class Face:
    """How a message tells the learner to grade: with the ``grade`` command or ``check()``."""

    kind: Literal["command", "notebook"]

    def grade_model(self, task_id: str, path: str | None = None) -> str:
        """Grading the model at ``path`` (None: any model the learner names)."""
        if self.kind == "notebook":
            return f"`check({task_id!r}, model={'model' if path is None else repr(path)})`"
        return f"`grade {task_id} --model {path or 'PATH'}`"

    def train(self, task_id: str) -> str | None:
        """Training and grading in one step, where this face can."""
        return f"`grade {task_id} --train`" if self.kind == "command" else None


COMMAND = Face("command")
NOTEBOOK = Face("notebook")


def find_model(task_id: str, face: Face = COMMAND) -> Path:
    """The learner's saved model for ``task_id``; say how to make one if there is none, in
    the words of ``face``."""
    folder = solution_dir(task_id)
    for name in MODEL_NAMES:
        if (folder / name).exists():
            return folder / name
    rel = _relative(folder)
    looked = f"No model in {rel}/ (looked for {' or '.join(MODEL_NAMES)})"
    found = misplaced_models(task_id)
    if not found:
        train = face.train(task_id)
        ways = [f"`python {rel}/solution.py` to train and save one", *([train] if train else [])]
        raise ModelNotFoundError(
            f"{looked}. Run {', or '.join(ways)}, or grade one you name with "
            f"{face.grade_model(task_id)}."
        )
    first = found[0]
    where = _relative(first)
    others = f" (and {', '.join(_relative(p) for p in found[1:3])})" if found[1:] else ""
    if first.is_dir():
        fix = (
            f"{where}/ is a SavedModel folder, which the grader does not load: save one file "
            f'with `model.save("{rel}/model.keras")`'
        )
    else:
        fix = (
            f"found {where}{others}: move it there (`mv {where} {rel}/model{first.suffix}`) "
            f"or grade it where it is with {face.grade_model(task_id, where)}"
        )
    raise ModelNotFoundError(f"{looked}, but {fix}.")


def misplaced_models(task_id: str) -> list[Path]:
    """Models saved where ``grade TASK`` does not look: a SavedModel folder or another
    ``.keras``/``.h5`` in ``solutions/<task>/``, one in ``solutions/`` or in the current folder.

    Only names are listed (never followed or opened): the learner's files are read only
    through :mod:`grader.sandbox.files`.
    """
    folder = solution_dir(task_id)
    found: list[Path] = []
    for place in dict.fromkeys((folder, Path.cwd(), folder.parent)):
        try:
            entries = sorted(os.scandir(place), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                if place == folder and (path / "saved_model.pb").exists():
                    found.append(path)
            elif path.suffix.lower() in _SUFFIXES and path not in found:
                found.append(path)
    return found


def copy_starter(starter: Path, task_id: str) -> tuple[Path, bool]:
    """Copy the starter to ``solutions/<id>/solution.py`` unless it exists: (path, copied)."""
    target = solution_dir(task_id) / "solution.py"
    if target.exists():
        return target, False
    if not starter.is_file():
        raise WorkspaceError(f"Task {task_id} has no starter.py at {starter}; ask the instructor.")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(starter, target)
    return target, True


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
