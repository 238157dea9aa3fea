"""Student names as an LMS writes them, and the safe folder names made from them.

A submissions folder exported from Canvas, Moodle or Gradescope names entries after the
student: ``Jo Smith/``, ``José Ñúñez.keras``, ``o'brien.h5``. Those names are accepted and
kept, exactly, in every record. Only a name that could escape a folder, hide, spoof what a
reader sees, or run as a spreadsheet formula is refused. Anything written to disk per student
uses a :func:`slugs` name instead: ASCII, no spaces or quotes, unique within the batch.

:func:`lms_name` reads the ids an LMS's bulk download puts in a name: Canvas's
``smithjo[_LATE]_<user id>_<submission id>_<file name>`` and Moodle's
``Full Name_<participant id>_assignsubmission_file_`` folders.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

MAX_NAME = 128
_SLUG_MAX = 64
_FORMULA_START = ("=", "+", "-", "@")
"""A cell starting with one of these is run as a formula by spreadsheets (CSV injection)."""
_CANVAS = re.compile(r"^(?P<name>[^_]+?)(?P<late>_LATE)?_(?P<user>\d+)_(?P<submission>\d+)_.+$")
_MOODLE = re.compile(r"^(?P<name>.+?)_(?P<participant>\d+)_assign(?:submission|feedback)_\w+?_?$")


@dataclass(frozen=True)
class LmsName:
    """What an LMS's bulk download says in a submission's name."""

    name: str
    """The student part: ``smithjo`` (Canvas), ``Jo Smith`` (Moodle), else the whole name."""
    canvas_id: str = ""
    """Canvas's user id (the gradebook's ``ID`` column)."""
    participant_id: str = ""
    """Moodle's participant id (``Participant 12345`` in its grading worksheet)."""
    late: bool = False
    """Canvas marked the submission late (``_LATE_``)."""


def lms_name(name: str) -> LmsName:
    """The ids in ``name`` when it is laid out as Canvas or Moodle name a download."""
    if match := _MOODLE.match(name):
        return LmsName(match["name"], participant_id=match["participant"])
    if match := _CANVAS.match(name):
        return LmsName(match["name"], canvas_id=match["user"], late=bool(match["late"]))
    return LmsName(name)


def normalized(name: str) -> str:
    """``name`` in Unicode NFC, as a record keeps it (macOS writes file names in NFD)."""
    return unicodedata.normalize("NFC", name)


def unsafe(name: str) -> str | None:
    """Why ``name`` cannot be a student's name (one phrase), or None when it can."""
    if not name.strip():
        return "it is empty"
    if len(name) > MAX_NAME:
        return f"it is longer than {MAX_NAME} characters"
    if "/" in name or "\\" in name:
        return "it contains a path separator"
    if ".." in name:
        return "it contains '..'"
    if name.startswith("."):
        return "it starts with a dot"
    if name.startswith(_FORMULA_START):
        return f"it starts with {name[0]!r} (a spreadsheet would run it as a formula)"
    for char in name:
        if unicodedata.category(char).startswith("C"):  # control, format (bidi), unassigned
            return f"it contains the control character U+{ord(char):04X}"
    return None


def slug(name: str) -> str:
    """An ASCII folder name for ``name``: accents folded, quotes dropped, the rest ``-``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"['\"`]", "", ascii_name).lower()
    text = re.sub(r"[^a-z0-9_]+", "-", ascii_name).strip("-_")
    return text[:_SLUG_MAX].rstrip("-_") or "student"


def slugs(names: Iterable[str]) -> dict[str, str]:
    """A unique :func:`slug` per name (``jo-smith``, ``jo-smith-2``...), in the order given.

    Unique without regard to case, so no two students share a folder on a case-insensitive
    file system either.
    """
    taken: set[str] = set()
    found: dict[str, str] = {}
    for name in names:
        if name in found:
            continue
        base = candidate = slug(name)
        n = 1
        while candidate.casefold() in taken:
            n += 1
            candidate = f"{base}-{n}"
        taken.add(candidate.casefold())
        found[name] = candidate
    return found
