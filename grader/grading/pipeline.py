"""Grade one model file against one task: the pipeline from spec to Result.

grading data (held-out inputs; labels stay here) -> the path checked (a regular file) ->
copy + hash the model into a private dir -> static inspection of that copy -> sandboxed
load + predict -> interpret outputs -> score.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from importlib import metadata
from pathlib import Path

from grader.datasets import ProgressCallback
from grader.datasets.hidden import hidden_folders
from grader.errors import InvalidModelError, ModelNotFoundError, SubmissionError
from grader.grading import feedback, rubric
from grader.grading.inputs import GradingData
from grader.grading.scoring import compute_metrics, predicted_labels, score_for
from grader.result import Result, Status
from grader.sandbox.confine import isolation
from grader.sandbox.files import DIRECTORY, REGULAR, copy_regular, kind_of, refusal
from grader.sandbox.forkserver import ForkServer
from grader.sandbox.process import Limits, predict, private_dir
from grader.sandbox.static_check import SUFFIXES, ModelSummary, inspect_model
from grader.tasks.spec import CHECKS_FILE, TaskSpec


def grader_version() -> str:
    """The installed grader's version."""
    try:
        return metadata.version("grader")
    except metadata.PackageNotFoundError:
        return "unknown"


def grade_file(
    task: TaskSpec,
    model_path: Path,
    *,
    limits: Limits | None = None,
    on_progress: ProgressCallback | None = None,
) -> Result:
    """Load ``task``'s grading data, then :func:`grade` one model file (``grade TASK``)."""
    return grade(task, model_path, GradingData.load(task, on_progress=on_progress), limits=limits)


def grade(
    task: TaskSpec,
    model_path: Path,
    data: GradingData,
    *,
    limits: Limits | None = None,
    server: ForkServer | None = None,
) -> Result:
    """Grade ``model_path`` on ``task``'s held-out ``data`` (loaded once by the caller).

    The model is predicted in a fresh sandboxed child, or by a child forked from ``server``
    (a batch's fork-server, started with ``data.joined`` as its inputs). A submission problem
    (missing, unsafe, broken or misshapen model; timeout) becomes a Result with status
    invalid/timeout. Problems of the grader itself raise :class:`~grader.errors.GraderError`.
    """
    started = time.perf_counter()
    base = _Record(task, model_path)
    base.extra_notes += _stray_checks(task, model_path)
    kind = kind_of(model_path)  # never follows a link, never opens the path
    if kind is None:
        raise ModelNotFoundError(
            f"No model at {model_path}. Train and save one first, e.g. model.save('model.keras')."
        )
    if kind not in (REGULAR, DIRECTORY):
        return base.refused(refusal(model_path, kind), started)
    base.heldout_sha256, base.n_heldout = data.sha256, len(data.labels)

    with private_dir() as root:
        suffix = model_path.suffix.lower()
        if kind == DIRECTORY or suffix not in SUFFIXES:
            # The inspector explains directories and odd suffixes; nothing to copy.
            return base.refused(inspect_or_reason(model_path, task), started)
        # Same name as the learner's file, so refusals name the file they know.
        copy = root / "work" / f"{model_path.stem}{suffix}"
        try:
            base.model_sha256 = copy_regular(model_path, copy, max_bytes=task.model.max_bytes)
        except InvalidModelError as err:
            return base.refused(str(err), started)
        base.model_format = SUFFIXES[suffix]
        try:
            summary = inspect_model(
                copy, max_params=task.model.max_params, max_file_mb=task.model.max_file_mb
            )
        except InvalidModelError as err:
            return base.refused(str(err), started)
        if server is None:
            reply = predict(copy, data.joined, root, limits, hide=hidden_folders(task))
        else:
            reply = server.predict(copy, limits)

    base.versions.update(reply.meta.get("versions", {}))
    if reply.timed_out:
        return base.finish("timeout", str(reply.error), started)
    if not reply.ok or reply.outputs is None:
        refused = base.refused(str(reply.error), started)
        hints = feedback.input_size_hint(task, reply.meta.get("input_shape"))
        return replace(refused, hints=hints) if hints else refused
    n = len(data.labels)
    outputs, train_outputs = reply.outputs[:n], reply.outputs[n:]
    try:
        labels = predicted_labels(outputs, task.model.classes, summary.last_activation)
        metrics = compute_metrics(data.labels, labels, data.class_names)
    except InvalidModelError as err:
        return base.refused(str(err), started)

    threshold = task.grading.threshold
    passed = metrics.accuracy >= threshold
    margin = metrics.accuracy - threshold
    verdict = (
        f"{metrics.accuracy:.2%} {'reaches' if passed else 'is below'} the "
        f"{threshold:.0%} pass mark ({margin * 100:+.2f} points)"
    )
    scored = replace(
        base.finish("pass" if passed else "fail", verdict, started),
        value=metrics.accuracy,
        margin=margin,
        score=score_for(metrics.accuracy, task.grading.score_tiers),
        **feedback.extras(
            task,
            summary,
            metrics.accuracy,
            data.sample,
            train_outputs,
            reply.meta.get("output_shape"),
        ),
        per_class=metrics.per_class,
        confusion=metrics.confusion,
        top_confusions=metrics.top_confusions,
    )
    judged = judge(task, summary, scored)
    return replace(judged, elapsed_s=round(time.perf_counter() - started, 3))


def judge(task: TaskSpec, summary: ModelSummary, scored: Result) -> Result:
    """``scored`` with the task's rubric lines (task.toml, then checks.py) and their effect."""
    lines = rubric.evaluate(task.rubric, summary)
    if task.checks is not None:
        from grader.grading import checks  # only tasks with a checks.py pay for pytest

        lines += checks.run_checks(task, checks.fixtures(task, summary, scored))
    return rubric.apply(task, scored, lines)


def _stray_checks(task: TaskSpec, model_path: Path) -> list[str]:
    """A note for a checks.py beside the model (a learner's file): it is never imported."""
    stray = model_path.parent / CHECKS_FILE
    if not os.path.lexists(stray) or stray.resolve() == task.checks_path.resolve():
        return []
    return [
        f"{stray} was refused and never imported: checks belong to the task "
        f"({task.checks_path}), not to a solution"
    ]


def inspect_or_reason(model_path: Path, task: TaskSpec) -> str:
    """The inspector's one-line refusal for a path that cannot be copied as a model file."""
    try:
        inspect_model(
            model_path, max_params=task.model.max_params, max_file_mb=task.model.max_file_mb
        )
    except SubmissionError as err:
        return str(err)
    return f"{model_path} is not a .keras or .h5 model file"


class _Record:
    """The Result of one grading, its common fields filled in as the pipeline learns them."""

    def __init__(self, task: TaskSpec, model_path: Path) -> None:
        self.task = task
        self.model_path = model_path
        self.heldout_sha256: str | None = None
        self.n_heldout = 0
        self.model_sha256: str | None = None
        self.model_format: str | None = None
        self.versions = {"grader": grader_version()}
        self.extra_notes: list[str] = []

    def refused(self, reason: str, started: float) -> Result:
        return self.finish("invalid", f"invalid model: {reason}", started)

    def finish(self, status: Status, message: str, started: float) -> Result:
        """The Result with every common field; a scored one adds its scores with replace()."""
        notes = [n for n in (isolation().note, *self.extra_notes) if n]
        return Result(
            task=self.task.id,
            task_version=self.task.version,
            status=status,
            message=message,
            metric=self.task.grading.metric,
            threshold=self.task.grading.threshold,
            n_heldout=self.n_heldout,
            heldout_sha256=self.heldout_sha256,
            model_path=str(self.model_path),
            model_sha256=self.model_sha256,
            model_format=self.model_format,
            elapsed_s=round(time.perf_counter() - started, 3),
            time_limit_s=self.task.time_limit_minutes * 60.0,
            notes=notes,
            versions=dict(self.versions),
        )
