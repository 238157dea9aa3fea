"""A course roster (CSV) joined to a batch's submissions: ids and emails for the gradebook.

The roster is the instructor's CSV, as an LMS exports it. Headers are matched without
regard to case, spaces or underscores; the common names are understood (``Student`` /
``Name``, ``ID`` / ``SIS User ID`` / ``Student ID`` / ``ID number``, ``Email`` /
``Email address``, ``SIS Login ID`` / ``Username``, ``Section``). A submission is matched to
a roster row by the student's name, else their id, login, email or the email's local part
(so ``jsmith.keras`` finds ``jsmith@uni.edu``), all compared case-insensitively.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from grader.errors import WorkspaceError
from grader.instructors.names import normalized

_HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("student", "name", "studentname", "fullname", "displayname", "stem", "file"),
    "student_id": ("sisuserid", "studentid", "studentnumber", "idnumber", "sisid", "id"),
    "canvas_id": ("id",),
    "email": ("email", "emailaddress", "mail", "sisloginemail"),
    "login": ("sisloginid", "loginid", "login", "username"),
    "section": ("section", "sections", "group"),
}
_MAX_BYTES = 16 * 2**20


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

    def keys(self) -> list[str]:
        """Every value a submission may be named by, name first, compared case-folded."""
        local = self.email.split("@", 1)[0] if "@" in self.email else ""
        values = (self.name, self.student_id, self.login, self.email, local)
        return [_key(v) for v in values if v.strip()]


@dataclass(frozen=True)
class Join:
    """A roster joined to a batch's students."""

    matched: dict[str, RosterEntry]
    """Student (as in the submissions folder) -> their roster row."""
    missing: list[RosterEntry]
    """On the roster, with no submission."""
    unknown: list[str]
    """Submitted, but on no roster row (or on more than one)."""


def _key(value: str) -> str:
    return " ".join(normalized(value).casefold().split())


def _header(text: str) -> str:
    return re.sub(r"[\s_\-]+", "", text.strip().lstrip("\ufeff")).casefold()


def load_roster(path: Path) -> list[RosterEntry]:
    """The students in the roster CSV at ``path``; one line (WorkspaceError) when unusable."""
    try:
        if path.stat().st_size > _MAX_BYTES:
            raise WorkspaceError(f"{path} is over {_MAX_BYTES // 2**20} MB: not a roster CSV")
        text = path.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise WorkspaceError(f"cannot read the roster {path}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise WorkspaceError(f"{path} is not UTF-8 text; export the roster as CSV UTF-8") from None
    lines = text.splitlines()
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(lines[0], ",;\t")
    except (csv.Error, IndexError):
        dialect = csv.excel
    rows = list(csv.reader(lines, dialect))
    if not rows:
        raise WorkspaceError(f"{path} is empty: expected a header row, then one row per student")
    headers = [_header(h) for h in rows[0]]
    columns = {
        field: next((headers.index(a) for a in aliases if a in headers), None)
        for field, aliases in _HEADERS.items()
    }
    if columns["student_id"] == columns["canvas_id"]:
        columns["canvas_id"] = None  # a lone "ID" column is the student id, not Canvas's
    if columns["name"] is None and columns["student_id"] is None and columns["email"] is None:
        raise WorkspaceError(
            f"{path} has no name, id or email column (headers: {', '.join(rows[0])}); "
            "name one of them 'name', 'id' or 'email'"
        )
    entries = []
    for row in rows[1:]:
        values = {
            field: row[i].strip() if i is not None and i < len(row) else ""
            for field, i in columns.items()
        }
        if not any(values.values()) or values["name"].startswith("Points Possible"):
            continue  # a blank line, or Canvas's "Points Possible" row
        if not values["name"]:
            values["name"] = values["student_id"] or values["email"]
        entries.append(RosterEntry(**values))
    return entries


def join(roster: list[RosterEntry], students: Iterable[str]) -> Join:
    """Match each student to one roster row (see the module docstring for how)."""
    index: dict[str, list[RosterEntry]] = {}
    for entry in roster:
        for key in dict.fromkeys(entry.keys()):
            index.setdefault(key, []).append(entry)
    matched: dict[str, RosterEntry] = {}
    unknown: list[str] = []
    for student in students:
        rows = index.get(_key(student), [])
        if len(rows) == 1:
            matched[student] = rows[0]
        else:
            unknown.append(student)
    found = {id(entry) for entry in matched.values()}
    missing = [entry for entry in roster if id(entry) not in found]
    return Join(matched, missing, unknown)
