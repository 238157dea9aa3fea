"""A course roster (CSV) joined to a batch's submissions: ids and emails for the gradebook.

The roster is the instructor's CSV, as an LMS exports it: Canvas's gradebook export (with its
``Points Possible`` row and one ``Name (id)`` column per assignment), Moodle's grading
worksheet (``Identifier`` = ``Participant 12345``, ``Full name``, ``Grade``...), or any
spreadsheet. It is parsed as RFC 4180 (the csv module's ``excel`` dialect: ``"`` doubled
inside quotes); only the delimiter (``,`` ``;`` or tab) is chosen from the header line.
Headers are matched without regard to case, spaces or underscores; the common names are
understood (``Student`` / ``Name`` / ``Full name``, ``ID`` / ``SIS User ID`` / ``Student ID``
/ ``ID number``, ``Email`` / ``Email address``, ``SIS Login ID`` / ``Username``, ``Section``,
``Identifier``).

A submission is matched to one roster row (:func:`join`) by, in order: the Canvas user id or
Moodle participant id in its name (:func:`grader.instructors.names.lms_name`), then the
student's name (``Smith, Jo`` also as ``Jo Smith`` and as Canvas's ``smithjo``), SIS id,
login, email or the email's local part (so ``jsmith.keras`` finds ``jsmith@uni.edu``), all
compared case-insensitively.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import WorkspaceError
from grader.instructors.names import lms_name, normalized

_HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("student", "name", "studentname", "fullname", "displayname", "stem", "file"),
    "student_id": ("sisuserid", "studentid", "studentnumber", "idnumber", "sisid", "id"),
    "canvas_id": ("id",),
    "email": ("email", "emailaddress", "mail", "sisloginemail"),
    "login": ("sisloginid", "loginid", "login", "username"),
    "section": ("section", "sections", "group"),
    "participant_id": ("identifier",),
}
_MAX_BYTES = 16 * 2**20
_ASSIGNMENT = re.compile(r"^.*\S\s*\(\d+\)$")
"""A Canvas assignment column: ``Task01 Fashion (5521)``."""
_NOT_STUDENTS = ("points possible", "manual posting")
"""Canvas's rows under the header that are no student."""


@dataclass(frozen=True)
class RosterEntry:
    """One student on the roster; empty strings where the roster has no such column."""

    name: str
    student_id: str = ""
    canvas_id: str = ""
    """Canvas's own user id (its ``ID`` column), when the roster is a Canvas export."""
    email: str = ""
    login: str = ""
    section: str = ""
    participant_id: str = ""
    """Moodle's participant id (``Participant 12345`` in its grading worksheet)."""
    row: tuple[str, ...] = field(default=(), compare=False, repr=False)
    """The row's cells as the roster wrote them (a worksheet is written back from them)."""

    def keys(self) -> list[str]:
        """Every value a submission may be named by, name first, compared case-folded."""
        local = self.email.split("@", 1)[0] if "@" in self.email else ""
        values = [self.name, *_name_forms(self.name), self.student_id, self.login]
        values += [self.email, local]
        return [_key(v) for v in values if v.strip()]


@dataclass(frozen=True)
class Roster:
    """A parsed roster: its students, and what an LMS import needs from its layout."""

    entries: list[RosterEntry]
    header: tuple[str, ...] = ()
    """The header row as written."""
    assignments: dict[str, str] = field(default_factory=dict)
    """Canvas assignment column -> its ``Points Possible`` ("" when the roster has no such row)."""
    worksheet: bool = False
    """A Moodle grading worksheet (it has ``Identifier`` and ``Grade`` columns)."""


@dataclass(frozen=True)
class Join:
    """A roster joined to a batch's students."""

    matched: dict[str, RosterEntry]
    """Student (as in the submissions folder) -> their roster row."""
    missing: list[RosterEntry]
    """On the roster, with no submission."""
    unknown: list[str]
    """Submitted, but on no roster row (or on more than one, or sharing one with another)."""
    why: dict[str, str] = field(default_factory=dict)
    """Unknown student -> why they could not be placed (one phrase)."""


def _key(value: str) -> str:
    return " ".join(normalized(value).casefold().split())


def _name_forms(name: str) -> list[str]:
    """``Smith, Jo`` (Canvas's "Last, First") also as ``Jo Smith`` and as ``smithjo``, the
    name Canvas gives a bulk download's files."""
    if name.count(",") != 1:
        return []
    last, first = (part.strip() for part in name.split(","))
    compact = re.sub(r"\W", "", f"{last}{first}")
    folded = unicodedata.normalize("NFKD", compact).encode("ascii", "ignore").decode()
    return [f"{first} {last}", compact, folded]


def header_key(text: str) -> str:
    """A header as compared: no BOM, case, spaces, underscores or dashes."""
    return re.sub(r"[\s_\-]+", "", text.strip().lstrip("\ufeff")).casefold()


def load_roster(path: Path) -> Roster:
    """The roster CSV at ``path``; one line (WorkspaceError) when unusable."""
    try:
        if path.stat().st_size > _MAX_BYTES:
            raise WorkspaceError(f"{path} is over {_MAX_BYTES // 2**20} MB: not a roster CSV")
        text = path.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise WorkspaceError(f"cannot read the roster {path}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise WorkspaceError(f"{path} is not UTF-8 text; export the roster as CSV UTF-8") from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), "excel", delimiter=_delimiter(text)))
    except csv.Error as err:
        raise WorkspaceError(f"{path} is not a readable CSV ({err}); export it again") from None
    if not rows:
        raise WorkspaceError(f"{path} is empty: expected a header row, then one row per student")
    headers = [header_key(h) for h in rows[0]]
    columns = {
        key: next((headers.index(a) for a in aliases if a in headers), None)
        for key, aliases in _HEADERS.items()
    }
    if columns["student_id"] == columns["canvas_id"]:
        columns["canvas_id"] = None  # a lone "ID" column is the student id, not Canvas's
    if columns["name"] is None and columns["student_id"] is None and columns["email"] is None:
        raise WorkspaceError(
            f"{path} has no name, id or email column (headers: {', '.join(rows[0])}); "
            "name one of them 'name', 'id' or 'email'"
        )
    assignments = {h.strip(): "" for h in rows[0] if _ASSIGNMENT.match(h.strip())}
    entries = []
    for row in rows[1:]:
        values = {
            key: row[i].strip() if i is not None and i < len(row) else ""
            for key, i in columns.items()
        }
        if not any(values.values()):
            continue  # a blank line
        if values["name"].casefold().startswith(_NOT_STUDENTS) and not values["canvas_id"]:
            if values["name"].casefold().startswith("points possible"):
                for i, h in enumerate(rows[0]):
                    if h.strip() in assignments and i < len(row):
                        assignments[h.strip()] = row[i].strip()
            continue
        number = re.search(r"(\d+)\s*$", values["participant_id"])  # "Participant 12345"
        values["participant_id"] = number[1] if number else ""
        if not values["name"]:
            values["name"] = values["student_id"] or values["email"]
        entries.append(RosterEntry(**values, row=tuple(row)))
    worksheet = "identifier" in headers and "grade" in headers
    return Roster(entries, tuple(rows[0]), assignments, worksheet)


def _delimiter(text: str) -> str:
    """``,``, ``;`` or tab, chosen from the header line alone (the rows are parsed as
    RFC 4180 whatever the sniffer thinks of their quotes)."""
    header = text.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(header, ",;\t").delimiter
    except csv.Error:
        return ","


def join(roster: Sequence[RosterEntry], students: Iterable[str]) -> Join:
    """Match each student to one roster row (see the module docstring for how); two
    submissions that match the same row are both left unknown, never one silently dropped."""
    by_key: dict[str, list[RosterEntry]] = {}
    by_canvas: dict[str, list[RosterEntry]] = {}
    by_participant: dict[str, list[RosterEntry]] = {}
    for entry in roster:
        for key in dict.fromkeys(entry.keys()):
            by_key.setdefault(key, []).append(entry)
        if entry.canvas_id:
            by_canvas.setdefault(entry.canvas_id, []).append(entry)
        if entry.participant_id:
            by_participant.setdefault(entry.participant_id, []).append(entry)
    found: dict[str, RosterEntry] = {}
    why: dict[str, str] = {}
    students = list(students)
    for student in students:
        parsed = lms_name(student)
        tried = []
        rows: list[RosterEntry] = []
        if parsed.canvas_id:
            rows = by_canvas.get(parsed.canvas_id, [])
            tried.append(f"Canvas user id {parsed.canvas_id}")
        elif parsed.participant_id:
            rows = by_participant.get(parsed.participant_id, [])
            tried.append(f"Moodle participant {parsed.participant_id}")
        for name in dict.fromkeys((student, parsed.name)):
            if not rows:
                rows = by_key.get(_key(name), [])
                tried.append(f"name or id {name!r}")
        if len(rows) == 1:
            found[student] = rows[0]
        elif rows:
            why[student] = f"matches {len(rows)} roster rows ({', '.join(e.name for e in rows)})"
        else:
            why[student] = f"matches no roster row (tried {', '.join(tried)})"
    by_entry: dict[int, list[str]] = {}
    for student, entry in found.items():
        by_entry.setdefault(id(entry), []).append(student)
    for students_of_row in by_entry.values():
        if len(students_of_row) > 1:
            for student in students_of_row:
                entry = found.pop(student)
                others = ", ".join(s for s in students_of_row if s != student)
                why[student] = f"shares the roster row {entry.name!r} with {others}; keep one"
    placed = {id(entry) for entry in found.values()}
    missing = [entry for entry in roster if id(entry) not in placed]
    unknown = [s for s in students if s in why]
    return Join(found, missing, unknown, why)
