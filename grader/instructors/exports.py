"""Batch exports, all drawn from the Result records: gradebook CSV, JSON, JUnit XML, Gradescope.

Written into the batch's output folder:

- ``gradebook.csv``: one row per student (student, status, score, value, threshold, margin,
  model_sha256, elapsed_s, message).
- ``results.json``: a JSON array of Result records (schema 1), each with ``student`` first.
- ``junit.xml``: one ``<testcase>`` per student; ``fail``/``invalid``/``timeout`` are
  failures, ``error`` (the grader could not grade) is an error. Each rubric line adds a
  testcase of its own (classname ``<task>.<student>``), a failure when not met. CI systems
  read this.
- ``gradescope/<student>/results.json``: Gradescope's autograder format, the same record
  ``run_autograder`` writes (:func:`grader.instructors.gradescope.results_dict`).
"""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING

from grader.atomic import replacing
from grader.instructors import gradescope
from grader.result import Result

if TYPE_CHECKING:
    from grader.instructors.submissions import Graded
    from grader.tasks.spec import TaskSpec

CSV_FIELDS = (
    "student",
    "status",
    "score",
    "value",
    "threshold",
    "margin",
    "model_sha256",
    "elapsed_s",
    "message",
)


def write_all(graded: list[Graded], out: Path, task: TaskSpec) -> list[Path]:
    """Write every export into ``out``; return the paths written."""
    paths = [
        write_csv(graded, out / "gradebook.csv"),
        write_json(graded, out / "results.json"),
        write_junit(graded, out / "junit.xml", task.id),
    ]
    for g in graded:
        paths.append(write_gradescope(g.result, out / "gradescope" / g.student / "results.json"))
    return paths


def write_csv(graded: list[Graded], path: Path) -> Path:
    """The gradebook: one row per student."""
    with replacing(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for g in graded:
            row = {k: getattr(g.result, k) for k in CSV_FIELDS if k != "student"}
            writer.writerow({"student": g.student, **row})
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
        name=f"grade {task_id}",
        tests=str(len(graded) + sum(len(g.result.rubric) for g in graded)),
        failures=str(failures),
        errors=str(errors),
        time=f"{total_time:.3f}",
    )
    for g in graded:
        r = g.result
        case = ET.SubElement(
            suite, "testcase", classname=task_id, name=g.student, time=f"{r.elapsed_s:.3f}"
        )
        if r.status == "error":
            ET.SubElement(case, "error", message=r.message, type="error")
        elif r.status != "pass":
            ET.SubElement(case, "failure", message=r.message, type=r.status)
        ET.SubElement(case, "system-out").text = gradescope.summary_line(r)
        for line in r.rubric:
            rubric_case = ET.SubElement(
                suite,
                "testcase",
                classname=f"{task_id}.{g.student}",
                name=gradescope.rubric_name(line),
            )
            if not line.met:
                ET.SubElement(
                    rubric_case, "failure", message=line.reason, type=f"rubric-{line.effect}"
                )
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    with replacing(path) as tmp:
        ET.ElementTree(root).write(tmp, encoding="utf-8", xml_declaration=True)
    return path


def write_gradescope(result: Result, path: Path) -> Path:
    """Write Gradescope's ``results.json`` for one submission (the folder is created)."""
    return gradescope.write_results(result, path)
