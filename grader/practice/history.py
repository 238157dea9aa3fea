"""A candidate's progress: recording each grading against its clock, and reading it back.

``record`` fills a Result's clock fields (time used, limit, late) from the running exam session
or task clock and writes it to the gradebook. ``task_progress`` turns attempts into the numbers
``grade history`` shows; ``task_status`` is the one-word state ``grade list`` shows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from grader.errors import WorkspaceError
from grader.practice import models
from grader.practice.clock import Elapsed
from grader.practice.gradebook import Attempt, Gradebook, gradebook_path, open_gradebook

if TYPE_CHECKING:
    from grader.result import Result


def record(result: Result, *, graded: Path | None = None) -> Result:
    """Stamp ``result`` with its clock and store it; an attempt after the limit is flagged late.

    The graded model file (``graded``, else ``result.model_path``) is kept in the model store
    (:mod:`grader.practice.models`).
    """
    with open_gradebook() as book:
        result = _keep_model(book, result, graded)
        clock, session_id = _clock_for(book, result.task)
        if clock is not None:
            notes = list(result.notes)
            if clock.skewed:
                notes.append("the system clock moved back; time used is held at the last time seen")
            if clock.over:
                notes.append("graded after the time limit: recorded as late")
            result = dataclasses.replace(
                result,
                time_used_s=round(clock.used_s, 1),
                time_limit_s=clock.limit_s,
                late=clock.over,
                notes=notes,
            )
        book.add_attempt(result.to_dict(), session_id)
    return result


def _keep_model(book: Gradebook, result: Result, graded: Path | None) -> Result:
    """Keep the graded file's bytes and prune the store; say so in the notes when it matters."""
    source = graded or (Path(result.model_path) if result.model_path else None)
    if not result.model_sha256 or source is None:
        return result
    notes = list(result.notes)
    try:
        models.keep(source, result.model_sha256)
        attempts = book.attempts()
        tasks = dict.fromkeys(a.task for a in attempts)
        protected = {result.model_sha256}
        for task in tasks:
            top = models.best([a for a in attempts if a.task == task])
            if top is not None and top.model_sha256:
                protected.add(top.model_sha256)
        removed = models.prune(protected)
    except WorkspaceError as err:
        notes.append(f"the model was not kept for `grade restore`: {err}")
        return dataclasses.replace(result, notes=notes)
    if removed:
        notes.append(
            f"pruned {len(removed)} old kept model(s) to stay under the model store's "
            f"{models.budget_bytes() / 2**20:,.0f} MB budget (${models.BUDGET_ENV}); "
            "each task's best is never pruned"
        )
    return dataclasses.replace(result, notes=notes)


def _clock_for(book: Gradebook, task: str) -> tuple[Elapsed | None, int | None]:
    """The exam session's clock when the task is part of it, else the task's own clock."""
    session = book.active_session()
    if session is not None and task in session.tasks:
        return session.time, session.id
    for clock in book.clocks():
        if clock.task == task:
            return clock.time, None
    return None, None


@dataclass(frozen=True)
class TaskProgress:
    """One task's progress, drawn from its attempts."""

    task: str
    attempts: int
    best_score: int
    best_value: float | None
    passed: bool
    time_to_first_pass_s: float | None
    """Clock time at the first passing attempt (None: never passed, or no clock ran)."""
    values: list[float | None]
    """The metric of each attempt, in order (None where nothing was scored)."""


def task_progress(task: str, attempts: list[Attempt]) -> TaskProgress:
    """Best score, first pass and the accuracy trend of ``task``'s attempts."""
    mine = [a for a in attempts if a.task == task]
    scored = [a.value for a in mine if a.value is not None]
    first_pass = next((a for a in mine if a.status == "pass"), None)
    return TaskProgress(
        task=task,
        attempts=len(mine),
        best_score=max((a.score for a in mine), default=0),
        best_value=max(scored, default=None),
        passed=first_pass is not None,
        time_to_first_pass_s=None if first_pass is None else first_pass.time_used_s,
        values=[a.value for a in mine],
    )


def load(task: str | None = None) -> tuple[list[Attempt], list[TaskProgress]]:
    """Attempts (all tasks, or one) and a summary per task seen, without creating a gradebook."""
    if not gradebook_path().exists():
        return [], []
    with open_gradebook() as book:
        attempts = book.attempts(task)
    tasks = dict.fromkeys(a.task for a in attempts)
    return attempts, [task_progress(t, attempts) for t in tasks]


def restore(
    task: str, attempt_id: int | None = None
) -> tuple[Attempt, Path, models.Current | None]:
    """Put attempt ``attempt_id``'s model (default: the best) back in ``solutions/<task>/``:
    (the attempt, the restored path, the model it replaced, itself kept)."""
    attempts = load(task)[0]
    chosen = models.choose(task, attempts, attempt_id)
    target, replaced = models.restore(task, chosen)
    return chosen, target, replaced


def previous_grading(task: str, sha256: str) -> Attempt | None:
    """The latest attempt of ``task`` that graded these model bytes (None: never graded)."""
    return next((a for a in reversed(load(task)[0]) if a.model_sha256 == sha256), None)


def task_status(task_ids: list[str]) -> dict[str, str]:
    """``grade list``'s status per task: not started, clock running (used), or passed (score)."""
    status = dict.fromkeys(task_ids, "not started")
    if not gradebook_path().exists():
        return status
    with open_gradebook() as book:
        for clock in book.clocks(touch=False):
            if clock.task in status:
                used = int(clock.time.used_s // 60)
                late = ", over time" if clock.time.over else ""
                status[clock.task] = f"clock running ({used} min{late})"
        for t, best in book.best_passing_scores().items():
            if t in status:
                status[t] = f"passed ({best}/5)"
    return status
