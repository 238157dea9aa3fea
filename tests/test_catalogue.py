"""Every real task: the starter must fail and the reference must pass with margin.

These train real models on the real data (a few CPU minutes for the whole catalogue).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from grader import datasets
from grader.errors import DatasetMissingError
from grader.grading import grade
from grader.tasks import TaskSpec, load_task, task_ids

REPO_TASKS = Path(__file__).resolve().parents[1] / "tasks"
MARGIN = 0.005
"""The reference must clear the pass mark by at least half a point."""

pytestmark = pytest.mark.slow


def train(script: Path, out: Path) -> Path:
    done = subprocess.run(
        [sys.executable, str(script), str(out)], capture_output=True, text=True, timeout=1200
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert out.is_file()
    return out


def require_data(spec: TaskSpec) -> None:
    """Skip a download-based task whose data is not on this machine (no network here)."""
    try:
        datasets.load(spec.dataset.name, spec.dataset.heldout)
    except DatasetMissingError as err:
        pytest.skip(f"{spec.id}: {err}")


@pytest.mark.parametrize("task_id", task_ids(REPO_TASKS))
def test_starter_fails(task_id: str, tmp_path: Path) -> None:
    spec = load_task(task_id, REPO_TASKS)
    require_data(spec)
    result = grade(spec, train(spec.starter_path, tmp_path / "starter.keras"))
    assert result.status == "fail", result.message


@pytest.mark.parametrize("task_id", task_ids(REPO_TASKS))
def test_reference_passes_with_margin(task_id: str, tmp_path: Path) -> None:
    spec = load_task(task_id, REPO_TASKS)
    require_data(spec)
    result = grade(spec, train(spec.reference_path, tmp_path / "reference.keras"))
    assert result.status == "pass", result.message
    assert result.margin is not None and result.margin >= MARGIN, result.message
