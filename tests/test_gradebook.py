"""The SQLite gradebook: schema, atomic writes, concurrency, kill -9, corruption, locks, skew."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grader.errors import GradebookError
from grader.practice import gradebook as store
from grader.result import Result

ROOT = Path(__file__).resolve().parents[1]


def _result(task: str = "tiny01", value: float = 0.5, **extra: object) -> dict[str, object]:
    return Result(task=task, status="fail", message="m", value=value, **extra).to_dict()  # type: ignore[arg-type]


def test_new_gradebook_is_wal_at_current_schema(workspace: Path) -> None:
    with store.open_gradebook() as book:
        book.add_attempt(_result(), None)
    path = workspace / ".grader" / "gradebook.sqlite"
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"attempts", "clocks", "sessions"} <= tables


def test_every_attempt_is_kept_with_its_full_result(workspace: Path) -> None:
    with store.open_gradebook() as book:
        for value in (0.2, 0.9, 0.4):
            book.add_attempt(_result(value=value, model_sha256="ab" * 32), None)
        rows = book.attempts("tiny01")
    assert [r.value for r in rows] == [0.2, 0.9, 0.4]
    assert Result.from_dict(rows[1].result).value == 0.9
    assert rows[0].model_sha256 == "ab" * 32


def test_gradebook_from_a_newer_grader_is_refused(workspace: Path) -> None:
    path = workspace / ".grader" / "gradebook.sqlite"
    path.parent.mkdir()
    sqlite3.connect(path).execute(f"PRAGMA user_version = {store.SCHEMA_VERSION + 1}")
    with pytest.raises(GradebookError, match="newer grader"), store.open_gradebook():
        pass


def test_corrupt_gradebook_is_backed_up_and_never_recreated(workspace: Path) -> None:
    path = workspace / ".grader" / "gradebook.sqlite"
    path.parent.mkdir()
    junk = b"this is not sqlite, but it is the learner's data" * 100
    path.write_bytes(junk)
    with pytest.raises(GradebookError, match="damaged") as info, store.open_gradebook():
        pass
    assert path.read_bytes() == junk
    backups = list(path.parent.glob("gradebook.sqlite.corrupt-*"))
    assert len(backups) == 1 and backups[0].read_bytes() == junk
    assert backups[0].name in str(info.value)


def test_corrupt_gradebook_is_one_line_exit_2_in_the_cli(workspace: Path) -> None:
    from typer.testing import CliRunner

    from grader.cli import app

    path = workspace / ".grader" / "gradebook.sqlite"
    path.parent.mkdir()
    path.write_bytes(b"\x00garbage" * 512)
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 2
    assert "damaged" in result.stderr and "Traceback" not in result.output


def test_locked_gradebook_is_a_clear_error(workspace: Path) -> None:
    with store.open_gradebook():
        pass
    holder = sqlite3.connect(workspace / ".grader" / "gradebook.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        locked = pytest.raises(GradebookError, match="locked by another grade process")
        with locked, store.open_gradebook(busy_timeout_s=0.2) as book:
            book.add_attempt(_result(), None)
    finally:
        holder.execute("ROLLBACK")


def test_clock_moved_back_never_gives_negative_time(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr(store.time, "time", lambda: now[0])
    store.start_clock("tiny01", 600.0)
    now[0] += 120
    assert store.running()[0][0].time.used_s == 120
    now[0] -= 3600  # the system clock jumps back an hour
    clock = store.running()[0][0]
    assert clock.time.used_s == 120 and clock.time.skewed


def test_restart_resets_a_running_clock_and_start_keeps_it(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr(store.time, "time", lambda: now[0])
    store.start_clock("tiny01", 600.0)
    now[0] += 300
    started, clock = store.start_clock("tiny01", 600.0)
    assert not started and clock.time.used_s == 300
    started, clock = store.start_clock("tiny01", 600.0, restart=True)
    assert started and clock.time.used_s == 0


_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[3])
    from grader.practice import gradebook as store
    from grader.result import Result
    blob = "x" * 20000  # large rows make a kill land inside a write
    with store.open_gradebook(Path(sys.argv[1])) as book:
        for i in range(int(sys.argv[2])):
            r = Result(task=f"t{i}", status="fail", message=blob, value=i / 1000).to_dict()
            book.add_attempt(r, None)
            print(i, flush=True)
    """
)


def _writer(path: Path, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), str(count), str(ROOT)],
        stdout=subprocess.PIPE,
        text=True,
    )


def _assert_complete(path: Path) -> int:
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = conn.execute("SELECT task, value, result_json FROM attempts").fetchall()
    for task, value, blob in rows:
        record = json.loads(blob)
        assert record["task"] == task and record["value"] == value
        assert len(record["message"]) == 20000
    return len(rows)


@pytest.mark.slow
def test_kill_9_during_writes_leaves_no_half_row(tmp_path: Path) -> None:
    path = tmp_path / "gradebook.sqlite"
    proc = _writer(path, 100_000)
    assert proc.stdout is not None
    for _ in range(30):  # let it commit some rows, then kill it mid-stream
        proc.stdout.readline()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _assert_complete(path) >= 30
    with store.open_gradebook(path) as book:  # and it is still writable
        book.add_attempt(_result(), None)


@pytest.mark.slow
def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "gradebook.sqlite"
    with store.open_gradebook(path):
        pass  # create and migrate once; concurrent migration is covered by the lock anyway
    procs = [_writer(path, 40) for _ in range(4)]
    for proc in procs:
        proc.communicate(timeout=120)
        assert proc.returncode == 0
    assert _assert_complete(path) == 160


def test_concurrent_first_opens_migrate_once(tmp_path: Path) -> None:
    path = tmp_path / "gradebook.sqlite"
    procs = [_writer(path, 1) for _ in range(3)]
    for proc in procs:
        proc.communicate(timeout=120)
        assert proc.returncode == 0
    assert _assert_complete(path) == 3
