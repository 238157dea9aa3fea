"""GitHub Classroom: the workflow parses, and the very grading script it runs works here."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.instructors import classroom
from grader.instructors.gradescope import requirements
from grader.tasks.spec import TaskSpec


def _steps(text: str) -> dict[str, dict[str, Any]]:
    workflow = yaml.safe_load(text)
    (job,) = workflow["jobs"].values()
    return {step.get("name", step.get("uses")): step for step in job["steps"]}


def test_the_workflow_parses_runs_on_push_and_installs_the_pinned_grader(
    tiny_task: TaskSpec, tmp_path: Path
) -> None:
    path = classroom.write_workflow(tiny_task, tmp_path / ".github" / "workflows" / "grade.yml")
    workflow = yaml.safe_load(path.read_text())
    assert "push" in workflow[True]  # YAML 1.1 reads the key `on` as True
    steps = _steps(path.read_text())
    install = steps["Install the grader"]["run"]
    for pin in requirements():
        assert f'"{pin}"' in install
    assert "pip install --no-deps -e ." in install
    assert "grade tiny01 --json" in steps["Grade tiny01"]["run"]


def test_the_workflow_caches_pip_and_the_folders_the_grader_reads_data_from(
    tiny_task: TaskSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grader.datasets.cache import cache_root
    from grader.datasets.locations import keras_cache

    workflow = yaml.safe_load(classroom.workflow(tiny_task))
    (job,) = workflow["jobs"].values()
    uses = [step.get("uses", "").split("@")[0] for step in job["steps"]]
    setup = job["steps"][uses.index("actions/setup-python")]["with"]
    assert (setup["cache"], setup["cache-dependency-path"]) == ("pip", "pyproject.toml")
    cache_step = job["steps"][uses.index("actions/cache")]
    assert uses.index("actions/cache") < len(uses) - 1  # before the grading step
    assert cache_step["with"]["key"] == "grader-data-${{ runner.os }}-tiny"
    # The cached folders are where the grader on the runner keeps downloads and parsed arrays.
    cached = {Path(p.replace("~", str(tmp_path))) for p in cache_step["with"]["path"].split()}
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("GRADER_CACHE", raising=False)
    assert cached == {cache_root(), keras_cache()}


def _workspace(root: Path, task: TaskSpec, model: Path) -> Path:
    shutil.copytree(task.folder, root / "tasks" / task.id)
    (root / "solutions" / task.id).mkdir(parents=True)
    shutil.copyfile(model, root / "solutions" / task.id / "model.keras")
    return root


def _run_step(script: str, root: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADER_")}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    env["GRADER_HOME"] = str(root)
    env["GITHUB_STEP_SUMMARY"] = str(root / "summary.md")
    return subprocess.run(
        ["bash", "-e", "-c", script], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
@pytest.mark.parametrize(("model", "code", "points"), [("passing", 0, 5), ("failing", 1, 0)])
def test_the_workflow_grading_step_grades_and_reports_points(
    fashion_task: TaskSpec,
    fashion_models: dict[str, Path],
    tmp_path: Path,
    model: str,
    code: int,
    points: int,
) -> None:
    script = _steps(classroom.workflow(fashion_task))["Grade gs01"]["run"]
    root = _workspace(tmp_path / "repo", fashion_task, fashion_models[model])
    proc = _run_step(script, root)
    assert proc.returncode == code, proc.stderr
    assert f"Points {points}/5" in proc.stdout
    summary = (root / "summary.md").read_text()
    assert summary.startswith(f"## gs01: {'PASS' if code == 0 else 'FAIL'} {points}/5")
    assert "| Shirt |" in summary
