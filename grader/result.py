"""The Result record (schema 1): every grading produces exactly one.

The rich report, ``--json``, the gradebook and batch exports are all drawn from it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

SCHEMA = 1

Status = Literal["pass", "fail", "invalid", "timeout", "error"]

EXIT_CODES: dict[str, int] = {"pass": 0, "fail": 1, "invalid": 1, "timeout": 1, "error": 2}
"""0 passed; 1 the submission did not pass; 2 the grader could not grade."""


@dataclass(frozen=True)
class ClassScore:
    """Accuracy on one class of the held-out set."""

    label: int
    """The integer label."""
    name: str
    """Human name, e.g. ``"Ankle boot"``."""
    accuracy: float
    """Share of this class's held-out images predicted correctly."""
    support: int
    """How many held-out images carry this label."""


@dataclass(frozen=True)
class Confusion:
    """One off-diagonal cell of the confusion matrix: true class mistaken for another."""

    true: str
    """Name of the real class."""
    predicted: str
    """Name of the class the model chose."""
    count: int
    """How many held-out images made this mistake."""


RUBRIC_EFFECTS: dict[str, str] = {
    "cap": "caps the score",
    "fail": "fails the task",
    "warn": "warning only",
}
"""Each ``[rubric] on_unmet`` value, as the reports word it next to an unmet line."""


@dataclass(frozen=True)
class RubricLine:
    """One requirement of the task's rubric, judged on the model file: met or not, and why."""

    name: str
    """What is required, e.g. ``"MobileNetV2 base"`` or ``"checks.py: test_head_is_small"``."""
    met: bool
    """Whether the model meets it."""
    reason: str
    """One line a candidate can act on: what was found, and what to do when not met."""
    effect: str
    """What an unmet line does to the grade: ``cap``, ``fail`` or ``warn`` (the task's
    ``[rubric] on_unmet``)."""
    source: str = "task.toml"
    """Where the requirement is written: ``task.toml`` (``[rubric]``) or ``checks.py``."""


_RENDERERS: dict[str, Callable[[Result], str]] = {}
"""How a Result draws itself, by MIME type (``text/plain``, ``text/html``). This bottom layer may
not import the report, so :mod:`grader.notebook` (a top layer) fills it when imported."""


def render_with(mime: str, render: Callable[[Result], str]) -> None:
    """Let ``render`` draw every Result as ``mime`` (``print(result)``, Jupyter's HTML)."""
    _RENDERERS[mime] = render


@dataclass(frozen=True)
class Result:
    """One grading of one model against one task."""

    task: str
    """Task id."""
    status: Status
    """``pass``, ``fail`` (below threshold), ``invalid`` (unusable model),
    ``timeout`` (the child ran out of time) or ``error`` (the grader could not grade)."""
    message: str
    """One line for a human: the verdict or what went wrong and what to do."""
    task_version: int | None = None
    """``version`` from task.toml when graded."""
    metric: str = "accuracy"
    """Name of ``value``."""
    value: float | None = None
    """The metric on the held-out set; None when no prediction was scored."""
    threshold: float | None = None
    """Pass mark."""
    margin: float | None = None
    """``value - threshold``; negative means short of the pass mark."""
    score: int = 0
    """0..5, from the task's score tiers."""
    per_class: list[ClassScore] = field(default_factory=list)
    """Accuracy per class, in label order."""
    confusion: list[list[int]] = field(default_factory=list)
    """Confusion matrix, rows = true label, columns = predicted."""
    top_confusions: list[Confusion] = field(default_factory=list)
    """The most frequent mistakes, largest first."""
    n_heldout: int = 0
    """Number of held-out images scored."""
    heldout_sha256: str | None = None
    """Fingerprint of the held-out images and labels."""
    model_path: str | None = None
    """The file graded, as given."""
    model_sha256: str | None = None
    """sha256 of the model file's bytes, taken before loading."""
    model_format: str | None = None
    """``keras`` or ``h5``."""
    elapsed_s: float = 0.0
    """Wall time spent grading."""
    time_used_s: float | None = None
    """Time on the task's clock when graded (None when no clock runs)."""
    time_limit_s: float | None = None
    """The task's time limit."""
    notes: list[str] = field(default_factory=list)
    """Caveats a reader must see, e.g. that network isolation was unavailable."""
    hints: list[str] = field(default_factory=list)
    """Advice keyed to mistakes found in the model itself (see grader.grading.feedback)."""
    train_value: float | None = None
    """The metric on a fixed sample of the training split (compare with ``value``)."""
    train_mistakes: list[list[int]] = field(default_factory=list)
    """Misclassified training-sample images as [index in the training split, true, predicted]."""
    late: bool = False
    """Graded after the task's (or exam session's) time limit: recorded and flagged, not refused."""
    versions: dict[str, str] = field(default_factory=dict)
    """grader, tensorflow, keras, python (the last three as seen by the sandboxed child)."""
    rubric: list[RubricLine] = field(default_factory=list)
    """Every line of the task's rubric (task.toml ``[rubric]``, then checks.py), when scored."""
    schema: int = SCHEMA
    """Version of this record's layout."""

    @property
    def rubric_unmet(self) -> list[RubricLine]:
        """The rubric lines the model does not meet."""
        return [line for line in self.rubric if not line.met]

    @property
    def passed(self) -> bool:
        """True when the status is ``pass``."""
        return self.status == "pass"

    @property
    def exit_code(self) -> int:
        """The CLI exit code for this result."""
        return EXIT_CODES[self.status]

    def __str__(self) -> str:
        """The terminal panel as plain text, once :mod:`grader.notebook` is loaded."""
        render = _RENDERERS.get("text/plain")
        return render(self) if render is not None else repr(self)

    def _repr_html_(self) -> str | None:
        """Jupyter's rich display: the panel's content as HTML (None: plain text instead)."""
        render = _RENDERERS.get("text/html")
        return render(self) if render is not None else None

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's plain display: the same text as ``print(result)``."""
        printer.text(str(self))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict, ``schema`` first."""
        data = asdict(self)
        return {"schema": data.pop("schema"), **data}

    def to_json(self, indent: int | None = None) -> str:
        """The record as one JSON object."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        """Rebuild a record written by :meth:`to_dict`."""
        data = dict(data)
        if data.get("schema") != SCHEMA:
            raise ValueError(f"unsupported result schema {data.get('schema')!r}")
        data["per_class"] = [ClassScore(**c) for c in data.get("per_class", [])]
        data["top_confusions"] = [Confusion(**c) for c in data.get("top_confusions", [])]
        data["rubric"] = [RubricLine(**line) for line in data.get("rubric", [])]
        return cls(**data)
