"""The child half of :mod:`grader.grading.checks`: runs a task's checks.py with pytest.

Started as ``python -I _checks_child.py DIR`` in a process group of its own, which the parent
kills at its time limit. DIR holds ``checks.py`` (the instructor's, copied from the task),
``fixtures.json`` (plain JSON data: the model's config, its static summary, the scored
Result, the task) and an empty ``pytest.ini``, so no configuration or plugin of the machine
changes the run. Every event is appended to ``DIR/events.jsonl`` as it happens, so a run
stopped for time still tells which checks finished. Imports nothing from grader, and never
the model: the checks see data only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

FIXTURES = ("model_config", "summary", "result", "task")


class ChecksPlugin:
    """The fixtures a check asks for by name, and the hooks that record every outcome."""

    def __init__(self, folder: Path) -> None:
        self.raw = (folder / "fixtures.json").read_text(encoding="utf-8")
        self.events = (folder / "events.jsonl").open("a", encoding="utf-8")

    def emit(self, **event: Any) -> None:
        self.events.write(json.dumps(event) + "\n")
        self.events.flush()

    def fresh(self, name: str) -> Any:
        """A new copy per test, so one check changing its data never affects another."""
        return json.loads(self.raw)[name]

    @pytest.fixture
    def model_config(self) -> Any:
        """The model file's config (config.json, or an .h5's model_config), parsed JSON."""
        return self.fresh("model_config")

    @pytest.fixture
    def summary(self) -> Any:
        """The static inspection: format, class_names, n_params, last_activation,
        has_rescaling, output_units and layers (class_name, name, trainable, within)."""
        return self.fresh("summary")

    @pytest.fixture
    def result(self) -> Any:
        """The scored Result record (schema 1) before the rubric's effect."""
        return self.fresh("result")

    @pytest.fixture
    def task(self) -> Any:
        """The task: id, version, classes, input_shape, input_scale, threshold, ..."""
        return self.fresh("task")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.emit(event="collect_error", message=str(report.longrepr))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            doc = getattr(getattr(item, "obj", None), "__doc__", None) or ""
            first = doc.strip().splitlines()[0].strip() if doc.strip() else ""
            self.emit(event="collected", id=item.nodeid, name=item.name, doc=first)
        self.emit(event="collection_done", count=len(session.items))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" or report.outcome != "passed":
            self.emit(
                event="report",
                id=report.nodeid,
                when=report.when,
                outcome=report.outcome,
                message=_message(report),
            )


def _message(report: pytest.TestReport) -> str:
    if report.passed:
        return ""
    longrepr = report.longrepr
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message)
    if isinstance(longrepr, tuple):  # a skip: (path, line, "Skipped: reason")
        return str(longrepr[-1])
    return str(longrepr or "")


def main(folder: Path) -> int:
    plugin = ChecksPlugin(folder)
    args = [
        str(folder / "checks.py"),
        "-c",
        str(folder / "pytest.ini"),
        "--rootdir",
        str(folder),
        "--import-mode=importlib",
        "-p",
        "no:cacheprovider",
        "-q",
        "--no-header",
        "-o",
        "python_functions=test_*",
    ]
    return int(pytest.main(args, plugins=[plugin]))


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
