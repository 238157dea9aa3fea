"""Every real task: the starter must fail and the reference must pass with margin.

These train real models on the real data (a few CPU minutes for the whole catalogue).
"""

from __future__ import annotations

import io
import pickle
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from grader import datasets
from grader.errors import DatasetMissingError, SubmissionError
from grader.grading.pipeline import grade_file
from grader.grading.training import run_solution
from grader.result import Result
from grader.tasks.spec import TaskSpec, load_task, task_ids

REPO_TASKS = Path(__file__).resolve().parents[1] / "tasks"
MARGIN = 0.005
"""The reference must clear the pass mark by at least half a point."""

pytestmark = pytest.mark.slow


def train(spec: TaskSpec, script: Path, out: Path) -> Path:
    """Train ``script`` exactly as ``grade TASK --train`` runs a solution: sandboxed, with
    only the splits it may use, so a reference that needs more than the sandbox gives fails."""
    lines: list[str] = []
    try:
        return run_solution(spec, script, out, on_output=lines.append)
    except SubmissionError as err:
        pytest.fail(f"{script.name}: {err}\n" + "\n".join(lines[-30:]))


def train_plainly(script: Path, out: Path) -> Path:
    """Run ``script`` as a plain process: for stand-in data and stand-in pretrained weights
    placed in this process's environment, which the sandbox (rightly) does not pass on."""
    done = subprocess.run(
        [sys.executable, str(script), str(out)], capture_output=True, text=True, timeout=1200
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert out.is_file()
    return out


def require_data(spec: TaskSpec) -> None:
    """Skip a download-based task whose data is not on this machine (no network here)."""
    try:
        datasets.load_heldout(spec)
    except DatasetMissingError as err:
        pytest.skip(f"{spec.id}: {err}")


def has_rubric(spec: TaskSpec) -> bool:
    return bool(spec.rubric.requirements) or spec.checks is not None


def assert_rubric(spec: TaskSpec, result: Result, *, met: bool) -> None:
    """The reference meets every rubric line; the starter misses at least one."""
    if not has_rubric(spec):
        assert result.rubric == []
        return
    assert result.rubric, result.message
    unmet = [f"{line.name}: {line.reason}" for line in result.rubric_unmet]
    if met:
        assert not unmet, unmet
    else:
        assert unmet, f"{spec.id}'s starter meets every rubric line"


@pytest.mark.parametrize("task_id", task_ids(REPO_TASKS))
def test_starter_fails(task_id: str, tmp_path: Path) -> None:
    spec = load_task(task_id, REPO_TASKS)
    require_data(spec)
    result = grade_file(spec, train(spec, spec.starter_path, tmp_path))
    assert result.status == "fail", result.message
    assert_rubric(spec, result, met=False)


@pytest.mark.parametrize("task_id", task_ids(REPO_TASKS))
def test_reference_passes_with_margin(task_id: str, tmp_path: Path) -> None:
    spec = load_task(task_id, REPO_TASKS)
    require_data(spec)
    result = grade_file(spec, train(spec, spec.reference_path, tmp_path))
    assert result.status == "pass", result.message
    assert result.margin is not None and result.margin >= MARGIN, result.message
    assert_rubric(spec, result, met=True)


# --- download-based tasks, on stand-in data in the upstream formats ------------------------


def _png(value: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), (value, 255 - value, (7 * value) % 256)).save(buffer, "PNG")
    return buffer.getvalue()


def _mnist_npz(folder: Path) -> None:
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", 60), ("test", 20)):
        arrays[f"x_{split}"] = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        arrays[f"y_{split}"] = (np.arange(n) % 10).astype(np.uint8)
    np.savez_compressed(folder / "mnist.npz", **arrays)


def _cifar_tarball(folder: Path) -> None:
    rng = np.random.default_rng(0)

    def batch(n: int) -> bytes:
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        return pickle.dumps({b"data": data, b"labels": [i % 10 for i in range(n)]}, protocol=2)

    members = {f"cifar-10-batches-py/data_batch_{i}": batch(12) for i in range(1, 6)}
    members["cifar-10-batches-py/test_batch"] = batch(20)
    with tarfile.open(folder / "cifar-10-python.tar.gz", "w:gz") as tar:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))


def _rps_zips(folder: Path) -> None:
    splits = (("rps.zip", "rps", 12), ("rps-test-set.zip", "rps-test-set", 4))
    for filename, top, per_class in splits:
        with zipfile.ZipFile(folder / filename, "w") as zf:
            for c, name in enumerate(("paper", "rock", "scissors")):
                for n in range(per_class):
                    zf.writestr(f"{top}/{name}/{n}.png", _png(80 * c + n))


def _mobilenet_v2_stand_in(keras_home: Path) -> None:
    """Random weights where Keras caches MobileNetV2's ImageNet ones (no network here)."""
    import keras

    models = keras_home / "models"
    models.mkdir(parents=True)
    base = keras.applications.MobileNetV2(
        input_shape=(160, 160, 3), include_top=False, weights=None
    )
    base.save(models / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_160_no_top.h5")


STAND_INS = {"mnist": _mnist_npz, "cifar10": _cifar_tarball, "rock_paper_scissors": _rps_zips}
"""Dataset -> writes a small file in its exact upstream format into a folder."""


def download_task_ids() -> list[str]:
    specs = (load_task(task_id, REPO_TASKS) for task_id in task_ids(REPO_TASKS))
    return [spec.id for spec in specs if spec.dataset.name in STAND_INS]


@pytest.mark.parametrize("task_id", download_task_ids())
def test_download_task_scripts_run_on_stand_in_data(
    task_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without network the real data is out of reach, but every script must still run:
    load its data, train, save a model the inspector accepts, and be scored."""
    spec = load_task(task_id, REPO_TASKS)
    data, keras_home = tmp_path / "data", tmp_path / "keras"
    data.mkdir()
    STAND_INS[spec.dataset.name](data)
    env = {"GRADER_DATA": str(data), "GRADER_CACHE": str(tmp_path / "cache")}
    env |= {"KERAS_HOME": str(keras_home), "HOME": str(tmp_path / "home")}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    if spec.training_network:
        _mobilenet_v2_stand_in(keras_home)
    for script in (spec.starter_path, spec.reference_path):
        result = grade_file(spec, train_plainly(script, tmp_path / f"{script.stem}.keras"))
        assert result.status in ("pass", "fail"), result.message
        assert result.value is not None and result.per_class
        # The rubric reads the model's structure, which stand-in data does not change.
        assert_rubric(spec, result, met=script == spec.reference_path)
