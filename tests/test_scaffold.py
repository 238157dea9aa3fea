"""``grade new``: a scaffolded task loads, validates once its reference is filled, and never
overwrites anything."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import grader.instructors.validate
from grader.cli import app
from grader.errors import WorkspaceError
from grader.instructors.scaffold import new_task
from grader.instructors.validate import TaskValidation, validate_task
from grader.tasks.spec import load_task
from tests.conftest import closed_port_url
from tests.test_validate import PIXEL_REFERENCE


def test_new_task_takes_shape_and_classes_from_the_dataset_and_loads(workspace: Path) -> None:
    folder, notes = new_task("task07", dataset="tiny", title="Bright pixels")
    assert notes == []
    assert sorted(p.name for p in folder.iterdir()) == [
        "prompt.md",
        "reference.py",
        "starter.py",
        "task.toml",
    ]
    spec = load_task("task07")
    assert spec.model.input_shape == (28, 28, 1) and spec.model.classes == 4
    assert spec.title == "Bright pixels" and spec.dataset.name == "tiny"
    toml = (folder / "task.toml").read_text()
    assert all(
        f"{key} = " in toml and "#" in line
        for key in ("threshold", "max_params")
        for line in toml.splitlines()
        if line.startswith(key)
    )


def test_scaffold_as_written_fails_fast_validation_only_on_its_unfilled_reference(
    workspace: Path,
) -> None:
    new_task("task07", dataset="tiny", classes=4)
    rep = validate_task("task07", fast=True)
    failed = [c for c in rep.checks if c.status not in ("ok", "skip")]
    assert [c.name for c in failed] == ["reference code"] and rep.exit_code == 1
    assert "reference.py: solution_model() still raises NotImplementedError" in failed[0].detail


def test_the_commented_rubric_loads_once_uncommented(workspace: Path) -> None:
    folder, _ = new_task("task07", dataset="tiny", classes=4)
    toml = folder / "task.toml"
    text = toml.read_text()
    start = text.index("# [rubric]")
    toml.write_text(text[:start] + re.sub(r"^# ", "", text[start:], flags=re.M))
    rubric = load_task("task07").rubric
    assert (rubric.on_unmet, rubric.cap_score, rubric.output) == ("cap", 3, (("softmax", 4),))
    assert rubric.require_layers == ("Conv2D",) and len(rubric.require_any) == 1


def test_unknown_dataset_is_scaffolded_with_a_note(workspace: Path) -> None:
    _, notes = new_task("task08", dataset="not_yet_registered", classes=3)
    assert len(notes) == 1 and "not_yet_registered" in notes[0]
    assert load_task("task08").model.classes == 3


@pytest.mark.parametrize("bad", ["Task7", "../x", "t", "7task", "a b"])
def test_bad_ids_are_refused(workspace: Path, bad: str) -> None:
    with pytest.raises(WorkspaceError, match="not a task id"):
        new_task(bad, dataset="tiny")


def test_cli_refuses_an_existing_folder_in_one_line_and_keeps_it(workspace: Path) -> None:
    toml = workspace / "tasks" / "tiny01" / "task.toml"
    before = toml.read_text()
    done = CliRunner().invoke(app, ["new", "tiny01", "--dataset", "tiny"])
    assert done.exit_code == 2 and "already exists" in done.output
    assert len(done.output.strip().splitlines()) == 1
    assert toml.read_text() == before


@pytest.mark.slow
def test_filled_reference_makes_the_scaffold_validate(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The instructor's five minutes: grade new, fill reference.py, grade validate.

    The one full (training) validation in the suite: the scaffold's own starter must train
    and fail, and the filled reference must train and pass twice (--runs 2)."""
    reports: list[TaskValidation] = []

    def keep(*args: Any, **kwargs: Any) -> list[TaskValidation]:
        reports.extend(real_validate(*args, **kwargs))
        return reports

    real_validate = grader.instructors.validate.validate
    monkeypatch.setattr("grader.instructors.validate.validate", keep)
    done = CliRunner().invoke(app, ["new", "task07", "--dataset", "tiny", "--classes", "4"])
    assert done.exit_code == 0, done.output
    (workspace / "tasks" / "task07" / "reference.py").write_text(PIXEL_REFERENCE)
    done = CliRunner().invoke(app, ["validate", "task07", "--runs", "2"])
    assert done.exit_code == 0, done.output
    checks = {c.name: c for c in reports[0].checks}
    assert {name: c.status for name, c in checks.items()} == {
        "spec": "ok",
        "files": "ok",
        "reference code": "ok",
        "dataset": "ok",
        "prompt": "ok",
        "baseline": "ok",
        "starter fails": "ok",
        "reference passes": "ok",
        "score tiers": "warn",  # the scaffold's tiers top out far below a perfect reference
        "rubric": "skip",  # the scaffold's [rubric] is commented out
    }
    assert checks["starter fails"].detail.startswith("fail: ")
    assert checks["reference passes"].detail.startswith("2/2 runs pass: accuracy 100.00%")


def test_registered_set_not_yet_downloaded_gets_its_published_shape(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADER_DATASET_MIRROR", closed_port_url())
    _, notes = new_task("task09", dataset="horses_or_humans")
    spec = load_task("task09")
    assert spec.model.input_shape == (150, 150, 3) and spec.model.classes == 2
    assert notes == [
        "dataset 'horses_or_humans' is not on this machine yet; wrote its published shape"
    ]
