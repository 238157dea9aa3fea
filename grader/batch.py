"""``grade batch``: grade a cohort of submissions, N sandboxed children at a time, resumably.

A submissions folder holds either a folder per student with one model file inside
(``alice/model.keras``) or model files named by student (``bob.h5``), or both. Every
submission is graded by :func:`grader.grading.grade` in its own sandboxed child; the held-out
split is loaded once. One bad submission becomes one ``invalid``/``error`` record and never
stops the others. Each finished grading is appended to ``index.jsonl`` in the output folder
at once, so a re-run skips every model (same student, same sha256) already graded.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TextIO

from grader.datasets import ProgressCallback
from grader.errors import GraderError, SubmissionError, WorkspaceError
from grader.inputs import GradingData
from grader.inspect import SUFFIXES
from grader.learner_files import kind_of, sha256_regular
from grader.results import Result, Status
from grader.sandbox import Limits, memory_share_mb
from grader.tasks import TaskSpec

INDEX = "index.jsonl"
"""Append-only log of finished gradings in the output folder: what a re-run resumes from."""
FINAL: tuple[Status, ...] = ("pass", "fail", "invalid")
"""Statuses a re-run keeps; ``timeout`` and ``error`` may be transient and are graded again."""
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")

Backend = Literal["local", "ray"]
OnResult = Callable[["Graded"], None]


@dataclass(frozen=True)
class Submission:
    """One student's entry in the submissions folder."""

    student: str
    """The student's name: the folder name, or the model file's stem."""
    path: Path | None
    """The model file to grade; None when the entry was refused before grading."""
    problem: str | None = None
    """Why the entry cannot be graded (one line), or None."""


@dataclass(frozen=True)
class Graded:
    """One student's record: their name and the Result of grading their model."""

    student: str
    result: Result
    resumed: bool = False
    """Taken from an earlier run's index rather than graded now."""

    def to_dict(self) -> dict[str, object]:
        """The Result record with ``student`` first."""
        return {"student": self.student, **self.result.to_dict()}


@dataclass
class BatchOutcome:
    """Everything a batch produced, in student order."""

    task: TaskSpec
    graded: list[Graded]
    out: Path
    """The output folder."""
    files: list[Path] = field(default_factory=list)
    """Exports written there."""

    @property
    def exit_code(self) -> int:
        """0 when every submission got a verdict; 2 when the grader failed on some."""
        return 2 if any(g.result.status == "error" for g in self.graded) else 0


def discover(folder: Path, *, exclude: Iterable[Path] = ()) -> list[Submission]:
    """The submissions in ``folder``, one per student, sorted by name; refusals included."""
    if not folder.is_dir():
        raise WorkspaceError(f"{folder} is not a folder of submissions")
    root = folder.resolve()
    skip = {p.resolve() for p in exclude}
    found: dict[str, list[Submission]] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.resolve() in skip:
            continue
        sub = _entry(entry, root)
        if sub is not None:
            found.setdefault(sub.student, []).append(sub)
    if not found:
        raise WorkspaceError(
            f"No submissions in {folder}: expected a folder per student with model.keras "
            "(or .h5) inside, or model files named by student"
        )
    return [_one(student, subs) for student, subs in sorted(found.items())]


def _entry(entry: Path, root: Path) -> Submission | None:
    kind = kind_of(entry)
    is_dir = entry.is_dir()
    student = entry.name if is_dir else entry.stem
    if not _SAFE_NAME.fullmatch(student):
        return Submission(student, None, f"refused: unsafe student name {entry.name!r}")
    if kind == "a symbolic link":
        if not entry.resolve().is_relative_to(root):
            return Submission(student, None, f"refused: {entry.name} links outside {root}")
        entry = entry.resolve()  # a link inside the folder: grade what it points at
        kind = kind_of(entry)
    if kind not in ("a regular file", "a directory"):
        return Submission(student, None, f"{entry.name} is {kind}, not a model file; refused")
    if not is_dir:
        if entry.suffix.lower() not in SUFFIXES:
            return Submission(student, None, f"{entry.name} is not a .keras or .h5 model file")
        return _readable(Submission(student, entry))
    models = sorted(
        p for p in entry.iterdir() if p.suffix.lower() in SUFFIXES or _saved_model_dir(p)
    )
    if not models:
        return Submission(student, None, f"no model file in {entry.name}/ (expected model.keras)")
    if len(models) > 1:
        names = ", ".join(p.name for p in models)
        return Submission(
            student, None, f"several model files in {entry.name}/ ({names}); keep one"
        )
    model = models[0]
    inner = kind_of(model)
    if inner == "a symbolic link":
        if not model.resolve().is_relative_to(root):
            return Submission(
                student, None, f"refused: {entry.name}/{model.name} links outside {root}"
            )
        model = model.resolve()
        inner = kind_of(model)
    if inner not in ("a regular file", "a directory"):
        return Submission(
            student, None, f"{entry.name}/{model.name} is {inner}, not a model file; refused"
        )
    return _readable(Submission(student, model))


def _saved_model_dir(path: Path) -> bool:
    return path.is_dir() and (path / "saved_model.pb").is_file()


def _readable(sub: Submission) -> Submission:
    assert sub.path is not None
    if sub.path.is_file() and not os.access(sub.path, os.R_OK):
        return Submission(sub.student, None, f"cannot read {sub.path.name} (permission denied)")
    return sub


def _one(student: str, subs: list[Submission]) -> Submission:
    if len(subs) == 1:
        return subs[0]
    names = ", ".join(str(s.path.name) if s.path else s.problem or "?" for s in subs)
    return Submission(student, None, f"duplicate submissions for {student} ({names}); keep one")


def model_sha256(path: Path, max_bytes: int) -> str | None:
    """sha256 of a model file's bytes, or None when it is not a readable regular file within
    ``max_bytes`` (never follows a link, never opens a pipe)."""
    return sha256_regular(path, max_bytes=max_bytes)


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
            student = data.pop("student")
            records[student] = Graded(student, Result.from_dict(data), resumed=True)
        except (ValueError, KeyError, TypeError):
            continue
    return records


def grade_submission(task: TaskSpec, sub: Submission, data: GradingData, limits: Limits) -> Result:
    """Grade one submission; any failure becomes a Result, never an exception."""
    from grader.grading import grade

    if sub.path is None:
        return Result(
            task=task.id,
            task_version=task.version,
            status="invalid",
            message=sub.problem or "refused",
            threshold=task.grading.threshold,
        )
    try:
        return grade(task, sub.path, data, limits=limits)
    except SubmissionError as err:
        status: Status = "timeout" if err.status == "timeout" else "invalid"
        message = str(err)
    except GraderError as err:
        status, message = "error", str(err)
    except Exception as err:  # one broken submission must not stop a cohort
        status, message = "error", f"internal error grading this model: {type(err).__name__}: {err}"
    return Result(
        task=task.id,
        task_version=task.version,
        status=status,
        message=message,
        threshold=task.grading.threshold,
        model_path=str(sub.path),
    )


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
) -> BatchOutcome:
    """Grade every submission in ``folder`` and write the exports to ``out``.

    ``on_start(n_to_grade)`` is called once the work is known, ``on_result`` after each
    submission (resumed ones included), ``on_progress`` while the data downloads. The
    grading data is loaded once, here, for every submission.
    """
    from grader import exports

    out = out or default_out(folder)
    subs = discover(folder, exclude=[out])
    data = GradingData.load(task, on_progress=on_progress)
    out.mkdir(parents=True, exist_ok=True)
    earlier = load_index(out)
    done: dict[str, Graded] = {}
    todo: list[Submission] = []
    for sub in subs:
        prior = earlier.get(sub.student)
        sha = model_sha256(sub.path, task.model.max_bytes) if sub.path else None
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
    results = _grade_all(task, todo, data, limits, workers, backend, address)
    with (out / INDEX).open("a+", encoding="utf-8") as index:
        _end_torn_line(index)
        for graded in results:
            index.write(json.dumps(graded.to_dict(), allow_nan=False) + "\n")
            index.flush()
            done[graded.student] = graded
            if on_result:
                on_result(graded)
    outcome = BatchOutcome(task, [done[s.student] for s in subs], out)
    outcome.files = exports.write_all(outcome.graded, out, task)
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
) -> Iterable[Graded]:
    if backend == "ray":
        from grader import cluster

        yield from cluster.grade_on_ray(task, todo, data, limits, workers, address)
        return
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(grade_submission, task, s, data, limits): s for s in todo}
        for future in as_completed(futures):
            yield Graded(futures[future].student, future.result())


@dataclass(frozen=True)
class Summary:
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


def summarize(graded: list[Graded], top: int = 5) -> Summary:
    """Pass rate, score distribution and the most common failure reasons."""
    statuses = Counter(g.result.status for g in graded)
    scores = Counter(g.result.score for g in graded)
    reasons = Counter(reason(g.result) for g in graded if not g.result.passed)
    return Summary(
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
    text = re.sub(r"'[^']*'|\([^)]*\)", "…", text)
    return re.sub(r"\b\d+(\.\d+)?\b", "N", text)[:90]
