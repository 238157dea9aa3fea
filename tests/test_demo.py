"""``make demo`` grades in a workspace of its own: the candidate's ``.grader`` (gradebook,
model store, clocks) is never created or changed by it.

The Makefile's grading line is run as make would expand it (its own variables, CURDIR a
throwaway checkout), with a model made without training in place of the reference's.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.practice import history

ROOT = Path(__file__).resolve().parents[1]


def _expand(text: str, names: dict[str, str]) -> str:
    """``$(NAME)`` references replaced, as make does for simple variables."""
    while (expanded := re.sub(r"\$\((\w+)\)", lambda m: names[m.group(1)], text)) != text:
        text = expanded
    assert "$(" not in text, text
    return text


def demo_grading_line(checkout: Path, venv: Path) -> list[str]:
    """The ``demo`` recipe's ``grade`` command, with ``make VENV=venv`` run in ``checkout``."""
    makefile = (ROOT / "Makefile").read_text()
    names = {"CURDIR": str(checkout), "VENV": str(venv)}
    for name, op, value in re.findall(r"^(\w+)\s*(\?=|:=|=)\s*(.*?)\s*$", makefile, re.M):
        if not (op == "?=" and name in names):
            names[name] = value
    recipe = re.search(r"^demo:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe, "Makefile has no demo recipe"
    (line,) = [r for r in recipe.group(1).splitlines() if "bin/grade" in r]
    return shlex.split(_expand(line.strip(), names))


@pytest.mark.slow
def test_the_demo_leaves_the_candidates_gradebook_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fashion_models: dict[str, Path]
) -> None:
    venv = Path(sys.executable).parent.parent
    if not (venv / "bin" / "grade").is_file():
        pytest.skip("no `grade` script beside this interpreter (not a venv install)")
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "tasks" / "task01", checkout / "tasks" / "task01")
    command = demo_grading_line(checkout, venv)
    model = Path(command[command.index("--model") + 1])
    model = model if model.is_absolute() else checkout / model
    model.parent.mkdir(parents=True)
    shutil.copyfile(fashion_models["failing"], model)  # the reference, without its training
    env = {k: v for k, v in os.environ.items() if k not in ("GRADER_HOME", "GRADER_TASKS")}
    env["PYTHONPATH"] = str(ROOT)  # this checkout's grader, whatever the venv installed
    ran = subprocess.run(
        command, cwd=checkout, env=env, capture_output=True, text=True, timeout=300
    )
    assert ran.returncode == 1, ran.stdout + ran.stderr  # graded: the always-0 model fails
    assert "task01" in ran.stdout
    assert not (checkout / ".grader").exists()
    monkeypatch.setenv("GRADER_HOME", str(checkout / "build" / "demo"))
    (attempt,) = history.load("task01")[0]
    assert attempt.status == "fail" and attempt.model_file == "model.keras"
