"""Run a learner's solution.py in the sandbox and keep only the model it saved.

:func:`run_solution` is the one way learner code runs: ``grade TASK --train`` and
``grade validate`` (the starter and the reference) both call it. The script runs as
``__main__`` in a private directory, under the task's time limit and a disk share
(:data:`grader.sandbox.process.DISK_MB`), with no network unless the task says it needs
downloads. It sees the splits it may train on, exported read-only
(:mod:`grader.datasets.exported`), and none of the machine's data folders, the workspace or
the held-out secret. Only the model file it leaves behind counts, copied out without
following links and size-capped: what it prints, its exit code and anything it writes
elsewhere cannot change the grade. Its output is shown with the sandbox's private folder
written as the place the model is copied to (``saved /tmp/grader-…/work/model.keras`` reads
``saved solutions/task01/model.keras``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from grader import datasets
from grader.atomic import replacing
from grader.datasets import ProgressCallback, exported
from grader.datasets.hidden import hidden_folders
from grader.errors import (
    DatasetMissingError,
    ModelNotFoundError,
    SubmissionError,
    SubmissionTimeout,
)
from grader.sandbox.files import copy_regular, kind_of
from grader.sandbox.process import Limits, private_dir, run_script
from grader.tasks.spec import TaskSpec
from grader.tasks.workspace import MODEL_NAMES, solution_dir

MAX_SCRIPT_BYTES = 4 << 20
"""Largest solution.py copied into the sandbox."""


def training_limits(task: TaskSpec) -> Limits:
    """The task's time limit as a wall clock, and CPU seconds for every core for that long."""
    wall = task.time_limit_minutes * 60.0
    return Limits(wall_s=wall, cpu_s=int(wall * (os.cpu_count() or 1)) + 60)


def train(
    task: TaskSpec,
    *,
    limits: Limits | None = None,
    on_output: Callable[[str], None] | None = None,
    on_progress: ProgressCallback | None = None,
) -> Path:
    """Run ``solutions/<id>/solution.py`` sandboxed; return the model it saved, copied home."""
    folder = solution_dir(task.id)
    script = folder / "solution.py"
    if kind_of(script) is None:
        raise ModelNotFoundError(
            f"No {script}. Run `grade start {task.id}` to get the starter, then write it."
        )
    return run_solution(
        task, script, folder, limits=limits, on_output=on_output, on_progress=on_progress
    )


def run_solution(
    task: TaskSpec,
    script: Path,
    dest: Path,
    *,
    limits: Limits | None = None,
    on_output: Callable[[str], None] | None = None,
    on_progress: ProgressCallback | None = None,
) -> Path:
    """Run ``script`` as a sandboxed solution.py of ``task``; copy its model into ``dest``.

    Raises SubmissionTimeout, SubmissionError (crash) or ModelNotFoundError (nothing saved),
    InvalidModelError when what it saved is a link, a pipe or too large.
    """
    limits = limits or training_limits(task)
    with private_dir() as root:
        work = root / "work"
        copy_regular(script, work / "solution.py", max_bytes=MAX_SCRIPT_BYTES)
        shared = _export_training_data(task, root / "data", on_progress)
        public = _public_paths(root, work, dest)
        outcome = run_script(
            work / "solution.py",
            root,
            limits,
            network=task.training_network,
            on_output=None if on_output is None else lambda line: on_output(public(line)),
            env={exported.ARRAYS_ENV: str(shared)},
            hide=hidden_folders(task),
            read_only=(shared,),
        )
        if outcome.stopped:
            raise SubmissionError(
                f"{script.name} {outcome.stopped} and was stopped; save only the model "
                "(no checkpoints or copies of the data)"
            )
        if outcome.timed_out:
            raise SubmissionTimeout(
                f"{script.name} ran past its time limit ({_duration(limits.wall_s)}) and was "
                "stopped; train for fewer epochs or a smaller model"
            )
        if outcome.returncode != 0:
            last = public(outcome.log_tail).strip().splitlines()[-1:] or ["no output"]
            raise SubmissionError(
                f"{script.name} failed (exit {outcome.returncode}): {last[0][:200]}"
            )
        saved = next((work / n for n in MODEL_NAMES if kind_of(work / n) is not None), None)
        if saved is None:
            raise ModelNotFoundError(
                f"{script.name} finished without saving a model; keep the __main__ block that "
                "calls model.save(...) next to the file as model.keras"
            )
        target = dest / saved.name
        with replacing(target) as staged:  # replaces a link at target, never its target
            staged.unlink()  # copy_regular creates its target afresh (O_EXCL)
            copy_regular(saved, staged, max_bytes=task.model.max_bytes)
    return target


def _export_training_data(
    task: TaskSpec, folder: Path, on_progress: ProgressCallback | None
) -> Path:
    """Write the splits ``task``'s solution may load into ``folder``; return it.

    The training split must load (else the grader cannot run the task here); a public test
    split that is not on this machine is simply not offered.
    """
    folder.mkdir()
    for split in datasets.public_splits(task.dataset.name):
        try:
            data = datasets.load(task.dataset.name, split, on_progress=on_progress)
        except DatasetMissingError:
            if split == "train":
                raise
            continue
        exported.export(data, task.dataset.name, split, folder)
    return folder


def _public_paths(root: Path, work: Path, dest: Path) -> Callable[[str], str]:
    """A line of the child's output with its private paths as the learner knows them: the
    script's folder as ``dest`` (relative to the current folder when inside it), the rest of
    the private folder as ``<sandbox>``."""
    try:
        home = str(dest.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):  # outside the current folder, or that folder is gone
        home = str(dest)
    home = "." if home in ("", ".") else home

    def public(line: str) -> str:
        return line.replace(str(work), home).replace(str(root), "<sandbox>")

    return public


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"
