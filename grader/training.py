"""``grade TASK --train``: run the learner's solution.py in the sandbox, keep the model it saved.

The solution runs as ``__main__`` in a private copy of its folder, under the task's time
limit, with no network unless the task says it needs downloads. Only the model file it
leaves behind counts: what it prints, its exit code and anything it writes elsewhere
cannot change the grade.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from grader import datasets
from grader.errors import ModelNotFoundError, SubmissionError, SubmissionTimeout
from grader.sandbox import Limits, private_dir, run_script
from grader.tasks import TaskSpec
from grader.workspace import MODEL_NAMES, solution_dir


def training_limits(task: TaskSpec) -> Limits:
    """The task's time limit as a wall clock, and CPU seconds for every core for that long."""
    wall = task.time_limit_minutes * 60.0
    return Limits(wall_s=wall, cpu_s=int(wall * (os.cpu_count() or 1)) + 60)


def train(
    task: TaskSpec,
    *,
    limits: Limits | None = None,
    on_output: Callable[[str], None] | None = None,
) -> Path:
    """Run ``solutions/<id>/solution.py`` sandboxed; return the model it saved, copied home."""
    folder = solution_dir(task.id)
    script = folder / "solution.py"
    if not script.is_file():
        raise ModelNotFoundError(
            f"No {script}. Run `grade start {task.id}` to get the starter, then write it."
        )
    limits = limits or training_limits(task)
    data = datasets.load(task.dataset.name, "train")
    with private_dir() as root:
        work = root / "work"
        shutil.copyfile(script, work / "solution.py")
        outcome = run_script(
            work / "solution.py",
            root,
            limits,
            network=task.training_network,
            on_output=on_output,
            env={"GRADER_DATA": data.source} if Path(data.source).is_dir() else {},
        )
        if outcome.timed_out:
            raise SubmissionTimeout(
                f"solution.py ran past its time limit ({_duration(limits.wall_s)}) and was "
                "stopped; train for fewer epochs or a smaller model"
            )
        saved = next((work / n for n in MODEL_NAMES if (work / n).is_file()), None)
        if outcome.returncode != 0:
            last = outcome.log_tail.strip().splitlines()[-1:] or ["no output"]
            raise SubmissionError(
                f"solution.py failed (exit {outcome.returncode}): {last[0][:200]}"
            )
        if saved is None:
            raise ModelNotFoundError(
                "solution.py finished without saving a model; keep the __main__ block that "
                "calls model.save(...) next to the file as model.keras"
            )
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / saved.name
        shutil.copyfile(saved, target)
    return target


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"
