"""A grading Result as a candidate reads it: verdict first, then why."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from grader.result import Result

from grader.report.console import (
    STATUS_STYLE,
    fmt_minutes,
    fmt_pct,
    note,
    out,
    shown,
    text_bar,
)
from grader.result import RUBRIC_EFFECTS


def show_result(result: Result, title: str = "") -> None:
    """The grade as a candidate reads it: verdict first, then why."""
    out.print(_panel(result, title))
    for line in result.notes:
        note(f"note: {line}")


def result_text(result: Result, title: str = "", width: int = 100) -> str:
    """The same panel and notes as plain text (``print(result)`` in Python or a notebook)."""
    import io

    from rich.console import Console

    buffer = io.StringIO()
    console = Console(
        file=buffer, width=width, color_system=None, highlight=False, force_jupyter=False
    )
    console.print(_panel(result, title))
    for line in result.notes:
        console.print(shown(f"note: {line}", lines=True), soft_wrap=True)
    return buffer.getvalue()


def _panel(result: Result, title: str) -> Panel:
    label, style = STATUS_STYLE[result.status]
    head = Text.assemble(
        (f" {label} ", style), "  ", shown(result.task, "bold"), "  ", shown(title)
    )
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="dim")
    summary.add_column()
    summary.add_row("verdict", shown(result.message, "bold", lines=True))
    if result.value is not None:
        gap = (result.margin or 0.0) * 100
        summary.add_row(
            shown(result.metric),
            f"{fmt_pct(result.value)}   (pass mark {fmt_pct(result.threshold)})",
        )
        summary.add_row("gap", Text(f"{gap:+.2f} points", style="green" if gap >= 0 else "red"))
        summary.add_row(
            "score", Text("★" * result.score + "☆" * (5 - result.score) + f"  {result.score}/5")
        )
    if result.train_value is not None:
        summary.add_row(
            "train vs held-out",
            f"{fmt_pct(result.train_value)} on a training sample "
            f"vs {fmt_pct(result.value)} held out",
        )
    if result.time_used_s is not None:
        late = Text("  LATE (after the time limit)", style="bold red") if result.late else ""
        summary.add_row(
            "time used",
            Text.assemble(
                f"{fmt_minutes(result.time_used_s)} of {fmt_minutes(result.time_limit_s)}", late
            ),
        )
    if result.value is not None:  # an unusable model was never run on the held-out images
        summary.add_row(
            "graded in", f"{result.elapsed_s:.1f} s on {result.n_heldout:,} held-out images"
        )
    if result.model_sha256:
        summary.add_row("model", shown(f"{result.model_path}  sha256 {result.model_sha256[:12]}"))
    parts: list[Table | Text] = [summary]
    if result.rubric:
        parts.append(_rubric_table(result))
    if result.per_class:
        parts.append(_per_class_table(result))
    if result.top_confusions:
        mixups = ", ".join(f"{c.true} → {c.predicted} ({c.count})" for c in result.top_confusions)
        parts.append(Text.assemble(("Most confused: ", "bold"), shown(mixups)))
    for hint in result.hints:
        parts.append(Text.assemble(("hint: ", "bold yellow"), shown(hint, lines=True)))
    border = "green" if result.passed else "red"
    return Panel(
        Group(*parts), title=head, title_align="left", border_style=border, box=box.ROUNDED
    )


def _per_class_table(result: Result) -> Table:
    threshold = result.threshold or 0.0
    below = [c for c in result.per_class if c.accuracy < threshold]
    weakest = {c.label for c in sorted(below, key=lambda c: c.accuracy)[:2]}
    table = Table(box=box.SIMPLE_HEAD, title="Per class", title_justify="left", pad_edge=False)
    table.add_column("label", justify="right", style="dim")
    table.add_column("class")
    table.add_column("accuracy", justify="right")
    table.add_column("", no_wrap=True)
    table.add_column("n", justify="right", style="dim")
    for c in result.per_class:
        style = "red" if c.accuracy < threshold else "green"
        name = shown(c.name + ("  ← weakest" if c.label in weakest else ""))
        table.add_row(
            str(c.label),
            name,
            Text(fmt_pct(c.accuracy), style=style),
            Text(text_bar(c.accuracy), style=style),
            str(c.support),
        )
    return table


def _rubric_table(result: Result) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title="Rubric", title_justify="left", pad_edge=False)
    table.add_column("", no_wrap=True)
    table.add_column("requirement")
    table.add_column("why")
    for line in result.rubric:
        if line.met:
            mark = Text("✓", style="green")
            why = shown(line.reason, lines=True)
        else:
            style = "yellow" if line.effect == "warn" else "red"
            mark = Text("✗", style=f"bold {style}")
            label = RUBRIC_EFFECTS.get(line.effect, line.effect)
            why = Text.assemble(shown(line.reason, lines=True), (f"  ({label})", style))
        table.add_row(mark, shown(line.name), why)
    return table
