"""The grader's exceptions: one tree, raised by the core, turned into exit codes by the CLI.

::

    GraderError                  the grader could not grade (exit 2)
    ├── SpecError                a task.toml is broken (names file and key)
    ├── UnknownTaskError         no such task (suggests close ids)
    ├── DatasetError             data could not be loaded
    │   ├── DatasetMissingError  not on disk and not downloadable
    │   └── ChecksumError        bytes differ from the recorded sha256
    ├── WorkspaceError           solutions/ or tasks/ not usable
    │   └── GradebookError       .grader/gradebook.sqlite corrupt, locked or too new
    ├── SandboxError             the child process could not be started
    └── SubmissionError          the learner's submission is unusable (exit 1)
        ├── ModelNotFoundError   no model file where one was expected
        ├── InvalidModelError    refused by the inspector or the loader
        └── SubmissionTimeout    solution.py ran past the task's time limit

Only the CLI turns these into output and exit codes; core code raises.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal


class GraderError(Exception):
    """Base of every expected failure; ``str(err)`` is the one line a user sees."""

    exit_code = 2

    def _render_traceback_(self) -> list[str]:
        """IPython and Jupyter show an expected failure as its one line, not a traceback."""
        return [f"{type(self).__name__}: {self}"]


class SpecError(GraderError):
    """A task.toml is missing, unparsable or inconsistent."""

    def __init__(self, path: Path | str, key: str | None, reason: str) -> None:
        self.path = Path(path)
        self.key = key
        self.reason = reason
        where = f"{self.path}: {key}" if key else str(self.path)
        super().__init__(f"{where}: {reason}")


class UnknownTaskError(GraderError):
    """The task id names no folder in the catalogue."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        self.name = name
        self.suggestions = suggestions
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else " Run `grade list`."
        super().__init__(f"Unknown task '{name}'.{hint}")


class DatasetError(GraderError):
    """A dataset could not be read or fetched."""


class DatasetMissingError(DatasetError):
    """The dataset is not on this machine and could not be downloaded."""


class ChecksumError(DatasetError):
    """Downloaded or cached bytes do not match the recorded sha256."""


class WorkspaceError(GraderError):
    """The workspace (tasks/, solutions/, .grader/) is not usable as asked."""


class GradebookError(WorkspaceError):
    """The gradebook cannot be used: corrupt (a copy is kept aside), locked, or too new."""


class SandboxError(GraderError):
    """The sandboxed child could not be started or spoke out of protocol."""


class SubmissionError(GraderError):
    """The submission cannot be graded; it counts as not passing (exit 1)."""

    exit_code = 1
    status: Literal["invalid", "timeout"] = "invalid"
    """The Result status this failure is recorded as."""


class ModelNotFoundError(SubmissionError):
    """No model file where the grader looked."""


class InvalidModelError(SubmissionError):
    """The model file was refused: unsafe, corrupt, or breaks the task contract."""


class SubmissionTimeout(SubmissionError):
    """The learner's code ran past its time limit and was stopped."""

    status: Literal["invalid", "timeout"] = "timeout"
