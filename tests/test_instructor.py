"""The instructors' views: the batch summary."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from grader.instructors.batch import BatchOutcome
from grader.instructors.copies import SAME_WEIGHTS, CopyGroup
from grader.instructors.submissions import Graded, Skipped
from grader.report import instructor
from grader.result import Result
from grader.tasks.spec import TaskSpec

LONG = (
    "model.keras takes inputs of shape (None, 32, 32, 3) but this task feeds (None, 28, 28, 1): "
    "build the model with keras.Input(shape=(28, 28, 1)) and retrain it"
)


@pytest.fixture
def screen(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    text = io.StringIO()
    monkeypatch.setattr(instructor, "out", Console(file=text, width=80, color_system=None))
    return text


def test_summary_lists_every_student_with_the_whole_reason(
    tiny_task: TaskSpec, tmp_path: Path, screen: io.StringIO
) -> None:
    graded = [
        Graded("Jo Smith", Result(task="tiny01", status="pass", message="ok", value=0.96, score=5)),
        Graded("o'brien", Result(task="tiny01", status="invalid", message=LONG)),
    ]
    outcome = BatchOutcome(
        tiny_task,
        graded,
        tmp_path,
        skipped=[Skipped("ivan.txt", "not a .keras or .h5 model file")],
        copies=[CopyGroup(("ann", "ben"), SAME_WEIGHTS)],
    )
    instructor.show_batch(outcome)
    shown = screen.getvalue()
    flat = "".join(shown.split())
    assert "JoSmithPASS596.00%" in flat
    assert "o'brienINVALID0" in flat
    assert "".join(LONG.split()) in flat  # folded onto more lines, never cut with "…"
    students = shown.split("tiny01: 2 submissions")[0]
    assert "…" not in students
    assert "pass rate" in shown and "score 5" in shown
    assert "ann, ben" in shown and "re-saved or renamed" in shown
    assert "ivan.txt" in shown
