"""The ``grade`` command through typer's CliRunner: task ids as commands, exit codes, JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.errors import DatasetMissingError
from grader.practice import gradebook as store
from tests.conftest import ModelFactory, TinySource

runner = CliRunner()


def test_list_shows_the_catalogue(workspace: Path) -> None:
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0
    assert "tiny01" in result.stdout and "Tiny" in result.stdout and "90%" in result.stdout


def test_show_renders_prompt_and_contract(workspace: Path) -> None:
    result = runner.invoke(app, ["show", "tiny01"])
    assert result.exit_code == 0
    assert "Classify the bright pixel" in result.stdout
    assert "(28, 28, 1)" in result.stdout and "0..1" in result.stdout


def test_unknown_task_is_exit_2_with_suggestion(workspace: Path) -> None:
    result = runner.invoke(app, ["tiny1"])
    assert result.exit_code == 2
    assert "Unknown task 'tiny1'. Did you mean: tiny01?" in result.stderr
    assert "Traceback" not in result.output


def test_unknown_task_json_is_one_error_object(workspace: Path) -> None:
    result = runner.invoke(app, ["nope", "--json"])
    assert result.exit_code == 2
    record = json.loads(result.stdout)
    assert record["status"] == "error" and record["schema"] == 1


def test_missing_model_is_exit_1_and_says_how_to_make_one(workspace: Path) -> None:
    result = runner.invoke(app, ["tiny01"])
    assert result.exit_code == 1
    assert "solution.py" in result.stderr and "--model" in result.stderr


def test_broken_task_toml_is_exit_2_naming_file_and_key(workspace: Path) -> None:
    toml = workspace / "tasks" / "tiny01" / "task.toml"
    toml.write_text(toml.read_text().replace("threshold = 0.9", "threshold = 9"))
    result = runner.invoke(app, ["tiny01"])
    assert result.exit_code == 2
    assert "task.toml: grading.threshold: must be at most 1.0" in result.stderr


def test_unknown_dataset_in_task_is_exit_2(workspace: Path, tmp_path: Path) -> None:
    toml = workspace / "tasks" / "tiny01" / "task.toml"
    toml.write_text(toml.read_text().replace('name = "tiny"', 'name = "tinny"'))
    model = tmp_path / "m.keras"
    model.write_bytes(b"x")
    result = runner.invoke(app, ["tiny01", "--model", str(model)])
    assert result.exit_code == 2 and "Unknown dataset 'tinny'" in result.stderr


def test_start_copies_starter_and_never_overwrites(workspace: Path) -> None:
    solution = workspace / "solutions" / "tiny01" / "solution.py"
    first = runner.invoke(app, ["start", "tiny01"])
    assert first.exit_code == 0 and solution.read_text() == "print('starter')\n"
    solution.write_text("my work")
    second = runner.invoke(app, ["start", "tiny01"])
    assert second.exit_code == 0 and "already exists" in second.stderr
    assert solution.read_text() == "my work"


@pytest.mark.slow
def test_grade_task_json_is_one_object_and_exit_0(
    workspace: Path, pixel_model: ModelFactory
) -> None:
    folder = workspace / "solutions" / "tiny01"
    folder.mkdir()
    pixel_model().rename(folder / "model.keras")
    result = runner.invoke(app, ["tiny01", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["status"] == "pass" and record["value"] == 1.0 and record["task"] == "tiny01"


@pytest.mark.slow
def test_grade_failing_model_shows_fail_table(workspace: Path, pixel_model: ModelFactory) -> None:
    result = runner.invoke(app, ["tiny01", "--model", str(pixel_model(permute=(1, 0, 2, 3)))])
    assert result.exit_code == 1
    assert "FAIL" in result.stdout and "-40.00 points" in result.stdout
    assert "zero → one (25)" in result.stdout


def test_terminal_report_lists_the_rubric_with_each_unmet_lines_effect() -> None:
    from grader.report.console import out
    from grader.report.verdict import show_result
    from grader.result import Result, RubricLine

    result = Result(
        task="task06",
        status="fail",
        message="95.00% reaches the 90% pass mark, but the rubric is not met",
        value=0.95,
        threshold=0.9,
        margin=0.05,
        score=3,
        rubric=[
            RubricLine("MobileNetV2 base", False, "no MobileNetV2 base found", "fail"),
            RubricLine("Rescaling layer", True, "1 Rescaling layer found", "fail"),
        ],
    )
    with out.capture() as captured:
        show_result(result, "RPS")
    text = captured.get()
    assert "Rubric" in text
    unmet = next(line for line in text.splitlines() if "MobileNetV2 base" in line)
    met = next(line for line in text.splitlines() if "Rescaling layer" in line)
    assert "✗" in unmet and "no MobileNetV2 base found" in unmet and "fails the task" in unmet
    assert "✓" in met and "1 Rescaling layer found" in met and "fails the task" not in met


def test_help_and_list_do_not_import_tensorflow() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from grader.cli import app\n"
        "r = CliRunner()\n"
        "assert r.invoke(app, ['--help']).exit_code == 0\n"
        "assert r.invoke(app, ['list']).exit_code == 0\n"
        "heavy = [m for m in ('tensorflow', 'keras') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_python_dash_m_grader_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "grader", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and "grade" in done.stdout.lower()


def _one_json_object(stdout: str) -> dict[str, object]:
    """The only thing on stdout must be one JSON object."""
    record, end = json.JSONDecoder().raw_decode(stdout.strip())
    assert stdout.strip()[end:] == "", f"more than one JSON object on stdout: {stdout!r}"
    assert isinstance(record, dict)
    return record


def test_damaged_gradebook_with_json_is_exit_2_and_one_error_object(
    workspace: Path, tmp_path: Path
) -> None:
    """The grading itself works (junk is refused without a child); recording it does not."""
    book = workspace / ".grader" / "gradebook.sqlite"
    book.parent.mkdir()
    book.write_bytes(b"\x13garbage, not an sqlite database" * 64)
    junk = tmp_path / "junk"
    junk.write_bytes(b"junk")
    result = runner.invoke(app, ["tiny01", "--model", str(junk), "--json"])
    assert result.exit_code == 2
    record = _one_json_object(result.stdout)
    assert record["status"] == "error" and record["task"] == "tiny01"
    assert "gradebook" in str(record["message"]) and "junk" in str(record["message"])
    assert "damaged" in result.stderr


def test_unwritable_report_with_json_is_exit_2_and_one_error_object(
    workspace: Path, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.keras"
    junk.write_bytes(b"not a zip")
    page = tmp_path / "no-such-folder" / "report.html"
    result = runner.invoke(app, ["tiny01", "--model", str(junk), "--json", "--report", str(page)])
    assert result.exit_code == 2
    record = _one_json_object(result.stdout)
    assert record["status"] == "error" and "cannot write the report" in str(record["message"])
    assert not page.exists()


def test_no_model_names_the_misplaced_file_and_the_fix(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workspace)
    (workspace / "model.keras").write_bytes(b"m")
    result = runner.invoke(app, ["tiny01"])
    assert result.exit_code == 1
    assert (
        "but found model.keras: move it there (`mv model.keras solutions/tiny01/model.keras`)"
        in result.stderr
    )
    assert "`grade tiny01 --model model.keras`" in result.stderr


def test_show_prints_code_blocks_verbatim_and_unwrapped(workspace: Path) -> None:
    long_line = (
        "train_ds = keras.utils.image_dataset_from_directory(data_dir, image_size=(64, 64), seed=1)"
    )
    prompt = workspace / "tasks" / "tiny01" / "prompt.md"
    prompt.write_text(
        f"# Tiny\n\nLoad it:\n\n```python\n{long_line}\n\nx = 1\n```\n\nThen train.\n"
    )
    result = runner.invoke(app, ["show", "tiny01"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert f"    {long_line}" in lines
    assert "    x = 1" in lines and "Then train." in result.stdout and "Load it:" in result.stdout


def test_gradescope_writes_the_autograder_zip(workspace: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["gradescope", "tiny01", "--out", str(tmp_path / "ag.zip")])
    assert result.exit_code == 0, result.output
    assert "Wrote" in result.stderr and "upload it as the Gradescope autograder" in result.stderr
    import zipfile

    with zipfile.ZipFile(tmp_path / "ag.zip") as zf:
        assert {"setup.sh", "run_autograder", "tasks/tiny01/task.toml"} <= set(zf.namelist())


def test_gradescope_run_on_a_broken_autograder_still_writes_an_error_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOGRADER_ROOT", str(tmp_path))
    result = runner.invoke(app, ["gradescope-run"])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "results" / "results.json").read_text())
    assert record["score"] == 0 and record["extra_data"]["status"] == "error"
    assert "the autograder could not grade (tell your instructor)" in record["output"]


def test_classroom_writes_the_workflow(workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "wf" / "grade.yml"
    result = runner.invoke(app, ["classroom", "tiny01", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "grade tiny01 --json" in out.read_text()


class _Downloadable:
    """A dataset that is not on this machine until it is downloaded (``fetched``)."""

    name = "later"
    splits = ("train", "test")

    def __init__(self) -> None:
        self.fetched = False

    def load(self, split: str, *, on_progress: object = None) -> object:
        from grader.datasets import download

        if not self.fetched:
            download.fetch("https://example.org/later.gz", Path("/nonexistent/later.gz"))
        return TinySource().load(split)


@pytest.fixture
def data_not_here(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> _Downloadable:
    """tiny01 on a dataset that only a download brings (the download itself is faked)."""
    from grader import datasets
    from grader.datasets import download

    source = _Downloadable()
    monkeypatch.setitem(datasets.DATASETS, "later", source)

    def fake_fetch(url: str, dest: Path, **_: object) -> Path:
        if download._OFFLINE.get():
            raise DatasetMissingError(f"{url} is not on this machine (not downloading now)")
        source.fetched = True
        return dest

    monkeypatch.setattr(download, "fetch", fake_fetch)
    toml = workspace / "tasks" / "tiny01" / "task.toml"
    toml.write_text(toml.read_text().replace('name = "tiny"', 'name = "later"'))
    return source


@pytest.mark.usefixtures("no_local_data")
def test_start_without_the_data_says_so_and_starts_no_clock(
    workspace: Path, data_not_here: _Downloadable
) -> None:
    out = runner.invoke(app, ["start", "tiny01"])
    assert out.exit_code == 2, out.output
    assert out.stderr.strip() == (
        "error: tiny01's clock was not started: its data (later) is not on this machine. "
        "Run `grade start tiny01 --download` to fetch it first, or --force to start the clock "
        "anyway."
    )
    assert not store.clock_running("tiny01")
    assert not (workspace / "solutions" / "tiny01" / "solution.py").exists()


@pytest.mark.usefixtures("no_local_data")
def test_start_force_starts_the_clock_with_a_warning(
    workspace: Path, data_not_here: _Downloadable
) -> None:
    out = runner.invoke(app, ["start", "tiny01", "--force"])
    assert out.exit_code == 0, out.output
    assert store.clock_running("tiny01") and "Clock started for tiny01" in out.stdout
    assert (
        "warning: tiny01's clock is running but its data (later) is not on this machine; it "
        "downloads on first use, inside the time limit." in out.stderr
    )


@pytest.mark.usefixtures("no_local_data")
def test_start_download_fetches_the_data_then_starts_the_clock(
    workspace: Path, data_not_here: _Downloadable
) -> None:
    out = runner.invoke(app, ["start", "tiny01", "--download"])
    assert out.exit_code == 0, out.output
    assert data_not_here.fetched and store.clock_running("tiny01")
    assert "warning" not in out.stderr
