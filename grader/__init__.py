"""grader: an exam-practice grading harness for TensorFlow/Keras image classifiers.

Importing this package never imports TensorFlow; only the sandboxed worker does.
"""

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
from grader.results import ClassScore, Confusion, Result
from grader.tasks import TaskSpec, load_task

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
    "load_task",
]
