"""The consoles: stderr stays free of blank lines and live bars when it is piped."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.report import console


def test_piped_progress_is_one_line_and_no_blank_ones(capsys: pytest.CaptureFixture[str]) -> None:
    with console.download_progress("Downloading nothing"):
        pass
    with console.download_progress("Downloading tiny") as bar:
        bar(10, 100)
        bar(100, 100)
    assert capsys.readouterr().err == "Downloading tiny…\n"


def test_grading_piped_leaves_no_blank_line_on_stderr(workspace: Path, tmp_path: Path) -> None:
    junk = tmp_path / "model.keras"
    junk.write_bytes(b"not a zip")
    result = CliRunner().invoke(app, ["tiny01", "--model", str(junk)])
    assert result.exit_code == 1
    assert "" not in result.stderr.splitlines()
