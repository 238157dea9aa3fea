"""``grade batch``: grade a cohort of submissions, N sandboxed children at a time, resumably.

The submissions (:mod:`grader.instructors.submissions`) are each graded by
:func:`grader.grading.pipeline.grade` in their own sandboxed child; the grading data is loaded
once. One bad submission becomes one ``invalid``/``error`` record and never stops the others.
Each finished grading is appended to ``index.jsonl`` in the output folder at once, so a
re-run skips every model (same student, same sha256) already graded.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, TextIO

from grader.datasets import ProgressCallback
from grader.errors import WorkspaceError
from grader.grading.inputs import GradingData
from grader.instructors import exports
from grader.instructors.copies import CopyGroup, copied_from, find_copies
from grader.instructors.fork_pool import ForkPool
from grader.instructors.lms import LMS, grade_column
from grader.instructors.roster import RosterEntry, join, load_roster
from grader.instructors.submissions import (
    EXTRA_KEYS,
    Graded,
    Skipped,
    Submission,
    grade_submission,
    model_sha256,
    scan,
)
from grader.result import Result, Status
from grader.sandbox.process import Limits, memory_share_mb
from grader.tasks.spec import TaskSpec

INDEX = "index.jsonl"
"""Append-only log of finished gradings in the output folder: what a re-run resumes from."""
FINAL: tuple[Status, ...] = ("pass", "fail", "invalid")
"""Statuses a re-run keeps; ``timeout`` and ``error`` may be transient and are graded again."""

Backend = Literal["local", "ray"]
OnResult = Callable[["Graded"], None]


@dataclass
class BatchOutcome:
    """Everything a batch produced, in student order."""

    task: TaskSpec
    graded: list[Graded]
    out: Path
    """The output folder."""
    files: list[Path] = field(default_factory=list)
    """Exports written there."""
    skipped: list[Skipped] = field(default_factory=list)
    """Files in the submissions folder that are not models (graded as nobody)."""
    copies: list[CopyGroup] = field(default_factory=list)
    """Groups of students whose models are copies of each other (grades unchanged)."""
    with_roster: bool = False
    """A ``--roster`` was joined."""
    missing: list[RosterEntry] = field(default_factory=list)
    """Roster students with no submission."""
    unknown: list[str] = field(default_factory=list)
    """Students who submitted but match no roster row (only with a roster)."""
    why: dict[str, str] = field(default_factory=dict)
    """Each unknown student -> why no roster row was theirs."""
    column: str = ""
    """The LMS file's grade column (``--lms`` other than csv)."""

    @property
    def exit_code(self) -> int:
        """0 when every submission got a verdict and, with a roster, a roster row; 2 when the
        grader failed on some, or some submission is on no roster row (its grade is in no
        LMS file: the instructor must place it)."""
        errors = any(g.result.status == "error" for g in self.graded)
        return 2 if errors or self.unknown else 0


def load_index(out: Path) -> dict[str, Graded]:
    """The latest record per student from an earlier run's index (a torn last line is ignored)."""
    records: dict[str, Graded] = {}
    try:
        lines = (out / INDEX).read_text(encoding="utf-8").splitlines()
    except OSError:
        return records
    for line in lines:
        try:
            data = json.loads(line)
            student = data["student"]
            result = {k: v for k, v in data.items() if k not in EXTRA_KEYS}
            records[student] = Graded(student, Result.from_dict(result), resumed=True)
        except (ValueError, KeyError, TypeError):
            continue
    return records


def run_batch(
    task: TaskSpec,
    folder: Path,
    *,
    out: Path | None = None,
    workers: int = 1,
    timeout_s: float = 300.0,
    backend: Backend = "local",
    address: str | None = None,
    on_start: Callable[[int], None] | None = None,
    on_result: OnResult | None = None,
    on_progress: ProgressCallback | None = None,
    fork_server: bool = True,
    roster: Path | None = None,
    lms: str = "csv",
    assignment: str | None = None,
) -> BatchOutcome:
    """Grade every submission in ``folder`` and write the exports to ``out``.

    Models are predicted by children forked from one sandboxed fork-server per worker
    (:mod:`grader.instructors.fork_pool`), or with ``fork_server=False`` each in a fresh child.

    ``on_start(n_to_grade)`` is called once the work is known, ``on_result`` after each
    submission (resumed ones included), ``on_progress`` while the data downloads. The
    grading data is loaded once, here, for every submission.

    ``roster`` (a CSV) joins ids and emails to the students; ``lms`` (``canvas``/``moodle``,
    which need it) also writes that LMS's import file, the grade in the roster's assignment
    column named after the task or by ``assignment`` (checked before anything is graded).
    Copied models are found and reported
    in the outcome; no grade is changed for them.
    """

    if lms not in LMS:
        raise WorkspaceError(f"--lms must be one of {', '.join(LMS)}, got '{lms}'")
    if lms != "csv" and roster is None:
        raise WorkspaceError(
            f"--lms {lms} needs --roster ROSTER.csv: the LMS matches rows by the ids in it"
        )
    loaded = load_roster(roster) if roster is not None else None
    column = grade_column(lms, loaded, task, assignment) if loaded and lms != "csv" else ""
    out = out or default_out(folder)
    exclude = [out] if roster is None else [out, roster]
    subs, skipped = scan(folder, exclude=exclude)
    data = GradingData.load(task, on_progress=on_progress)
    out.mkdir(parents=True, exist_ok=True)
    earlier = load_index(out)
    done: dict[str, Graded] = {}
    todo: list[Submission] = []
    sha256s: dict[str, str | None] = {}
    for sub in subs:
        prior = earlier.get(sub.student)
        sha = model_sha256(sub.path, task.model.max_bytes) if sub.path else None
        sha256s[sub.student] = sha
        if prior and _reusable(prior.result, task, sha, data.sha256):
            done[sub.student] = prior
        else:
            todo.append(sub)
    if on_start:
        on_start(len(todo))
    for graded in done.values():
        if on_result:
            on_result(graded)
    # Each child gets its share of the cores: N children each using every core thrash.
    limits = Limits(
        wall_s=timeout_s,
        threads=max(1, (os.cpu_count() or 1) // max(1, workers)),
        memory_mb=memory_share_mb(workers),
    )
    results = _grade_all(task, todo, data, limits, workers, backend, address, fork_server)
    with (out / INDEX).open("a+", encoding="utf-8") as index:
        _end_torn_line(index)
        for graded in results:
            index.write(json.dumps(graded.to_dict(), allow_nan=False) + "\n")
            index.flush()
            done[graded.student] = graded
            if on_result:
                on_result(graded)
    copies = find_copies(task, subs, sha256s)
    others = copied_from(copies)
    cohort = [replace(done[s.student], copied_from=others.get(s.student, ())) for s in subs]
    outcome = BatchOutcome(task, cohort, out, skipped=skipped, copies=copies, column=column)
    if loaded is not None:
        joined = join(loaded.entries, [g.student for g in cohort])
        outcome.graded = [replace(g, roster=joined.matched.get(g.student)) for g in cohort]
        outcome.with_roster = True
        outcome.missing, outcome.unknown = joined.missing, joined.unknown
        outcome.why = joined.why
    outcome.files = exports.write_all(
        outcome.graded,
        out,
        task,
        missing=outcome.missing,
        with_roster=outcome.with_roster,
        summary=summary_record(outcome),
        lms=lms,
        roster=loaded,
        column=column,
    )
    return outcome


def _end_torn_line(index: TextIO) -> None:
    """End a last line torn by a crash, so the next record starts on a line of its own."""
    size = index.seek(0, os.SEEK_END)
    if size:
        index.buffer.seek(size - 1)
        last = index.buffer.read(1)
        index.seek(0, os.SEEK_END)
        if last != b"\n":
            index.write("\n")


def default_out(folder: Path) -> Path:
    """``grades/`` next to the submissions folder."""
    return folder.resolve().parent / "grades"


def _reusable(result: Result, task: TaskSpec, sha: str | None, heldout_sha: str) -> bool:
    if sha is None or result.model_sha256 != sha or result.status not in FINAL:
        return False
    return result.task_version == task.version and result.heldout_sha256 == heldout_sha


def _grade_all(
    task: TaskSpec,
    todo: list[Submission],
    data: GradingData,
    limits: Limits,
    workers: int,
    backend: Backend,
    address: str | None,
    fork_server: bool,
) -> Iterable[Graded]:
    if backend == "ray":
        from grader.instructors import ray_backend  # only with --backend ray: Ray is optional

        yield from ray_backend.grade_on_ray(task, todo, data, limits, workers, address, fork_server)
        return
    servers = ForkPool(task, data, limits, enabled=fork_server)

    def one(sub: Submission) -> Result:
        with servers.lease() as server:
            result = grade_submission(task, sub, data, limits, server)
        return replace(result, notes=[*result.notes, servers.note]) if servers.note else result

    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = {pool.submit(one, s): s for s in todo}
            for future in as_completed(futures):
                yield Graded(futures[future].student, future.result())
    finally:
        servers.close()


@dataclass(frozen=True)
class CohortSummary:
    """What the batch summary table shows."""

    total: int
    passed: int
    by_status: dict[Status, int]
    scores: dict[int, int]
    """Score 0..5 -> how many students got it."""
    reasons: list[tuple[str, int]]
    """The most common reasons for not passing, most frequent first."""
    resumed: int

    @property
    def pass_rate(self) -> float:
        """Share of students who passed."""
        return self.passed / self.total if self.total else 0.0


def summarize_cohort(graded: list[Graded], top: int = 5) -> CohortSummary:
    """Pass rate, score distribution and the most common failure reasons."""
    statuses = Counter(g.result.status for g in graded)
    scores = Counter(g.result.score for g in graded)
    reasons = Counter(reason(g.result) for g in graded if not g.result.passed)
    return CohortSummary(
        total=len(graded),
        passed=statuses.get("pass", 0),
        by_status=dict(statuses),
        scores={s: scores.get(s, 0) for s in range(6)},
        reasons=reasons.most_common(top),
        resumed=sum(g.resumed for g in graded),
    )


def reason(result: Result) -> str:
    """A failure's message with the specifics (numbers, file names) taken out, for grouping."""
    if result.status == "fail":
        return "below the pass mark"
    text = result.message
    if result.model_path:
        text = text.replace(result.model_path, "MODEL")
    text = re.sub(r"'[^']*'", "'…'", text)
    text = re.sub(r"\([^)]*\)", "(…)", text)  # kept as brackets: a grouping, not a cut
    return re.sub(r"\b\d+(\.\d+)?\b", "N", text)


def summary_record(outcome: BatchOutcome) -> dict[str, object]:
    """``summary.json``: the cohort at a glance, with what sits beside the records."""
    s = summarize_cohort(outcome.graded)
    return {
        "task": outcome.task.id,
        "task_version": outcome.task.version,
        "total": s.total,
        "passed": s.passed,
        "pass_rate": round(s.pass_rate, 4),
        "by_status": s.by_status,
        "scores": {str(k): v for k, v in s.scores.items()},
        "skipped": [{"name": k.name, "reason": k.reason} for k in outcome.skipped],
        "copies": [{"students": list(g.students), "kind": g.kind} for g in outcome.copies],
        "roster": {
            "missing": [e.name for e in outcome.missing],
            "not_on_roster": outcome.unknown,
            "why_not_placed": outcome.why,
            "grade_column": outcome.column or None,
        }
        if outcome.with_roster
        else None,
    }
