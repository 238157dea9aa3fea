"""``grade validate``: each check catches the broken task it exists for."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.instructors.validate import TaskValidation, rubric_check, validate_task
from grader.result import Result, RubricLine
from grader.tasks.spec import TaskSpec, load_task

GOOD_PROMPT = "# Tiny\n\nInput: a batch of shape `(N, 28, 28, 1)`, pixels scaled to 0-1.\n"

PIXEL_REFERENCE = """\
from pathlib import Path

import keras
import numpy as np


def solution_model():
    layers = [keras.layers.Flatten(), keras.layers.Dense(4, activation="softmax")]
    model = keras.Sequential([keras.Input(shape=(28, 28, 1)), *layers])
    kernel = np.zeros((784, 4), dtype="float32")
    for c in range(4):
        kernel[c, c] = 10.0
    model.layers[-1].set_weights([kernel, np.zeros(4, dtype="float32")])
    return model


if __name__ == "__main__":
    solution_model().save(Path(__file__).with_name("model.keras"))
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
        "reference code": "ok",
        "dataset": "ok",
        "prompt": "ok",
        "baseline": "ok",
        "starter fails": "skip",
        "reference passes": "skip",
        "score tiers": "skip",
        "rubric": "skip",
    }
    assert rep.exit_code == 0
    baseline = next(c for c in rep.checks if c.name == "baseline")
    assert "25.00%" in baseline.detail


def test_prompt_without_the_input_contract_fails(task_dir: Path) -> None:
    (task_dir / "prompt.md").write_text("# Tiny\n\nClassify the bright pixel.\n")
    rep = validate_task("tiny01", fast=True)
    assert _statuses(rep)["prompt"] == "fail" and rep.exit_code == 1
    prompt = next(c for c in rep.checks if c.name == "prompt")
    assert "input shape or pixel scale" in prompt.detail


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
    reference = next(c for c in rep.checks if c.name == "reference passes")
    assert "fail" in reference.detail
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


# --- rubric -------------------------------------------------------------------------------

RUBRIC = '\n[rubric]\non_unmet = "cap"\ncap_score = 3\noutput = "softmax:4"\n'


def _judged(*met: bool) -> Result:
    lines = [RubricLine(f"line {i}", m, "why", "cap") for i, m in enumerate(met)]
    return Result(task="tiny01", status="pass", message="ok", value=1.0, rubric=lines)


@pytest.fixture
def rubric_spec(task_dir: Path) -> TaskSpec:
    toml = task_dir / "task.toml"
    toml.write_text(toml.read_text() + RUBRIC)
    return load_task("tiny01")


def test_rubric_check_needs_the_reference_to_meet_all_and_the_starter_to_miss_one(
    rubric_spec: TaskSpec,
) -> None:
    ok = rubric_check(rubric_spec, _judged(True, False), [_judged(True, True)])
    assert (ok.status, ok.detail) == (
        "ok",
        "the reference meets all 2 lines; the starter misses line 1",
    )
    missed = rubric_check(rubric_spec, _judged(False), [_judged(True), _judged(False)])
    assert missed.status == "fail" and missed.detail.startswith("run 2: the reference misses")
    starter_meets = rubric_check(rubric_spec, _judged(True), [_judged(True)])
    assert starter_meets.status == "fail" and "and so does the starter" in starter_meets.detail
    unjudged = rubric_check(rubric_spec, "invalid: no model", [_judged(True)])
    assert unjudged.status == "ok"
    assert unjudged.detail.endswith("the starter cannot be judged: invalid: no model")
    assert rubric_check(rubric_spec, _judged(False), []).status == "skip"


def test_rubric_check_skips_a_task_without_a_rubric(task_dir: Path) -> None:
    check = rubric_check(load_task("tiny01"), _judged(True), [_judged(True)])
    assert (check.status, check.detail) == ("skip", "no [rubric] and no checks.py")


def test_fast_validation_compiles_checks_py(rubric_spec: TaskSpec, task_dir: Path) -> None:
    rubric = next(c for c in validate_task("tiny01", fast=True).checks if c.name == "rubric")
    assert (rubric.status, rubric.detail) == ("skip", "--fast")
    (task_dir / "checks.py").write_text("def test_x(summary:\n    pass\n")
    rep = validate_task("tiny01", fast=True)
    rubric = next(c for c in rep.checks if c.name == "rubric")
    assert rubric.status == "fail" and "checks.py does not compile" in rubric.detail
    assert rep.exit_code == 1


@pytest.mark.slow
def test_validation_judges_the_rubric_on_the_models_it_trained(
    rubric_spec: TaskSpec, task_dir: Path
) -> None:
    (task_dir / "reference.py").write_text(PIXEL_REFERENCE)
    (task_dir / "starter.py").write_text(ZERO_STARTER.replace('"softmax"', '"sigmoid"'))
    rep = validate_task("tiny01")
    s = _statuses(rep)
    assert (s["starter fails"], s["reference passes"], s["rubric"]) == ("ok", "ok", "ok")
    rubric = next(c for c in rep.checks if c.name == "rubric")
    assert rubric.detail == "the reference meets all 1 line; the starter misses output layer"


# --- reference code, accuracy per run, score tiers, stages --------------------------------


@pytest.mark.parametrize(
    ("code", "says"),
    [
        (
            "def solution_model():\n    x = 1\n    raise NotImplementedError('fill in')\n",
            "reference.py: solution_model() still raises NotImplementedError: replace that line",
        ),
        (
            "def solution_model():\n    raise NotImplementedError\n",
            "still raises NotImplementedError",
        ),
        ("import keras\nmodel = keras.Sequential()\n", "reference.py has no solution_model()"),
        ("def solution_model(:\n", "reference.py does not compile"),
    ],
)
def test_fast_validation_catches_an_unfilled_reference_without_running_it(
    task_dir: Path, code: str, says: str
) -> None:
    (task_dir / "reference.py").write_text(code)
    rep = validate_task("tiny01", fast=True)
    check = next(c for c in rep.checks if c.name == "reference code")
    assert check.status == "fail" and says in check.detail and "\n" not in check.detail
    assert rep.exit_code == 1


def test_an_incomplete_starter_is_expected(task_dir: Path) -> None:
    (task_dir / "starter.py").write_text("def solution_model():\n    raise NotImplementedError\n")
    rep = validate_task("tiny01", fast=True)
    assert rep.exit_code == 0, rep.checks


def _reference_scoring(monkeypatch: pytest.MonkeyPatch, values: list[float]) -> None:
    """Training replaced: the starter scores 0.3 and the reference's runs score ``values``."""
    runs = iter(values)

    def trained(spec: TaskSpec, script: Path, data: object) -> Result:
        value = next(runs) if script.name == "reference.py" else 0.3
        passed = value >= spec.grading.threshold
        return Result(
            task=spec.id,
            status="pass" if passed else "fail",
            message=f"{value:.2%}",
            value=value,
            threshold=spec.grading.threshold,
            margin=value - spec.grading.threshold,
        )

    monkeypatch.setattr("grader.instructors.validate._train_and_grade", trained)


def test_full_validation_shows_the_references_accuracy_on_every_run(
    task_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _reference_scoring(monkeypatch, [0.96, 0.955])
    rep = validate_task("tiny01", runs=2)
    check = next(c for c in rep.checks if c.name == "reference passes")
    assert check.status == "ok"
    assert check.detail == "2/2 runs pass: accuracy 96.00%, 95.50% (margins +6.00, +5.50 points)"
    tiers = next(c for c in rep.checks if c.name == "score tiers")
    assert tiers.status == "ok" and rep.exit_code == 0


def test_tiers_far_below_the_reference_are_a_warning_not_a_failure(
    task_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = task_dir / "task.toml"
    toml.write_text(
        toml.read_text()
        .replace("threshold = 0.9", "threshold = 0.8")
        .replace("[0.5, 0.7, 0.8, 0.9, 0.95]", "[0.5, 0.6, 0.7, 0.8, 0.85]")
    )
    _reference_scoring(monkeypatch, [0.999, 0.995])
    rep = validate_task("tiny01", runs=2)
    tiers = next(c for c in rep.checks if c.name == "score tiers")
    assert tiers.status == "warn" and rep.exit_code == 0
    assert tiers.detail == (
        "5 stars at 85% accuracy; the reference reaches 99.50%: the tiers sit far below it; "
        "raise score_tiers in task.toml"
    )


def test_cli_validate_prints_one_line_per_stage_into_a_log(
    task_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _reference_scoring(monkeypatch, [0.96, 0.96])
    done = CliRunner().invoke(app, ["validate", "tiny01", "--runs", "2"])
    assert done.exit_code == 0, done.output
    stages = [line for line in done.output.splitlines() if line.startswith("… tiny01: ")]
    assert stages == [
        "… tiny01: spec, files, dataset, prompt, baseline",
        "… tiny01: training starter.py in the sandbox (it must fail)",
        "… tiny01: training reference.py in the sandbox, run 1 of 2",
        "… tiny01: training reference.py in the sandbox, run 2 of 2",
        "… tiny01: judging the rubric",
    ]
