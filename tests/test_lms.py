"""Grade-import files in Canvas's and Moodle's layouts, from their own exports."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from grader.errors import WorkspaceError
from grader.instructors.lms import grade_column, write_lms
from grader.instructors.roster import Roster, RosterEntry, join, load_roster
from grader.instructors.submissions import Graded
from grader.result import Result
from grader.tasks.spec import TaskSpec
from tests.test_roster import CANVAS_GRADEBOOK, MOODLE_WORKSHEET

JO = RosterEntry("Jo Smith", "S1", "101", "jo@uni.edu", "jsmith", "A")
ANN = RosterEntry("Ann Lee", "S3", "103", "ann@uni.edu", "alee", "B")


def _passed(task: TaskSpec, score: int = 5) -> Result:
    return Result(task=task.id, status="pass", message="1.0000 reaches 0.9", score=score)


def _graded(tiny_task: TaskSpec) -> list[Graded]:
    stray = Result(task=tiny_task.id, status="fail", message="below", score=1)
    return [Graded("Jo Smith", _passed(tiny_task), roster=JO), Graded("mallory", stray)]


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(path.open(encoding="utf-8", newline="")))


def _load(tmp_path: Path, text: str) -> Roster:
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    return load_roster(path)


def test_canvas_layout_has_its_id_columns_then_the_assignment(
    tiny_task: TaskSpec, tmp_path: Path
) -> None:
    roster = Roster([ANN, JO])
    path = write_lms("canvas", _graded(tiny_task), roster, tmp_path, "tiny01")
    assert _rows(path) == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "tiny01"],
        ["Ann Lee", "103", "S3", "alee", "B", ""],  # no submission: left blank
        ["Jo Smith", "101", "S1", "jsmith", "A", "5"],
    ]  # mallory is on no roster row: Canvas could not place her


def test_canvas_grades_go_into_the_exports_own_assignment_column_scaled_to_its_points(
    tiny_task: TaskSpec, tmp_path: Path
) -> None:
    """A column named after the task made a new assignment on import; the export's own
    header updates the existing one."""
    roster = _load(tmp_path, CANVAS_GRADEBOOK)
    column = grade_column("canvas", roster, tiny_task, None)
    assert column == "Tiny01 Pixels (5521)"
    joined = join(roster.entries, ["smithjo_LATE_1007_991_model", "leeann_1009_993_model"])
    graded = [
        Graded(s, _passed(tiny_task, score), roster=joined.matched[s])
        for s, score in (("smithjo_LATE_1007_991_model", 5), ("leeann_1009_993_model", 3))
    ]
    rows = _rows(write_lms("canvas", graded, roster, tmp_path, column))
    assert rows == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Tiny01 Pixels (5521)"],
        ["Smith, Jo", "1007", "S1007", "jsmith", "Section A", "10"],  # 5 of 5 = 10 points
        ["Ñúñez, José", "1008", "S1008", "jnunez", "Section A", ""],
        ["Lee, Ann", "1009", "S1009", "alee", "Section B", "6"],
    ]


def test_the_assignment_column_is_picked_by_name_or_the_error_says_how(
    tiny_task: TaskSpec, tmp_path: Path
) -> None:
    roster = _load(tmp_path, CANVAS_GRADEBOOK.replace("Tiny01 Pixels", "Homework 1"))
    with pytest.raises(WorkspaceError, match=r"none named after tiny01.*--assignment 'Homework"):
        grade_column("canvas", roster, tiny_task, None)
    assert grade_column("canvas", roster, tiny_task, "quiz 1") == "Quiz 1 (5522)"
    assert grade_column("canvas", roster, tiny_task, "Homework 1 (5521)") == "Homework 1 (5521)"
    with pytest.raises(WorkspaceError, match=r"'Final' is none of .*'Quiz 1 \(5522\)'"):
        grade_column("canvas", roster, tiny_task, "Final")
    two = _load(tmp_path, CANVAS_GRADEBOOK.replace("Quiz 1 (5522)", "Tiny01 retake (5523)"))
    with pytest.raises(WorkspaceError, match="several named after tiny01"):
        grade_column("canvas", two, tiny_task, None)
    assert grade_column("canvas", Roster([JO]), tiny_task, None) == "tiny01"  # a plain roster


def test_moodle_worksheet_comes_back_with_grade_and_feedback_filled(
    tiny_task: TaskSpec, tmp_path: Path
) -> None:
    """Moodle's "Upload grading worksheet" reads its own download back, Grade filled."""
    roster = _load(tmp_path, MOODLE_WORKSHEET)
    assert grade_column("moodle", roster, tiny_task, None) == "Grade"
    joined = join(roster.entries, ["Jo Smith_12345_assignsubmission_file_"])
    graded = [Graded(s, _passed(tiny_task, 4), roster=e) for s, e in joined.matched.items()]
    rows = _rows(write_lms("moodle", graded, roster, tmp_path, "Grade"))
    sent = list(csv.reader(MOODLE_WORKSHEET.splitlines()))
    assert rows[0] == sent[0]
    assert rows[1] == [*sent[1][:4], "80", *sent[1][5:9], "pass: 1.0000 reaches 0.9"]
    assert rows[2] == sent[2]  # no submission: exactly as downloaded


def test_moodle_layout_without_a_worksheet_has_email_idnumber_grade_and_feedback(
    tiny_task: TaskSpec, tmp_path: Path
) -> None:
    path = write_lms("moodle", _graded(tiny_task), Roster([ANN, JO]), tmp_path, "tiny01")
    assert _rows(path) == [
        ["Email address", "ID number", "tiny01", "Feedback"],
        ["ann@uni.edu", "S3", "", "no submission"],
        ["jo@uni.edu", "S1", "5", "pass: 1.0000 reaches 0.9"],
    ]


FORMULAS = ["=2+3", "\t=2+3", "\r=1", "+1", "-1", "@SUM(A1)", '=HYPERLINK("http://x","y")']


@pytest.mark.parametrize("lms", ["canvas", "moodle"])
def test_roster_cells_that_a_spreadsheet_would_run_are_written_as_text(
    tiny_task: TaskSpec, tmp_path: Path, lms: str
) -> None:
    header = "Student,ID,SIS User ID,SIS Login ID,Section,Email\n"
    lines = [f'"{f}",{i},"{f}","{f}","{f}","{f}"' for i, f in enumerate(FORMULAS)]
    roster = _load(tmp_path, header + "\n".join(lines) + "\n")
    graded = [Graded(e.name, _passed(tiny_task), roster=e) for e in roster.entries]
    rows = _rows(write_lms(lms, graded, roster, tmp_path, "=tiny01"))
    cells = [cell for row in rows for cell in row if cell]
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert {"'=2+3", "'@SUM(A1)", "'+1", "'=tiny01"} <= set(cells)


def test_a_worksheet_written_back_verbatim_still_has_its_formula_cells_neutralised(
    tiny_task: TaskSpec, tmp_path: Path
) -> None:
    evil = MOODLE_WORKSHEET.replace('"Jo Smith"', '"\t=2+3"').replace("ann@uni.edu", "@SUM(1)")
    roster = _load(tmp_path, evil)
    rows = _rows(write_lms("moodle", [], roster, tmp_path, "Grade"))
    assert rows[1][1] == "'\t=2+3" and rows[2][2] == "'@SUM(1)"
    assert rows[1][8] == "-"  # Moodle's own "none" is no formula, and it reads it back


def test_an_unknown_lms_is_refused(tiny_task: TaskSpec, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown LMS 'blackboard'"):
        write_lms("blackboard", [], Roster([]), tmp_path, "tiny01")
