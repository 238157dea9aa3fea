"""The gradebook: one SQLite file (WAL) in ``<workspace>/.grader/`` holding every attempt,
the task clocks and the exam sessions.

Each write is one ``BEGIN IMMEDIATE`` transaction, so a process killed mid-write leaves no
half row and concurrent ``grade`` runs queue on ``busy_timeout`` instead of failing. The schema
is versioned with ``PRAGMA user_version`` and a list of migrations. A damaged file is copied
aside before the grader says so; it is never recreated over data.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.errors import GradebookError
from grader.practice.clock import Elapsed, elapsed
from grader.tasks.workspace import workspace_root

FILENAME = "gradebook.sqlite"
BUSY_TIMEOUT_S = 30.0
"""How long a write waits for another ``grade`` process before reporting a locked gradebook."""

_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE attempts (
            id INTEGER PRIMARY KEY,
            task TEXT NOT NULL,
            status TEXT NOT NULL,
            value REAL,
            score INTEGER NOT NULL,
            model_sha256 TEXT,
            result_json TEXT NOT NULL,
            time_used_s REAL,
            time_limit_s REAL,
            late INTEGER NOT NULL DEFAULT 0,
            session_id INTEGER,
            grader_version TEXT,
            created_at REAL NOT NULL)""",
        "CREATE INDEX attempts_task ON attempts (task, created_at)",
        """CREATE TABLE clocks (
            task TEXT PRIMARY KEY,
            started_at REAL NOT NULL,
            last_seen_at REAL NOT NULL,
            limit_s REAL NOT NULL)""",
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            tasks_json TEXT NOT NULL,
            started_at REAL NOT NULL,
            last_seen_at REAL NOT NULL,
            limit_s REAL NOT NULL,
            submitted_at REAL)""",
    ),
    ("ALTER TABLE attempts ADD COLUMN model_file TEXT",),
)
"""Migration N (1-based) brings a gradebook from ``user_version`` N-1 to N. Append only."""
SCHEMA_VERSION = len(_MIGRATIONS)


def gradebook_path() -> Path:
    """``<workspace>/.grader/gradebook.sqlite``."""

    return workspace_root() / ".grader" / FILENAME


@dataclass(frozen=True)
class Clock:
    """A task's running clock."""

    task: str
    started_at: float
    time: Elapsed


@dataclass(frozen=True)
class Session:
    """A timed exam session over several tasks."""

    id: int
    tasks: tuple[str, ...]
    started_at: float
    submitted_at: float | None
    time: Elapsed


@dataclass(frozen=True)
class Attempt:
    """One row of the gradebook: a grading and when it happened."""

    id: int
    task: str
    status: str
    value: float | None
    score: int
    model_sha256: str | None
    time_used_s: float | None
    time_limit_s: float | None
    late: bool
    session_id: int | None
    created_at: float
    result: dict[str, Any]
    """The full Result record (schema 1) as written."""
    model_file: str | None = None
    """The graded file's name (``model.keras``); its bytes are kept under ``model_sha256``."""


class Gradebook:
    """An open gradebook connection; use :func:`open_gradebook`."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One transaction: all of it is written, or none of it."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # --- clocks ---------------------------------------------------------------------

    def start_clock(self, task: str, limit_s: float, *, restart: bool = False) -> bool:
        """Start ``task``'s clock now; keep a running one unless ``restart``. True if started."""
        now = time.time()
        with self.write() as db:
            exists = db.execute("SELECT 1 FROM clocks WHERE task = ?", (task,)).fetchone()
            if exists and not restart:
                return False
            db.execute(
                "INSERT OR REPLACE INTO clocks (task, started_at, last_seen_at, limit_s) "
                "VALUES (?, ?, ?, ?)",
                (task, now, now, limit_s),
            )
        return True

    def clocks(self, *, touch: bool = True) -> list[Clock]:
        """Every task clock, oldest first; ``touch`` notes the time seen so a clock moved back
        holds (readers that must stay fast, like ``grade list``, skip that write)."""
        now = time.time()
        rows = self.conn.execute(
            "SELECT task, started_at, last_seen_at, limit_s FROM clocks ORDER BY started_at"
        ).fetchall()
        if touch and rows:
            with self.write() as db:
                db.execute("UPDATE clocks SET last_seen_at = ? WHERE last_seen_at < ?", (now, now))
        return [Clock(r[0], r[1], elapsed(r[1], r[2], r[3], now)) for r in rows]

    # --- sessions -------------------------------------------------------------------

    def active_session(self) -> Session | None:
        """The exam session not yet submitted, if any."""
        row = self.conn.execute(
            "SELECT id, tasks_json, started_at, last_seen_at, limit_s, submitted_at "
            "FROM sessions WHERE submitted_at IS NULL ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return None if row is None else _session(row, time.time())

    def start_session(self, tasks: list[str], limit_s: float) -> Session:
        """Open a new session; refuse while another is open."""
        now = time.time()
        with self.write() as db:
            if db.execute("SELECT 1 FROM sessions WHERE submitted_at IS NULL").fetchone():
                raise GradebookError(
                    "An exam session is already running. "
                    "See `grade exam status`, or end it with `grade exam submit`."
                )
            cur = db.execute(
                "INSERT INTO sessions (tasks_json, started_at, last_seen_at, limit_s) "
                "VALUES (?, ?, ?, ?)",
                (json.dumps(tasks), now, now, limit_s),
            )
        assert cur.lastrowid is not None
        return Session(cur.lastrowid, tuple(tasks), now, None, elapsed(now, now, limit_s, now))

    def submit_session(self, session_id: int) -> Session:
        """Close the session at the current (skew-clamped) time."""
        now = time.time()
        with self.write() as db:
            row = db.execute(
                "SELECT id, tasks_json, started_at, last_seen_at, limit_s, submitted_at "
                "FROM sessions WHERE id = ?",
                (session_id,),
            ).fetchone()
            at = max(now, row[2], row[3])
            db.execute("UPDATE sessions SET submitted_at = ? WHERE id = ?", (at, session_id))
        return _session((*row[:5], at), now)

    # --- attempts -------------------------------------------------------------------

    def add_attempt(self, result: dict[str, Any], session_id: int | None) -> int:
        """Record one graded Result (as ``Result.to_dict()``); return its row id."""
        now = time.time()
        with self.write() as db:
            cur = db.execute(
                "INSERT INTO attempts (task, status, value, score, model_sha256, model_file, "
                "result_json, time_used_s, time_limit_s, late, session_id, grader_version, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    result["task"],
                    result["status"],
                    result.get("value"),
                    result.get("score", 0),
                    result.get("model_sha256"),
                    _file_name(result.get("model_path")),
                    json.dumps(result, allow_nan=False),
                    result.get("time_used_s"),
                    result.get("time_limit_s"),
                    int(bool(result.get("late"))),
                    session_id,
                    result.get("versions", {}).get("grader"),
                    now,
                ),
            )
            db.execute("UPDATE clocks SET last_seen_at = ? WHERE last_seen_at < ?", (now, now))
            db.execute("UPDATE sessions SET last_seen_at = ? WHERE last_seen_at < ?", (now, now))
        assert cur.lastrowid is not None
        return cur.lastrowid

    def best_passing_scores(self) -> dict[str, int]:
        """Task -> best score among its passing attempts (tasks never passed are absent)."""
        rows = self.conn.execute(
            "SELECT task, MAX(score) FROM attempts WHERE status = 'pass' GROUP BY task"
        ).fetchall()
        return {task: int(best) for task, best in rows}

    def has_clock(self, task: str) -> bool:
        """Whether ``task`` has a clock."""
        row = self.conn.execute("SELECT 1 FROM clocks WHERE task = ?", (task,)).fetchone()
        return row is not None

    def attempts(self, task: str | None = None, session_id: int | None = None) -> list[Attempt]:
        """Attempts in the order they were graded, optionally of one task or session."""
        sql = (
            "SELECT id, task, status, value, score, model_sha256, model_file, time_used_s, "
            "time_limit_s, late, session_id, created_at, result_json FROM attempts"
        )
        where, args = [], []
        if task is not None:
            where.append("task = ?")
            args.append(task)
        if session_id is not None:
            where.append("session_id = ?")
            args.append(str(session_id))
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self.conn.execute(sql + " ORDER BY id", args).fetchall()
        return [
            Attempt(
                id=r[0],
                task=r[1],
                status=r[2],
                value=r[3],
                score=r[4],
                model_sha256=r[5],
                model_file=r[6],
                time_used_s=r[7],
                time_limit_s=r[8],
                late=bool(r[9]),
                session_id=r[10],
                created_at=r[11],
                result=json.loads(r[12]),
            )
            for r in rows
        ]


def _file_name(path: object) -> str | None:
    return Path(path).name if isinstance(path, str) and path else None


def _session(row: tuple[Any, ...], now: float) -> Session:
    sid, tasks, started, seen, limit_s, submitted = row
    end = submitted if submitted is not None else now
    return Session(
        sid, tuple(json.loads(tasks)), started, submitted, elapsed(started, seen, limit_s, end)
    )


@contextmanager
def open_gradebook(
    path: Path | None = None, *, busy_timeout_s: float = BUSY_TIMEOUT_S
) -> Iterator[Gradebook]:
    """Open (creating and migrating as needed) the gradebook; errors are GradebookError."""
    path = path or gradebook_path()
    conn = _connect(path, busy_timeout_s)
    try:
        yield Gradebook(conn, path)
    except sqlite3.DatabaseError as err:
        raise _translate(err, path) from None
    finally:
        conn.close()


def _connect(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise GradebookError(f"cannot create {path.parent}: {err.strerror}") from None
    conn = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise sqlite3.DatabaseError(f"database disk image is malformed ({check})")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        _migrate(conn, path)
    except sqlite3.DatabaseError as err:
        conn.close()
        raise _translate(err, path) from None
    return conn


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise GradebookError(
            f"{path} was written by a newer grader (schema {version}, this one knows "
            f"{SCHEMA_VERSION}); upgrade the grader."
        )
    if version == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Re-read under the write lock: another process may have migrated meanwhile.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for number, statements in enumerate(_MIGRATIONS[version:], start=version + 1):
            for statement in statements:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _translate(err: sqlite3.DatabaseError, path: Path) -> GradebookError:
    text = str(err)
    if "locked" in text or "busy" in text:
        return GradebookError(
            f"The gradebook {path} is locked by another grade process; "
            "wait for it to finish and run this again."
        )
    if isinstance(err, sqlite3.OperationalError) and "malformed" not in text:
        return GradebookError(f"cannot use the gradebook {path}: {text}")
    backup = _back_up(path)
    return GradebookError(
        f"The gradebook {path} is damaged ({text}); a copy was saved as {backup.name}. "
        f"Move {path.name} away to start a new one (nothing was overwritten)."
    )


def _back_up(path: Path) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%S")
    backup = path.with_name(f"{path.name}.corrupt-{stamp}")
    for suffix in ("", "-wal"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            shutil.copy2(source, Path(f"{backup}{suffix}"))
    return backup


def start_clock(task: str, limit_s: float, *, restart: bool = False) -> tuple[bool, Clock]:
    """Start (or with ``restart`` reset) ``task``'s clock: (started now, the clock)."""
    with open_gradebook() as book:
        started = book.start_clock(task, limit_s, restart=restart)
        clock = next(c for c in book.clocks() if c.task == task)
    return started, clock


def clock_running(task: str) -> bool:
    """True when ``task`` has a clock (read only; creates no gradebook)."""
    if not gradebook_path().exists():
        return False
    with open_gradebook() as book:
        return book.has_clock(task)


def running() -> tuple[list[Clock], Session | None]:
    """Every task clock and the open exam session (nothing is created when there is no file)."""
    if not gradebook_path().exists():
        return [], None
    with open_gradebook() as book:
        return book.clocks(), book.active_session()
