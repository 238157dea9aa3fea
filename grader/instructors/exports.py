"""Batch exports, all drawn from the Result records: gradebook CSV, JSON, JUnit XML, Gradescope.

Written into the batch's output folder:

Every CSV goes through :func:`grader.instructors.csvfile.write_rows` (formula cells
neutralised).

- ``gradebook.csv``: one row per student (student, student_id, email, status, score, value,
  threshold, margin, copied_from, on_roster, model_sha256, elapsed_s, message); values and
  margins rounded to 4 places. With a roster, each roster student without a submission is a
  ``missing`` row.
- ``summary.json``: the cohort: counts, pass rate, score histogram, files skipped as not
  models, groups of copied models, and the roster's missing and unknown students.
- ``canvas.csv`` / ``moodle.csv`` with ``--lms`` (see :mod:`grader.instructors.lms`).
- ``results.json``: a JSON array of Result records (schema 1), each with ``student`` first.
- ``junit.xml``: one ``<testcase>`` per student; ``fail``/``invalid``/``timeout`` are
  failures, ``error`` (the grader could not grade) is an error. Each rubric line adds a
  testcase of its own (classname ``<task>.<student>``), a failure when not met. CI systems
  read this. Names and messages are written through :func:`grader.text.visible`, so a
  control character in a file or student name is shown as ``\x1b`` and the file always
  parses as XML 1.0.
- ``gradescope/<slug>/results.json`` (the slug is the student's name made folder-safe,
  :func:`grader.instructors.names.slugs`): Gradescope's autograder format, the same record
  ``run_autograder`` writes (:func:`grader.instructors.gradescope.results_dict`).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.atomic import replacing
from grader.instructors import gradescope
from grader.instructors.csvfile import write_rows
from grader.instructors.lms import write_lms
from grader.instructors.names import slugs
from grader.result import Result
from grader.text import visible

if TYPE_CHECKING:
    from grader.instructors.roster import Roster, RosterEntry
    from grader.instructors.submissions import Graded
    from grader.tasks.spec import TaskSpec

CSV_FIELDS = (
    "student",
    "student_id",
    "email",
    "status",
    "score",
    "value",
    "threshold",
    "margin",
    "copied_from",
    "on_roster",
    "model_sha256",
    "elapsed_s",
    "message",
)
_ROUNDED = ("value", "threshold", "margin")
PLACES = 4
"""Decimal places of values and margins in the CSV exports."""


def write_all(
    graded: list[Graded],
    out: Path,
    task: TaskSpec,
    *,
    missing: Sequence[RosterEntry] = (),
    with_roster: bool = False,
    summary: dict[str, Any] | None = None,
    lms: str = "csv",
    roster: Roster | None = None,
    column: str = "",
) -> list[Path]:
    """Write every export into ``out``; return the paths written.

    ``missing`` are roster students with no submission; ``with_roster`` says a roster was
    joined (so the CSV says who is on it); ``summary`` is written as ``summary.json``;
    ``lms`` adds that LMS's import file for ``roster`` with the grade in ``column``
    (``csv``: none beyond gradebook.csv).
    """
    paths = [
        write_csv(graded, out / "gradebook.csv", missing=missing, with_roster=with_roster),
        write_json(graded, out / "results.json"),
        write_junit(graded, out / "junit.xml", task.id),
    ]
    if summary is not None:
        paths.append(write_summary(summary, out / "summary.json"))
    if lms != "csv":
        if roster is None:
            raise ValueError(f"--lms {lms} needs the roster")
        paths.append(write_lms(lms, graded, roster, out, column or task.id))
    folders = slugs(g.student for g in graded)
    for g in graded:
        path = out / "gradescope" / folders[g.student] / "results.json"
        paths.append(write_gradescope(g.result, path))
    return paths


def rounded(value: float | None) -> float | None:
    """``value`` to :data:`PLACES` decimal places (None stays None)."""
    return None if value is None else round(value, PLACES)


def write_csv(
    graded: list[Graded],
    path: Path,
    *,
    missing: Sequence[RosterEntry] = (),
    with_roster: bool = False,
) -> Path:
    """The gradebook: one row per student, then a ``missing`` row per roster student with no
    submission (every cell neutralised by :func:`grader.instructors.csvfile.cell`)."""
    rows: list[dict[str, Any]] = []
    for g in graded:
        row: dict[str, Any] = {k: getattr(g.result, k, None) for k in CSV_FIELDS}
        row.update({k: rounded(row[k]) for k in _ROUNDED})
        row.update(
            student=g.student,
            student_id=g.roster.student_id if g.roster else "",
            email=g.roster.email if g.roster else "",
            copied_from="; ".join(g.copied_from),
            on_roster=("yes" if g.roster else "no") if with_roster else "",
        )
        rows.append(row)
    for entry in missing:
        rows.append(
            {
                "student": entry.name,
                "student_id": entry.student_id,
                "email": entry.email,
                "status": "missing",
                "on_roster": "yes",
                "message": "on the roster, but no submission was found",
            }
        )
    return write_rows(path, [CSV_FIELDS, *([r.get(k) for k in CSV_FIELDS] for r in rows)])


def write_summary(summary: dict[str, Any], path: Path) -> Path:
    """The cohort summary as one JSON object."""
    with replacing(path) as tmp:
        tmp.write_text(json.dumps(summary, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    return path


def write_json(graded: list[Graded], path: Path) -> Path:
    """A JSON array of Result records, each with ``student`` first."""
    text = json.dumps([g.to_dict() for g in graded], indent=1, allow_nan=False)
    with replacing(path) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
    return path


def write_junit(graded: list[Graded], path: Path, task_id: str) -> Path:
    """JUnit XML: one testcase per student, so any CI shows the cohort as a test report."""
    failures = sum(g.result.status in ("fail", "invalid", "timeout") for g in graded)
    failures += sum(len(g.result.rubric_unmet) for g in graded)
    errors = sum(g.result.status == "error" for g in graded)
    total_time = sum(g.result.elapsed_s for g in graded)
    suite = ET.Element(
        "testsuite",
        name=_xml(f"grade {task_id}"),
        tests=str(len(graded) + sum(len(g.result.rubric) for g in graded)),
        failures=str(failures),
        errors=str(errors),
        time=f"{total_time:.3f}",
    )
    for g in graded:
        r = g.result
        case = ET.SubElement(
            suite,
            "testcase",
            classname=_xml(task_id),
            name=_xml(g.student),
            time=f"{r.elapsed_s:.3f}",
        )
        if r.status == "error":
            ET.SubElement(case, "error", message=_xml(r.message), type="error")
        elif r.status != "pass":
            ET.SubElement(case, "failure", message=_xml(r.message), type=r.status)
        ET.SubElement(case, "system-out").text = _xml(gradescope.summary_line(r))
        for line in r.rubric:
            rubric_case = ET.SubElement(
                suite,
                "testcase",
                classname=_xml(f"{task_id}.{g.student}"),
                name=_xml(gradescope.rubric_name(line)),
            )
            if not line.met:
                ET.SubElement(
                    rubric_case,
                    "failure",
                    message=_xml(line.reason),
                    type=_xml(f"rubric-{line.effect}"),
                )
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    with replacing(path) as tmp:
        ET.ElementTree(root).write(tmp, encoding="utf-8", xml_declaration=True)
    return path


def _xml(text: str) -> str:
    """Untrusted text as JUnit carries it: what XML 1.0 forbids, and every other control or
    bidi character, made visible (ElementTree quotes ``<&"`` itself)."""
    return visible(text, keep="\n")


def write_gradescope(result: Result, path: Path) -> Path:
    """Write Gradescope's ``results.json`` for one submission (the folder is created)."""
    return gradescope.write_results(result, path)
