"""The public API: a sorted ``__all__`` of names that exist, and no heavy imports."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import grader


def test_all_is_sorted_and_importable() -> None:
    assert grader.__all__ == sorted(grader.__all__)
    for name in grader.__all__:
        assert hasattr(grader, name), name


def test_importing_grader_does_not_load_tensorflow_or_rich() -> None:
    code = (
        "import sys, grader, grader.cli, grader.grading.pipeline\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_wheel_carries_the_task_templates(tmp_path: Path) -> None:
    """``grade new`` reads grader/instructors/templates/*.tmpl: a wheel install needs them."""
    repo, src = Path(__file__).resolve().parents[1], tmp_path / "src"
    for name in ("pyproject.toml", "README.md"):  # a copy: setuptools builds in the tree
        (src / name).parent.mkdir(exist_ok=True)
        shutil.copy(repo / name, src / name)
    shutil.copytree(repo / "grader", src / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    build = [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation"]
    subprocess.run([*build, "-q", "-w", str(tmp_path)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("grader-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    folder = "grader/instructors/templates"
    templates = {f"{folder}/{n}.tmpl" for n in ("task.toml", "prompt.md", "starter.py")}
    assert templates | {f"{folder}/reference.py.tmpl"} <= names
