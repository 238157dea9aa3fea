"""Everything the user sees: the only module that imports rich.

Results go to stdout; errors, progress and notes go to stderr, so ``--json`` output stays
one clean object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from grader.results import Result
    from grader.tasks import TaskSpec

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

_STATUS_STYLE = {
    "pass": ("PASS", "bold white on green"),
    "fail": ("FAIL", "bold white on red"),
    "invalid": ("INVALID", "bold white on red"),
    "timeout": ("TIMEOUT", "bold white on red"),
    "error": ("ERROR", "bold white on magenta"),
}


def error(message: str) -> None:
    """One red line on stderr: what is wrong and what to do."""
    err.print(Text(f"error: {message}", style="bold red"), soft_wrap=True)


def note(message: str) -> None:
    """A yellow line on stderr, for caveats that are not failures."""
    err.print(Text(message, style="yellow"), soft_wrap=True)


def info(message: str) -> None:
    """A plain line on stdout."""
    out.print(message, soft_wrap=True)


def child_line(line: str) -> None:
    """One line of the learner's solution output, streamed live to stderr."""
    err.print(Text(f"│ {line}", style="dim"), soft_wrap=True)


def print_json(text: str) -> None:
    """Write raw JSON to stdout, untouched by rich."""
    print(text, flush=True)


@contextmanager
def download_progress(label: str) -> Iterator[Callable[[int, int | None], None]]:
    """A rich progress bar on stderr, exposed as the datasets' progress callback."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task_id = bar.add_task(label, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task_id, completed=done, total=total)

        yield update


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2%}"


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"


def _bar(value: float, width: int = 20) -> str:
    filled = round(max(0.0, min(1.0, value)) * width)
    return "█" * filled + "░" * (width - filled)


def show_result(result: Result, title: str = "") -> None:
    """The grade as a candidate reads it: verdict first, then why."""
    label, style = _STATUS_STYLE[result.status]
    head = Text.assemble((f" {label} ", style), "  ", (f"{result.task}", "bold"), f"  {title}")
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="dim")
    summary.add_column()
    summary.add_row("verdict", Text(result.message, style="bold"))
    if result.value is not None:
        gap = (result.margin or 0.0) * 100
        summary.add_row(
            result.metric, f"{_pct(result.value)}   (pass mark {_pct(result.threshold)})"
        )
        summary.add_row("gap", Text(f"{gap:+.2f} points", style="green" if gap >= 0 else "red"))
        summary.add_row(
            "score", Text("★" * result.score + "☆" * (5 - result.score) + f"  {result.score}/5")
        )
    if result.time_used_s is not None:
        summary.add_row(
            "time used", f"{_minutes(result.time_used_s)} of {_minutes(result.time_limit_s)}"
        )
    summary.add_row(
        "graded in", f"{result.elapsed_s:.1f} s on {result.n_heldout:,} held-out images"
    )
    if result.model_sha256:
        summary.add_row("model", f"{result.model_path}  sha256 {result.model_sha256[:12]}")
    parts: list[Table | Text] = [summary]
    if result.per_class:
        parts.append(_per_class_table(result))
    if result.top_confusions:
        mixups = ", ".join(f"{c.true} → {c.predicted} ({c.count})" for c in result.top_confusions)
        parts.append(Text.assemble(("Most confused: ", "bold"), mixups))
    border = "green" if result.passed else "red"
    out.print(
        Panel(Group(*parts), title=head, title_align="left", border_style=border, box=box.ROUNDED)
    )
    for line in result.notes:
        note(f"note: {line}")


def _per_class_table(result: Result) -> Table:
    weakest = {c.label for c in sorted(result.per_class, key=lambda c: c.accuracy)[:2]}
    table = Table(box=box.SIMPLE_HEAD, title="Per class", title_justify="left", pad_edge=False)
    table.add_column("label", justify="right", style="dim")
    table.add_column("class")
    table.add_column("accuracy", justify="right")
    table.add_column("", no_wrap=True)
    table.add_column("n", justify="right", style="dim")
    threshold = result.threshold or 0.0
    for c in result.per_class:
        style = "red" if c.accuracy < threshold else "green"
        name = Text(c.name + ("  ← weakest" if c.label in weakest else ""))
        table.add_row(
            str(c.label),
            name,
            Text(_pct(c.accuracy), style=style),
            Text(_bar(c.accuracy), style=style),
            str(c.support),
        )
    return table


def show_catalogue(tasks: list[TaskSpec]) -> None:
    """``grade list``: the catalogue as a course."""
    table = Table(title="Tasks", box=box.SIMPLE_HEAD, title_justify="left")
    for name, justify in (
        ("id", "left"),
        ("title", "left"),
        ("category", "right"),
        ("pass mark", "right"),
        ("time", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for t in tasks:
        table.add_row(
            t.id,
            t.title,
            str(t.category),
            f"{t.grading.threshold:.0%}",
            f"{t.time_limit_minutes} min",
        )
    if not tasks:
        out.print("No tasks found. Set GRADER_TASKS or run grade from a folder that has tasks/.")
        return
    out.print(table)


def show_task(task: TaskSpec) -> None:
    """``grade show``: the prompt, then the contract the grader enforces."""
    from rich.markdown import Markdown

    if task.prompt_path.is_file():
        out.print(Markdown(task.prompt_path.read_text(encoding="utf-8")))
    contract = Table(
        title=f"{task.id} contract", box=box.SIMPLE_HEAD, title_justify="left", show_header=False
    )
    contract.add_column(style="dim")
    contract.add_column()
    m, g = task.model, task.grading
    rows = (
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
    for key, value in rows:
        contract.add_row(key, value)
    out.print(contract)


def show_started(task: TaskSpec, solution: Path, copied: bool) -> None:
    """``grade start``: where to write, and how to grade."""
    if copied:
        out.print(f"Copied the starter to [bold]{solution}[/bold].")
    else:
        note(f"{solution} already exists; kept it as it is.")
    out.print(
        f"Write [bold]solution_model()[/bold], run [bold]python {solution}[/bold] to save "
        f"the model, then [bold]grade {task.id}[/bold]. "
        f"Time limit: {task.time_limit_minutes} minutes."
    )
