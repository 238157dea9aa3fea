"""Grade-import files in the layout an LMS reads (``grade batch --lms``), one row per roster
student in the roster's order, written by :func:`grader.instructors.csvfile.write_rows`.

- ``canvas.csv``: Canvas's gradebook import. Columns ``Student, ID, SIS User ID,
  SIS Login ID, Section`` (how Canvas finds the student) and one grade column. When the
  roster is Canvas's own gradebook export, that column is the roster's assignment header
  (``Task01 Fashion (5521)``), so the import updates that assignment: the one named after the
  task, or the one ``--assignment`` picks (:func:`grade_column`). The score 0..5 is scaled
  to its ``Points Possible``. A plain roster gets a column named after the task (Canvas
  creates that assignment on import). A blank cell leaves a grade as it was.
- ``moodle.csv``: when the roster is Moodle's grading worksheet ("Download grading
  worksheet"), the same worksheet with ``Grade`` (the score scaled to its ``Maximum Grade``)
  and ``Feedback comments`` (the one-line verdict) filled for each graded student, every
  other cell as downloaded; upload it with "Upload grading worksheet". Any other roster
  gets Moodle's gradebook CSV import: ``Email address``, ``ID number`` (map either in
  "Identify user by"), the grade column and ``Feedback``.

A submission that matches no roster row cannot be placed: it is not in these files, and the
batch says so loudly and exits 2. A roster student without a submission keeps a blank grade.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from grader.errors import WorkspaceError
from grader.instructors.csvfile import write_rows
from grader.instructors.roster import header_key

if TYPE_CHECKING:
    from grader.instructors.roster import Roster, RosterEntry
    from grader.instructors.submissions import Graded
    from grader.tasks.spec import TaskSpec

LMS = ("csv", "canvas", "moodle")
"""``--lms`` choices; ``csv`` is the plain gradebook.csv alone."""
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_COLUMNS = ("Email address", "ID number")
WORKSHEET_GRADE = "Grade"
MAX_SCORE = 5


def grade_column(lms: str, roster: Roster, task: TaskSpec, chosen: str | None) -> str:
    """The header of the column ``<lms>.csv`` writes the grade into; one line
    (WorkspaceError) when the roster's assignment columns leave it open."""
    if lms == "moodle" and roster.worksheet:
        return WORKSHEET_GRADE
    if lms != "canvas" or not roster.assignments:
        return chosen.strip() if chosen and chosen.strip() else task.id
    names = list(roster.assignments)
    if chosen:
        wanted = header_key(chosen)
        picked = [n for n in names if wanted in (header_key(n), header_key(_bare(n)))]
        if len(picked) == 1:
            return picked[0]
        raise WorkspaceError(
            f"--assignment {chosen!r} is none of the roster's assignment columns: {_listed(names)}"
        )
    picked = [n for n in names if header_key(task.id) in header_key(n)]
    if len(picked) == 1:
        return picked[0]
    which = "several" if picked else "none"
    raise WorkspaceError(
        f"the roster has {len(names)} assignment column(s) and {which} named after "
        f"{task.id}: {_listed(picked or names)}; pick the one to fill with "
        f"--assignment '{(picked or names)[0]}'"
    )


def _bare(header: str) -> str:
    """``Task01 Fashion (5521)`` without its Canvas id."""
    return header.rsplit("(", 1)[0].strip()


def _listed(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names)


def write_lms(lms: str, graded: Sequence[Graded], roster: Roster, out: Path, column: str) -> Path:
    """Write ``<lms>.csv`` into ``out``: a row per roster student, the grade in ``column``."""
    by_entry = {id(g.roster): g for g in graded if g.roster is not None}
    rows: list[Sequence[object]] = []
    if lms == "canvas":
        points = _number(roster.assignments.get(column, ""))
        rows.append([*CANVAS_COLUMNS, column])
        for entry in roster.entries:
            ids = [entry.canvas_id, entry.student_id, entry.login, entry.section]
            rows.append([entry.name, *ids, _grade(by_entry.get(id(entry)), points)])
    elif lms == "moodle" and roster.worksheet:
        rows.append(roster.header)
        rows += [_worksheet_row(roster, e, by_entry.get(id(e))) for e in roster.entries]
    elif lms == "moodle":
        rows.append([*MOODLE_COLUMNS, column, "Feedback"])
        for entry in roster.entries:
            g = by_entry.get(id(entry))
            feedback = _verdict(g) if g else "no submission"
            rows.append([entry.email, entry.student_id, _grade(g, None), feedback])
    else:
        raise ValueError(f"unknown LMS {lms!r}; expected one of {', '.join(LMS)}")
    return write_rows(out / f"{lms}.csv", rows)


def _worksheet_row(roster: Roster, entry: RosterEntry, g: Graded | None) -> list[str]:
    """The worksheet's row as downloaded, with Grade and Feedback comments filled."""
    headers = [header_key(h) for h in roster.header]
    row = [*entry.row, *[""] * (len(headers) - len(entry.row))][: len(headers)]
    if g is None:
        return row
    maximum = _number(row[headers.index("maximumgrade")]) if "maximumgrade" in headers else None
    row[headers.index("grade")] = _grade(g, maximum)
    if "feedbackcomments" in headers:
        row[headers.index("feedbackcomments")] = _verdict(g)
    return row


def _verdict(g: Graded) -> str:
    return f"{g.result.status}: {g.result.message}"


def _number(text: str) -> float | None:
    """A positive number written in the roster (``5.00``, ``100,00``), else None."""
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        return None
    return value if value > 0 and value != float("inf") else None


def _grade(g: Graded | None, maximum: float | None) -> str:
    """The score 0..5, scaled to ``maximum`` points when the roster says it; blank for none."""
    if g is None:
        return ""
    if maximum is None:
        return str(g.result.score)
    return f"{round(g.result.score * maximum / MAX_SCORE, 2):g}"
