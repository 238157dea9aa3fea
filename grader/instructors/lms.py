"""Grade-import files in the column layout an LMS reads (``grade batch --lms``).

- ``canvas.csv``: Canvas's gradebook import. Columns ``Student, ID, SIS User ID,
  SIS Login ID, Section`` (how Canvas finds the student) and one assignment column named
  after the task, holding the score 0..5. Canvas matches rows by ID, SIS User ID or SIS
  Login ID, so a roster is needed; a blank cell leaves a grade as it was.
- ``moodle.csv``: Moodle's CSV grade import. ``Email address`` and ``ID number`` (map
  either to the user in "Identify user by"), the task's score column and a ``Feedback``
  column (the one-line verdict).

Only roster students are written: a submission that matches no roster row cannot be placed
(the summary flags it). A roster student without a submission gets a blank grade.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from grader.atomic import replacing

if TYPE_CHECKING:
    from grader.instructors.roster import RosterEntry
    from grader.instructors.submissions import Graded
    from grader.tasks.spec import TaskSpec

LMS = ("csv", "canvas", "moodle")
"""``--lms`` choices; ``csv`` is the plain gradebook.csv alone."""
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_COLUMNS = ("Email address", "ID number")


def write_lms(
    lms: str, graded: list[Graded], missing: Sequence[RosterEntry], out: Path, task: TaskSpec
) -> Path:
    """Write ``<lms>.csv`` into ``out`` for the roster students in ``graded`` and ``missing``."""
    rows: list[tuple[RosterEntry, Graded | None]] = [
        (g.roster, g) for g in graded if g.roster is not None
    ]
    rows += [(entry, None) for entry in missing]
    rows.sort(key=lambda row: row[0].name.casefold())
    path = out / f"{lms}.csv"
    with replacing(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        if lms == "canvas":
            writer.writerow([*CANVAS_COLUMNS, task.id])
            for entry, g in rows:
                ids = [entry.canvas_id, entry.student_id, entry.login, entry.section]
                writer.writerow([entry.name, *ids, _score(g)])
        elif lms == "moodle":
            writer.writerow([*MOODLE_COLUMNS, task.id, "Feedback"])
            for entry, g in rows:
                feedback = f"{g.result.status}: {g.result.message}" if g else "no submission"
                writer.writerow([entry.email, entry.student_id, _score(g), feedback])
        else:
            raise ValueError(f"unknown LMS {lms!r}; expected one of {', '.join(LMS)}")
    return path


def _score(graded: Graded | None) -> str:
    return "" if graded is None else str(graded.result.score)
