"""The Python API, for notebooks first: ``check`` a model, ``show`` a task.

``check`` grades exactly as ``grade TASK`` does (the same sandbox and pipeline, the attempt
recorded in the workspace's gradebook) and returns the Result. Importing this module teaches
every Result to draw itself: ``print(result)`` gives the terminal panel as text, and Jupyter
shows the same content as HTML. Expected failures raise a :class:`~grader.errors.GraderError`,
which IPython shows as its one line.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from grader.errors import GraderError, InvalidModelError
from grader.result import Result, render_with

ModelLike = Any
"""A ``keras.Model`` in memory, a path to a ``.keras``/``.h5`` file, or None."""


def check(task: str, model: ModelLike = None, *, workspace: str | Path | None = None) -> Result:
    """Grade ``model`` on ``task`` as ``grade TASK`` does, record the attempt, return the Result.

    ``model`` is a ``keras.Model`` in memory (saved by this process to a private temporary
    ``.keras`` file, then graded in the sandbox like any file), a path, or None for the
    workspace's ``solutions/TASK/model.keras``. The workspace is found from the current
    directory unless ``workspace`` names it. Raises GraderError when grading cannot happen.
    """
    from grader.practice.attempt import attempt
    from grader.tasks.spec import load_task
    from grader.tasks.workspace import NOTEBOOK, using

    with using(workspace):
        spec = load_task(task)
        with _model_file(model) as (path, shown_as):
            graded = attempt(spec, path, shown_as=shown_as, face=NOTEBOOK)
    if graded.problems:
        raise graded.problems[0]
    return graded.result


@contextmanager
def _model_file(model: ModelLike) -> Iterator[tuple[Path | None, str | None]]:
    """The file to grade, and how to name it in the record when it is a temporary copy."""
    if model is None or isinstance(model, str | os.PathLike):
        yield (None if model is None else Path(model).expanduser()), None
        return
    if not callable(getattr(model, "save", None)):
        raise TypeError(
            f"check() grades a keras.Model, a path to a .keras/.h5 file, or None (the "
            f"workspace's model); got {type(model).__name__}"
        )
    name = str(getattr(model, "name", "") or type(model).__name__)
    with tempfile.TemporaryDirectory(prefix="grader-check-") as folder:
        path = Path(folder) / "model.keras"
        try:
            model.save(path)
        except Exception as err:  # keras raises many kinds; the learner needs the first line
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise InvalidModelError(
                f"could not save the model as .keras: {reason}. Build it (call it once on "
                "data, or give it an Input) and try again."
            ) from None
        yield path, f"<in-memory model '{name}'>"


class TaskPage:
    """A task's prompt and contract; Jupyter shows it as HTML (see :func:`show`)."""

    def __init__(self, task: str, workspace: str | Path | None = None) -> None:
        from grader.tasks.spec import load_task
        from grader.tasks.workspace import using

        with using(workspace):
            self.spec = load_task(task)

    def _repr_html_(self) -> str:
        from grader.report.html import task_fragment

        return task_fragment(self.spec)

    def __str__(self) -> str:
        from grader.report.catalogue import contract_rows

        path = self.spec.prompt_path
        prompt = path.read_text(encoding="utf-8") if path.is_file() else ""
        rows = "\n".join(f"{k:>12}  {v}" for k, v in contract_rows(self.spec))
        return f"{prompt.rstrip()}\n\n{self.spec.id} contract\n{rows}\n"

    __repr__ = __str__


def show(task: str, *, workspace: str | Path | None = None) -> TaskPage:
    """The prompt and contract of ``task``, as ``grade show`` prints them (HTML in Jupyter)."""
    return TaskPage(task, workspace)


def _title(result: Result) -> str:
    from grader.tasks.spec import load_task

    try:
        return load_task(result.task).title
    except GraderError:
        return ""


def _text(result: Result) -> str:
    from grader.report.verdict import result_text

    return result_text(result, _title(result))


def _html(result: Result) -> str:
    from grader.report.html import result_fragment

    return result_fragment(result, _title(result))


render_with("text/plain", _text)
render_with("text/html", _html)
