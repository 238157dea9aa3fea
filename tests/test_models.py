"""The model store: every graded model kept by content, pruned to a budget, restored by
``grade restore``; ``grade --train`` says what it replaced; ``grade history`` tells attempts
apart."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.practice import gradebook as store
from grader.practice import history, models
from grader.result import Result
from grader.tasks.spec import TaskSpec

runner = CliRunner()


def _model(workspace: Path, data: bytes, name: str = "model.keras") -> tuple[Path, str]:
    path = workspace / "solutions" / "tiny01" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def _grade(path: Path, sha: str, value: float, status: str = "fail", score: int = 2) -> Result:
    """What the pipeline would record for ``path`` (the grading itself is not under test)."""
    return history.record(
        Result(
            task="tiny01",
            status=status,  # type: ignore[arg-type]
            message="invalid model: Dense expects 2 units" if status == "invalid" else "m",
            value=value,
            score=score,
            model_path=str(path),
            model_sha256=sha,
        )
    )


def test_graded_model_is_kept_once_by_content(workspace: Path) -> None:
    path, sha = _model(workspace, b"good model")
    _grade(path, sha, 0.95, "pass", 5)
    _grade(path, sha, 0.95, "pass", 5)
    kept = list((workspace / ".grader" / "models").iterdir())
    assert kept == [workspace / ".grader" / "models" / f"{sha}.keras"]
    assert kept[0].read_bytes() == b"good model"
    attempts, _ = history.load("tiny01")
    assert [(a.model_file, a.model_sha256) for a in attempts] == [("model.keras", sha)] * 2


def test_h5_is_kept_under_its_suffix(workspace: Path) -> None:
    path, sha = _model(workspace, b"h5 bytes", "model.h5")
    _grade(path, sha, 0.5)
    assert (workspace / ".grader" / "models" / f"{sha}.h5").read_bytes() == b"h5 bytes"


def test_model_changed_after_grading_is_not_kept_and_says_so(workspace: Path) -> None:
    path, sha = _model(workspace, b"graded bytes")
    path.write_bytes(b"other bytes")
    result = _grade(path, sha, 0.5)
    assert any("changed after it was graded" in n for n in result.notes)
    assert not (workspace / ".grader" / "models" / f"{sha}.keras").exists()


def test_a_symlinked_model_is_not_followed_into_the_store(
    workspace: Path, outside_tmp: Path
) -> None:
    secret = outside_tmp / "secret"
    secret.write_bytes(b"secret")
    link = workspace / "solutions" / "tiny01" / "model.keras"
    link.parent.mkdir(parents=True)
    link.symlink_to(secret)
    result = _grade(link, hashlib.sha256(b"secret").hexdigest(), 0.5)
    assert any("not kept" in n for n in result.notes)
    assert not any((workspace / ".grader" / "models").glob("*.keras"))


def test_pruning_drops_the_oldest_but_never_the_best(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    best, best_sha = _model(workspace, b"B" * 4000)
    _grade(best, best_sha, 0.97, "pass", 5)
    shas = []
    for n in range(3):
        path, sha = _model(workspace, bytes([n]) * 4000)
        _grade(path, sha, 0.5)
        os.utime(models.stored(sha, "model.keras"), (1000 + n, 1000 + n))
        shas.append(sha)
    os.utime(models.stored(best_sha, "model.keras"), (1, 1))  # the oldest of all
    monkeypatch.setenv(models.BUDGET_ENV, str(13000 / 2**20))
    path, sha = _model(workspace, b"new" * 1000)
    result = _grade(path, sha, 0.6)
    folder = workspace / ".grader" / "models"
    left = {p.stem for p in folder.iterdir()}
    assert left == {best_sha, shas[2], sha}
    assert any("pruned 2 old kept model(s)" in n and "never pruned" in n for n in result.notes)


def test_restore_puts_the_best_back_and_keeps_the_one_it_replaces(workspace: Path) -> None:
    good, good_sha = _model(workspace, b"good")
    _grade(good, good_sha, 0.95, "pass", 5)
    worse, worse_sha = _model(workspace, b"worse")
    _grade(worse, worse_sha, 0.4, "fail", 1)
    result = runner.invoke(app, ["restore", "tiny01"])
    assert result.exit_code == 0, result.output
    assert good.read_bytes() == b"good"
    assert f"Restored {good} ({good_sha[:8]}, attempt #1: pass, 95.00%, 5/5)" in result.stdout
    assert f"The model it replaced ({worse_sha[:8]}) is kept" in result.stderr
    again = runner.invoke(app, ["restore", "tiny01", "--attempt", "2"])
    assert again.exit_code == 0 and good.read_bytes() == b"worse"


def test_restore_of_h5_removes_a_keras_that_would_be_graded_first(workspace: Path) -> None:
    h5, h5_sha = _model(workspace, b"h5", "model.h5")
    _grade(h5, h5_sha, 0.95, "pass", 5)
    keras_file, keras_sha = _model(workspace, b"keras")
    assert runner.invoke(app, ["restore", "tiny01", "--best"]).exit_code == 0
    assert h5.read_bytes() == b"h5" and not keras_file.exists()
    assert models.stored(keras_sha, "model.keras").read_bytes() == b"keras"


def test_restore_of_a_pruned_model_is_one_line_and_exit_2(workspace: Path) -> None:
    path, sha = _model(workspace, b"gone")
    _grade(path, sha, 0.95, "pass", 5)
    models.stored(sha, "model.keras").unlink()
    result = runner.invoke(app, ["restore", "tiny01", "--best"])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert f"attempt #1 ({sha[:8]}) is no longer kept" in result.stderr


def test_restore_refuses_a_kept_file_whose_bytes_no_longer_match_its_sha256(
    workspace: Path,
) -> None:
    good, good_sha = _model(workspace, b"good")
    _grade(good, good_sha, 0.95, "pass", 5)
    mine, _ = _model(workspace, b"what I have now")
    kept = models.stored(good_sha, "model.keras")
    kept.write_bytes(b"tampered")
    result = runner.invoke(app, ["restore", "tiny01"])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().count("\n") == 0
    assert f"{kept} no longer matches the sha256 it was kept under" in result.stderr
    assert "delete it and pick another attempt with `grade history tiny01`" in result.stderr
    assert mine.read_bytes() == b"what I have now"
    assert [p.name for p in mine.parent.iterdir()] == ["model.keras"]  # no staging left


@pytest.mark.parametrize("raw", ["nan", "inf", "-inf", "1e400", "-5", "0", "lots", "2GB"])
def test_a_bad_budget_is_one_line_not_a_traceback(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    kept, kept_sha = _model(workspace, b"kept while the budget was sane")
    _grade(kept, kept_sha, 0.9, "pass", 5)
    monkeypatch.setenv(models.BUDGET_ENV, raw)
    path, sha = _model(workspace, b"m")
    result = _grade(path, sha, 0.5)  # grading is recorded; the note says why it was not kept
    (note,) = [n for n in result.notes if models.BUDGET_ENV in n]
    assert f"must be a positive number of megabytes (e.g. 2048), got '{raw}'" in note
    restored = runner.invoke(app, ["restore", "tiny01"])
    assert restored.exit_code == 2, restored.output
    assert restored.stderr.strip().count("\n") == 0
    assert "unset it for the default 2048 MB" in restored.stderr


@pytest.mark.parametrize(("raw", "mb"), [("", 2048), (" 512 ", 512), ("0.5", 0.5)])
def test_a_good_budget_is_read_in_megabytes(
    monkeypatch: pytest.MonkeyPatch, raw: str, mb: float
) -> None:
    monkeypatch.setenv(models.BUDGET_ENV, raw)
    assert models.budget_bytes() == int(mb * 2**20)


def test_restore_with_nothing_graded_or_an_unknown_attempt_is_exit_2(workspace: Path) -> None:
    nothing = runner.invoke(app, ["restore", "tiny01"])
    assert nothing.exit_code == 2 and "No graded model of tiny01" in nothing.stderr
    path, sha = _model(workspace, b"m")
    _grade(path, sha, 0.5)
    unknown = runner.invoke(app, ["restore", "tiny01", "--attempt", "7"])
    assert unknown.exit_code == 2 and "tiny01 has no attempt #7" in unknown.stderr


def test_history_names_the_model_and_why_an_attempt_was_invalid(workspace: Path) -> None:
    path, sha = _model(workspace, b"first")
    _grade(path, sha, 0.5)
    path2, sha2 = _model(workspace, b"second", "model.h5")
    _grade(path2, sha2, 0.0, "invalid", 0)
    result = runner.invoke(app, ["history", "tiny01"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert f"model.keras {sha[:8]}" in result.stdout
    assert f"model.h5 {sha2[:8]}" in result.stdout
    assert "Dense expects 2 units" in result.stdout


def test_old_gradebook_gains_the_model_file_column(workspace: Path) -> None:
    path = workspace / ".grader" / "gradebook.sqlite"
    path.parent.mkdir()
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE attempts (id INTEGER PRIMARY KEY, task TEXT NOT NULL, status TEXT NOT NULL,"
        " value REAL, score INTEGER NOT NULL, model_sha256 TEXT, result_json TEXT NOT NULL,"
        " time_used_s REAL, time_limit_s REAL, late INTEGER NOT NULL DEFAULT 0,"
        " session_id INTEGER, grader_version TEXT, created_at REAL NOT NULL)"
    )
    conn.execute(
        "INSERT INTO attempts (task, status, score, result_json, created_at) "
        "VALUES ('tiny01', 'fail', 1, '{}', 1.0)"
    )
    conn.execute(
        "CREATE TABLE clocks (task TEXT PRIMARY KEY, started_at REAL, last_seen_at REAL,"
        " limit_s REAL)"
    )
    conn.execute(
        "CREATE TABLE sessions (id INTEGER PRIMARY KEY, tasks_json TEXT, started_at REAL,"
        " last_seen_at REAL, limit_s REAL, submitted_at REAL)"
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with store.open_gradebook() as book:
        old = book.attempts()
    assert [(a.task, a.model_file) for a in old] == [("tiny01", None)]


def test_train_says_what_it_replaced_and_how_to_restore_it(workspace: Path) -> None:
    old, old_sha = _model(workspace, b"the passing model")
    _grade(old, old_sha, 0.95, "pass", 5)
    (old.parent / "solution.py").write_text(
        "from pathlib import Path\nPath(__file__).with_name('model.keras').write_bytes(b'junk')\n"
    )
    result = runner.invoke(app, ["tiny01", "--train"])
    assert result.exit_code == 1, result.output
    assert old.read_bytes() == b"junk"
    assert (
        f"Replaced model.keras ({old_sha[:8]}, attempt #1: pass, 95.00%, 5/5); it is kept: "
        "`grade restore tiny01 --best` puts the best model back." in result.stderr
    )
    assert runner.invoke(app, ["restore", "tiny01"]).exit_code == 0
    assert old.read_bytes() == b"the passing model"


def test_train_keeps_a_model_that_was_never_graded(workspace: Path) -> None:
    old, old_sha = _model(workspace, b"never graded")
    (old.parent / "solution.py").write_text(
        "from pathlib import Path\nPath(__file__).with_name('model.keras').write_bytes(b'junk')\n"
    )
    result = runner.invoke(app, ["tiny01", "--train"])
    assert f"Replaced model.keras ({old_sha[:8]}, never graded)" in result.stderr
    assert models.stored(old_sha, "model.keras").read_bytes() == b"never graded"


def test_a_model_graded_under_another_name_is_kept_from_its_real_file(
    workspace: Path, tiny_task: TaskSpec, tmp_path: Path
) -> None:
    from grader.practice.attempt import attempt

    real = tmp_path / "saved" / "model.keras"
    real.parent.mkdir()
    real.write_bytes(b"an in-memory model, saved to a temporary file")
    graded = attempt(tiny_task, real, shown_as="<in-memory model 'm'>")
    sha = hashlib.sha256(real.read_bytes()).hexdigest()
    assert graded.result.model_sha256 == sha and not graded.problems
    assert models.stored(sha, "x.keras").read_bytes() == real.read_bytes()
    assert not any("not kept" in n for n in graded.result.notes)


def test_a_model_over_the_whole_budget_is_graded_but_not_kept_and_says_why(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(models.BUDGET_ENV, str(100 / 2**20))
    path, sha = _model(workspace, b"x" * 1000)
    result = _grade(path, sha, 0.5)
    assert any("larger than the model store's budget" in n for n in result.notes)
    assert history.load("tiny01")[0][0].model_sha256 == sha
