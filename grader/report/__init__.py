"""Everything the user sees: this package is the only place that imports rich.

Results go to stdout; errors, progress and notes go to stderr, so ``--json`` output stays one
clean object. One module per audience: ``console`` (consoles, one-line messages, download
progress), ``result`` (a grade), ``catalogue`` (list, show, start), ``practice`` (clocks,
history, exam), ``instructor`` (batch, validate, new) and ``html`` (the visual report).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.report.catalogue import (
        show_catalogue,
        show_started,
        show_task,
    )
    from grader.report.console import (
        child_line,
        download_progress,
        err,
        error,
        info,
        note,
        out,
        print_json,
    )
    from grader.report.html import html_report
    from grader.report.instructor import (
        batch_progress,
        show_batch,
        show_scaffold,
        show_validation,
    )
    from grader.report.practice import (
        catalogue_json,
        exam_json,
        history_json,
        show_clock_started,
        show_exam,
        show_history,
        show_session,
        show_status,
        sparkline,
        status_json,
    )
    from grader.report.result import show_result

# Loaded on first use, so `grade list` pays only for the views it prints (start-up budget).
_WHERE = {
    "batch_progress": "instructor",
    "catalogue_json": "practice",
    "child_line": "console",
    "download_progress": "console",
    "err": "console",
    "error": "console",
    "exam_json": "practice",
    "history_json": "practice",
    "html_report": "html",
    "info": "console",
    "note": "console",
    "out": "console",
    "print_json": "console",
    "show_batch": "instructor",
    "show_catalogue": "catalogue",
    "show_clock_started": "practice",
    "show_exam": "practice",
    "show_history": "practice",
    "show_result": "result",
    "show_scaffold": "instructor",
    "show_session": "practice",
    "show_started": "catalogue",
    "show_status": "practice",
    "show_task": "catalogue",
    "show_validation": "instructor",
    "sparkline": "practice",
    "status_json": "practice",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'grader.report' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"grader.report.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "batch_progress",
    "catalogue_json",
    "child_line",
    "download_progress",
    "err",
    "error",
    "exam_json",
    "history_json",
    "html_report",
    "info",
    "note",
    "out",
    "print_json",
    "show_batch",
    "show_catalogue",
    "show_clock_started",
    "show_exam",
    "show_history",
    "show_result",
    "show_scaffold",
    "show_session",
    "show_started",
    "show_status",
    "show_task",
    "show_validation",
    "sparkline",
    "status_json",
]
