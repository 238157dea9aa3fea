"""One practice attempt: grade, then record; a gradebook failure keeps the grade."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.errors import GradebookError, WorkspaceError
from grader.practice import attempt as attempt_module
from grader.practice.attempt import Attempted, attempt
from grader.result import Result
from grader.tasks.spec import TaskSpec

GRADED = Result(task="tiny01", status="pass", message="95.00% passes", value=0.95, score=5)


def test_final_folds_every_problem_into_an_error_record(tiny_task: TaskSpec) -> None:
    graded = Attempted(tiny_task, GRADED, [GradebookError("the gradebook is locked")])
    final = graded.final([WorkspaceError("cannot write the report")])
    assert final.status == "error" and final.exit_code == 2 and final.value == 0.95
    assert final.message == (
        "the gradebook is locked; cannot write the report (graded: 95.00% passes)"
    )
    assert Attempted(tiny_task, GRADED).final() is GRADED


def test_a_gradebook_failure_keeps_the_grade(
    tiny_task: TaskSpec, monkeypatch: pytest.MonkeyPatch, workspace: Path
) -> None:
    def locked(result: Result, **_: object) -> Result:
        raise GradebookError("the gradebook is locked")

    monkeypatch.setattr(attempt_module.pipeline, "grade_file", lambda *a, **k: GRADED)
    monkeypatch.setattr(attempt_module.history, "record", locked)
    graded = attempt(tiny_task, workspace / "m.keras", shown_as="<in-memory model 'm'>")
    assert graded.result.model_path == "<in-memory model 'm'>"
    assert [str(p) for p in graded.problems] == ["the gradebook is locked"]


def test_training_and_a_model_are_exclusive(tiny_task: TaskSpec, workspace: Path) -> None:
    with pytest.raises(ValueError, match="not both"):
        attempt(tiny_task, workspace / "m.keras", train=True)
