"""Instructor-supplied held-out image folders: fingerprint recorded in task.toml, else refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from grader import datasets
from grader.cli import app
from grader.datasets.folders import read_image_folders
from grader.datasets.heldout import env_var
from grader.errors import ChecksumError, DatasetError, DatasetMissingError, SpecError
from grader.instructors.validate import validate_task
from grader.tasks.spec import TaskSpec, load_task

TOML = """\
id = "held01"
title = "Instructor held-out"
category = 2
time_limit_minutes = 10
version = 1

[dataset]
name = "tiny"
heldout = "test"
heldout_dir = "{folder}"
heldout_sha256 = "{sha}"
{extra}
[model]
input_shape = [8, 8, 3]
input_scale = "0-255"
classes = 2
max_params = 100_000
max_file_mb = 5

[grading]
metric = "accuracy"
threshold = 0.9
score_tiers = [0.5, 0.7, 0.8, 0.9, 0.95]
"""


@pytest.fixture
def instructor_folder(tmp_path: Path) -> Path:
    """Two classes of three 8x8 PNGs each, outside the learner's workspace."""
    root = tmp_path / "instructor" / "heldout"
    rng = np.random.default_rng(0)
    for name in ("circle", "square"):
        (root / name).mkdir(parents=True)
        for n in range(3):
            pixels = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{n}.png")
    return root


def write_task(workspace: Path, folder: Path | str, sha: str, extra: str = "") -> Path:
    task = workspace / "tasks" / "held01"
    task.mkdir(parents=True, exist_ok=True)
    (task / "task.toml").write_text(TOML.format(folder=folder, sha=sha, extra=extra))
    (task / "prompt.md").write_text("Input 8x8x3, pixels 0-255.\n")
    return task / "task.toml"


@pytest.fixture
def recorded_task(workspace: Path, instructor_folder: Path) -> TaskSpec:
    """A task whose task.toml records the folder's current fingerprint."""
    sha = read_image_folders(instructor_folder, size=(8, 8)).sha256
    return TaskSpec.from_toml(write_task(workspace, instructor_folder, sha))


def test_recorded_fingerprint_loads_the_folder(recorded_task: TaskSpec) -> None:
    data = datasets.load_heldout(recorded_task)
    assert data.class_names == ("circle", "square")
    assert data.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert data.images.shape == (6, 8, 8, 3)
    assert data.sha256 == recorded_task.dataset.heldout_sha256


def test_one_changed_pixel_is_refused_with_expected_and_got(
    recorded_task: TaskSpec, instructor_folder: Path
) -> None:
    path = instructor_folder / "square" / "1.png"
    pixels = np.asarray(Image.open(path)).copy()
    pixels[0, 0, 0] ^= 1
    Image.fromarray(pixels).save(path)
    with pytest.raises(ChecksumError) as caught:
        datasets.load_heldout(recorded_task)
    message = str(caught.value)
    assert str(instructor_folder) in message and "\n" not in message
    assert f"expected sha256 {recorded_task.dataset.heldout_sha256}" in message
    assert f"got {read_image_folders(instructor_folder, size=(8, 8)).sha256}" in message


def test_missing_folder_names_it_and_the_variable(workspace: Path, tmp_path: Path) -> None:
    gone = tmp_path / "nowhere"
    spec = TaskSpec.from_toml(write_task(workspace, gone, "0" * 64))
    with pytest.raises(DatasetError) as caught:
        datasets.load_heldout(spec)
    assert not isinstance(caught.value, DatasetMissingError)  # never "download it first"
    assert str(gone) in str(caught.value) and env_var("held01") in str(caught.value)


def test_environment_variable_relocates_the_folder(
    recorded_task: TaskSpec,
    instructor_folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    moved = instructor_folder.rename(tmp_path / "moved")
    with pytest.raises(DatasetError, match="not found"):
        datasets.load_heldout(recorded_task)
    monkeypatch.setenv("GRADER_HELDOUT_DIR_HELD01", str(moved))
    assert datasets.load_heldout(recorded_task).sha256 == recorded_task.dataset.heldout_sha256


def test_relative_folder_starts_at_the_task_folder(
    workspace: Path, instructor_folder: Path
) -> None:
    sha = read_image_folders(instructor_folder, size=(8, 8)).sha256
    spec = TaskSpec.from_toml(write_task(workspace, "../../../instructor/heldout", sha))
    assert len(datasets.load_heldout(spec)) == 6


@pytest.mark.parametrize(
    ("sha", "extra", "key"),
    [
        ("0" * 64, "heldout_fingerprint = 'x'\n", "dataset.heldout_fingerprint"),
        ("abc", "", "dataset.heldout_sha256"),
    ],
)
def test_bad_dataset_keys_are_refused(
    workspace: Path, instructor_folder: Path, sha: str, extra: str, key: str
) -> None:
    with pytest.raises(SpecError, match=key.replace(".", r"\.")):
        TaskSpec.from_toml(write_task(workspace, instructor_folder, sha, extra))


def test_folder_without_fingerprint_is_refused(workspace: Path) -> None:
    path = write_task(workspace, "x", "0" * 64)
    path.write_text(path.read_text().replace('heldout_sha256 = "' + "0" * 64 + '"\n', ""))
    with pytest.raises(SpecError, match=r"dataset\.heldout_sha256.*missing"):
        TaskSpec.from_toml(path)


def test_validate_reports_the_folder_and_refuses_a_changed_one(
    recorded_task: TaskSpec, instructor_folder: Path
) -> None:
    ok = next(c for c in validate_task("held01", fast=True).checks if c.name == "dataset")
    assert ok.status == "ok" and str(instructor_folder) in ok.detail
    (instructor_folder / "square" / "0.png").unlink()
    bad = next(
        c for c in validate_task("held01", fast=True, offline=True).checks if c.name == "dataset"
    )
    assert bad.status == "error" and "expected sha256" in bad.detail


def test_grading_against_a_changed_folder_exits_2(
    recorded_task: TaskSpec, instructor_folder: Path, tmp_path: Path
) -> None:
    (instructor_folder / "circle" / "0.png").unlink()
    model = tmp_path / "model.keras"
    model.write_bytes(b"not checked before the held-out set")
    result = CliRunner().invoke(app, ["held01", "--model", str(model)])
    assert result.exit_code == 2
    assert "expected sha256" in result.output and "Traceback" not in result.output


def test_catalogue_tasks_score_on_their_registry_split(workspace: Path) -> None:
    spec = load_task("tiny01")
    assert spec.dataset.heldout_dir is None
    assert datasets.load_heldout(spec).sha256 == datasets.load("tiny", "test").sha256


@pytest.mark.slow
def test_a_model_is_graded_on_the_instructor_folder(
    workspace: Path,
    tmp_path: Path,
    pixel_model: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from grader.grading.pipeline import grade_file

    root = tmp_path / "exact"
    for label, name in enumerate(("circle", "square")):
        (root / name).mkdir(parents=True)
        for n in range(3):
            pixels = np.zeros((8, 8, 3), dtype=np.uint8)
            pixels[0, 0, label] = 255  # the pixel the model reads: R for circle, G for square
            pixels[4, 4] = 40 * n
            Image.fromarray(pixels).save(root / name / f"{n}.png")
    sha = read_image_folders(root, size=(8, 8)).sha256
    spec = TaskSpec.from_toml(write_task(workspace, root, sha))
    train = read_image_folders(root, size=(8, 8))  # the learner's split: same contract
    monkeypatch.setitem(datasets.DATASETS, "tiny", _Fixed(train))
    result = grade_file(spec, pixel_model(units=2, input_shape=(8, 8, 3)))
    assert result.status == "pass", result.message
    assert result.n_heldout == 6 and result.heldout_sha256 == sha


class _Fixed:
    """A registry source that returns one Dataset for every split."""

    splits = ("train", "test")

    def __init__(self, data: datasets.Dataset) -> None:
        self.name, self.data = "tiny", data

    def load(self, split: str, *, on_progress: object = None) -> datasets.Dataset:
        return self.data
