"""Exam sessions: task choice, one clock, weighted total, persistence, bad input."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.practice import exam, history
from grader.practice import gradebook as store
from grader.result import Result
from grader.tasks.spec import TaskSpec

runner = CliRunner()


def _add_task(workspace: Path, task_id: str, category: int) -> None:
    source = workspace / "tasks" / "tiny01"
    target = workspace / "tasks" / task_id
    shutil.copytree(source, target)
    toml = (target / "task.toml").read_text()
    toml = toml.replace('id = "tiny01"', f'id = "{task_id}"').replace(
        "category = 1", f"category = {category}"
    )
    (target / "task.toml").write_text(toml)


def _graded(task: str, score: int) -> Result:
    status = "pass" if score >= 4 else "fail"
    return Result(task=task, status=status, message="m", value=score / 5, score=score)  # type: ignore[arg-type]


@pytest.fixture
def three_categories(workspace: Path) -> Path:
    """tiny01 (cat 1), tiny02 (cat 1), tiny03 (cat 3)."""
    _add_task(workspace, "tiny02", 1)
    _add_task(workspace, "tiny03", 3)
    return workspace


def test_default_exam_is_one_task_per_category_for_five_hours(three_categories: Path) -> None:
    session, skipped = exam.start()
    assert not skipped and session.tasks == ("tiny01", "tiny03")
    assert session.time.limit_s == 300 * 60


def test_unknown_task_is_exit_2_with_suggestion(workspace: Path) -> None:
    out = runner.invoke(app, ["exam", "start", "--tasks", "tiny01,tiny1"])
    assert out.exit_code == 2
    assert "Unknown task 'tiny1'. Did you mean: tiny01?" in out.stderr


def test_second_session_is_refused_while_one_runs(workspace: Path) -> None:
    assert runner.invoke(app, ["exam", "start"]).exit_code == 0
    out = runner.invoke(app, ["exam", "start"])
    assert out.exit_code == 2 and "already running" in out.stderr


def test_submit_takes_best_score_per_task_weighted_by_category(three_categories: Path) -> None:
    runner.invoke(app, ["exam", "start", "--tasks", "tiny01", "--tasks", "tiny03"])
    history.record(_graded("tiny02", 5))  # not in the session: ignored
    for task, score in (("tiny01", 3), ("tiny01", 5), ("tiny01", 2), ("tiny03", 4)):
        history.record(_graded(task, score))
    out = runner.invoke(app, ["exam", "submit", "--json", "--yes"])
    report = json.loads(out.stdout)
    best = {t["task"]: t["best_score"] for t in report["tasks"]}
    assert best == {"tiny01": 5, "tiny03": 4}
    assert report["total"] == pytest.approx((1 * 5 + 3 * 4) / (4 * 5))
    assert report["passed"] and out.exit_code == 0
    assert runner.invoke(app, ["exam", "status"]).exit_code == 2  # ended


def test_failing_exam_exits_1_and_shows_verdict(workspace: Path) -> None:
    runner.invoke(app, ["exam", "start"])
    history.record(_graded("tiny01", 2))
    out = runner.invoke(app, ["exam", "submit", "--yes"])
    assert out.exit_code == 1 and "FAIL" in out.stdout and "40%" in out.stdout


def test_attempts_during_a_session_use_its_clock(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr(store.time, "time", lambda: now[0])
    runner.invoke(app, ["exam", "start", "--minutes", "2"])
    now[0] += 150
    result = history.record(_graded("tiny01", 5))
    assert result.time_used_s == 150 and result.time_limit_s == 120 and result.late


def test_session_survives_a_new_process(workspace: Path) -> None:
    runner.invoke(app, ["exam", "start", "--minutes", "90"])
    out = subprocess.run(
        [sys.executable, "-m", "grader", "exam", "status"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "tiny01" in out.stdout and re.search(r"(89:[0-5]\d|90:00) left", out.stdout)


def test_task_removed_from_the_catalogue_is_left_out(three_categories: Path) -> None:
    runner.invoke(app, ["exam", "start", "--tasks", "tiny01,tiny03"])
    history.record(_graded("tiny01", 5))
    shutil.rmtree(three_categories / "tasks" / "tiny03")
    report = exam.submit()
    assert report.missing == ["tiny03"] and report.total == 1.0


def test_choose_tasks_keeps_order_and_drops_repeats(workspace: Path, tiny_task: TaskSpec) -> None:
    assert [t.id for t in exam.choose_tasks([tiny_task], ["tiny01", "tiny01"])[0]] == ["tiny01"]


class _NotHere:
    """A dataset whose files are not on this machine: loading it would download."""

    name = "nothere"
    splits = ("train", "test")

    def load(self, split: str, *, on_progress: object = None) -> object:
        from grader.datasets import download

        download.fetch("https://example.org/nothere.gz", Path("/nonexistent/nothere.gz"))
        raise AssertionError("fetch must refuse while offline")


def test_default_exam_skips_tasks_whose_data_is_not_here_and_says_so(
    three_categories: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grader import datasets

    monkeypatch.setitem(datasets.DATASETS, "nothere", _NotHere())
    toml = three_categories / "tasks" / "tiny01" / "task.toml"
    toml.write_text(toml.read_text().replace('name = "tiny"', 'name = "nothere"'))
    out = runner.invoke(app, ["exam", "start"])
    assert out.exit_code == 0, out.output
    assert "tiny02, tiny03" in out.stdout
    assert (
        "skipped tiny01: its data (nothere) is not on this machine; name it with --tasks to "
        "include it anyway." in out.stderr
    )


def test_named_tasks_are_taken_even_without_their_data(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grader import datasets

    monkeypatch.setitem(datasets.DATASETS, "nothere", _NotHere())
    toml = workspace / "tasks" / "tiny01" / "task.toml"
    toml.write_text(toml.read_text().replace('name = "tiny"', 'name = "nothere"'))
    nothing = runner.invoke(app, ["exam", "start"])
    assert nothing.exit_code == 2 and "No task of the catalogue has its data" in nothing.stderr
    named = runner.invoke(app, ["exam", "start", "--tasks", "tiny01"])
    assert named.exit_code == 0 and "tiny01" in named.stdout


def test_status_shows_each_tasks_best_score_so_far(three_categories: Path) -> None:
    runner.invoke(app, ["exam", "start", "--tasks", "tiny01,tiny03"])
    for score in (2, 4, 3):
        history.record(_graded("tiny01", score))
    out = runner.invoke(app, ["exam", "status"])
    assert out.exit_code == 0
    assert re.search(r"tiny01\s+best 4/5 \(3 attempts\)", out.stdout)
    assert re.search(r"tiny03\s+not graded yet", out.stdout)


def test_submit_while_time_remains_refuses_without_a_terminal_or_yes(workspace: Path) -> None:
    runner.invoke(app, ["exam", "start", "--minutes", "90"])
    out = runner.invoke(app, ["exam", "submit"])
    assert out.exit_code == 2
    assert re.search(
        r"error: (89:[0-5]\d|90:00) of the exam remain; run `grade exam submit --yes` to end it "
        r"now\.\n$",
        out.stderr,
    )
    assert runner.invoke(app, ["exam", "status"]).exit_code == 0  # still running


def test_submit_asks_at_a_terminal_and_keeps_the_session_on_no(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import grader.cli

    runner.invoke(app, ["exam", "start"])
    monkeypatch.setattr(grader.cli, "_interactive", lambda: True)
    no = runner.invoke(app, ["exam", "submit"], input="n\n")
    assert no.exit_code == 1 and "of the exam remain. Submit now?" in no.stderr
    assert runner.invoke(app, ["exam", "status"]).exit_code == 0  # still running
    yes = runner.invoke(app, ["exam", "submit"], input="y\n")
    assert yes.exit_code == 1 and "FAIL" in yes.stdout


def test_submit_summary_says_time_used_once(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr(store.time, "time", lambda: now[0])
    runner.invoke(app, ["exam", "start", "--minutes", "300"])
    now[0] += 108 * 60
    out = runner.invoke(app, ["exam", "submit", "--yes"], env={"COLUMNS": "200"})
    assert "108:00 of 300:00 used" in out.stdout and out.stdout.count("used") == 1
