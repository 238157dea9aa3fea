"""Timed exam sessions: several tasks, one clock, a total weighted by category.

As the real exam did, a task's weight is its category (1..5), each task is scored 0..5 on
its best attempt within the session, and the session is judged on the weighted total.
Sessions live in the gradebook, so they survive closing the terminal.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from grader.errors import DatasetError, DatasetMissingError, GradebookError, UnknownTaskError
from grader.practice.gradebook import Attempt, Session, open_gradebook
from grader.tasks.spec import TaskSpec, load_catalogue

if TYPE_CHECKING:
    from grader.datasets import ProgressCallback

DEFAULT_MINUTES = 300
"""The real exam's 5 hours."""
PASS_MARK = 0.8
"""Weighted share of the maximum score needed to pass: every task at its 4-star pass mark."""


@dataclass(frozen=True)
class TaskOutcome:
    """One task of a submitted session."""

    task: str
    category: int
    best_score: int
    attempts: int


@dataclass(frozen=True)
class ExamReport:
    """A session's result: per-task best scores and the weighted total."""

    session: Session
    outcomes: list[TaskOutcome]
    total: float
    """Weighted share of the maximum, 0..1."""
    passed: bool
    missing: list[str]
    """Tasks of the session that no longer exist in the catalogue (left out of the total)."""


@dataclass(frozen=True)
class Skipped:
    """A task the default exam passed over, and why."""

    task: str
    reason: str


def fetch_data(task: TaskSpec, on_progress: ProgressCallback | None = None) -> None:
    """Load what grading ``task`` and training its solution read (held-out and train splits),
    downloading what is missing."""
    from grader.datasets import load, load_heldout, public_splits  # numpy: lazily

    load_heldout(task, on_progress=on_progress)
    if "train" in public_splits(task.dataset.name):
        load(task.dataset.name, "train", on_progress=on_progress)


def missing_data(task: TaskSpec) -> str | None:
    """Why ``task`` cannot be graded here without a download (None: its data is here).
    ``grade exam start`` and ``grade start`` both ask."""
    from grader.datasets import download

    try:
        with download.offline():
            fetch_data(task)
    except DatasetMissingError:
        return f"its data ({task.dataset.name}) is not on this machine"
    except DatasetError as err:
        return f"its data ({task.dataset.name}) cannot be read: {err}"
    return None


def choose_tasks(
    catalogue: list[TaskSpec], wanted: list[str] | None
) -> tuple[list[TaskSpec], list[Skipped]]:
    """``wanted`` checked against the catalogue, else the first task of each category whose
    data is on this machine: (the tasks, those passed over)."""
    by_id = {t.id: t for t in catalogue}
    if wanted:
        for name in wanted:
            if name not in by_id:
                raise UnknownTaskError(name, difflib.get_close_matches(name, list(by_id), n=3))
        return [by_id[name] for name in dict.fromkeys(wanted)], []
    first: dict[int, TaskSpec] = {}
    skipped: list[Skipped] = []
    for task in sorted(catalogue, key=lambda t: t.id):
        if task.category in first:
            continue
        why = missing_data(task)
        if why is None:
            first[task.category] = task
        else:
            skipped.append(Skipped(task.id, why))
    return [first[c] for c in sorted(first)], skipped


def start(
    tasks: list[str] | None = None, minutes: int = DEFAULT_MINUTES
) -> tuple[Session, list[Skipped]]:
    """Open a session over ``tasks`` (default one per category whose data is here) lasting
    ``minutes``: (the session, the tasks passed over)."""
    if minutes < 1:
        raise GradebookError(f"--minutes must be at least 1, got {minutes}")
    chosen, skipped = choose_tasks(load_catalogue(), tasks)
    if not chosen:
        raise GradebookError(
            "No task of the catalogue has its data on this machine; name tasks with "
            "`grade exam start --tasks ...` (their data downloads on first grading)."
            if skipped
            else "No tasks in the catalogue to make an exam of; run `grade list`."
        )
    with open_gradebook() as book:
        return book.start_session([t.id for t in chosen], minutes * 60.0), skipped


def status() -> tuple[Session, dict[str, list[int]]]:
    """The running session and each of its tasks' scores so far; say how to start one when
    there is none."""
    with open_gradebook() as book:
        session = book.active_session()
        if session is None:
            raise GradebookError("No exam session is running; start one with `grade exam start`.")
        return session, attempts_by_task(book.attempts(session_id=session.id))


def submit() -> ExamReport:
    """End the running session and score it."""
    with open_gradebook() as book:
        session = book.active_session()
        if session is None:
            raise GradebookError("No exam session is running; start one with `grade exam start`.")
        session = book.submit_session(session.id)
        attempts = book.attempts(session_id=session.id)
    return score(session, attempts_by_task(attempts), load_catalogue())


def attempts_by_task(attempts: list[Attempt]) -> dict[str, list[int]]:
    """Scores of each task's attempts, in order."""
    scores: dict[str, list[int]] = {}
    for a in attempts:
        scores.setdefault(a.task, []).append(a.score)
    return scores


def score(session: Session, scores: dict[str, list[int]], catalogue: list[TaskSpec]) -> ExamReport:
    """Weighted total of each task's best score in ``scores``; vanished tasks are left out."""
    by_id = {t.id: t for t in catalogue}
    outcomes, missing = [], []
    for task in session.tasks:
        if task not in by_id:
            missing.append(task)
            continue
        mine = scores.get(task, [])
        outcomes.append(TaskOutcome(task, by_id[task].category, max(mine, default=0), len(mine)))
    weight = sum(o.category for o in outcomes) * 5
    total = sum(o.category * o.best_score for o in outcomes) / weight if weight else 0.0
    return ExamReport(session, outcomes, total, total >= PASS_MARK, missing)
