"""Every CSV the grader writes (gradebook, Canvas, Moodle): one writer, one cell rule.

Rows are written in RFC 4180 (the csv module's ``excel`` dialect: comma, ``"`` doubled
inside quotes, CRLF) through :func:`grader.atomic.replacing`, so a reader sees the whole file
or the old one. Each text cell starting with ``= + - @``, a tab or a carriage return gets a
leading ``'`` (OWASP's CSV-injection advice), so a spreadsheet shows it and never runs it:
student names, roster cells and messages are untrusted.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

from grader.atomic import replacing

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""A cell starting with one of these may be run as a formula by a spreadsheet."""


def cell(value: object) -> object:
    """``value`` as a CSV cell: text that a spreadsheet would run gets a leading ``'``.

    Numbers are kept as they are (``-0.0123`` is a margin, not a formula), and so is a lone
    ``-`` (Moodle's "none" in its worksheet, which it reads back).
    """
    if isinstance(value, str) and value.startswith(FORMULA_START) and value != "-":
        return "'" + value
    return "" if value is None else value


def write_rows(path: Path, rows: Iterable[Sequence[object]]) -> Path:
    """Write ``rows`` (the header first) to ``path`` atomically, every cell through
    :func:`cell`."""
    with replacing(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, dialect="excel")
        for row in rows:
            writer.writerow([cell(v) for v in row])
    return path
