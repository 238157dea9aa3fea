"""``grade TASK --train``: the solution runs sandboxed; only the model it saves counts."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.errors import SubmissionError, SubmissionTimeout
from grader.grading.training import train
from grader.instructors.validate import validate_task
from grader.sandbox.confine import isolation
from grader.sandbox.process import Limits
from grader.tasks.spec import TaskSpec
from tests.conftest import Server

pytestmark = pytest.mark.slow
runner = CliRunner()

SAVE_PIXEL_MODEL = """
import sys
from pathlib import Path
import numpy as np
import keras

def solution_model():
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(4, activation="softmax")])
    kernel = np.zeros((784, 4), np.float32)
    for cls, answer in enumerate({order}):
        kernel[cls, answer] = 10.0
    model.layers[-1].set_weights([kernel, np.zeros(4, np.float32)])
    return model

if __name__ == "__main__":
    print("PASS 100% (this line means nothing to the grader)")
    model = solution_model()
    model.save(Path(__file__).with_name("model.keras"))
"""


def write_solution(workspace: Path, source: str) -> Path:
    folder = workspace / "solutions" / "tiny01"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "solution.py").write_text(source)
    return folder


def test_train_then_grade_passes_and_keeps_the_model(workspace: Path) -> None:
    folder = write_solution(workspace, SAVE_PIXEL_MODEL.format(order=(0, 1, 2, 3)))
    result = runner.invoke(app, ["tiny01", "--train", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "pass"
    assert "this line means nothing" in result.stderr
    assert (folder / "model.keras").is_file()


def test_solution_that_saves_nothing_is_invalid(workspace: Path) -> None:
    write_solution(workspace, "print('PASS')\n")
    result = runner.invoke(app, ["tiny01", "--train"])
    assert result.exit_code == 1
    assert "finished without saving a model" in result.stderr


def test_crashing_solution_reports_its_last_line(workspace: Path) -> None:
    write_solution(workspace, "raise ValueError('boom: shapes do not match')\n")
    result = runner.invoke(app, ["tiny01", "--train", "--json"])
    assert result.exit_code == 1
    record = json.loads(result.stdout)
    assert record["status"] == "invalid" and "boom: shapes do not match" in record["message"]
    assert "Traceback" not in result.stderr.splitlines()[-1]


def test_hanging_solution_times_out(workspace: Path, tiny_task: TaskSpec) -> None:
    write_solution(workspace, "import time\ntime.sleep(120)\n")
    with pytest.raises(SubmissionTimeout, match="time limit"):
        train(tiny_task, limits=Limits(wall_s=2))


def test_a_solution_filling_its_folder_is_stopped_with_one_line(
    workspace: Path, tiny_task: TaskSpec
) -> None:
    """Many small files past the disk share: stopped early, the reason says so."""
    write_solution(
        workspace,
        "import os, time\n"
        "for i in range(100000):\n"
        "    with open(f'f{i}', 'wb') as out:\n"
        "        out.write(os.urandom(16384))\n"
        "time.sleep(60)\n",
    )
    started = time.monotonic()
    with pytest.raises(SubmissionError) as caught:
        train(tiny_task, limits=Limits(wall_s=60, disk_mb=16))
    assert str(caught.value).startswith("solution.py wrote more than 16 MB to its folder")
    assert time.monotonic() - started < 30


def test_missing_solution_points_to_grade_start(workspace: Path) -> None:
    result = runner.invoke(app, ["tiny01", "--train"])
    assert result.exit_code == 1 and "grade start tiny01" in result.stderr


def test_train_and_model_together_is_a_usage_error(workspace: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["tiny01", "--train", "--model", str(tmp_path / "m.keras")])
    assert result.exit_code == 2


FETCH_THEN_SAVE = (
    "import urllib.request\nprint(urllib.request.urlopen({url!r}, timeout=10).read().decode())\n"
) + SAVE_PIXEL_MODEL.format(order=(0, 1, 2, 3))


@pytest.mark.parametrize("network", [True, False])
def test_validate_runs_the_reference_with_the_tasks_network_setting(
    workspace: Path, server: Server, network: bool
) -> None:
    """validate and --train share run_solution: a task that may download gets the network
    in validate too (validate's own copy of the runner once dropped it)."""
    (server.root / "weights.txt").write_text("weights served")
    folder = workspace / "tasks" / "tiny01"
    toml = folder / "task.toml"
    toml.write_text(toml.read_text() + f"\n[training]\nnetwork = {str(network).lower()}\n")
    (folder / "reference.py").write_text(FETCH_THEN_SAVE.format(url=server.url + "weights.txt"))
    (folder / "prompt.md").write_text("Input (28, 28, 1), pixels 0-1.\n")
    report = validate_task("tiny01", runs=1)
    check = next(c for c in report.checks if c.name == "reference passes")
    if network:
        assert check.status == "ok", check.detail
    elif isolation().network_isolated:
        assert check.status == "fail" and "URLError" in check.detail


LOUD_SOLUTION = SAVE_PIXEL_MODEL.replace(
    'print("PASS 100% (this line means nothing to the grader)")',
    'print("title \\x1b]0;owned\\x07 clip \\x1b]52;c;SGVsbG8=\\x07 clear \\x1b[2J \\u202eend")',
).replace(
    'model.save(Path(__file__).with_name("model.keras"))',
    'target = Path(__file__).with_name("model.keras")\n'
    "    model.save(target)\n"
    '    print(f"saved {{target}}")',
)


def test_train_streams_the_learners_lines_escaped_without_tf_noise_or_private_paths(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workspace)
    write_solution(workspace, LOUD_SOLUTION.format(order=(0, 1, 2, 3)))
    result = runner.invoke(app, ["tiny01", "--train"])
    assert result.exit_code == 0, result.output
    streamed = result.stderr
    assert "\x1b" not in streamed and "\x07" not in streamed and "\u202e" not in streamed
    assert "title \\x1b]0;owned\\x07 clip \\x1b]52;c;SGVsbG8=\\x07 clear \\x1b[2J" in streamed
    assert "\\u202eend" in streamed
    assert "│ saved solutions/tiny01/model.keras" in streamed
    assert "/tmp/grader-" not in streamed and "<sandbox>" not in streamed
    for noise in ("absl::InitializeLog", "cudart_stub", "oneDNN", "port.cc"):
        assert noise not in streamed
