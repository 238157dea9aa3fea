"""The catalogue, one task's prompt and contract, and ``grade start``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from rich import box
from rich.console import JustifyMethod
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from grader.tasks.spec import TaskSpec

from grader.report.console import (
    note,
    out,
    shown,
)


def show_catalogue(tasks: list[TaskSpec], status: dict[str, str] | None = None) -> None:
    """``grade list``: the catalogue as a course, with the candidate's status per task."""
    table = Table(title="Tasks", box=box.SIMPLE_HEAD, title_justify="left")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("id", "left"),
        ("title", "left"),
        ("category", "right"),
        ("pass mark", "right"),
        ("time", "right"),
    )
    for name, justify in columns:
        table.add_column(name, justify=justify)
    if status is not None:
        table.add_column("status")
    for t in tasks:
        row: list[str | Text] = [
            shown(t.id),
            shown(t.title),
            str(t.category),
            f"{t.grading.threshold:.0%}",
            f"{t.time_limit_minutes} min",
        ]
        if status is not None:
            state = status.get(t.id, "not started")
            style = "green" if state.startswith("passed") else "dim"
            style = "yellow" if state.startswith("clock") else style
            row.append(Text(state, style=style))
        table.add_row(*row)
    if not tasks:
        out.print("No tasks found. Set GRADER_TASKS or run grade from a folder that has tasks/.")
        return
    out.print(table)


def show_task(task: TaskSpec) -> None:
    """``grade show``: the prompt, then the contract the grader enforces."""
    if task.prompt_path.is_file():
        show_prompt(task.prompt_path.read_text(encoding="utf-8"))
    contract = Table(
        title=shown(f"{task.id} contract"),
        box=box.SIMPLE_HEAD,
        title_justify="left",
        show_header=False,
    )
    contract.add_column(style="dim")
    contract.add_column()
    for key, value in contract_rows(task):
        contract.add_row(key, shown(value))
    out.print(contract)


def contract_rows(task: TaskSpec) -> tuple[tuple[str, str], ...]:
    """What the grader enforces, as (name, value) rows for ``grade show`` and ``grader.show``."""
    m, g = task.model, task.grading
    return (
        ("dataset", f"{task.dataset.name} (scored on its '{task.dataset.heldout}' split)"),
        ("input shape", f"{m.input_shape}  (batch axis first, channels last)"),
        ("pixel scale", "floats in 0..1" if m.input_scale == "0-1" else "raw 0..255 floats"),
        ("classes", str(m.classes)),
        ("pass mark", f"{g.metric} ≥ {g.threshold:.0%}"),
        ("score tiers", "  ".join(f"{i}★ {t:.0%}" for i, t in enumerate(g.score_tiers, 1))),
        ("time limit", f"{task.time_limit_minutes} minutes"),
        ("limits", f"≤ {m.max_params:,} parameters, ≤ {m.max_file_mb:g} MB file"),
        ("save as", f"solutions/{task.id}/model.keras (or model.h5)"),
    )


_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```[ \t]*$\n?", re.M | re.S)


def show_prompt(text: str) -> None:
    """A task's prompt.md: prose as Markdown, code blocks verbatim, indented and never wrapped
    at the terminal's width, so what is copied from them runs."""
    from rich.markdown import Markdown

    start = 0
    for block in _FENCE.finditer(text):
        prose = text[start : block.start()]
        if prose.strip():
            out.print(Markdown(prose))
        lines = block.group(1).splitlines()
        code = "".join(f"    {line}".rstrip() + "\n" for line in lines)
        out.print(Text(f"\n{code}", style="cyan"), soft_wrap=True)
        start = block.end()
    if text[start:].strip():
        out.print(Markdown(text[start:]))


def show_started(task: TaskSpec, solution: Path, copied: bool) -> None:
    """``grade start``: where to write, and how to grade."""
    if copied:
        out.print(Text.assemble("Copied the starter to ", shown(str(solution), "bold"), "."))
    else:
        note(f"{solution} already exists; kept it as it is.")
    out.print(
        Text.assemble(
            "Write ",
            ("solution_model()", "bold"),
            ", run ",
            shown(f"python {solution}", "bold"),
            " to save the model, then ",
            shown(f"grade {task.id}", "bold"),
            f". Time limit: {task.time_limit_minutes} minutes.",
        )
    )


def catalogue_json(tasks: list[TaskSpec], status: dict[str, str]) -> str:
    """``grade list --json``: one object per task."""
    import json

    rows = [
        {
            "id": t.id,
            "title": t.title,
            "category": t.category,
            "threshold": t.grading.threshold,
            "time_limit_minutes": t.time_limit_minutes,
            "status": status.get(t.id, "not started"),
        }
        for t in tasks
    ]
    return json.dumps(rows)
