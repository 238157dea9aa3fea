"""Instructor checks: a task's ``checks.py``, run with pytest, one rubric line per test.

``tasks/<id>/checks.py`` holds plain ``test_*`` functions that ask for fixtures by name and
assert::

    def test_head_is_one_dense_layer(summary):
        \"\"\"The head is a single Dense layer after the pooling.\"\"\"
        assert summary["layers"][-1]["class_name"] == "Dense", "end in one Dense layer"

The fixtures are plain JSON data, never the model: ``model_config`` (the file's config),
``summary`` (the static inspection), ``result`` (the scored Result record, before the
rubric's effect) and ``task`` (the task's contract). The file belongs to the task (the
instructor), never to a learner: the text is read when the task loads
(:attr:`grader.tasks.spec.TaskSpec.checks`), and a ``checks.py`` beside a learner's model is
never imported (see :mod:`grader.grading.pipeline`).

pytest runs in a child process of the grader (``_checks_child.py``), not in the sandbox: the
code is the instructor's. A process, not a thread, so that the time limit can stop a check
that hangs, and so that pytest's output capture and module cache never touch the grader's
own process (``--json`` keeps stdout to itself; ``grade batch`` runs the same checks many
times). Outcomes become lines: passed (or skipped) is met; a failure, an error, or a check
still unfinished at the time limit is NOT met, so a model built to trip or stall a check
gains nothing. A checks.py that cannot be loaded, or has no test, is the task's fault: a
GraderError (status ``error``), which ``grade validate`` finds first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import suppress
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.errors import GraderError
from grader.result import RubricLine
from grader.sandbox.process import private_dir, wait_and_kill

if TYPE_CHECKING:
    from grader.result import Result
    from grader.sandbox.static_check import ModelSummary
    from grader.tasks.spec import TaskSpec

CHILD = Path(__file__).with_name("_checks_child.py")
TIMEOUT_S = 30.0
"""Wall-clock limit for one run of a task's checks.py (every test together)."""
_MAX_REASON = 240


def fixtures(task: TaskSpec, summary: ModelSummary, result: Result) -> dict[str, Any]:
    """The data the checks receive, as plain JSON-ready values."""
    info = asdict(summary)
    info.pop("config", None)
    return {
        "model_config": summary.config,
        "summary": info,
        "result": result.to_dict(),
        "task": {
            "id": task.id,
            "title": task.title,
            "version": task.version,
            "classes": task.model.classes,
            "input_shape": list(task.model.input_shape),
            "input_scale": task.model.input_scale,
            "max_params": task.model.max_params,
            "metric": task.grading.metric,
            "threshold": task.grading.threshold,
            "score_tiers": list(task.grading.score_tiers),
        },
    }


def run_checks(
    task: TaskSpec, data: dict[str, Any], *, timeout_s: float = TIMEOUT_S
) -> list[RubricLine]:
    """Run ``task``'s checks.py on ``data`` (see :func:`fixtures`); one line per test."""
    if task.checks is None:
        return []
    where = task.checks_path
    with private_dir() as root:
        folder = root / "work"
        (folder / "checks.py").write_text(task.checks, encoding="utf-8")
        (folder / "fixtures.json").write_text(json.dumps(data), encoding="utf-8")
        (folder / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        log = folder / "pytest.log"
        timed_out = _run(folder, log, timeout_s, where)
        events = _events(folder / "events.jsonl")
        tail = _tail(log)
    errors = [e for e in events if e.get("event") == "collect_error"]
    if errors:
        raise GraderError(f"{where} could not be loaded: {_collect_reason(errors[0])}")
    if not any(e.get("event") == "collection_done" for e in events):
        if timed_out:
            raise GraderError(f"{where} did not finish loading within {timeout_s:g} s")
        raise GraderError(f"could not run {where} with pytest: {tail or 'no output'}")
    if not [e for e in events if e.get("event") == "collected"]:
        raise GraderError(f"{where} has no test_* function to run")
    return _lines(task, events, timed_out, timeout_s)


def _run(folder: Path, log: Path, timeout_s: float, where: Path) -> bool:
    """Run the child in its own process group; kill the group either way. True on timeout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env |= {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    with log.open("wb") as out:
        try:
            proc = subprocess.Popen(
                [sys.executable, "-I", str(CHILD), str(folder)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=folder,
                env=env,
                start_new_session=True,
            )
        except OSError as err:
            raise GraderError(f"could not start pytest for {where}: {err}") from None
        timed_out = wait_and_kill(proc, timeout_s)
    return timed_out


def _events(path: Path) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return events
    for raw in text.splitlines():
        with suppress(ValueError):
            event = json.loads(raw)
            if isinstance(event, dict):
                events.append(event)
    return events  # a line torn by the kill is dropped


def _lines(
    task: TaskSpec, events: list[dict[str, Any]], timed_out: bool, timeout_s: float
) -> list[RubricLine]:
    reports: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        if event.get("event") == "report":
            reports.setdefault(str(event.get("id")), []).append(event)
    lines: list[RubricLine] = []
    for item in (e for e in events if e.get("event") == "collected"):
        test, doc = str(item.get("name")), str(item.get("doc") or "")
        got = reports.get(str(item.get("id")), [])
        failed = [r for r in got if r.get("outcome") == "failed"]
        skipped = [r for r in got if r.get("outcome") == "skipped"]
        if failed:
            first = failed[0]
            stage = "" if first.get("when") == "call" else f"error in {first.get('when')}: "
            met, reason = False, stage + _one_line(str(first.get("message", "")))
        elif skipped:
            met, reason = True, "skipped: " + _one_line(str(skipped[0].get("message", "")))
        elif any(r.get("when") == "call" for r in got):
            met, reason = True, f"passed ({test})" if doc else "passed"
        elif timed_out:
            met, reason = False, f"did not finish within {timeout_s:g} s"
        else:
            met, reason = False, "did not run (pytest stopped before it)"
        lines.append(
            RubricLine(
                name=f"checks.py: {doc or test}",
                met=met,
                reason=reason or "failed",
                effect=task.rubric.on_unmet,
                source="checks.py",
            )
        )
    return lines


def _one_line(message: str) -> str:
    """The line of a pytest message that says what went wrong (its first ``E`` line when it
    has them, as for a missing fixture; else its first line), without ``AssertionError:``."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    marked = [line[1:].strip() for line in lines if line.startswith("E ")]
    first = marked[0] if marked else lines[0] if lines else ""
    first = first.removeprefix("AssertionError: ").removeprefix("Skipped: ")
    return first if len(first) <= _MAX_REASON else first[: _MAX_REASON - 1] + "…"


def _collect_reason(event: dict[str, Any]) -> str:
    """The exception pytest reports for a module that fails to import (its last ``E`` line)."""
    lines = [line for line in str(event.get("message", "")).splitlines() if line.strip()]
    marked = [line[1:].strip() for line in lines if line.startswith("E ")]
    last = marked[-1] if marked else lines[-1] if lines else "unknown error"
    return _one_line(last)


def _tail(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return _one_line(lines[-1]) if lines else ""
