"""grader: an exam-practice grading harness for TensorFlow/Keras image classifiers.

Importing this package never imports TensorFlow; only the sandboxed worker does. In a notebook,
``from grader import check`` grades a model as ``grade TASK`` does (see :mod:`grader.notebook`).
"""

from typing import TYPE_CHECKING, Any

from grader.errors import (
    ChecksumError,
    DatasetError,
    DatasetMissingError,
    GradebookError,
    GraderError,
    InvalidModelError,
    ModelNotFoundError,
    SandboxError,
    SpecError,
    SubmissionError,
    SubmissionTimeout,
    UnknownTaskError,
    WorkspaceError,
)

if TYPE_CHECKING:
    from grader.notebook import check, show
    from grader.result import ClassScore, Confusion, Result
    from grader.tasks.spec import TaskSpec, load_task

# Loaded on first use: every `grade` command imports this package, and start-up has a budget.
_LAZY = {
    "ClassScore": "grader.result",
    "Confusion": "grader.result",
    "Result": "grader.result",
    "check": "grader.notebook",
    "show": "grader.notebook",
    "TaskSpec": "grader.tasks.spec",
    "load_task": "grader.tasks.spec",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name not in _LAZY:
        raise AttributeError(f"module 'grader' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "ChecksumError",
    "ClassScore",
    "Confusion",
    "DatasetError",
    "DatasetMissingError",
    "GradebookError",
    "GraderError",
    "InvalidModelError",
    "ModelNotFoundError",
    "Result",
    "SandboxError",
    "SpecError",
    "SubmissionError",
    "SubmissionTimeout",
    "TaskSpec",
    "UnknownTaskError",
    "WorkspaceError",
    "check",
    "load_task",
    "show",
]
