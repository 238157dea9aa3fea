"""Task specs: the real catalogue loads, and every kind of broken task.toml names file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.errors import SpecError, UnknownTaskError
from grader.tasks.spec import RubricSpec, TaskSpec, load_catalogue, load_task, task_ids

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


# --- [rubric] and checks.py ---------------------------------------------------------------

RUBRIC = """
[rubric]
on_unmet = "cap"
cap_score = 3
require_layers = ["Rescaling"]
require_any = [["RandomFlip", "RandomRotation"]]
base_model = "MobileNetV2"
base_frozen = true
output = ["sigmoid:1", "linear:1"]
max_params = 50_000
"""


def test_rubric_is_read_into_typed_requirements(tmp_path: Path) -> None:
    spec = TaskSpec.from_toml(write_task(tmp_path, VALID + RUBRIC))
    r = spec.rubric
    assert (r.on_unmet, r.cap_score, r.base_model, r.base_frozen) == ("cap", 3, "MobileNetV2", True)
    assert r.require_layers == ("Rescaling",)
    assert r.require_any == (("RandomFlip", "RandomRotation"),)
    assert r.output == (("sigmoid", 1), ("linear", 1))
    assert r.max_params == 50_000
    assert r.requirements == 6
    assert spec.checks is None


def test_without_a_rubric_table_nothing_is_required_and_checks_only_warn(tmp_path: Path) -> None:
    spec = TaskSpec.from_toml(write_task(tmp_path, VALID))
    assert spec.rubric == RubricSpec() and spec.rubric.on_unmet == "warn"
    assert spec.rubric.requirements == 0


def test_a_single_output_string_is_one_accepted_head(tmp_path: Path) -> None:
    text = VALID + '\n[rubric]\non_unmet = "fail"\noutput = "softmax:10"\n'
    assert TaskSpec.from_toml(write_task(tmp_path, text)).rubric.output == (("softmax", 10),)


@pytest.mark.parametrize(
    ("old", "new", "key", "reason"),
    [
        ('on_unmet = "cap"', 'on_unmet = "ignore"', "rubric.on_unmet", "one of cap, fail, warn"),
        ("cap_score = 3\n", "", "rubric.cap_score", "missing"),
        ("cap_score = 3", "cap_score = 5", "rubric.cap_score", "at most 4"),
        ('on_unmet = "cap"', 'on_unmet = "warn"', "rubric.cap_score", "only applies with"),
        ('["Rescaling"]', '"Rescaling"', "rubric.require_layers", "list of layer class names"),
        ('["Rescaling"]', '["rescaling"]', "rubric.require_layers", "list of layer class names"),
        ('["Rescaling"]', "[]", "rubric.require_layers", "list of layer class names"),
        ('[["RandomFlip", "RandomRotation"]]', '["RandomFlip"]', "rubric.require_any", "lists"),
        ('[["RandomFlip", "RandomRotation"]]', "[[]]", "rubric.require_any", "class names"),
        ('base_model = "MobileNetV2"\n', "", "rubric.base_frozen", "needs base_model"),
        ('["sigmoid:1", "linear:1"]', '"sigmoid"', "rubric.output", "activation:units"),
        ('["sigmoid:1", "linear:1"]', '"sigmoid:0"', "rubric.output", "activation:units"),
        ('["sigmoid:1", "linear:1"]', "[]", "rubric.output", "string or a list"),
        ("max_params = 50_000", "max_params = 0", "rubric.max_params", "at least 1"),
        ("max_params = 50_000", "max_param = 50_000", "rubric.max_param", "unknown key"),
    ],
)
def test_broken_rubric_names_file_and_key(
    tmp_path: Path, old: str, new: str, key: str, reason: str
) -> None:
    assert old in RUBRIC
    path = write_task(tmp_path, VALID + RUBRIC.replace(old, new, 1))
    with pytest.raises(SpecError) as caught:
        TaskSpec.from_toml(path)
    assert caught.value.key == key
    assert reason in str(caught.value) and "\n" not in str(caught.value)


def test_a_rubric_with_no_requirement_needs_a_checks_py(tmp_path: Path) -> None:
    path = write_task(tmp_path, VALID + '\n[rubric]\non_unmet = "warn"\n')
    with pytest.raises(SpecError, match="no requirement") as caught:
        TaskSpec.from_toml(path)
    assert caught.value.key == "rubric"
    (path.parent / "checks.py").write_text("def test_x(summary):\n    assert summary\n")
    spec = TaskSpec.from_toml(path)
    assert spec.rubric.requirements == 0 and spec.checks is not None


def test_checks_py_is_read_with_the_task(tmp_path: Path) -> None:
    path = write_task(tmp_path, VALID)
    source = "def test_x(summary):\n    assert summary['n_params'] < 10\n"
    (path.parent / "checks.py").write_text(source)
    spec = TaskSpec.from_toml(path)
    assert spec.checks == source and spec.checks_path == path.parent / "checks.py"


def test_a_checks_py_that_is_a_link_is_refused(tmp_path: Path) -> None:
    """A link could point into a learner's solutions/: only the task's own file runs."""
    path = write_task(tmp_path, VALID)
    elsewhere = tmp_path / "solutions" / "demo01" / "checks.py"
    elsewhere.parent.mkdir(parents=True)
    elsewhere.write_text("def test_x():\n    pass\n")
    (path.parent / "checks.py").symlink_to(elsewhere)
    with pytest.raises(SpecError, match="regular file"):
        TaskSpec.from_toml(path)


BINARY_TASKS = [t for t in task_ids(REPO_TASKS) if load_task(t, REPO_TASKS).model.classes == 2]


@pytest.mark.parametrize("task_id", BINARY_TASKS)
def test_binary_prompt_says_what_a_two_unit_softmax_gets(task_id: str) -> None:
    """The grader reads a 2-unit softmax by argmax; the prompt must say whether the rubric
    accepts it or caps it, so prompt and grader agree."""
    spec = load_task(task_id, REPO_TASKS)
    prompt = spec.prompt_path.read_text(encoding="utf-8")
    assert 'Dense(2, activation="softmax")' in prompt
    heads = spec.rubric.output
    if heads and ("softmax", 2) not in heads:
        assert spec.rubric.on_unmet in ("cap", "fail")
        word = "capped" if spec.rubric.on_unmet == "cap" else "fails"
        assert word in prompt
    else:
        assert "also accepted" in prompt


def test_the_catalogue_has_a_binary_task() -> None:
    assert BINARY_TASKS
