"""Recording attempts against the clock, ``grade history``, ``grade status`` and ``grade list``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.practice import gradebook as store
from grader.practice import history
from grader.result import Result
from tests.conftest import ModelFactory

runner = CliRunner()


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """A settable wall clock for the gradebook."""
    now = [1_000_000.0]
    monkeypatch.setattr(store.time, "time", lambda: now[0])
    return now


def _graded(value: float, status: str = "fail", score: int = 2) -> Result:
    return Result(task="tiny01", status=status, message="m", value=value, score=score)  # type: ignore[arg-type]


def test_attempt_records_time_used_from_the_task_clock(
    workspace: Path, fake_time: list[float]
) -> None:
    assert runner.invoke(app, ["start", "tiny01"]).exit_code == 0
    fake_time[0] += 125
    result = history.record(_graded(0.5))
    assert result.time_used_s == 125 and result.time_limit_s == 600 and not result.late
    attempts, _ = history.load("tiny01")
    assert attempts[0].time_used_s == 125 and attempts[0].result["time_used_s"] == 125


def test_attempt_after_the_limit_is_recorded_and_flagged_late(
    workspace: Path, fake_time: list[float]
) -> None:
    runner.invoke(app, ["start", "tiny01"])
    fake_time[0] += 601
    result = history.record(_graded(0.95, "pass", 5))
    assert result.late and result.passed
    assert any("late" in n for n in result.notes)
    assert history.load()[0][0].late


def test_attempt_without_a_clock_has_no_time(workspace: Path) -> None:
    result = history.record(_graded(0.5))
    assert result.time_used_s is None and not result.late


def test_history_json_has_trend_best_and_time_to_first_pass(
    workspace: Path, fake_time: list[float]
) -> None:
    runner.invoke(app, ["start", "tiny01"])
    for value, status, score in [(0.4, "fail", 0), (0.92, "pass", 4), (0.97, "pass", 5)]:
        fake_time[0] += 60
        history.record(_graded(value, status, score))
    out = runner.invoke(app, ["history", "tiny01", "--json"])
    assert out.exit_code == 0
    data = json.loads(out.stdout)
    assert [a["value"] for a in data["attempts"]] == [0.4, 0.92, 0.97]
    (summary,) = data["summary"]
    assert summary["best_score"] == 5 and summary["time_to_first_pass_s"] == 120
    table = runner.invoke(app, ["history"])
    assert "Attempts" in table.stdout and "5/5" in table.stdout
    assert history.task_progress("tiny01", history.load()[0]).values == [0.4, 0.92, 0.97]


def test_sparkline_rises_with_accuracy() -> None:
    from grader.report.practice import sparkline

    assert sparkline([0.0, 0.5, 1.0, None]) == "▁▅█·"


def test_history_with_no_gradebook_creates_none(workspace: Path) -> None:
    out = runner.invoke(app, ["history"])
    assert out.exit_code == 0 and "No attempts" in out.stdout
    assert not (workspace / ".grader").exists()


def test_list_shows_status_per_task(workspace: Path) -> None:
    rows = json.loads(runner.invoke(app, ["list", "--json"]).stdout)
    assert rows[0]["status"] == "not started"
    runner.invoke(app, ["start", "tiny01"])
    rows = json.loads(runner.invoke(app, ["list", "--json"]).stdout)
    assert rows[0]["status"].startswith("clock running")
    history.record(_graded(0.96, "pass", 5))
    rows = json.loads(runner.invoke(app, ["list", "--json"]).stdout)
    assert rows[0]["status"] == "passed (5/5)"
    assert "passed (5/5)" in runner.invoke(app, ["list"]).stdout


def test_status_shows_running_clocks_with_time_left(
    workspace: Path, fake_time: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    runner.invoke(app, ["start", "tiny01"])
    fake_time[0] += 570  # 95% of 10 minutes: the last 10%
    out = runner.invoke(app, ["status", "--json"])
    (clock,) = json.loads(out.stdout)["clocks"]
    assert clock["used_s"] == 570 and clock["left_s"] == 30 and clock["task_exists"]
    from rich.console import Console

    from grader.report import practice

    monkeypatch.setattr(practice, "out", Console(force_terminal=True, color_system="standard"))
    panel = runner.invoke(app, ["status"])
    assert "9:30 used" in panel.stdout and "\x1b[31m9:30 used" in panel.stdout  # red


def test_clock_of_a_deleted_task_is_reported_not_a_crash(workspace: Path) -> None:
    runner.invoke(app, ["start", "tiny01"])
    shutil.rmtree(workspace / "tasks" / "tiny01")
    out = runner.invoke(app, ["status"])
    assert out.exit_code == 0 and "no longer in the catalogue" in out.stdout
    clock = json.loads(runner.invoke(app, ["status", "--json"]).stdout)["clocks"][0]
    assert clock["task"] == "tiny01" and not clock["task_exists"]


def test_restart_asks_and_keeps_the_clock_on_no(workspace: Path, fake_time: list[float]) -> None:
    runner.invoke(app, ["start", "tiny01"])
    fake_time[0] += 300
    out = runner.invoke(app, ["start", "tiny01", "--restart"], input="n\n")
    assert out.exit_code == 1
    assert store.running()[0][0].time.used_s == 300
    out = runner.invoke(app, ["start", "tiny01", "--restart", "--yes"])
    assert out.exit_code == 0 and store.running()[0][0].time.used_s == 0


@pytest.mark.slow
def test_grading_records_the_attempt_with_the_clock(
    workspace: Path, pixel_model: ModelFactory
) -> None:
    runner.invoke(app, ["start", "tiny01"])
    out = runner.invoke(app, ["tiny01", "--model", str(pixel_model()), "--json"])
    assert out.exit_code == 0
    record = json.loads(out.stdout)
    assert record["time_used_s"] is not None and record["late"] is False
    (attempt,) = history.load("tiny01")[0]
    assert attempt.status == "pass" and attempt.model_sha256 == record["model_sha256"]
    assert attempt.result == record


# --- grade history at 80 columns ------------------------------------------------------------

LONG_REASON = (
    "invalid model: the model expects input (None, 32, 32, 3); the task feeds (28, 28, 1): "
    "resize the images or rebuild the input layer"
)


@pytest.mark.parametrize("columns", [80, 100])
def test_history_is_readable_at_80_and_100_columns(workspace: Path, columns: int) -> None:
    """Every header whole, each row on one line, and a reason as a sentence, not a column
    of single words."""
    runner.invoke(app, ["start", "tiny01"])
    rows = [("fail", 0.5, 1, "m"), ("invalid", None, 0, LONG_REASON), ("pass", 0.95, 5, "m")]
    for status, value, score, message in rows:
        history.record(
            Result(
                task="tiny01",
                status=status,  # type: ignore[arg-type]
                value=value,
                score=score,
                message=message,
                model_path=str(workspace / "solutions" / "tiny01" / "model.keras"),
                model_sha256="ab" * 32,
            )
        )
    history.record(Result(task="other02", status="fail", value=0.1, score=0, message="m"))
    done = runner.invoke(app, ["history"], env={"COLUMNS": str(columns)})
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    assert "…" not in done.stdout and max(len(line.rstrip()) for line in lines) <= columns
    header = next(line.split() for line in lines if line.lstrip().startswith("#"))
    assert header == ["#", "when", "task", "status", "accuracy", "score", "time", "model"]
    progress = next(line for line in lines if "attempts" in line)
    for name in ("task", "attempts", "trend", "best", "best score", "first pass"):
        assert name in progress
    assert sum("model.keras abababab" in line for line in lines) == 3  # one line per attempt
    reason = [line for line in lines if "expects input" in line or "input layer" in line]
    assert 1 <= len(reason) <= 2 and len(reason[0].split()) >= 10 and "#2" in reason[0]
