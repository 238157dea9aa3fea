"""Batch exports: gradebook CSV, JSON array, JUnit XML and Gradescope results.json."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from grader.instructors.exports import write_all
from grader.instructors.gradescope import results_dict
from grader.instructors.roster import RosterEntry
from grader.instructors.submissions import Graded
from grader.result import ClassScore, Result, RubricLine
from grader.tasks.spec import TaskSpec


def _result(status: str, score: int = 0, value: float | None = None) -> Result:
    return Result(
        task="tiny01",
        status=status,  # type: ignore[arg-type]
        message=f"{status} message",
        value=value,
        threshold=0.9,
        margin=None if value is None else value - 0.9,
        score=score,
        per_class=[ClassScore(0, "zero", 1.0, 25), ClassScore(1, "one", 0.5, 25)],
        model_sha256="ab" * 32,
        elapsed_s=1.5,
    )


@pytest.fixture
def cohort() -> list[Graded]:
    return [
        Graded("alice", _result("pass", 5, 1.0)),
        Graded("bob", _result("fail", 2, 0.75)),
        Graded("carol", _result("invalid")),
        Graded("dave", _result("error")),
    ]


def test_every_export_is_written_with_one_entry_per_student(
    cohort: list[Graded], tiny_task: TaskSpec, tmp_path: Path
) -> None:
    paths = write_all(cohort, tmp_path, tiny_task)
    assert (tmp_path / "gradebook.csv") in paths
    rows = list(csv.DictReader((tmp_path / "gradebook.csv").open()))
    assert [(r["student"], r["status"], r["score"]) for r in rows] == [
        ("alice", "pass", "5"),
        ("bob", "fail", "2"),
        ("carol", "invalid", "0"),
        ("dave", "error", "0"),
    ]
    records = json.loads((tmp_path / "results.json").read_text())
    assert [r["student"] for r in records] == ["alice", "bob", "carol", "dave"]
    rebuilt = Result.from_dict({k: v for k, v in records[1].items() if k != "student"})
    assert rebuilt == cohort[1].result
    for student in ("alice", "bob", "carol", "dave"):
        assert (tmp_path / "gradescope" / student / "results.json").is_file()
    assert not list(tmp_path.rglob("*.tmp"))


def test_junit_marks_non_passing_as_failures_and_grader_errors_as_errors(
    cohort: list[Graded], tiny_task: TaskSpec, tmp_path: Path
) -> None:
    write_all(cohort, tmp_path, tiny_task)
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "2", "1")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["alice"].find("failure") is None and cases["alice"].find("error") is None
    bob_failure = cases["bob"].find("failure")
    assert bob_failure is not None and bob_failure.get("message") == "fail message"
    assert cases["dave"].find("error") is not None


def test_batch_gradescope_files_are_the_autograder_record(
    cohort: list[Graded], tiny_task: TaskSpec, tmp_path: Path
) -> None:
    write_all(cohort, tmp_path, tiny_task)
    for g in cohort:
        written = json.loads((tmp_path / "gradescope" / g.student / "results.json").read_text())
        assert written == results_dict(g.result)


RUBRIC = [
    RubricLine("output layer", True, "1 unit, sigmoid", "cap"),
    RubricLine("checks.py: The head is small", False, "1,570 parameters: keep it under 100",
               "cap", "checks.py"),
]  # fmt: skip


def test_junit_has_a_testcase_per_rubric_line_failing_when_unmet(
    cohort: list[Graded], tiny_task: TaskSpec, tmp_path: Path
) -> None:
    cohort[0] = Graded("alice", replace(cohort[0].result, rubric=RUBRIC))
    write_all(cohort, tmp_path, tiny_task)
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("6", "3", "1")
    lines = [c for c in suite.iter("testcase") if c.get("classname") == "tiny01.alice"]
    assert [c.get("name") for c in lines] == [
        "rubric: output layer",
        "rubric: checks.py: The head is small",
    ]
    assert lines[0].find("failure") is None
    failure = lines[1].find("failure")
    assert failure is not None
    assert (failure.get("type"), failure.get("message")) == (
        "rubric-cap",
        "1,570 parameters: keep it under 100",
    )


def test_output_folders_are_slugs_while_every_record_keeps_the_real_name(
    tiny_task: TaskSpec, tmp_path: Path
) -> None:
    names = ["Jo Smith", "jo smith", "José Ñúñez", "o'brien"]
    write_all([Graded(n, _result("pass", 5, 1.0)) for n in names], tmp_path, tiny_task)
    folders = sorted(p.name for p in (tmp_path / "gradescope").iterdir())
    assert folders == ["jo-smith", "jo-smith-2", "jose-nunez", "obrien"]
    rows = list(csv.DictReader((tmp_path / "gradebook.csv").open(encoding="utf-8")))
    assert [r["student"] for r in rows] == names
    assert [r["student"] for r in json.loads((tmp_path / "results.json").read_text())] == names


def test_csv_rounds_values_and_margins_to_four_places(tiny_task: TaskSpec, tmp_path: Path) -> None:
    result = replace(_result("pass", 4, 0.912345678), threshold=0.9, margin=0.012345678)
    write_all([Graded("ann", result)], tmp_path, tiny_task)
    (row,) = csv.DictReader((tmp_path / "gradebook.csv").open())
    assert (row["value"], row["margin"], row["threshold"]) == ("0.9123", "0.0123", "0.9")


def test_csv_joins_the_roster_flags_copies_and_lists_missing_students(
    tiny_task: TaskSpec, tmp_path: Path
) -> None:
    jo = RosterEntry("Jo Smith", student_id="S1", email="jo@uni.edu")
    cohort = [
        Graded("Jo Smith", _result("pass", 5, 1.0), copied_from=("zed",), roster=jo),
        Graded("zed", _result("pass", 5, 1.0), copied_from=("Jo Smith",)),
    ]
    missing = [RosterEntry("Ann Lee", student_id="S2", email="ann@uni.edu")]
    write_all(cohort, tmp_path, tiny_task, missing=missing, with_roster=True)
    rows = list(csv.DictReader((tmp_path / "gradebook.csv").open()))
    got = [
        (r["student"], r["student_id"], r["status"], r["copied_from"], r["on_roster"]) for r in rows
    ]
    assert got == [
        ("Jo Smith", "S1", "pass", "zed", "yes"),
        ("zed", "", "pass", "Jo Smith", "no"),
        ("Ann Lee", "S2", "missing", "", "yes"),
    ]
    records = json.loads((tmp_path / "results.json").read_text())
    assert records[0]["student_id"] == "S1" and records[0]["copied_from"] == ["zed"]


def test_gradebook_writes_refused_formula_names_and_roster_cells_as_text(
    tiny_task: TaskSpec, tmp_path: Path
) -> None:
    """A folder refused as a formula was still written raw as its student cell; roster cells
    (ids, emails) too. Every text cell that a spreadsheet would run gets a leading '."""
    refused = replace(_result("invalid"), message="refused: unsafe student name")
    evil = RosterEntry("Eve", student_id="\t=2+3", email="@SUM(A1)")
    cohort = [
        Graded('=HYPERLINK("http://x","y")', refused),
        Graded("Eve", replace(_result("fail", 2, 0.75), margin=-0.15), roster=evil),
        Graded("\r+cmd", refused),
    ]
    missing = [RosterEntry("-Zed", student_id="+1", email="=1")]
    write_all(cohort, tmp_path, tiny_task, missing=missing, with_roster=True)
    rows = list(csv.DictReader((tmp_path / "gradebook.csv").open(encoding="utf-8", newline="")))
    got = [(r["student"], r["student_id"], r["email"]) for r in rows]
    assert got == [
        ('\'=HYPERLINK("http://x","y")', "", ""),
        ("Eve", "'\t=2+3", "'@SUM(A1)"),
        ("'\r+cmd", "", ""),
        ("'-Zed", "'+1", "'=1"),
    ]
    assert rows[1]["margin"] == "-0.15"  # a number is no formula: kept as it is
