"""Untrusted text at every sink: :func:`grader.text.visible`, then ``grade``, ``grade batch``
and its junit.xml, and ``grade history`` through the real CLI with hostile file names.

Each name below once broke an output: ``d[/e].keras`` crashed rich's markup parser (a
traceback instead of a grade), ``[link=…]`` planted a hyperlink, ESC sequences wrote the
clipboard (OSC 52) or cleared the screen, a bidi override reversed what was read, and the
same bytes made junit.xml unparseable.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.practice import history
from grader.result import Result
from grader.text import visible

runner = CliRunner()
WIDE = {"COLUMNS": "400"}  # one line per row, so a name is never folded in the middle

HOSTILE = {
    "markup": "d[/e].keras",
    "link": "[link=http://x]Bob.keras",
    "osc52": "a\x1b]52;c;SGVsbG8=\x07b.keras",
    "clear": "c\x1b[2Jd.keras",
    "bidi": "e\u202egnp.keras",
}
JUNK = b"PK\x03\x04 not a keras file" * 10
"""Refused as a corrupt zip without a child: the name still reaches every output."""


def _plain(output: str) -> None:
    """No raw control character (ESC, BEL) or bidi override in what the user sees."""
    assert "\x1b" not in output and "\x07" not in output and "\u202e" not in output
    assert "Traceback" not in output


# --- visible() ---------------------------------------------------------------------------


def test_visible_writes_controls_and_bidi_as_escapes() -> None:
    assert visible("a\x1b]52;c;SGVsbG8=\x07b") == "a\\x1b]52;c;SGVsbG8=\\x07b"
    assert visible("e\u202egnp\u2066") == "e\\u202egnp\\u2066"
    assert visible("x\ny\tz\r") == "x\\ny\\tz\\r"
    assert visible("\x9b2J\U000e0001") == "\\x9b2J\\U000e0001"


def test_visible_keeps_what_is_asked_and_every_printable_name() -> None:
    assert visible("line one\nline two", keep="\n") == "line one\nline two"
    for name in (
        "José Ñúñez",
        "o'brien [1].keras",
        "李小龙",
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
        "👩\u200d🎓",
    ):
        assert visible(name) == name


def test_visible_output_is_always_xml_character_data() -> None:
    hostile = "".join(chr(c) for c in range(0x20)) + "\ud800\ufffe\uffff\ufdd0\x7f\x85"
    root = ET.fromstring(
        ET.tostring(ET.Element("t", name=visible(hostile, keep="\n")), encoding="unicode")
    )
    assert "\\x1b" in root.attrib["name"] and "\\ufffe" in root.attrib["name"]


# --- grade TASK --model ------------------------------------------------------------------


@pytest.mark.parametrize("name", list(HOSTILE.values()), ids=list(HOSTILE))
def test_grade_shows_a_hostile_model_name_escaped(
    workspace: Path, tmp_path: Path, name: str
) -> None:
    model = tmp_path / name
    model.parent.mkdir(parents=True, exist_ok=True)
    model.write_bytes(JUNK)
    done = runner.invoke(app, ["tiny01", "--model", str(model)], env=WIDE)
    assert done.exit_code == 1, done.output  # invalid model, as documented: not a crash
    assert done.exception is None or isinstance(done.exception, SystemExit)
    _plain(done.output)
    assert "INVALID" in done.stdout
    assert visible(str(model)) in done.stdout  # the whole path, [link=…] and all


# --- grade batch, junit.xml --------------------------------------------------------------


@pytest.fixture
def hostile_submissions(tmp_path: Path) -> Path:
    subs = tmp_path / "subs"
    two = ["f[/g].keras", "f[/g].h5"]  # refused: "several model files in f[/ (g].h5, …)"
    for name in [*HOSTILE.values(), "[bold]Eve.keras", "zed[/i]/model.keras", *two]:
        path = subs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(JUNK)
    return subs


def test_batch_shows_and_exports_hostile_names_escaped(
    workspace: Path, hostile_submissions: Path, tmp_path: Path
) -> None:
    out = tmp_path / "grades"
    args = ["batch", "tiny01", str(hostile_submissions), "--out", str(out)]
    done = runner.invoke(app, args, env=WIDE)
    assert done.exit_code == 0, done.output  # every entry refused or invalid: graded, exit 0
    assert done.exception is None or isinstance(done.exception, SystemExit)
    _plain(done.output)
    assert "[bold]Eve" in done.stdout and "zed[" in done.stdout and "f[/ (g].h5" in done.stdout
    assert "a\\x1b]52;c;SGVsbG8=\\x07b" in done.stdout and "c\\x1b[2Jd" in done.stdout
    assert "Wrote gradebook.csv" in done.stdout

    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    students = {case.get("name") for case in suite.iter("testcase")}
    assert {"a\\x1b]52;c;SGVsbG8=\\x07b", "c\\x1b[2Jd", "e\\u202egnp", "[bold]Eve"} <= students
    _plain((out / "junit.xml").read_text(encoding="utf-8"))


# --- grade history -----------------------------------------------------------------------


def test_history_shows_hostile_model_names_and_reasons_escaped(workspace: Path) -> None:
    for name in HOSTILE.values():
        path = workspace / "solutions" / "tiny01" / name
        history.record(
            Result(
                task="tiny01",
                status="invalid",
                message=f"invalid model: {path.name} [/e] is not a model \x1b]0;owned\x07",
                model_path=str(path),
                model_sha256="ab" * 32,
            )
        )
    done = runner.invoke(app, ["history", "tiny01"], env=WIDE)
    assert done.exit_code == 0, done.output
    _plain(done.output)
    assert "x]Bob.keras" in done.stdout and "e].keras" in done.stdout
    assert "c\\x1b[2Jd.keras" in done.stdout and "e\\u202egnp.keras" in done.stdout
    assert "[/e] is not a model \\x1b]0;owned\\x07" in done.stdout
