"""Grade-import files in Canvas's and Moodle's column layouts."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from grader.instructors.lms import write_lms
from grader.instructors.roster import RosterEntry
from grader.instructors.submissions import Graded
from grader.result import Result
from grader.tasks.spec import TaskSpec

JO = RosterEntry("Jo Smith", "S1", "101", "jo@uni.edu", "jsmith", "A")
ANN = RosterEntry("Ann Lee", "S3", "103", "ann@uni.edu", "alee", "B")


def _graded(tiny_task: TaskSpec) -> list[Graded]:
    passed = Result(task=tiny_task.id, status="pass", message="1.0000 reaches 0.9", score=5)
    stray = Result(task=tiny_task.id, status="fail", message="below", score=1)
    return [Graded("Jo Smith", passed, roster=JO), Graded("mallory", stray)]


def test_canvas_layout_has_its_id_columns_then_the_assignment(
    tiny_task: TaskSpec, tmp_path: Path
) -> None:
    path = write_lms("canvas", _graded(tiny_task), [ANN], tmp_path, tiny_task)
    rows = list(csv.reader(path.open(encoding="utf-8")))
    assert rows == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "tiny01"],
        ["Ann Lee", "103", "S3", "alee", "B", ""],  # no submission: left blank
        ["Jo Smith", "101", "S1", "jsmith", "A", "5"],
    ]  # mallory is on no roster row: Canvas could not place her


def test_moodle_layout_has_email_idnumber_grade_and_feedback(
    tiny_task: TaskSpec, tmp_path: Path
) -> None:
    path = write_lms("moodle", _graded(tiny_task), [ANN], tmp_path, tiny_task)
    rows = list(csv.reader(path.open(encoding="utf-8")))
    assert rows[0] == ["Email address", "ID number", "tiny01", "Feedback"]
    assert rows[1:] == [
        ["ann@uni.edu", "S3", "", "no submission"],
        ["jo@uni.edu", "S1", "5", "pass: 1.0000 reaches 0.9"],
    ]


def test_an_unknown_lms_is_refused(tiny_task: TaskSpec, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown LMS 'blackboard'"):
        write_lms("blackboard", [], [], tmp_path, tiny_task)
