"""The Python API: ``check`` grades like ``grade TASK``, Results and tasks draw themselves."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import grader
from grader.errors import GraderError, ModelNotFoundError, UnknownTaskError
from grader.notebook import check, show
from grader.practice import history
from grader.result import ClassScore, Confusion, Result
from tests.conftest import ModelFactory


def _result() -> Result:
    return Result(
        task="tiny01",
        status="fail",
        message="73.33% is below the 90% pass mark",
        value=22 / 30,
        threshold=0.9,
        margin=22 / 30 - 0.9,
        score=2,
        per_class=[ClassScore(0, "zero", 0.8, 10), ClassScore(1, "<one>", 0.6, 10)],
        confusion=[[8, 2], [4, 6]],
        top_confusions=[Confusion("<one>", "zero", 4)],
        hints=["Overfitting: 99.0% on training images but 73.3% held out"],
        notes=["network isolation was unavailable"],
    )


def test_a_result_prints_as_the_terminal_panel(workspace: Path) -> None:
    text = str(_result())
    assert "FAIL" in text and "tiny01  Tiny" in text and "73.33%" in text
    assert "-16.67 points" in text and "★★☆☆☆  2/5" in text
    assert "Most confused: <one> → zero (4)" in text and "hint: Overfitting" in text
    assert "note: network isolation was unavailable" in text and "\x1b[" not in text


def test_a_result_shows_verdict_score_gap_bars_confusions_and_hints_as_html(
    workspace: Path,
) -> None:
    page = _result()._repr_html_()
    assert page is not None and page.startswith("<div class='grader-report'>")
    assert "<span class='badge fail'>FAIL</span> tiny01 Tiny" in page
    assert "73.33% is below the 90% pass mark" in page and "2/5" in page
    assert "-16.67 points" in page
    assert len(re.findall(r'<rect class="bar" data-label="\d"', page)) == 2
    assert "&lt;one&gt; → zero (4)" in page and "<one>" not in page  # escaped
    assert "Overfitting" in page and "note: network isolation" in page
    assert ".grader-report .badge" in page and "body{" not in page  # styles stay scoped


def test_show_renders_the_prompt_and_contract(workspace: Path) -> None:
    (workspace / "tasks" / "tiny01" / "prompt.md").write_text("# Tiny\n\nClassify *it*. <b>x</b>\n")
    page = show("tiny01")
    html = page._repr_html_()
    assert "<h1>Tiny</h1>" in html and "<em>it</em>" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html  # raw HTML in a prompt is shown, not run
    assert "tiny01 contract" in html and "accuracy ≥ 90%" in html and "(28, 28, 1)" in html
    assert "Classify *it*" in str(page) and "accuracy ≥ 90%" in str(page)
    with pytest.raises(UnknownTaskError):
        show("tiny02")


def test_package_exports_check_and_show_lazily() -> None:
    assert grader.check is check and grader.show is show


def test_an_expected_failure_shows_as_one_line_in_ipython(workspace: Path) -> None:
    with pytest.raises(GraderError) as caught:
        check("tiny1", None)
    assert caught.value._render_traceback_() == [
        "UnknownTaskError: Unknown task 'tiny1'. Did you mean: tiny01?"
    ]


def test_a_missing_model_is_explained_in_notebook_words(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workspace)
    with pytest.raises(ModelNotFoundError) as caught:
        check("tiny01")
    message = str(caught.value)
    assert message.endswith("or grade one you name with `check('tiny01', model=model)`.")
    assert "--model" not in message and "--train" not in message and "PATH" not in message
    (workspace / "my.keras").write_bytes(b"m")
    with pytest.raises(ModelNotFoundError) as caught:
        check("tiny01")
    assert str(caught.value).endswith(
        "or grade it where it is with `check('tiny01', model='my.keras')`."
    )


def test_check_refuses_what_is_not_a_model(workspace: Path) -> None:
    with pytest.raises(TypeError, match=r"keras\.Model, a path"):
        check("tiny01", 42)


@pytest.mark.slow
def test_check_grades_an_in_memory_model_and_records_it(
    workspace: Path, pixel_model: ModelFactory, keras_module: Any
) -> None:
    model = keras_module.models.load_model(pixel_model(), compile=False)
    result = check("tiny01", model)
    assert result.passed and result.value == 1.0 and result.score == 5
    assert result.model_path == f"<in-memory model '{model.name}'>"
    assert result.model_sha256 and result.time_used_s is None
    attempts, _ = history.load("tiny01")
    assert [a.result["model_path"] for a in attempts] == [result.model_path]


@pytest.mark.slow
def test_check_finds_the_workspace_model_of_a_named_workspace(
    workspace: Path, pixel_model: ModelFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (workspace / "solutions" / "tiny01").mkdir()
    pixel_model(permute=(1, 0, 2, 3)).rename(workspace / "solutions" / "tiny01" / "model.keras")
    monkeypatch.delenv("GRADER_HOME")
    monkeypatch.chdir(tmp_path)
    result = check("tiny01", workspace=workspace)
    assert result.status == "fail" and result.value == 0.5
    assert result.model_path == str(workspace / "solutions" / "tiny01" / "model.keras")
    assert not (tmp_path / ".grader").exists()
    monkeypatch.setenv("GRADER_HOME", str(workspace))
    assert [a.status for a in history.load("tiny01")[0]] == ["fail"]


def test_a_gradebook_failure_after_grading_raises(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grader.errors import GradebookError
    from grader.practice import attempt as attempt_module

    def broken(result: Result, **_: object) -> Result:
        raise GradebookError("the gradebook is locked by another grade; try again")

    graded = replace(_result(), status="pass")
    monkeypatch.setattr(attempt_module.pipeline, "grade_file", lambda *a, **k: graded)
    monkeypatch.setattr(attempt_module.history, "record", broken)
    model = workspace / "m.keras"
    model.write_bytes(b"x")
    with pytest.raises(GradebookError, match="locked"):
        check("tiny01", model)


_CELLS = (
    "import os\nos.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\nimport keras\n"
    "from grader import check, datasets, show",
    "x, y = datasets.load_arrays('shapes', 'train')\n"
    "model = keras.Sequential([keras.Input((64, 64, 3)), keras.layers.Rescaling(1 / 255),\n"
    "    keras.layers.Conv2D(4, 3, strides=4, activation='relu'),\n"
    "    keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(4, activation='softmax')])\n"
    "model.compile('adam', 'sparse_categorical_crossentropy')\n"
    "model.fit(x[:300], y[:300], epochs=1, verbose=0)",
    "result = check('task04', model)\nresult",
    "print(result)",
    "check('task4', model)",
    "show('task04')",
)


def _kernel_spec(folder: Path) -> str:
    """A kernel that runs this interpreter (the worktree's venv), found through JUPYTER_PATH."""
    import json
    import sys

    spec = folder / "kernels" / "grader-test"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "grader test", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    return "grader-test"


@pytest.mark.slow
def test_a_notebook_trains_checks_and_sees_the_grade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real Jupyter kernel: train a tiny model in memory, check() it on task04 (offline
    shapes), and see the HTML verdict, the printed panel, a one-line error and the task page."""
    import shutil

    import nbformat
    from nbclient import NotebookClient

    repo = Path(__file__).resolve().parents[1]
    ws = tmp_path / "ws"
    shutil.copytree(repo / "tasks" / "task04", ws / "tasks" / "task04")
    for name in ("GRADER_HOME", "GRADER_TASKS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GRADER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    kernel = _kernel_spec(tmp_path / "jupyter")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in _CELLS])
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name=kernel,
        allow_errors=True,
        resources={"metadata": {"path": str(ws)}},  # the kernel's cwd: the workspace
    )
    client.execute()
    outputs = [cell.outputs for cell in notebook.cells]
    assert [o.output_type for o in outputs[1] if o.output_type == "error"] == []

    (shown,) = [o for o in outputs[2] if o.output_type == "execute_result"]
    page = shown.data["text/html"]
    assert page.startswith("<div class='grader-report'>") and "task04" in page
    assert re.search(r"<span class='badge (pass|fail)'>(PASS|FAIL)</span>", page)
    assert "<th>score</th>" in page and "<th>gap</th>" in page and "pass mark" in page
    assert len(re.findall(r'<rect class="bar"', page)) == 4
    assert "Most confused" in page

    printed = "".join(o.text for o in outputs[3] if o.output_type == "stream")
    assert "verdict" in printed and "score" in printed and "task04" in printed

    (error,) = outputs[4]
    assert error.output_type == "error" and error.ename == "UnknownTaskError"
    assert error.traceback == ["UnknownTaskError: Unknown task 'task4'. Did you mean: task04?"]

    (task_page,) = [o for o in outputs[5] if o.output_type == "execute_result"]
    assert "task04 contract" in task_page.data["text/html"]

    monkeypatch.setenv("GRADER_HOME", str(ws))
    (attempt,) = history.load("task04")[0]
    assert attempt.result["model_path"].startswith("<in-memory model ")
