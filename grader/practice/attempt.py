"""One practice attempt, as ``grade TASK`` and ``grader.check`` both make it.

Find the model (or train it), grade it through the sandboxed pipeline, then record it in the
workspace's gradebook with its clock. Failures before grading raise; a gradebook failure after
grading is returned with the result, so the caller still shows what was graded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from grader.datasets import ProgressCallback
from grader.errors import GraderError
from grader.grading import pipeline, training
from grader.practice import history
from grader.result import Result
from grader.tasks import workspace
from grader.tasks.spec import TaskSpec


@dataclass(frozen=True)
class Attempted:
    """A graded attempt: the task, its Result, and what failed after grading."""

    spec: TaskSpec
    result: Result
    """As graded, stamped with the clock when the gradebook took it."""
    problems: list[GraderError] = field(default_factory=list)
    """Failures after grading (the gradebook); the grade itself stands."""

    def final(self, more: list[GraderError] | None = None) -> Result:
        """``result`` as an ``error`` record when anything failed after grading (these
        problems and ``more``): the verdict moves into the message, the scores stay."""
        problems = [*self.problems, *(more or [])]
        if not problems:
            return self.result
        reasons = "; ".join(str(p) for p in problems)
        return replace(
            self.result, status="error", message=f"{reasons} (graded: {self.result.message})"
        )


def attempt(
    spec: TaskSpec,
    model: Path | None = None,
    *,
    train: bool = False,
    shown_as: str | None = None,
    face: workspace.Face = workspace.COMMAND,
    on_output: Callable[[str], None] | None = None,
    on_progress: ProgressCallback | None = None,
) -> Attempted:
    """Grade ``model`` (default: the workspace's ``solutions/TASK/model.keras``; with ``train``,
    the model ``solution.py`` saves when run sandboxed) and record the attempt.

    ``shown_as`` names the model in the record instead of its path (a temporary file);
    ``face`` words the messages for the ``grade`` command or a notebook's ``check()``.
    """
    if train and model is not None:
        raise ValueError("train a model or grade one, not both")
    if train:
        path = training.train(spec, on_output=on_output, on_progress=on_progress)
    else:
        path = model if model is not None else workspace.find_model(spec.id, face)
    result = pipeline.grade_file(spec, path, on_progress=on_progress)
    if shown_as is not None:
        result = replace(result, model_path=shown_as)
    try:
        return Attempted(spec, history.record(result, graded=path))
    except GraderError as err:
        return Attempted(spec, result, [err])
