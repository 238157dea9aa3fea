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
    entries = load_roster(path).entries
    assert entries[0] == RosterEntry("Jo Smith", "S1", "101", "", "jsmith", "A")
    assert [e.name for e in entries] == ["Jo Smith", "José Ñúñez", "Ann Lee"]


def test_headers_are_matched_case_insensitively_in_any_common_spelling(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("FULL NAME;Email_Address;id number\nJo Smith;jo@uni.edu;S1\n")
    assert load_roster(path).entries == [RosterEntry("Jo Smith", "S1", email="jo@uni.edu")]


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


# Canvas's gradebook export, as Canvas writes it: "Last, First" names, its own user id in
# ID, a "Points Possible" row under the header, one "Name (id)" column per assignment and
# read-only score columns after them.
CANVAS_GRADEBOOK = (
    "Student,ID,SIS User ID,SIS Login ID,Section,Tiny01 Pixels (5521),Quiz 1 (5522),"
    "Current Score,Unposted Current Score,Final Score\n"
    "    Points Possible,,,,,10.00,2.00,(read only),(read only),(read only)\n"
    '"Smith, Jo",1007,S1007,jsmith,Section A,,1.00,50.00,50.00,25.00\n'
    '"Ñúñez, José",1008,S1008,jnunez,Section A,,,,,\n'
    '"Lee, Ann",1009,S1009,alee,Section B,,,,,\n'
)

# Moodle's "Download grading worksheet" of an assignment.
MOODLE_WORKSHEET = (
    "Identifier,Full name,Email address,Status,Grade,Maximum Grade,Grade can be changed,"
    "Last modified (submission),Last modified (grade),Feedback comments\n"
    '"Participant 12345","Jo Smith",jo@uni.edu,"Submitted for grading",,100.00,Yes,'
    '"Monday, 1 December 2026, 9:00 AM",-,\n'
    '"Participant 12346","Ann Lee",ann@uni.edu,"No submission",,100.00,Yes,-,-,\n'
)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_doubled_quotes_are_read_as_rfc_4180_so_a_crafted_name_takes_no_other_row(
    tmp_path: Path,
) -> None:
    """The sniffer saw only the header and read `""` wrongly: Mallory got the victim's ids."""
    path = _write(
        tmp_path,
        "Student,ID,SIS User ID,SIS Login ID,Section\n"
        '"Mallory"",101,S101,victim,A",102,S102,mallory,A\n'
        "Victor Tim,101,S101,victim,A\n",
    )
    entries = load_roster(path).entries
    assert [(e.name, e.canvas_id, e.student_id, e.login) for e in entries] == [
        ('Mallory",101,S101,victim,A', "102", "S102", "mallory"),
        ("Victor Tim", "101", "S101", "victim"),
    ]
    joined = join(entries, ["Victor Tim", "mallory"])
    assert joined.matched["Victor Tim"].student_id == "S101"
    assert joined.matched["mallory"].student_id == "S102" and not joined.unknown


def test_a_quoted_cell_may_hold_the_delimiter_and_a_line_break(tmp_path: Path) -> None:
    path = _write(tmp_path, 'Name;Email\n"Smith; Jo\nJr";jo@uni.edu\nAnn;ann@uni.edu\n')
    assert [e.name for e in load_roster(path).entries] == ["Smith; Jo\nJr", "Ann"]


def test_canvas_gradebook_export_gives_students_assignments_and_points(tmp_path: Path) -> None:
    roster = load_roster(_write(tmp_path, CANVAS_GRADEBOOK))
    assert roster.assignments == {"Tiny01 Pixels (5521)": "10.00", "Quiz 1 (5522)": "2.00"}
    assert [(e.name, e.canvas_id, e.student_id) for e in roster.entries] == [
        ("Smith, Jo", "1007", "S1007"),
        ("Ñúñez, José", "1008", "S1008"),
        ("Lee, Ann", "1009", "S1009"),
    ]
    assert not roster.worksheet


def test_canvas_bulk_download_names_and_last_first_names_find_their_rows(
    tmp_path: Path,
) -> None:
    """3 of 8 came out MISSING: Canvas names files `smithjo[_LATE]_<user id>_<sub id>_<file>`
    and its roster says "Smith, Jo"; both must match."""
    entries = load_roster(_write(tmp_path, CANVAS_GRADEBOOK)).entries
    joined = join(
        entries,
        ["smithjo_1007_991_model", "nunezjose_LATE_1008_992_model-1", "Ann Lee"],
    )
    assert {s: e.canvas_id for s, e in joined.matched.items()} == {
        "smithjo_1007_991_model": "1007",
        "nunezjose_LATE_1008_992_model-1": "1008",
        "Ann Lee": "1009",
    }
    assert not joined.unknown and not joined.missing


def test_canvas_sortable_names_match_without_the_user_id(tmp_path: Path) -> None:
    plain = _write(tmp_path, 'Student,SIS User ID\n"Ñúñez, José",S1008\n')
    entries = load_roster(plain).entries  # no Canvas ID column: the name part must do
    canvas_file = "nunezjose_1008_992_model"
    assert join(entries, [canvas_file]).matched[canvas_file] == entries[0]
    assert join(entries, ["José Ñúñez"]).matched["José Ñúñez"] == entries[0]


def test_a_canvas_file_is_matched_by_its_user_id_before_its_name(tmp_path: Path) -> None:
    entries = load_roster(_write(tmp_path, CANVAS_GRADEBOOK)).entries
    joined = join(entries, ["leeann_1007_5_model", "S1009"])  # name says Ann, id says Jo
    assert joined.matched["leeann_1007_5_model"].name == "Smith, Jo"
    assert joined.matched["S1009"].name == "Lee, Ann"  # the SIS user id


def test_moodle_worksheet_and_its_submission_folders_match_by_participant(
    tmp_path: Path,
) -> None:
    roster = load_roster(_write(tmp_path, MOODLE_WORKSHEET))
    assert roster.worksheet
    assert [(e.name, e.participant_id, e.email) for e in roster.entries] == [
        ("Jo Smith", "12345", "jo@uni.edu"),
        ("Ann Lee", "12346", "ann@uni.edu"),
    ]
    joined = join(
        roster.entries,
        ["Someone Else_12345_assignsubmission_file_", "Ann Lee_99_assignsubmission_file_"],
    )
    assert joined.matched["Someone Else_12345_assignsubmission_file_"].name == "Jo Smith"
    assert joined.matched["Ann Lee_99_assignsubmission_file_"].name == "Ann Lee"  # by name


def test_two_submissions_for_one_row_are_both_flagged_never_one_dropped() -> None:
    jo = RosterEntry("Smith, Jo", "S1", "1007")
    joined = join([jo], ["smithjo_1007_1_model", "smithjo_LATE_1007_2_model", "zed"])
    assert joined.matched == {} and joined.missing == [jo]
    assert joined.unknown == ["smithjo_1007_1_model", "smithjo_LATE_1007_2_model", "zed"]
    assert "shares the roster row 'Smith, Jo' with smithjo_LATE" in joined.why[joined.unknown[0]]
    assert joined.why["zed"] == "matches no roster row (tried name or id 'zed')"
