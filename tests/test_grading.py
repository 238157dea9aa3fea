"""The grading pipeline end to end, with real Keras models graded in the sandboxed child."""

from __future__ import annotations

import hashlib
import random
import subprocess
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.errors import ModelNotFoundError
from grader.grading.pipeline import grade_file
from grader.sandbox.process import Limits
from grader.tasks.spec import TaskSpec
from tests.conftest import ModelFactory

pytestmark = pytest.mark.slow


def test_perfect_model_passes_with_full_record(
    tiny_task: TaskSpec, pixel_model: ModelFactory
) -> None:
    path = pixel_model()
    result = grade_file(tiny_task, path)
    assert result.status == "pass", result.message
    assert result.exit_code == 0
    assert result.value == 1.0 and result.score == 5
    assert result.margin == pytest.approx(0.1)
    assert result.n_heldout == 100
    assert [c.support for c in result.per_class] == [25, 25, 25, 25]
    assert result.model_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert result.model_format == "keras" and result.task_version == 3
    assert {"grader", "tensorflow", "keras", "python"} <= set(result.versions)
    assert result.top_confusions == []


def test_wrong_answers_fail_with_the_confusions_named(
    tiny_task: TaskSpec, pixel_model: ModelFactory
) -> None:
    result = grade_file(tiny_task, pixel_model(permute=(0, 1, 2, 0)))
    assert result.status == "fail" and result.exit_code == 1
    assert result.value == 0.75 and result.score == 2
    assert result.margin == pytest.approx(-0.15)
    assert [(c.true, c.predicted, c.count) for c in result.top_confusions] == [
        ("three", "zero", 25)
    ]
    assert "below" in result.message and "-15.00 points" in result.message


def test_same_model_twice_grades_identically(
    tiny_task: TaskSpec, pixel_model: ModelFactory
) -> None:
    path = pixel_model(permute=(0, 1, 1, 3))
    first, second = grade_file(tiny_task, path), grade_file(tiny_task, path)
    assert first.value == second.value == 0.75
    assert first.confusion == second.confusion
    assert first.model_sha256 == second.model_sha256


def test_logits_head_is_read_with_argmax(tiny_task: TaskSpec, pixel_model: ModelFactory) -> None:
    assert grade_file(tiny_task, pixel_model(activation="linear")).status == "pass"


def test_h5_model_is_accepted(tiny_task: TaskSpec, pixel_model: ModelFactory) -> None:
    result = grade_file(tiny_task, pixel_model("model.h5"))
    assert result.status == "pass" and result.model_format == "h5"


def test_wrong_input_shape_says_expected_and_got(
    tiny_task: TaskSpec, pixel_model: ModelFactory
) -> None:
    result = grade_file(tiny_task, pixel_model(input_shape=(32, 32, 3)))
    assert result.status == "invalid" and result.exit_code == 1
    assert "expects input (32, 32, 3); the task feeds (28, 28, 1)" in result.message


def test_wrong_class_count_says_expected_and_got(
    tiny_task: TaskSpec, pixel_model: ModelFactory
) -> None:
    result = grade_file(tiny_task, pixel_model(units=5))
    assert result.status == "invalid"
    assert "outputs 5 values per image; this task needs 4" in result.message


def test_nan_outputs_are_invalid(tiny_task: TaskSpec, pixel_model: ModelFactory) -> None:
    result = grade_file(tiny_task, pixel_model(scale=float("nan")))
    assert result.status == "invalid" and "NaN or inf" in result.message


def test_missing_model_tells_how_to_make_one(tiny_task: TaskSpec, tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"model\.save"):
        grade_file(tiny_task, tmp_path / "nope.keras")


def test_file_that_is_not_a_model_is_invalid(tiny_task: TaskSpec, tmp_path: Path) -> None:
    path = tmp_path / "model.keras"
    path.write_text("hello, I am not a model")
    result = grade_file(tiny_task, path)
    assert result.status == "invalid" and "\n" not in result.message


def test_truncated_keras_file_is_invalid(
    tiny_task: TaskSpec, pixel_model: ModelFactory, tmp_path: Path
) -> None:
    data = pixel_model().read_bytes()
    cut = tmp_path / "cut.keras"
    cut.write_bytes(data[: len(data) // 2])
    result = grade_file(tiny_task, cut)
    assert result.status == "invalid" and result.model_sha256 is not None


def test_savedmodel_directory_says_how_to_save_keras(tiny_task: TaskSpec, tmp_path: Path) -> None:
    folder = tmp_path / "exported"
    folder.mkdir()
    (folder / "saved_model.pb").write_bytes(b"\x08\x01")
    result = grade_file(tiny_task, folder)
    assert result.status == "invalid" and "model.save('model.keras')" in result.message


def test_loader_failure_on_valid_zip_is_invalid(
    tiny_task: TaskSpec, pixel_model: ModelFactory, tmp_path: Path
) -> None:
    """A zip whose config passes inspection but whose weights are gone fails in the child."""
    broken = tmp_path / "noweights.keras"
    with zipfile.ZipFile(pixel_model()) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.infolist():
            if item.filename != "model.weights.h5":
                dst.writestr(item, src.read(item))
    result = grade_file(tiny_task, broken)
    assert result.status == "invalid" and "\n" not in result.message


WALL_S = 1.0
"""A wall clock well under what a child needs to import TensorFlow, load and predict (5 to
10 s on a 2-core runner, 3 s or more on a fast machine)."""
KILL_SLACK_S = 2.0
"""What a stopped grading may take beyond WALL_S: starting the child, killing it, cleaning up.
Far less than the child's own run time, so a grading that waited for its child fails."""


def marked_limits(**kwargs: Any) -> Limits:
    """Limits with a CPU figure no other grading uses: it appears in the worker's argv, so
    ``pgrep`` finds this test's workers and not those of other runs on the machine."""
    return Limits(cpu_s=random.randrange(100_000, 999_999), **kwargs)


def workers_of(limits: Limits) -> list[str]:
    """Processes still running this test's worker (through bubblewrap or not)."""
    pattern = f"_worker.py predict {limits.cpu_s} "
    found = subprocess.run(["pgrep", "-af", pattern], capture_output=True, text=True)
    return [line for line in found.stdout.splitlines() if "pgrep" not in line]


def assert_killed_at_the_wall_clock(elapsed: float, limits: Limits) -> None:
    assert elapsed < limits.wall_s + KILL_SLACK_S, (
        f"took {elapsed:.1f} s with a {limits.wall_s} s limit: the child was waited for, not killed"
    )
    deadline = time.monotonic() + 2
    while workers_of(limits) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert workers_of(limits) == []


def test_timeout_kills_the_child_at_the_wall_clock_and_leaves_no_process(
    tiny_task: TaskSpec, pixel_model: ModelFactory
) -> None:
    path = pixel_model()
    limits = marked_limits(wall_s=WALL_S)
    started = time.monotonic()
    result = grade_file(tiny_task, path, limits=limits)
    elapsed = time.monotonic() - started
    assert result.status == "timeout" and result.exit_code == 1
    assert "longer than 1 s" in result.message
    assert_killed_at_the_wall_clock(elapsed, limits)


@pytest.mark.parametrize("activation", ["sigmoid", "linear"])
def test_single_unit_head_on_a_binary_task(
    tiny_binary_task: TaskSpec, keras_module: Any, tmp_path: Path, activation: str
) -> None:
    """One unit that fires on class 1's bright pixel: sigmoid > 0.5, or logit > 0."""
    keras = keras_module
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(1, activation=activation),
        ]
    )
    kernel = np.zeros((784, 1), np.float32)
    kernel[0, 0], kernel[1, 0] = -10.0, 10.0
    model.layers[-1].set_weights([kernel, np.zeros(1, np.float32)])
    path = tmp_path / "binary.keras"
    model.save(path)
    result = grade_file(tiny_binary_task, path)
    assert result.status == "pass" and result.value == 1.0, result.message


def test_channels_first_model_is_invalid_with_expected_shape(
    tiny_task: TaskSpec, pixel_model: ModelFactory
) -> None:
    result = grade_file(tiny_task, pixel_model(input_shape=(1, 28, 28)))
    assert result.status == "invalid"
    assert "expects input (1, 28, 28); the task feeds (28, 28, 1)" in result.message


def test_refusal_names_the_learners_file_not_the_sandbox_copy(
    tiny_task: TaskSpec, tmp_path: Path
) -> None:
    path = tmp_path / "my_cnn.h5"
    path.write_bytes(b"not hdf5")
    result = grade_file(tiny_task, path)
    assert result.status == "invalid" and "my_cnn.h5" in result.message
