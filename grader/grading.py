"""Grade one model file against one task: the pipeline from spec to Result.

spec -> held-out inputs (labels stay here) -> copy + hash the model into a private dir ->
static inspection of that copy -> sandboxed load + predict -> interpret outputs -> score.
"""

from __future__ import annotations

import time
from dataclasses import replace
from importlib import metadata
from pathlib import Path

import numpy as np

from grader import datasets, feedback
from grader.datasets.locations import hidden_folders
from grader.errors import (
    DatasetError,
    InvalidModelError,
    ModelNotFoundError,
    SpecError,
    SubmissionError,
)
from grader.inspect import SUFFIXES, inspect_model
from grader.isolation import isolation
from grader.learner_files import copy_regular, kind_of, refusal
from grader.results import Result, Status
from grader.sandbox import Limits, predict, private_dir
from grader.scoring import compute_metrics, predicted_labels, score_for
from grader.tasks import ModelContract, TaskSpec


def grader_version() -> str:
    """The installed grader's version."""
    try:
        return metadata.version("grader")
    except metadata.PackageNotFoundError:
        return "unknown"


def prepare_inputs(images: np.ndarray, contract: ModelContract) -> np.ndarray:
    """Reshape and scale held-out images exactly as the task contract says, as float32."""
    shape = (len(images), *contract.input_shape)
    if images[0].size != int(np.prod(contract.input_shape)):
        raise SpecError(
            "task.toml",
            "model.input_shape",
            f"{contract.input_shape} does not fit dataset images of shape {images.shape[1:]}",
        )
    inputs = images.reshape(shape).astype(np.float32)
    if contract.input_scale == "0-1":
        inputs /= np.float32(255.0)
    return inputs


def grade(
    task: TaskSpec,
    model_path: Path,
    *,
    limits: Limits | None = None,
    heldout: datasets.Dataset | None = None,
) -> Result:
    """Grade ``model_path`` on ``task``'s held-out split.

    A submission problem (missing, unsafe, broken or misshapen model; timeout) becomes a
    Result with status invalid/timeout. Problems of the grader itself (dataset missing,
    bad spec) raise :class:`~grader.errors.GraderError`. ``heldout`` is the task's held-out
    split already loaded (a batch loads it once for every submission).
    """
    started = time.perf_counter()
    base = _Base(task, model_path)
    kind = kind_of(model_path)  # never follows a link, never opens the path
    if kind is None:
        raise ModelNotFoundError(
            f"No model at {model_path}. Train and save one first, e.g. model.save('model.keras')."
        )
    if kind not in ("a regular file", "a directory"):
        return base.refused(refusal(model_path, kind), started)
    if heldout is None:
        try:
            datasets.get_source(task.dataset.name)
        except DatasetError as err:  # a typo in task.toml: name the file and key
            raise SpecError(task.folder / "task.toml", "dataset.name", str(err)) from None
        heldout = datasets.load_heldout(task)
    if len(heldout.class_names) != task.model.classes:
        raise SpecError(
            task.folder / "task.toml",
            "model.classes",
            f"{task.model.classes} but dataset '{task.dataset.name}' has "
            f"{len(heldout.class_names)} classes",
        )
    inputs = prepare_inputs(heldout.images, task.model)
    base.heldout_sha256, base.n_heldout = heldout.sha256, len(heldout.labels)
    sample = feedback.train_sample(task)  # predicted with the held-out set: overfitting check

    with private_dir() as root:
        suffix = model_path.suffix.lower()
        if kind == "a directory" or suffix not in SUFFIXES:
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
        reply = predict(
            copy, feedback.joined(inputs, sample), root, limits, hide=hidden_folders(task)
        )

    base.versions.update(reply.meta.get("versions", {}))
    if reply.timed_out:
        return base.finish("timeout", str(reply.error), started)
    if not reply.ok or reply.outputs is None:
        return base.refused(str(reply.error), started)
    outputs, train_outputs = reply.outputs[: len(inputs)], reply.outputs[len(inputs) :]
    try:
        labels = predicted_labels(outputs, task.model.classes, summary.last_activation)
        metrics = compute_metrics(heldout.labels, labels, heldout.class_names)
    except InvalidModelError as err:
        return base.refused(str(err), started)

    threshold = task.grading.threshold
    passed = metrics.accuracy >= threshold
    margin = metrics.accuracy - threshold
    verdict = (
        f"{metrics.accuracy:.2%} {'reaches' if passed else 'is below'} the "
        f"{threshold:.0%} pass mark ({margin * 100:+.2f} points)"
    )
    return replace(
        base.finish("pass" if passed else "fail", verdict, started),
        value=metrics.accuracy,
        margin=margin,
        score=score_for(metrics.accuracy, task.grading.score_tiers),
        **feedback.extras(
            task, summary, metrics.accuracy, sample, train_outputs, reply.meta.get("output_shape")
        ),
        per_class=metrics.per_class,
        confusion=metrics.confusion,
        top_confusions=metrics.top_confusions,
    )


def inspect_or_reason(model_path: Path, task: TaskSpec) -> str:
    """The inspector's one-line refusal for a path that cannot be copied as a model file."""
    try:
        inspect_model(
            model_path, max_params=task.model.max_params, max_file_mb=task.model.max_file_mb
        )
    except SubmissionError as err:
        return str(err)
    return f"{model_path} is not a .keras or .h5 model file"


class _Base:
    """Fields common to every Result of one grading, filled in as the pipeline learns them."""

    def __init__(self, task: TaskSpec, model_path: Path) -> None:
        self.task = task
        self.model_path = model_path
        self.heldout_sha256: str | None = None
        self.n_heldout = 0
        self.model_sha256: str | None = None
        self.model_format: str | None = None
        self.versions = {"grader": grader_version()}

    def refused(self, reason: str, started: float) -> Result:
        return self.finish("invalid", f"invalid model: {reason}", started)

    def finish(self, status: Status, message: str, started: float) -> Result:
        """The Result with every common field; a scored one adds its scores with replace()."""
        notes = [n for n in (isolation().note,) if n]
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
