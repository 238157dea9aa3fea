"""``grade validate``: prove a task cannot ship broken.

Checks per task, in order (a check that cannot run is ``skip`` or ``error``):

1. spec: task.toml loads (schema, tiers strictly increasing, threshold within the tiers).
2. files: prompt.md, starter.py and reference.py exist.
   reference code: reference.py defines ``solution_model()`` and no longer raises
   ``NotImplementedError`` (read with ``ast``, nothing runs; the starter may be incomplete).
3. dataset: the held-out split loads, has the task's class count, and its fingerprint is
   stable across two loads (and equals the one task.toml records, when it records one).
4. prompt: prompt.md states the input contract (input shape and pixel scale).
5. baseline: always answering the majority class fails, so the pass mark means something.
6. starter: trained in the sandbox, its model fails.            (skipped by ``--fast``)
7. reference: trained in the sandbox ``runs`` times, it passes every time with margin; its
   accuracy per run is shown, and ``score tiers`` warns when the reference clears the top
   tier by far (5 stars at 85% when the reference gets 99% means nothing).
8. rubric: the reference's models meet every rubric line, the starter's misses at least
   one (judged on the models 6 and 7 trained: nothing more is trained). ``--fast`` only
   compiles checks.py. Skipped for a task without ``[rubric]`` or ``checks.py``.

``on_stage`` hears one line per stage (a training takes minutes), so a run whose output is
a log file, not a terminal, still shows where it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from grader import datasets
from grader.datasets import ProgressCallback
from grader.errors import (
    DatasetError,
    DatasetMissingError,
    GraderError,
    ModelNotFoundError,
    SpecError,
    SubmissionError,
    UnknownTaskError,
)
from grader.grading.inputs import GradingData
from grader.grading.pipeline import grade
from grader.grading.training import run_solution
from grader.instructors.reference import unfilled
from grader.result import Result
from grader.sandbox.process import private_dir
from grader.tasks.spec import TaskSpec, load_task, task_ids, tasks_dir

MARGIN = 0.005
"""The reference must clear the pass mark by at least half a point."""
TIER_GAP = 0.05
"""Warn when the reference's worst run beats the top score tier by more than this."""

CheckStatus = Literal["ok", "fail", "error", "skip", "warn"]
OnStage = Callable[[str], None]


@dataclass(frozen=True)
class Check:
    """One line of the validation table."""

    name: str
    status: CheckStatus
    detail: str


@dataclass
class TaskValidation:
    """Every check run on one task."""

    task_id: str
    checks: list[Check] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 every check passed (or warned), 1 a check failed, 2 a check could not run."""
        statuses = {c.status for c in self.checks}
        return 2 if "error" in statuses else 1 if "fail" in statuses else 0


def validate(
    task_list: list[str] | None = None,
    *,
    fast: bool = False,
    runs: int = 1,
    offline: bool = False,
    folder: Path | None = None,
    on_progress: ProgressCallback | None = None,
    on_stage: OnStage | None = None,
) -> list[TaskValidation]:
    """Validate the named tasks (all of the catalogue when none is named).

    ``offline`` turns "data must be downloaded first" into a skipped check, not an error.
    """
    folder = folder or tasks_dir()
    ids = task_list or task_ids(folder)
    if not ids:
        raise GraderError(f"No tasks to validate in {folder}; create one with `grade new ID`.")
    return [
        validate_task(
            i,
            fast=fast,
            runs=runs,
            offline=offline,
            folder=folder,
            on_progress=on_progress,
            on_stage=on_stage,
        )
        for i in ids
    ]


def validate_task(
    task_id: str,
    *,
    fast: bool = False,
    runs: int = 1,
    offline: bool = False,
    folder: Path | None = None,
    on_progress: ProgressCallback | None = None,
    on_stage: OnStage | None = None,
) -> TaskValidation:
    """Run every check on one task; an unknown id is a ``spec`` check that could not run."""
    rep = TaskValidation(task_id)
    add = rep.checks.append

    def stage(what: str) -> None:
        if on_stage is not None:
            on_stage(f"{task_id}: {what}")

    stage("spec, files, dataset, prompt, baseline")
    try:
        spec = load_task(task_id, folder)
    except SpecError as err:
        add(Check("spec", "fail", str(err)))
        return rep
    except UnknownTaskError as err:
        add(Check("spec", "error", str(err)))
        return rep
    g = spec.grading
    add(
        Check(
            "spec",
            "ok",
            f"schema ok; tiers {list(g.score_tiers)} increase; "
            f"pass mark {g.threshold:.0%} reachable",
        )
    )
    missing = [
        p.name
        for p in (spec.prompt_path, spec.starter_path, spec.reference_path)
        if not p.is_file()
    ]
    add(
        Check("files", "fail", f"missing {', '.join(missing)}")
        if missing
        else Check("files", "ok", "prompt.md, starter.py, reference.py")
    )
    add(reference_code_check(spec.reference_path))
    heldout = _dataset_check(spec, add, offline, on_progress)
    add(_prompt_check(spec))
    if heldout is None:
        add(Check("baseline", "skip", "needs the dataset"))
    else:
        add(_baseline_check(spec, heldout))
    if fast:
        add(Check("starter fails", "skip", "--fast"))
        add(Check("reference passes", "skip", "--fast"))
        add(Check("score tiers", "skip", "--fast"))
        add(_checks_compile(spec))
    elif heldout is None:
        add(Check("starter fails", "skip", "needs the dataset"))
        add(Check("reference passes", "skip", "needs the dataset"))
        add(Check("score tiers", "skip", "needs the dataset"))
        add(_checks_compile(spec, "needs the dataset"))
    else:
        data = GradingData.load(spec)
        stage("training starter.py in the sandbox (it must fail)")
        check, starter = _starter_check(spec, data)
        add(check)
        check, references = _reference_check(spec, data, runs, stage)
        add(check)
        add(tiers_check(spec, references))
        stage("judging the rubric")
        add(rubric_check(spec, starter, references))
    return rep


def reference_code_check(path: Path) -> Check:
    """reference.py defines ``solution_model()`` and no longer raises
    ``NotImplementedError`` (:func:`grader.instructors.reference.unfilled`)."""
    if not path.is_file():
        return Check("reference code", "skip", f"no {path.name} to read")
    problem = unfilled(path)
    if problem is not None:
        return Check("reference code", "fail", problem)
    return Check("reference code", "ok", "solution_model() is defined and filled in")


def tiers_check(spec: TaskSpec, references: list[Result]) -> Check:
    """Warn when the score tiers sit far below what the reference reaches: a top score that
    every weak model gets tells a learner nothing."""
    values = [r.value for r in references if r.value is not None]
    if not values:
        return Check("score tiers", "skip", "no reference model was scored")
    top, worst = spec.grading.score_tiers[-1], min(values)
    metric = references[0].metric
    detail = f"5 stars at {top:.0%} {metric}; the reference reaches {worst:.2%}"
    if round(worst - top, 6) > TIER_GAP:  # 1.0 - 0.95 is 0.0500000000000000444
        return Check(
            "score tiers",
            "warn",
            f"{detail}: the tiers sit far below it; raise score_tiers in task.toml",
        )
    return Check("score tiers", "ok", detail)


def _has_rubric(spec: TaskSpec) -> bool:
    return bool(spec.rubric.requirements) or spec.checks is not None


def _checks_compile(spec: TaskSpec, why: str = "--fast") -> Check:
    """Without training, only a checks.py that does not even compile can be caught."""
    if not _has_rubric(spec):
        return Check("rubric", "skip", "no [rubric] and no checks.py")
    if spec.checks is not None:
        try:
            compile(spec.checks, str(spec.checks_path), "exec")
        except (SyntaxError, ValueError) as err:
            return Check("rubric", "fail", f"{spec.checks_path} does not compile: {err}")
    return Check("rubric", "skip", f"{why} (checks.py compiles)" if spec.checks else why)


def rubric_check(spec: TaskSpec, starter: Result | str, references: list[Result]) -> Check:
    """The reference's models meet every rubric line; the starter's misses at least one.

    ``starter`` is its scored Result, or why it could not be judged; ``references`` are the
    reference's scored Results, one per run.
    """
    if not _has_rubric(spec):
        return Check("rubric", "skip", "no [rubric] and no checks.py")
    if not references:
        return Check("rubric", "skip", "no reference model was scored (see reference passes)")
    for run, result in enumerate(references, 1):
        if not result.rubric:
            return Check("rubric", "fail", f"run {run}: the reference was not judged")
        unmet = result.rubric_unmet
        if unmet:
            more = f" (+{len(unmet) - 1} more)" if len(unmet) > 1 else ""
            return Check(
                "rubric",
                "fail",
                f"run {run}: the reference misses '{unmet[0].name}': {unmet[0].reason}{more}",
            )
    n = len(references[0].rubric)
    meets = f"the reference meets all {n} line{'s' * (n != 1)}"
    if isinstance(starter, str):
        return Check("rubric", "ok", f"{meets}; the starter cannot be judged: {starter}")
    missed = [line.name for line in starter.rubric_unmet]
    if not missed:
        return Check(
            "rubric",
            "fail",
            f"{meets}, and so does the starter: the rubric cannot tell the pattern from the "
            "starter; require something the starter lacks",
        )
    return Check("rubric", "ok", f"{meets}; the starter misses {', '.join(missed)}")


def _dataset_check(
    spec: TaskSpec,
    add: Callable[[Check], None],
    offline: bool,
    on_progress: ProgressCallback | None,
) -> datasets.Dataset | None:
    name, split = spec.dataset.name, spec.dataset.heldout
    if spec.dataset.heldout_dir is not None:
        name, split = str(datasets.heldout.heldout_folder(spec)), "held-out"
    try:
        first = datasets.load_heldout(spec, on_progress=on_progress)
        again = datasets.load_heldout(spec)
    except DatasetMissingError as err:
        add(Check("dataset", "skip" if offline else "error", str(err)))
        return None
    except DatasetError as err:
        add(Check("dataset", "error", str(err)))
        return None
    detail = f"{name}/{split}: {len(first):,} images, sha256 {first.sha256[:12]}"
    if first.sha256 != again.sha256:
        add(Check("dataset", "fail", f"{detail} changes between loads ({again.sha256[:12]})"))
    elif len(first.class_names) != spec.model.classes:
        add(
            Check(
                "dataset",
                "fail",
                f"{detail} has {len(first.class_names)} classes, "
                f"task.toml says {spec.model.classes}",
            )
        )
    else:
        add(Check("dataset", "ok", f"{detail} (stable)"))
    return first


_SCALE_WORDS = {
    "0-1": ("0-1", "0\u20131", "0..1", "0 to 1", "/ 255", "/255", "divided by 255"),
    "0-255": ("0-255", "0\u2013255", "0..255", "0 to 255", "raw"),
}


def _prompt_check(spec: TaskSpec) -> Check:
    try:
        text = spec.prompt_path.read_text(encoding="utf-8")
    except OSError:
        return Check("prompt", "fail", "prompt.md is missing")
    flat = re.sub(r"\s+", "", text).lower()
    dims = [str(d) for d in spec.model.input_shape]
    shape_forms = {",".join(dims), "x".join(dims[:2]), "\u00d7".join(dims[:2])}
    has_shape = any(form in flat for form in shape_forms)
    has_scale = any(re.sub(r"\s+", "", w) in flat for w in _SCALE_WORDS[spec.model.input_scale])
    missing = [
        what for what, ok in (("input shape", has_shape), ("pixel scale", has_scale)) if not ok
    ]
    shape = tuple(spec.model.input_shape)
    if missing:
        return Check(
            "prompt",
            "fail",
            f"prompt.md does not state the {' or '.join(missing)} "
            f"(input {shape}, pixels {spec.model.input_scale})",
        )
    return Check("prompt", "ok", f"states input {shape} and pixels {spec.model.input_scale}")


def _baseline_check(spec: TaskSpec, heldout: datasets.Dataset) -> Check:
    import numpy as np

    counts = np.bincount(heldout.labels.astype(np.int64), minlength=spec.model.classes)
    majority = float(counts.max() / counts.sum())
    detail = f"majority class scores {majority:.2%} vs pass mark {spec.grading.threshold:.0%}"
    return Check("baseline", "ok" if majority < spec.grading.threshold else "fail", detail)


def _starter_check(spec: TaskSpec, data: GradingData) -> tuple[Check, Result | str]:
    """The check, and the starter's scored Result (or why the rubric cannot judge it)."""
    try:
        result = _train_and_grade(spec, spec.starter_path, data)
    except SubmissionError as err:
        why = f"the starter must run and save a model: {err}"
        return Check("starter fails", "fail", why), why
    except GraderError as err:
        why = f"could not train the starter: {err}"
        return Check("starter fails", "error", why), why
    judged: Result | str = (
        result if result.value is not None else f"{result.status}: {result.message}"
    )
    if result.status == "pass":
        return Check("starter fails", "fail", f"the starter passes: {result.message}"), judged
    return Check("starter fails", "ok", f"{result.status}: {result.message}"), judged


def _reference_check(
    spec: TaskSpec, data: GradingData, runs: int, stage: OnStage = lambda _: None
) -> tuple[Check, list[Result]]:
    """The check, and the reference's scored Results (one per run that got that far)."""
    margins: list[str] = []
    values: list[str] = []
    scored: list[Result] = []
    total = max(1, runs)
    for run in range(1, total + 1):
        stage(f"training reference.py in the sandbox, run {run} of {total}")
        try:
            result = _train_and_grade(spec, spec.reference_path, data)
        except GraderError as err:
            return Check("reference passes", "fail", f"run {run}: {err}"), scored
        if result.value is not None:
            scored.append(result)
        margin = result.margin if result.margin is not None else float("-inf")
        if result.status != "pass" or margin < MARGIN:
            return Check(
                "reference passes",
                "fail",
                f"run {run}: {result.status}: {result.message} (needs +{MARGIN:.1%})",
            ), scored
        margins.append(f"{margin * 100:+.2f}")
        values.append(f"{result.value:.2%}" if result.value is not None else "?")
    metric = scored[0].metric if scored else "accuracy"
    return Check(
        "reference passes",
        "ok",
        f"{len(margins)}/{len(margins)} runs pass: {metric} {', '.join(values)} "
        f"(margins {', '.join(margins)} points)",
    ), scored


def _train_and_grade(spec: TaskSpec, script: Path, data: GradingData) -> Result:
    """Run ``script`` sandboxed exactly as ``grade TASK --train`` runs a solution, then grade."""

    if not script.is_file():
        raise ModelNotFoundError(f"no {script.name} in {spec.folder}")
    with private_dir() as keep:
        model = run_solution(spec, script, keep)
        return grade(spec, model, data)
