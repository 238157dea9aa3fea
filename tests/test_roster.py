"""A roster CSV, as an LMS exports it, joined to a batch's students."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.errors import WorkspaceError
from grader.instructors.roster import RosterEntry, join, load_roster

CANVAS = (
    "\ufeffStudent,ID,SIS User ID,SIS Login ID,Section\n"
    "    Points Possible,,,,\n"
    "Jo Smith,101,S1,jsmith,A\n"
    "José Ñúñez,102,S2,jnunez,B\n"
    "Ann Lee,103,S3,alee,A\n"
)


def test_a_canvas_export_is_read_with_its_own_headers(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(CANVAS, encoding="utf-8")
    entries = load_roster(path)
    assert entries[0] == RosterEntry("Jo Smith", "S1", "101", "", "jsmith", "A")
    assert [e.name for e in entries] == ["Jo Smith", "José Ñúñez", "Ann Lee"]


def test_headers_are_matched_case_insensitively_in_any_common_spelling(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("FULL NAME;Email_Address;id number\nJo Smith;jo@uni.edu;S1\n")
    assert load_roster(path) == [RosterEntry("Jo Smith", "S1", email="jo@uni.edu")]


def test_a_roster_without_name_id_or_email_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("colour,size\nred,2\n")
    with pytest.raises(WorkspaceError, match=r"no name, id or email column.*colour, size"):
        load_roster(path)


def test_join_matches_name_login_or_email_and_reports_both_sides() -> None:
    roster = [
        RosterEntry("Jo Smith", "S1"),
        RosterEntry("José Ñúñez", "S2", login="jnunez"),
        RosterEntry("Ann Lee", "S3", email="alee@uni.edu"),
        RosterEntry("Bo Chen", "S4"),
    ]
    joined = join(roster, ["jo smith", "jnunez", "alee", "mallory"])
    assert {s: e.student_id for s, e in joined.matched.items()} == {
        "jo smith": "S1",
        "jnunez": "S2",
        "alee": "S3",
    }
    assert [e.name for e in joined.missing] == ["Bo Chen"]
    assert joined.unknown == ["mallory"]


def test_a_name_two_roster_rows_share_matches_neither() -> None:
    roster = [RosterEntry("Jo Smith", "S1"), RosterEntry("Jo Smith", "S9")]
    joined = join(roster, ["Jo Smith", "S9"])
    assert joined.unknown == ["Jo Smith"] and joined.matched["S9"].student_id == "S9"
