"""Student names as an LMS writes them, and the safe folder names made from them.

A submissions folder exported from Canvas, Moodle or Gradescope names entries after the
student: ``Jo Smith/``, ``José Ñúñez.keras``, ``o'brien.h5``. Those names are accepted and
kept, exactly, in every record. Only a name that could escape a folder, hide, spoof what a
reader sees, or run as a spreadsheet formula is refused. Anything written to disk per student
uses a :func:`slugs` name instead: ASCII, no spaces or quotes, unique within the batch.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MAX_NAME = 128
_SLUG_MAX = 64
_FORMULA_START = ("=", "+", "-", "@")
"""A cell starting with one of these is run as a formula by spreadsheets (CSV injection)."""


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
