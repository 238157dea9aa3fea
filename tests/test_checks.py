"""Instructor checks: a task's checks.py run with pytest in a child, one rubric line per test.

Each run starts one Python child with pytest (about a second); no TensorFlow, no model.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from grader.errors import GraderError
from grader.grading.checks import run_checks
from grader.result import RubricLine
from grader.tasks.spec import RubricSpec, TaskSpec

DATA: dict[str, Any] = {
    "model_config": {"class_name": "Sequential", "config": {"layers": []}},
    "summary": {"n_params": 3140, "output_units": 2, "last_activation": "softmax"},
    "result": {"status": "pass", "value": 0.97},
    "task": {"id": "tiny01", "classes": 2},
}

CHECKS = '''\
import pytest


def test_small(summary):
    """The model has under 10,000 parameters."""
    assert summary["n_params"] < 10_000


def test_one_unit(summary, task):
    assert summary["output_units"] == 1, "end in ONE unit: Dense(1, activation='sigmoid')"


def test_config(model_config):
    assert model_config["class_name"] == "Functional"


def test_raises(result):
    result["no such field"]


def test_not_applicable():
    pytest.skip("only for h5 files")


def test_missing_fixture(model):
    pass


def test_changes_its_data(summary):
    summary["n_params"] = 10**9
    print("printed by a check")


def test_sees_fresh_data(summary):
    assert summary["n_params"] == 3140
'''


def task_with(tiny_task: TaskSpec, source: str, on_unmet: str = "cap") -> TaskSpec:
    return replace(tiny_task, checks=source, rubric=RubricSpec(on_unmet, 3, max_params=10**6))


def test_each_test_is_one_line_with_an_actionable_reason(
    tiny_task: TaskSpec, capfd: pytest.CaptureFixture[str]
) -> None:
    lines = run_checks(task_with(tiny_task, CHECKS), DATA)
    assert [(line.name, line.met, line.reason) for line in lines] == [
        ("checks.py: The model has under 10,000 parameters.", True, "passed (test_small)"),
        ("checks.py: test_one_unit", False, "end in ONE unit: Dense(1, activation='sigmoid')"),
        ("checks.py: test_config", False, "assert 'Sequential' == 'Functional'"),
        ("checks.py: test_raises", False, "KeyError: 'no such field'"),
        ("checks.py: test_not_applicable", True, "skipped: only for h5 files"),
        ("checks.py: test_missing_fixture", False, "error in setup: fixture 'model' not found"),
        ("checks.py: test_changes_its_data", True, "passed"),
        ("checks.py: test_sees_fresh_data", True, "passed"),
    ]
    assert {(line.effect, line.source) for line in lines} == {("cap", "checks.py")}
    # pytest's output stays in the child: --json keeps stdout to itself.
    out, err = capfd.readouterr()
    assert "printed by a check" not in out + err and "passed" not in out


def test_a_hanging_check_is_stopped_and_counts_as_not_met(tiny_task: TaskSpec) -> None:
    source = (
        "import time\n\n"
        "def test_quick(summary):\n    assert summary\n\n"
        "def test_hangs():\n    while True:\n        time.sleep(0.1)\n\n"
        "def test_after():\n    pass\n"
    )
    started = time.monotonic()
    lines = run_checks(task_with(tiny_task, source), DATA, timeout_s=3)
    assert time.monotonic() - started < 12
    assert [(line.name, line.met, line.reason) for line in lines] == [
        ("checks.py: test_quick", True, "passed"),
        ("checks.py: test_hangs", False, "did not finish within 3 s"),
        ("checks.py: test_after", False, "did not finish within 3 s"),
    ]


def test_the_machines_pytest_options_do_not_change_the_run(
    tiny_task: TaskSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_ADDOPTS", "--collect-only -x")
    lines = run_checks(task_with(tiny_task, CHECKS), DATA)
    assert len(lines) == 8 and lines[-1].met


@pytest.mark.parametrize(
    ("source", "match"),
    [
        ("def test_x(:\n    pass\n", r"could not be loaded: SyntaxError"),
        ("import no_such_module_anywhere\n", r"could not be loaded: .*no_such_module_anywhere"),
        ("X = 1\n", r"has no test_\* function"),
    ],
)
def test_a_broken_checks_py_is_the_graders_error_not_the_learners(
    tiny_task: TaskSpec, source: str, match: str
) -> None:
    with pytest.raises(GraderError, match=match) as caught:
        run_checks(task_with(tiny_task, source), DATA)
    assert str(tiny_task.folder / "checks.py") in str(caught.value)
    assert "\n" not in str(caught.value)


def test_checks_without_a_rubric_table_only_warn(tiny_task: TaskSpec) -> None:
    task = replace(tiny_task, checks="def test_fails():\n    assert False, 'no'\n")
    assert run_checks(task, DATA) == [
        RubricLine("checks.py: test_fails", False, "no", "warn", "checks.py")
    ]


def test_no_checks_py_runs_nothing(tiny_task: TaskSpec) -> None:
    assert tiny_task.checks is None and run_checks(tiny_task, DATA) == []


def test_checks_receive_plain_data_never_the_model(tiny_task: TaskSpec, tmp_path: Path) -> None:
    source = (
        "import json\n\n"
        "def test_plain(model_config, summary, result, task):\n"
        "    for value in (model_config, summary, result, task):\n"
        "        json.dumps(value)\n"
        "    import sys\n"
        "    assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules\n"
    )
    (line,) = run_checks(task_with(tiny_task, source), DATA)
    assert line.met, line.reason
