"""The reference docs keep up with the code: every task.toml key the spec parser reads is in
docs/task-format.md, and every Result field is in docs/results-schema.md.

Convention (both docs): a documented name is the first cell of a Markdown table row,
in backticks, inside the doc's ``## Keys`` / ``## Fields`` section. Spec keys are dotted
(``model.max_params``; top-level keys bare: ``id``, ``dataset``); ClassScore and Confusion
fields are written ``per_class[].label`` and ``top_confusions[].true`` (RubricLine's
``rubric[].name``).
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from grader import ClassScore, Confusion, Result, TaskSpec
from grader.result import RubricLine
from grader.tasks.spec import _Reader  # the spec parser's reader: every key it reads goes via _get

ROOT = Path(__file__).resolve().parents[1]
TASK_FORMAT = ROOT / "docs" / "task-format.md"
RESULTS_SCHEMA = ROOT / "docs" / "results-schema.md"

# Every optional key present: [training], [rubric] and the instructor held-out folder.
# Parsing never reads heldout_dir, so it need not exist.
MAXIMAL = """\
id = "docs01"
title = "Every key"
category = 3
time_limit_minutes = 30
version = 2

[dataset]
name = "shapes"
heldout = "test"
heldout_dir = "no-such-folder"
heldout_sha256 = "{sha}"

[model]
input_shape = [64, 64, 3]
input_scale = "0-255"
classes = 4
max_params = 1_000_000
max_file_mb = 20

[grading]
metric = "accuracy"
threshold = 0.9
score_tiers = [0.6, 0.75, 0.85, 0.9, 0.95]

[training]
network = true

[rubric]
on_unmet = "cap"
cap_score = 3
require_layers = ["Rescaling"]
require_any = [["RandomFlip", "RandomRotation"]]
base_model = "MobileNetV2"
base_frozen = true
output = "softmax:4"
max_params = 500_000
""".format(sha="ab" * 32)


def documented(doc: Path, section: str) -> set[str]:
    """Names in backticks opening a table row of ``## {section}`` (up to the next ``## ``)."""
    text = doc.read_text(encoding="utf-8")
    match = re.search(rf"^## {section}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"{doc.name} has no '## {section}' section"
    return set(re.findall(r"^\| `([^`]+)` \|", match.group(1), re.M))


@pytest.fixture
def spec_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Dotted keys the parser reads from every real task.toml plus the maximal fixture."""
    seen: set[str] = set()
    original = _Reader._get

    def recording(self: _Reader, key: str) -> object:
        seen.add(self.prefix + key)
        return original(self, key)

    monkeypatch.setattr(_Reader, "_get", recording)
    fixture = tmp_path / "docs01" / "task.toml"
    fixture.parent.mkdir()
    fixture.write_text(MAXIMAL, encoding="utf-8")
    paths = sorted((ROOT / "tasks").glob("*/task.toml"))
    assert paths, "no real tasks found"
    specs = [TaskSpec.from_toml(p) for p in [*paths, fixture]]
    maximal = specs[-1]
    # The fixture must reach the optional branches, or their keys go unchecked.
    assert maximal.training_network and maximal.dataset.heldout_dir == "no-such-folder"
    assert maximal.rubric.requirements == 6 and maximal.rubric.cap_score == 3
    return seen


def test_every_spec_key_is_documented(spec_keys: set[str]) -> None:
    missing = sorted(spec_keys - documented(TASK_FORMAT, "Keys"))
    assert not missing, f"task.toml keys the parser reads but docs/task-format.md lacks: {missing}"


def test_task_format_documents_no_key_the_parser_rejects(spec_keys: set[str]) -> None:
    stale = sorted(documented(TASK_FORMAT, "Keys") - spec_keys)
    assert not stale, f"docs/task-format.md documents keys the parser never reads: {stale}"


def result_names() -> set[str]:
    """Result fields, then ClassScore and Confusion fields under the list that holds them."""
    names = {f.name for f in dataclasses.fields(Result)}
    names |= {f"per_class[].{f.name}" for f in dataclasses.fields(ClassScore)}
    names |= {f"top_confusions[].{f.name}" for f in dataclasses.fields(Confusion)}
    names |= {f"rubric[].{f.name}" for f in dataclasses.fields(RubricLine)}
    return names


def test_every_result_field_is_documented() -> None:
    missing = sorted(result_names() - documented(RESULTS_SCHEMA, "Fields"))
    assert not missing, f"Result fields docs/results-schema.md lacks: {missing}"


def test_results_schema_documents_no_removed_field() -> None:
    stale = sorted(documented(RESULTS_SCHEMA, "Fields") - result_names())
    assert not stale, f"docs/results-schema.md documents fields Result lacks: {stale}"


def test_task_format_example_parses(tmp_path: Path) -> None:
    """The complete example in docs/task-format.md is a valid task.toml."""
    text = TASK_FORMAT.read_text(encoding="utf-8")
    example = re.search(r"^```toml\n(.*?)^```", text, re.M | re.S)
    assert example, "docs/task-format.md has no ```toml example"
    path = tmp_path / "task07" / "task.toml"
    path.parent.mkdir()
    path.write_text(example.group(1), encoding="utf-8")
    spec = TaskSpec.from_toml(path)
    assert spec.dataset.heldout_dir is not None and spec.dataset.heldout_sha256 is not None


README = ROOT / "README.md"

_RUN_CELL_TWICE = """\
import json, os, sys
from IPython.core.interactiveshell import InteractiveShell
from grader.tasks.workspace import workspace_root
shell = InteractiveShell.instance()
for _ in range(2):
    shell.run_cell(sys.argv[1]).raise_error()
    print("WHERE", json.dumps([os.getcwd(), str(workspace_root())]), flush=True)
"""


def _colab_setup() -> str:
    """The README's Colab cell up to its ``%cd``: the lines that make the workspace."""
    found = re.search(r"A Colab cell.*?```python\n(.*?)```", README.read_text(), re.S)
    assert found, "README has no Colab cell"
    lines = found.group(1).splitlines()
    end = next(i for i, line in enumerate(lines) if line.startswith("%cd"))
    return "\n".join(lines[: end + 1]) + "\n"


def test_the_colab_cell_runs_twice_into_the_same_workspace(tmp_path: Path) -> None:
    """Run the cell's set-up lines twice in IPython (git for real, pip faked): one clone, the
    clone's folder as cwd and workspace both times, and no shell line with a redirect."""
    import os
    import subprocess
    import sys

    cell = _colab_setup()
    shell_lines = [line for line in cell.splitlines() if line.startswith("!")]
    assert shell_lines and not any(c in line for line in shell_lines for c in "<>")
    upstream = tmp_path / "upstream"
    (upstream / "tasks" / "task01").mkdir(parents=True)
    (upstream / "tasks" / "task01" / "task.toml").write_text('id = "task01"\n')
    (upstream / "grader" / "tasks").mkdir(parents=True)
    (upstream / "grader" / "tasks" / "__init__.py").write_text("")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(upstream)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "tasks"], check=True)
    clone = tmp_path / "content" / "grader"
    cell, repos = re.subn(r'^REPO = "[^"]*"', f'REPO = "{upstream}"', cell, flags=re.M)
    cell, clones = re.subn(r'^CLONE = "[^"]*"', f'CLONE = "{clone}"', cell, flags=re.M)
    assert (repos, clones) == (1, 1), cell
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "pip").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "pip.log"}\n')
    (fake / "pip").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADER_")}
    env.update(PATH=f"{fake}:{env['PATH']}", PYTHONPATH=str(ROOT), IPYTHONDIR=str(tmp_path))
    ran = subprocess.run(
        [sys.executable, "-c", _RUN_CELL_TWICE, cell],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    assert "fatal" not in ran.stdout + ran.stderr, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    where = [json.loads(line.removeprefix("WHERE ")) for line in lines if line[:6] == "WHERE "]
    assert where == [[str(clone), str(clone)]] * 2
    assert (tmp_path / "pip.log").read_text() == f"install -q -e {clone}\n" * 2
