"""Gradescope: the results.json record, and the autograder zip run end to end offline.

The zip is built for a Fashion-MNIST task with a low pass mark, unpacked into a temporary
tree laid out like Gradescope's ``/autograder`` by :mod:`grader.instructors.gradescope_trial`
(what ``grade gradescope-test`` runs: source/, submission/, results/, and the venv setup.sh
would create, here running this test's own grader), and its ``run_autograder`` is run as a
subprocess on passing, failing and hostile submissions. Every results.json is checked
against Gradescope's specification.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import grader
from grader import datasets
from grader.cli import app
from grader.errors import DatasetError
from grader.grading.inputs import TRAIN_SAMPLE, GradingData
from grader.instructors import gradescope, gradescope_trial
from grader.instructors.gradescope import find_submission, results_dict
from grader.instructors.submissions import Submission, grade_submission
from grader.result import ClassScore, Result, RubricLine
from grader.sandbox.process import Limits
from grader.tasks.spec import TaskSpec, load_task

# --- Gradescope's specification (https://gradescope-autograders.readthedocs.io/en/latest/specs/)

TOP_KEYS = {
    "score", "max_score", "execution_time", "output", "output_format", "test_output_format",
    "test_name_format", "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard",
}  # fmt: skip
TEST_KEYS = {
    "score", "max_score", "status", "name", "name_format", "number", "output", "output_format",
    "tags", "visibility", "extra_data",
}  # fmt: skip
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_spec(record: dict[str, Any]) -> None:
    """Fail unless ``record`` has only the specification's fields, with their types."""
    assert set(record) <= TOP_KEYS, set(record) - TOP_KEYS
    assert _number(record["score"]) and _number(record["max_score"])
    assert 0 <= record["score"] <= record["max_score"]
    assert _number(record["execution_time"]) and record["execution_time"] >= 0
    assert isinstance(record["output"], str) and record["output"]
    assert record["visibility"] in VISIBILITIES
    assert record["stdout_visibility"] in VISIBILITIES
    assert isinstance(record["extra_data"], dict)
    assert isinstance(record["tests"], list) and record["tests"]
    for test in record["tests"]:
        assert set(test) <= TEST_KEYS, set(test) - TEST_KEYS
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert _number(test["score"]) and _number(test["max_score"])
        assert 0 <= test["score"] <= max(test["max_score"], 0)
        assert test["status"] in ("passed", "failed")
        assert test.get("visibility", "visible") in VISIBILITIES
    for entry in record["leaderboard"]:
        assert set(entry) == {"name", "value", "order"}
        assert isinstance(entry["name"], str) and _number(entry["value"])
        assert entry["order"] in ("asc", "desc")
    json.dumps(record, allow_nan=False)


# --- the record ----------------------------------------------------------------------------

PER_CLASS = [ClassScore(0, "zero", 1.0, 25), ClassScore(1, "one", 0.5, 25)]
RUBRIC = [
    RubricLine("output layer", True, "1 unit, sigmoid", "cap"),
    RubricLine("checks.py: The head is small", False, "1,570 parameters: keep it under 100",
               "cap", "checks.py"),
]  # fmt: skip


def _result(status: str, score: int = 0, value: float | None = None) -> Result:
    return Result(
        task="tiny01",
        status=status,  # type: ignore[arg-type]
        message=f"{status} message",
        value=value,
        threshold=0.9,
        margin=None if value is None else value - 0.9,
        score=score,
        per_class=PER_CLASS,
        hints=["add a Rescaling layer"],
        elapsed_s=1.5,
    )


def test_a_passing_record_meets_the_spec_and_fails_no_test() -> None:
    record = results_dict(_result("pass", 4, 0.925))
    check_spec(record)
    assert (record["score"], record["max_score"]) == (4, 5)
    assert [t["status"] for t in record["tests"]] == ["passed"]  # per class is not a test
    assert record["leaderboard"] == [{"name": "Accuracy", "value": 92.5, "order": "desc"}]
    output = record["output"]
    assert output.startswith("PASS 4/5: pass message")
    assert "Gap: 2.50 points above the 90% pass mark." in output
    assert "Weakest classes: one 50.00%, zero 100.00%." in output
    assert "Hint: add a Rescaling layer" in output


def test_a_failing_record_fails_its_scored_test() -> None:
    record = results_dict(_result("fail", 2, 0.75))
    check_spec(record)
    main = record["tests"][0]
    assert (main["status"], main["score"], main["max_score"]) == ("failed", 2, 5)
    assert "Gap: 15.00 points below the 90% pass mark." in record["output"]


def test_an_invalid_record_scores_zero_on_the_leaderboard() -> None:
    record = results_dict(replace(_result("invalid"), per_class=[]))
    check_spec(record)
    assert record["score"] == 0 and record["leaderboard"][0]["value"] == 0.0
    assert record["extra_data"]["status"] == "invalid"


def test_each_rubric_line_is_a_test_worth_no_points() -> None:
    record = results_dict(replace(_result("pass", 3, 0.97), rubric=RUBRIC))
    check_spec(record)
    rubric = [t for t in record["tests"] if t["name"].startswith("rubric: ")]
    assert [(t["name"], t["status"], t["score"], t["max_score"], t["output"]) for t in rubric] == [
        ("rubric: output layer", "passed", 0, 0, "1 unit, sigmoid"),
        ("rubric: checks.py: The head is small", "failed", 0, 0,
         "1,570 parameters: keep it under 100 (caps the score)"),
    ]  # fmt: skip


# --- finding the submission ----------------------------------------------------------------


def test_find_submission_takes_the_one_model_anywhere_in_the_tree(tmp_path: Path) -> None:
    (tmp_path / "solutions" / "task01").mkdir(parents=True)
    (tmp_path / "solutions" / "task01" / "model.keras").write_bytes(b"x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "old.keras").write_bytes(b"x")
    assert find_submission(tmp_path).path == tmp_path / "solutions" / "task01" / "model.keras"


def test_find_submission_refuses_none_or_several(tmp_path: Path) -> None:
    empty = find_submission(tmp_path)
    assert empty.path is None and "no model file in the submission" in (empty.problem or "")
    (tmp_path / "a.keras").write_bytes(b"x")
    (tmp_path / "b.h5").write_bytes(b"x")
    several = find_submission(tmp_path)
    assert several.path is None and "a.keras, b.h5" in (several.problem or "")


# --- the autograder, end to end ------------------------------------------------------------


@pytest.fixture(scope="module")
def autograder_zip(fashion_task: TaskSpec, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return gradescope.build(fashion_task, tmp_path_factory.mktemp("zip") / "autograder.zip")


def _run(root: Path) -> tuple[gradescope_trial.Trial, dict[str, Any]]:
    """Run the tree's run_autograder as ``grade gradescope-test`` does; check the record."""
    run = gradescope_trial.run_autograder(root, timeout_s=300)
    check_spec(run.record)
    return run, run.record


@pytest.fixture
def tree(autograder_zip: Path, tmp_path: Path) -> Path:
    return gradescope_trial.unpack(autograder_zip, tmp_path / "autograder")


@pytest.mark.slow
def test_a_passing_submission_scores_with_verdict_gap_and_weakest_classes(
    tree: Path, fashion_task: TaskSpec, fashion_models: dict[str, Path]
) -> None:
    folder = tree / "submission" / "solutions" / "gs01"
    folder.mkdir(parents=True)
    (folder / "model.keras").write_bytes(fashion_models["passing"].read_bytes())
    proc, record = _run(tree)
    assert proc.returncode == 0, proc.stderr
    assert record["extra_data"]["status"] == "pass", record["output"]
    assert record["score"] == 5 and record["max_score"] == 5
    assert [t["status"] for t in record["tests"]] == ["passed"]
    accuracy = record["leaderboard"][0]["value"]
    assert 60 < accuracy < 80
    assert record["output"].startswith(f"PASS 5/5: {accuracy:.2f}% reaches the 50% pass mark")
    assert "Weakest classes: Shirt" in record["output"]
    assert "points above the 50% pass mark" in record["output"]
    assert (
        record["extra_data"]["heldout_sha256"]
        == json.loads((tree / "source" / "manifest.json").read_text())["heldout_sha256"]
    )
    # The zip ships only the training rows grading predicts: the same grade as the full data.
    full = grade_submission(
        fashion_task,
        Submission("direct", fashion_models["passing"]),
        GradingData.load(fashion_task),
        Limits(),
    )
    assert full.train_value is not None
    assert accuracy == round((full.value or 0.0) * 100, 2)
    assert record["extra_data"]["heldout_sha256"] == full.heldout_sha256
    assert f"Training sample: {full.train_value:.2%} vs held-out" in record["output"]


class _Unreachable:
    """Fashion-MNIST where nothing but the autograder's own arrays can be read."""

    name = "fashion_mnist"
    splits = ("train", "test")

    def load(self, split: str, *, on_progress: Any = None) -> Any:
        raise DatasetError(f"fashion_mnist {split} read from outside the autograder")


@pytest.mark.slow
def test_the_zip_alone_gives_the_grading_data_of_the_full_dataset(
    autograder_zip: Path, fashion_task: TaskSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = GradingData.load(fashion_task)
    source = gradescope_trial.unpack(autograder_zip, tmp_path / "autograder") / "source"
    manifest = gradescope.Manifest.read(source)
    for key, value in gradescope.environment(source, manifest).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setitem(datasets.DATASETS, "fashion_mnist", _Unreachable())
    shipped = GradingData.load(load_task("gs01", source / "tasks"))
    assert shipped.sha256 == full.sha256 == manifest.heldout_sha256
    assert np.array_equal(shipped.inputs, full.inputs)
    assert np.array_equal(shipped.labels, full.labels)
    assert shipped.sample is not None and full.sample is not None
    assert len(shipped.sample.indices) == TRAIN_SAMPLE
    assert np.array_equal(shipped.sample.indices, full.sample.indices)
    assert np.array_equal(shipped.sample.inputs, full.sample.inputs)
    assert np.array_equal(shipped.sample.labels, full.sample.labels)


@pytest.mark.slow
def test_a_failing_submission_scores_zero_and_fails_its_test(
    tree: Path, fashion_models: dict[str, Path]
) -> None:
    (tree / "submission" / "model.keras").write_bytes(fashion_models["failing"].read_bytes())
    proc, record = _run(tree)
    assert proc.returncode == 0, proc.stderr
    assert record["extra_data"]["status"] == "fail"
    assert (record["score"], record["leaderboard"][0]["value"]) == (0, 10.0)
    assert record["tests"][0]["status"] == "failed"
    assert "40.00 points below the 50% pass mark" in record["output"]


def _symlink_to_shadow(path: Path) -> None:
    path.symlink_to("/etc/shadow")


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _corrupt(path: Path) -> None:
    path.write_bytes(b"PK\x03\x04 this is not a keras file" * 10)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_symlink_to_shadow, "model.keras is a symbolic link, not a regular file"),
        (_fifo, "model.keras is a named pipe (FIFO), not a regular file"),
        (_corrupt, "invalid model: "),
        (None, "no model file in the submission: upload model.keras"),
    ],
    ids=["symlink-to-shadow", "fifo", "corrupt", "missing"],
)
def test_a_hostile_or_missing_submission_scores_zero_with_the_reason(
    tree: Path, make: Any, reason: str
) -> None:
    if make is not None:
        make(tree / "submission" / "model.keras")
    proc, record = _run(tree)
    assert proc.returncode == 0, proc.stderr
    assert record["extra_data"]["status"] == "invalid"
    assert record["score"] == 0 and record["tests"][0]["status"] == "failed"
    assert reason in record["output"]
    assert "root:" not in json.dumps(record)


@pytest.mark.slow
def test_changed_heldout_data_is_an_error_not_a_grade(
    tree: Path, fashion_models: dict[str, Path]
) -> None:
    manifest = tree / "source" / "manifest.json"
    raw = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**raw, "heldout_sha256": "0" * 64}))
    (tree / "submission" / "model.keras").write_bytes(fashion_models["passing"].read_bytes())
    _, record = _run(tree)
    assert record["extra_data"]["status"] == "error" and record["score"] == 0
    assert "the held-out data is not the data this autograder was built with" in record["output"]


# --- setup.sh: valid, complete, and the installation this test runs --------------------------


@pytest.mark.slow
def test_the_zip_has_the_spec_layout_and_executable_scripts(autograder_zip: Path) -> None:
    with zipfile.ZipFile(autograder_zip) as zf:
        names = set(zf.namelist())
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
    assert {"setup.sh", "run_autograder", "manifest.json", "tasks/gs01/task.toml"} <= names
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755
    # Fashion-MNIST's held-out split ships as arrays (no network needed), and of its training
    # split only the 1,000 rows the overfitting hint predicts (the whole split made 29.6 MB).
    assert "data/arrays/fashion_mnist/test/images.npy" in names
    assert "data/arrays/fashion_mnist/train-sample/images.npy" in names
    assert not any(n.startswith("data/arrays/fashion_mnist/train/") for n in names)
    assert autograder_zip.stat().st_size < 10 * 2**20
    # The zip's README names every file at its top level, and how to try it locally.
    readme = (source := zipfile.Path(autograder_zip)).joinpath("README.md").read_text()
    for entry in source.iterdir():
        if entry.name not in ("README.md", "heldout", "heldout-secret"):
            assert f"`{entry.name}" in readme, entry.name
    assert "grade gradescope-test autograder.zip" in readme


@pytest.mark.slow
def test_setup_sh_is_valid_bash_and_uses_files_in_the_zip(tree: Path) -> None:
    setup = tree / "source" / "setup.sh"
    subprocess.run(["bash", "-n", str(setup)], check=True)
    text = setup.read_text()
    for used in re.findall(r'"\$SOURCE/([^"]+)"', text):
        assert (tree / "source" / used).exists(), used
    # run_autograder runs the grade command of the venv setup.sh creates.
    assert '-m venv "$ROOT/venv"' in text
    assert 'exec "$ROOT/venv/bin/grade" gradescope-run' in (tree / "run_autograder").read_text()


@pytest.mark.slow
def test_setup_sh_installs_what_this_environment_runs(tree: Path) -> None:
    text = (tree / "source" / "setup.sh").read_text()
    pins = dict(re.findall(r'"([A-Za-z0-9_.-]+)==([^"]+)"', text))
    assert pins.pop("tensorflow-cpu") == metadata.version("tensorflow")
    assert "tensorflow" not in pins  # the CPU wheel only
    for name in ("numpy", "keras", "typer", "rich", "h5py", "pillow"):
        assert pins[name] == metadata.version(name), name
    # The grader it installs is byte for byte the package this test imports.
    package = Path(grader.__file__).resolve().parent
    shipped = tree / "source" / "grader-src" / "grader"
    ours = {p.relative_to(package) for p in package.rglob("*.py") if "__pycache__" not in p.parts}
    assert ours == {p.relative_to(shipped) for p in shipped.rglob("*.py")}
    for rel in ours:
        assert (shipped / rel).read_bytes() == (package / rel).read_bytes(), rel
    assert (tree / "source" / "grader-src" / "pyproject.toml").is_file()
    assert sys.version_info >= (3, 11)  # what setup.sh insists on


@pytest.mark.slow
def test_a_generated_private_heldout_set_ships_as_its_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grader import datasets
    from grader.tasks.spec import load_task

    monkeypatch.setenv("GRADER_HOME", str(tmp_path / "instructor"))
    monkeypatch.setenv("GRADER_HELDOUT_SECRET", "the cohort's secret")
    task = load_task("task03", Path(__file__).resolve().parents[1] / "tasks")
    tree = gradescope_trial.unpack(
        gradescope.build(task, tmp_path / "t3.zip"), tmp_path / "autograder"
    )
    source = tree / "source"
    assert (source / "heldout-secret").read_text() == "the cohort's secret\n"
    assert not (source / "data" / "arrays" / "shapes_binary" / "test").exists()
    # On Gradescope, run_autograder's settings regenerate exactly the recorded held-out set.
    manifest = gradescope.Manifest.read(source)
    monkeypatch.delenv("GRADER_HELDOUT_SECRET")
    for key, value in gradescope.environment(source, manifest).items():
        monkeypatch.setenv(key, value)
    assert datasets.load_heldout(task).sha256 == manifest.heldout_sha256


@pytest.mark.parametrize("inside", [False, True], ids=["outside", "inside-the-task-folder"])
def test_an_instructor_heldout_folder_ships_once_with_its_fingerprint(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inside: bool
) -> None:
    import shutil

    from PIL import Image

    from grader.datasets.folders import read_image_folders
    from tests.test_heldout_folders import _Fixed, write_task

    task_folder = workspace / "tasks" / "held01"
    folder = task_folder / "heldout" if inside else tmp_path / "private" / "heldout"
    for label, name in enumerate(("circle", "square")):
        (folder / name).mkdir(parents=True)
        for n in range(3):
            pixels = np.full((8, 8, 3), 40 * n + label, dtype=np.uint8)
            Image.fromarray(pixels).save(folder / name / f"{n}.png")
    recorded = read_image_folders(folder, size=(8, 8))
    task = TaskSpec.from_toml(
        write_task(workspace, "heldout" if inside else folder, recorded.sha256)
    )
    monkeypatch.setitem(datasets.DATASETS, "tiny", _Fixed(recorded))
    built = gradescope.build(task, tmp_path / "held.zip")
    with zipfile.ZipFile(built) as zf:
        pngs = sorted(n for n in zf.namelist() if n.endswith(".png"))
    assert pngs == [f"heldout/held01/{c}/{n}.png" for c in ("circle", "square") for n in range(3)]
    tree = gradescope_trial.unpack(built, tmp_path / "autograder")
    shutil.rmtree(folder)  # Gradescope has only the zip's copy
    source = tree / "source"
    manifest = gradescope.Manifest.read(source)
    assert manifest.heldout_sha256 == recorded.sha256
    for key, value in gradescope.environment(source, manifest).items():
        monkeypatch.setenv(key, value)
    shipped = load_task("held01", source / "tasks")
    assert datasets.load_heldout(shipped).sha256 == recorded.sha256


# --- setup.sh's apt part against a stubbed apt-get --------------------------------------------

APT_GET = """#!/bin/sh
echo "$*" >> "$APT_LOG"
if [ "$1" = update ]; then
    n=$(grep -c '^update' "$APT_LOG")
    [ "$n" -gt "$UPDATE_FAILS" ] || exit 100
fi
[ "$1" != install ] || exit "$INSTALL_CODE"
"""


def _apt_part(task: TaskSpec) -> str:
    text = gradescope.scripts(task)["setup.sh"]
    subprocess.run(["bash", "-n"], input=text, text=True, check=True)
    start = text.index("# --- system packages (apt) ---")
    return "set -euo pipefail\n" + text[start : text.index("# --- end of system packages ---")]


@pytest.mark.parametrize(
    ("update_fails", "install_code", "code", "updates"),
    [(0, 0, 0, 1), (1, 0, 0, 2), (9, 0, 0, 3), (0, 100, 100, 1)],
    ids=["update-ok", "update-flaky", "update-down", "install-fails"],
)
def test_setup_sh_installs_even_when_apt_get_update_fails(
    tiny_task: TaskSpec,
    tmp_path: Path,
    update_fails: int,
    install_code: int,
    code: int,
    updates: int,
) -> None:
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for name, body in (("apt-get", APT_GET), ("sleep", "#!/bin/sh\nexit 0\n")):
        (stubs / name).write_text(body)
        (stubs / name).chmod(0o755)
    log = tmp_path / "apt.log"
    log.touch()
    env = {
        "PATH": f"{stubs}:{os.environ['PATH']}",
        "APT_LOG": str(log),
        "UPDATE_FAILS": str(update_fails),
        "INSTALL_CODE": str(install_code),
    }
    proc = subprocess.run(
        ["bash", "-c", _apt_part(tiny_task)], env=env, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == code, proc.stderr
    calls = log.read_text().splitlines()
    assert calls[:-1] == ["update"] * updates
    assert calls[-1].startswith("install -y --no-install-recommends bubblewrap libseccomp2")


def test_the_readme_says_how_to_test_locally_and_pin_the_secret(tiny_task: TaskSpec) -> None:
    readme = gradescope.scripts(tiny_task)["README.md"]
    assert readme.startswith("# Gradescope autograder for tiny01")
    assert "grade gradescope-test autograder.zip path/to/model.keras" in readme
    assert "does not run `setup.sh`" in readme
    assert "GRADER_HELDOUT_SECRET_FILE" in readme


# --- grade gradescope-test: the zip run on this machine as Gradescope runs it -----------------

runner = CliRunner()


@pytest.mark.slow
@pytest.mark.parametrize("model", ["passing", "failing"])
def test_gradescope_test_shows_what_the_student_will_see(
    autograder_zip: Path, fashion_models: dict[str, Path], tmp_path: Path, model: str
) -> None:
    submission = fashion_models[model]
    if model == "failing":  # a repository upload: the model deep in a folder, a .git beside
        submission = tmp_path / "repo"
        (submission / ".git").mkdir(parents=True)
        (submission / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
        (submission / "solutions" / "gs01").mkdir(parents=True)
        (submission / "solutions" / "gs01" / "model.keras").write_bytes(
            fashion_models["failing"].read_bytes()
        )
    result = runner.invoke(app, ["gradescope-test", str(autograder_zip), str(submission)])
    assert result.exit_code == 0, result.output
    shown = " ".join(result.stdout.split())  # rich wraps the table to the terminal
    if model == "passing":
        assert "Score: 5/5" in shown and "PASS 5/5: " in shown
        assert "Weakest classes: Shirt" in shown and "Training sample: " in shown
        assert "passed gs01: held-out accuracy reaches the pass mark (5/5)" in shown
    else:
        assert "Score: 0/5" in shown and "FAIL 0/5: 10.00%" in shown
        assert "40.00 points below the 50% pass mark" in shown
        assert "failed gs01: held-out accuracy reaches the pass mark (0/5)" in shown
    assert "Leaderboard: Accuracy" in shown
    assert "differs" not in result.stderr  # the zip ships the grader that ran it


def _zip(path: Path, files: dict[str, str], *, executable: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o755 if name in executable else 0o644) << 16
            zf.writestr(info, text)
    return path


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda p: _zip(p, {"hello.txt": "hi"}), "is not a Gradescope autograder (no "
         "run_autograder or manifest.json at its top level); build one with `grade gradescope"),
        (lambda p: p.write_bytes(b"not a zip"), "is not a zip file; build one with"),
        (lambda p: None, "no file at"),
        (lambda p: _zip(p, {"run_autograder": "#!/bin/sh\necho broken >&2\nexit 3\n",
                            "manifest.json": "{}"}, executable=("run_autograder",)),
         "run_autograder wrote no results/results.json (run_autograder exited 3: broken)"),
        (lambda p: _zip(p, {"run_autograder": '#!/bin/sh\necho \'{"output": "hi"}\' > '
                            '"$AUTOGRADER_ROOT/results/results.json"\n', "manifest.json": "{}"}),
         "results/results.json has no numeric score and no scored tests"),
    ],
    ids=["not-an-autograder", "not-a-zip", "missing", "writes-no-results", "no-score"],
)  # fmt: skip
def test_gradescope_test_refuses_a_zip_it_cannot_run_in_one_line(
    tmp_path: Path, make: Any, said: str
) -> None:
    zip_path = tmp_path / "autograder.zip"
    make(zip_path)
    (tmp_path / "model.keras").write_bytes(b"x")
    result = runner.invoke(app, ["gradescope-test", str(zip_path), str(tmp_path / "model.keras")])
    assert result.exit_code == 2, result.output
    assert said in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output and not result.stdout


def test_gradescope_test_refuses_a_submission_it_cannot_copy(tmp_path: Path) -> None:
    zip_path = _zip(tmp_path / "a.zip", {"run_autograder": "", "manifest.json": "{}"})
    (tmp_path / "model.keras").symlink_to("/etc/shadow")
    for submission, said in [
        ("model.keras", "cannot copy the submission: model.keras is a symbolic link"),
        ("absent.keras", "no submission at"),
    ]:
        result = runner.invoke(app, ["gradescope-test", str(zip_path), str(tmp_path / submission)])
        assert result.exit_code == 2 and said in result.stderr, result.output


def test_a_submission_folder_is_copied_without_following_links(tmp_path: Path) -> None:
    folder = tmp_path / "upload"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "model.keras").write_bytes(b"model")
    (folder / ".hidden").write_text("kept")
    (folder / "shadow.keras").symlink_to("/etc/shadow")
    (folder / "outside").symlink_to(tmp_path)
    os.mkfifo(folder / "pipe")
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    left_out = gradescope_trial.add_submission(root, folder)
    copied = root / "submission"
    assert (copied / "sub" / "model.keras").read_bytes() == b"model"
    assert (copied / ".hidden").read_text() == "kept"
    assert os.readlink(copied / "shadow.keras") == "/etc/shadow"
    assert os.readlink(copied / "outside") == str(tmp_path)
    assert left_out == ["not copied into the submission: pipe (a named pipe (FIFO))"]


def test_gradescope_test_says_when_the_zip_ships_another_grader(
    tiny_task: TaskSpec, tmp_path: Path
) -> None:
    root = gradescope_trial.unpack(gradescope.build(tiny_task, tmp_path / "a.zip"), tmp_path / "t")
    assert not gradescope_trial.shipped_grader_differs(root)
    shipped = root / "source" / "grader-src" / "grader" / "result.py"
    shipped.write_text(shipped.read_text() + "# changed since\n")
    assert gradescope_trial.shipped_grader_differs(root)


def test_a_shipped_training_sample_is_used_only_if_it_is_the_seeded_one(
    tiny_task: TaskSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grader.datasets import exported
    from grader.grading import inputs

    whole = datasets.load("tiny", "train")
    marked = replace(whole, images=whole.images // 2)  # tells the shipped rows from the real
    monkeypatch.setenv(exported.ARRAYS_ENV, str(tmp_path))
    seeded = inputs.sample_indices(len(whole), 10)
    exported.export_sample(marked, seeded, "tiny", "train", tmp_path)
    sample = inputs.train_sample(tiny_task, size=10)
    assert sample is not None and np.array_equal(sample.indices, seeded)
    assert np.array_equal(
        sample.inputs, inputs.prepare_inputs(marked.images[seeded], tiny_task.model)
    )
    other = np.arange(10)  # not the rows the seed picks: the whole split is read instead
    exported.export_sample(marked, other, "tiny", "train", tmp_path)
    sample = inputs.train_sample(tiny_task, size=10)
    assert sample is not None and np.array_equal(sample.indices, seeded)
    assert np.array_equal(
        sample.inputs, inputs.prepare_inputs(whole.images[seeded], tiny_task.model)
    )


def test_gradescope_test_help_says_setup_sh_is_not_run() -> None:
    result = runner.invoke(app, ["gradescope-test", "--help"])
    assert result.exit_code == 0
    assert "setup.sh is NOT run" in " ".join(result.output.split())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("d[/e].keras", "e].keras"),
        (
            "a\x1b]52;c;SGVsbG8=\x07\x1b[2J\u202eb.keras",
            "a\\x1b]52;c;SGVsbG8=\\x07\\x1b[2J\\u202eb",
        ),
    ],
    ids=["markup", "escapes"],
)
def test_a_hostile_file_name_is_graded_and_shown_escaped(tree: Path, name: str, shown: str) -> None:
    model = tree / "submission" / name
    model.parent.mkdir(parents=True, exist_ok=True)
    model.write_bytes(b"PK\x03\x04 this is not a keras file" * 10)
    proc, record = _run(tree)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert record["extra_data"]["status"] == "invalid"
    assert shown in record["output"] and shown in proc.stdout
    seen = proc.stdout + proc.stderr + json.dumps(record, ensure_ascii=False)
    assert "\x1b" not in seen and "\\u001b" not in seen and "\u202e" not in seen
