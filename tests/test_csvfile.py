"""The one CSV writer: RFC 4180, atomic, every formula-like cell neutralised."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from grader.instructors.csvfile import cell, write_rows


@pytest.mark.parametrize("text", ["=1+2", "+1", "-1", "@SUM(A1)", "\t=2+3", "\r=2+3"])
def test_a_cell_a_spreadsheet_would_run_gets_a_leading_quote(text: str) -> None:
    assert cell(text) == "'" + text


@pytest.mark.parametrize("value", ["Jo Smith", "Smith, Jo", " =x", "-", "", 5, -0.15, None])
def test_text_numbers_and_moodles_lone_dash_are_kept(value: object) -> None:
    assert cell(value) == ("" if value is None else value)


def test_rows_round_trip_through_the_csv_modules_standard_dialect(tmp_path: Path) -> None:
    rows = [["Student", "Note"], ['Mallory",101,S101', "two\nlines"], ["=evil", "-0.5"]]
    path = write_rows(tmp_path / "out.csv", rows)
    back = list(csv.reader(path.open(encoding="utf-8", newline="")))
    assert back == [["Student", "Note"], ['Mallory",101,S101', "two\nlines"], ["'=evil", "'-0.5"]]
