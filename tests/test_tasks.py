"""Task specs: the real catalogue loads, and every kind of broken task.toml names file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.errors import SpecError, UnknownTaskError
from grader.tasks.spec import TaskSpec, load_catalogue, load_task, task_ids

REPO_TASKS = Path(__file__).resolve().parents[1] / "tasks"

VALID = """\
id = "demo01"
title = "Demo"
category = 1
time_limit_minutes = 30
version = 1

[dataset]
name = "fashion_mnist"
heldout = "test"

[model]
input_shape = [28, 28, 1]
input_scale = "0-1"
classes = 10
max_params = 1_000_000
max_file_mb = 10

[grading]
metric = "accuracy"
threshold = 0.85
score_tiers = [0.70, 0.75, 0.80, 0.85, 0.90]
"""


def write_task(root: Path, text: str, task_id: str = "demo01") -> Path:
    folder = root / task_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "task.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("task_id", task_ids(REPO_TASKS))
def test_every_catalogue_task_loads(task_id: str) -> None:
    spec = load_task(task_id, REPO_TASKS)
    assert spec.id == task_id
    assert spec.grading.score_tiers[0] <= spec.grading.threshold <= spec.grading.score_tiers[-1]
    for path in (spec.prompt_path, spec.starter_path, spec.reference_path):
        assert path.is_file(), path


def test_catalogue_is_not_empty() -> None:
    assert "task01" in [t.id for t in load_catalogue(REPO_TASKS)]


def test_valid_spec_is_typed_and_frozen(tmp_path: Path) -> None:
    spec = TaskSpec.from_toml(write_task(tmp_path, VALID))
    assert spec.model.input_shape == (28, 28, 1)
    assert spec.grading.score_tiers == (0.70, 0.75, 0.80, 0.85, 0.90)
    assert spec.model.max_file_mb == 10.0
    with pytest.raises(AttributeError):
        spec.id = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("old", "new", "key", "reason"),
    [
        ('title = "Demo"\n', 'title = "Demo"\ncolour = "red"\n', "colour", "unknown key"),
        ('heldout = "test"\n', 'heldout = "test"\nsplit = "x"\n', "dataset.split", "unknown key"),
        ('title = "Demo"\n', "", "title", "missing"),
        ("classes = 10", 'classes = "ten"', "model.classes", "integer"),
        ("threshold = 0.85", "threshold = 1.5", "grading.threshold", "at most 1.0"),
        ("threshold = 0.85", "threshold = -0.1", "grading.threshold", "at least 0.0"),
        (
            "[0.70, 0.75, 0.80, 0.85, 0.90]",
            "[0.70, 0.80, 0.75, 0.85, 0.90]",
            "grading.score_tiers",
            "increase",
        ),
        ("[0.70, 0.75, 0.80, 0.85, 0.90]", "[0.7, 0.9]", "grading.score_tiers", "needs 5"),
        ("threshold = 0.85", "threshold = 0.95", "grading.threshold", "within score_tiers"),
        ('input_scale = "0-1"', 'input_scale = "0-100"', "model.input_scale", "one of"),
        ("[28, 28, 1]", "[28, 0, 1]", "model.input_shape", "positive"),
        ("category = 1", "category = 9", "category", "at most 5"),
        ('id = "demo01"', 'id = "other"', "id", "folder name"),
        ("[dataset]", "dataset = 3\n[x]", "dataset", "table"),
    ],
)
def test_broken_spec_names_file_and_key(
    tmp_path: Path, old: str, new: str, key: str, reason: str
) -> None:
    assert old in VALID
    path = write_task(tmp_path, VALID.replace(old, new, 1))
    with pytest.raises(SpecError) as caught:
        TaskSpec.from_toml(path)
    assert caught.value.key == key
    message = str(caught.value)
    assert str(path) in message and reason in message
    assert "\n" not in message


def test_unparsable_toml_is_a_spec_error(tmp_path: Path) -> None:
    path = write_task(tmp_path, "id = [unclosed\n")
    with pytest.raises(SpecError, match="not valid TOML"):
        TaskSpec.from_toml(path)


def test_unknown_task_suggests_close_ids(tmp_path: Path) -> None:
    write_task(tmp_path, VALID)
    with pytest.raises(UnknownTaskError) as caught:
        load_task("demo1", tmp_path)
    assert str(caught.value) == "Unknown task 'demo1'. Did you mean: demo01?"


def test_unknown_task_without_close_match_points_to_list(tmp_path: Path) -> None:
    with pytest.raises(UnknownTaskError, match="grade list"):
        load_task("zzz", tmp_path)


@pytest.mark.parametrize("evil", ["../tasks", "a/b", ".hidden"])
def test_task_id_cannot_escape_the_catalogue(tmp_path: Path, evil: str) -> None:
    with pytest.raises(UnknownTaskError):
        load_task(evil, tmp_path)
