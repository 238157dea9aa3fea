"""``grade validate``: each check catches the broken task it exists for."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.instructors.validate import TaskValidation, validate_task

GOOD_PROMPT = "# Tiny\n\nInput: a batch of shape `(N, 28, 28, 1)`, pixels scaled to 0-1.\n"

PIXEL_REFERENCE = """\
from pathlib import Path

import keras
import numpy as np

layers = [keras.layers.Flatten(), keras.layers.Dense(4, activation="softmax")]
model = keras.Sequential([keras.Input(shape=(28, 28, 1)), *layers])
kernel = np.zeros((784, 4), dtype="float32")
for c in range(4):
    kernel[c, c] = 10.0
model.layers[-1].set_weights([kernel, np.zeros(4, dtype="float32")])
if __name__ == "__main__":
    model.save(Path(__file__).with_name("model.keras"))
"""

ZERO_STARTER = PIXEL_REFERENCE.replace("kernel[c, c] = 10.0", "pass")


def _statuses(rep: TaskValidation) -> dict[str, str]:
    return {c.name: c.status for c in rep.checks}


@pytest.fixture
def task_dir(workspace: Path) -> Path:
    folder = workspace / "tasks" / "tiny01"
    (folder / "prompt.md").write_text(GOOD_PROMPT)
    return folder


def test_fast_validation_of_a_sound_task_passes_every_check(task_dir: Path) -> None:
    rep = validate_task("tiny01", fast=True)
    assert _statuses(rep) == {
        "spec": "ok",
        "files": "ok",
        "dataset": "ok",
        "prompt": "ok",
        "baseline": "ok",
        "starter fails": "skip",
        "reference passes": "skip",
    }
    assert rep.exit_code == 0
    baseline = next(c for c in rep.checks if c.name == "baseline")
    assert "25.00%" in baseline.detail


def test_prompt_without_the_input_contract_fails(task_dir: Path) -> None:
    (task_dir / "prompt.md").write_text("# Tiny\n\nClassify the bright pixel.\n")
    rep = validate_task("tiny01", fast=True)
    assert _statuses(rep)["prompt"] == "fail" and rep.exit_code == 1
    assert "input shape or pixel scale" in rep.checks[3].detail


def test_pass_mark_a_majority_guess_reaches_fails_the_baseline(task_dir: Path) -> None:
    toml = task_dir / "task.toml"
    toml.write_text(
        toml.read_text()
        .replace("threshold = 0.9", "threshold = 0.2")
        .replace("[0.5, 0.7, 0.8, 0.9, 0.95]", "[0.1, 0.15, 0.2, 0.3, 0.4]")
    )
    rep = validate_task("tiny01", fast=True)
    assert _statuses(rep)["baseline"] == "fail" and rep.exit_code == 1


def test_missing_reference_and_missing_dataset_are_reported_per_check(task_dir: Path) -> None:
    (task_dir / "reference.py").unlink()
    toml = task_dir / "task.toml"
    toml.write_text(toml.read_text().replace('name = "tiny"', 'name = "nope"'))
    rep = validate_task("tiny01", fast=True)
    s = _statuses(rep)
    assert s["files"] == "fail" and s["dataset"] == "error" and s["baseline"] == "skip"
    assert rep.exit_code == 2


def test_broken_spec_fails_and_stops(task_dir: Path) -> None:
    (task_dir / "task.toml").write_text('id = "tiny01"\n')
    rep = validate_task("tiny01", fast=True)
    assert [c.name for c in rep.checks] == ["spec"] and rep.exit_code == 1


def test_cli_validate_prints_a_table_and_exits_by_the_worst_check(task_dir: Path) -> None:
    done = CliRunner().invoke(app, ["validate", "--fast"])
    assert done.exit_code == 0, done.output
    assert "tiny01" in done.output and "baseline" in done.output
    done = CliRunner().invoke(app, ["validate", "tiny01", "nosuch", "--fast"])
    assert done.exit_code == 2 and "Unknown task 'nosuch'" in done.output
    assert "baseline" in done.output  # tiny01 was still validated


@pytest.mark.slow
def test_a_reference_that_fails_fails_validation(task_dir: Path) -> None:
    (task_dir / "reference.py").write_text(ZERO_STARTER)
    (task_dir / "starter.py").write_text("raise SystemExit(3)\n")
    rep = validate_task("tiny01")
    s = _statuses(rep)
    assert s["reference passes"] == "fail" and rep.exit_code == 1
    assert "fail" in rep.checks[-1].detail
    starter = next(c for c in rep.checks if c.name == "starter fails")
    assert starter.status == "fail" and "exit 3" in starter.detail  # learners get a crash


def test_offline_skips_tasks_whose_data_must_be_downloaded(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grader import datasets
    from grader.errors import DatasetMissingError

    class Unreachable:
        name, splits = "tiny", ("train", "test")

        def load(self, split: str, *, on_progress: object = None) -> object:
            raise DatasetMissingError("tiny must be downloaded first: no network")

    monkeypatch.setitem(datasets.DATASETS, "tiny", Unreachable())
    (workspace / "tasks" / "tiny01" / "prompt.md").write_text(GOOD_PROMPT)
    online = validate_task("tiny01", fast=True)
    offline = validate_task("tiny01", fast=True, offline=True)
    assert online.exit_code == 2
    assert offline.exit_code == 0
    assert any(c.name == "dataset" and c.status == "skip" for c in offline.checks)
