"""Practice views: clocks, history, exam sessions, and their JSON forms."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich import box
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from grader.practice.clock import Elapsed
    from grader.practice.exam import ExamReport, Skipped
    from grader.practice.gradebook import Attempt, Clock, Session
    from grader.practice.history import TaskProgress
    from grader.practice.models import Current

from grader.practice.exam import PASS_MARK
from grader.practice.models import SHORT
from grader.report.console import (
    STATUS_STYLE,
    fmt_minutes,
    fmt_pct,
    note,
    out,
    shown,
)


def _clock_text(time: Elapsed) -> Text:
    """``12:03 used · 47:57 left``, red in the last 10% and over the limit."""
    style = "red" if time.used_s >= 0.9 * time.limit_s else "green"
    text = Text(f"{fmt_minutes(time.used_s)} used · {fmt_minutes(time.left_s)} left", style=style)
    if time.over:
        text.append("  OVER TIME (attempts are recorded as late)", style="bold red")
    if time.skewed:
        text.append("  (system clock moved back; held)", style="yellow")
    return text


def _clock_dict(time: Elapsed) -> dict[str, object]:
    return {
        "used_s": round(time.used_s, 1),
        "limit_s": time.limit_s,
        "left_s": round(time.left_s, 1),
        "over": time.over,
        "skewed": time.skewed,
    }


def show_clock_started(clock: Clock, started: bool) -> None:
    """``grade start``: the clock just started, or the one already running."""
    if started:
        out.print(
            Text.assemble(
                "Clock started for ",
                shown(clock.task, "bold"),
                f": {fmt_minutes(clock.time.limit_s)}.",
            )
        )
    else:
        out.print(
            Text.assemble(
                "Clock for ", shown(clock.task), " already running: ", _clock_text(clock.time)
            )
        )
        note("Use `grade start --restart` to reset it.")


def status_json(clocks: list[Clock], session: Session | None, known: set[str]) -> str:
    """``grade status --json``."""
    import json

    return json.dumps(
        {
            "clocks": [
                {"task": c.task, "task_exists": c.task in known, **_clock_dict(c.time)}
                for c in clocks
            ],
            "exam": None if session is None else _session_dict(session),
        }
    )


def show_status(clocks: list[Clock], session: Session | None, known: set[str]) -> None:
    """``grade status``: a panel of running clocks, red in the last 10% of the time."""
    if not clocks and session is None:
        out.print("No clock is running. Start one with [bold]grade start TASK[/bold].")
        return
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for c in clocks:
        line = _clock_text(c.time)
        if c.task not in known:
            line.append("  task no longer in the catalogue", style="magenta")
        grid.add_row(shown(c.task), line)
    if session is not None:
        grid.add_row(f"exam #{session.id}", _clock_text(session.time))
        grid.add_row("", shown(", ".join(session.tasks), style="dim"))
    out.print(Panel(grid, title="Clocks", title_align="left", box=box.ROUNDED))


_SPARK = "▁▂▃▄▅▆▇█"
_SPARK_WIDTH = 40
"""``grade history`` draws the trend of the latest attempts only (fewer on a narrow terminal)."""


def sparkline(values: list[float | None]) -> str:
    """Accuracy over attempts as block characters (0 → ▁, 1 → █; ``·`` when not scored)."""
    return "".join(
        "·" if v is None else _SPARK[min(len(_SPARK) - 1, int(max(0.0, v) * len(_SPARK)))]
        for v in values
    )


def history_json(attempts: list[Attempt], summaries: list[TaskProgress]) -> str:
    """``grade history --json``: attempts (with their full Result) and a summary per task."""
    import json
    from dataclasses import asdict

    return json.dumps(
        {"attempts": [asdict(a) for a in attempts], "summary": [asdict(s) for s in summaries]}
    )


def show_history(attempts: list[Attempt], summaries: list[TaskProgress]) -> None:
    """``grade history``: every attempt, then each task's trend, best score and first pass.

    Readable at 80 columns: every header whole, the task column only when several tasks are
    listed, and the reason of an invalid, timed-out or failed-to-grade attempt under the
    table at full width (``#3  the model expects…``), not squeezed into a column.
    """
    if not attempts:
        out.print("No attempts recorded yet. Grade one with [bold]grade TASK[/bold].")
        return
    out.print(_attempts_table(attempts))
    reasons = Table.grid(padding=(0, 2), pad_edge=True)
    reasons.add_column(style="dim", justify="right", no_wrap=True)
    reasons.add_column(style="dim", overflow="fold")
    for a in attempts:
        if why := _why(a):
            reasons.add_row(f"#{a.id}", shown(why))
    if reasons.row_count:
        out.print("", reasons)
    out.print()
    out.print(_progress_table(summaries))


def _narrow_table(title: str, *, collapse_padding: bool = False) -> Table:
    """A titled table without edges or edge padding: what fits ``grade history`` in 80
    columns."""
    return Table(
        title=title,
        box=box.SIMPLE_HEAD,
        title_justify="left",
        pad_edge=False,
        collapse_padding=collapse_padding,
        show_edge=False,
    )


def _attempts_table(attempts: list[Attempt]) -> Table:
    import time

    several = len({a.task for a in attempts}) > 1
    table = _narrow_table("Attempts", collapse_padding=True)
    names = ("#", "when", *(("task",) if several else ()), "status", "accuracy", "score", "time")
    for name in names:
        right = name in ("#", "accuracy", "score")
        table.add_column(
            name, justify="right" if right else "left", no_wrap=True, min_width=len(name)
        )
    table.add_column("model", overflow="fold", min_width=len("model"))
    for a in attempts:
        label, style = STATUS_STYLE.get(a.status, (a.status.upper(), "bold"))
        when = time.strftime("%d %b %H:%M", time.localtime(a.created_at))
        used = fmt_minutes(a.time_used_s) + (" late" if a.late else "")
        table.add_row(
            str(a.id),
            when,
            *((shown(a.task),) if several else ()),
            Text(f" {label} ", style),
            fmt_pct(a.value),
            f"{a.score}/5",
            Text(used, style="red" if a.late else ""),
            _model_cell(a),
        )
    return table


def _progress_table(summaries: list[TaskProgress]) -> Table:
    """Per task: attempts, the accuracy trend (as wide as the terminal allows), best, first
    pass."""
    width = max(8, min(_SPARK_WIDTH, out.width - 56))
    trend = _narrow_table("Progress")
    for name in ("task", "attempts", "trend", "best", "best score", "first pass"):
        trend.add_column(name, no_wrap=True, min_width=len(name))
    for s in summaries:
        first = "not yet" if not s.passed else fmt_minutes(s.time_to_first_pass_s)
        trend.add_row(
            shown(s.task),
            str(s.attempts),
            Text(sparkline(s.values[-width:]), style="cyan"),
            fmt_pct(s.best_value),
            f"{s.best_score}/5",
            first,
        )
    return trend


def _model_cell(attempt: Attempt) -> Text:
    """``model.keras 1a2b3c4d``: which file was graded, and which bytes."""
    sha = (attempt.model_sha256 or "")[:SHORT]
    return shown(" ".join(part for part in (attempt.model_file or "-", sha) if part))


def _why(attempt: Attempt) -> str:
    """The first line of why an ``invalid``, ``timeout`` or ``error`` attempt got no grade."""
    if attempt.status not in ("invalid", "timeout", "error"):
        return ""
    message = str(attempt.result.get("message", "")).removeprefix("invalid model: ")
    return message.splitlines()[0] if message else ""


def _session_dict(session: Session) -> dict[str, object]:
    return {
        "id": session.id,
        "tasks": list(session.tasks),
        "started_at": session.started_at,
        "submitted_at": session.submitted_at,
        **_clock_dict(session.time),
    }


def show_session(session: Session, scores: dict[str, list[int]] | None = None) -> None:
    """``grade exam start|status``: the session's tasks (with ``scores``, each one's best so
    far) and clock."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim")
    grid.add_column()
    if scores is None:
        grid.add_row("tasks", shown(", ".join(session.tasks)))
    else:
        for task in session.tasks:
            mine = scores.get(task, [])
            plural = "s" if len(mine) != 1 else ""
            best = f"best {max(mine)}/5 ({len(mine)} attempt{plural})" if mine else ""
            grid.add_row(shown(task), best or "not graded yet")
    grid.add_row("time", _clock_text(session.time))
    grid.add_row("next", "grade each task as usual; `grade exam submit` when done")
    out.print(Panel(grid, title=f"Exam #{session.id}", title_align="left", box=box.ROUNDED))


def exam_json(result: ExamReport) -> str:
    """``grade exam submit --json``."""
    import json
    from dataclasses import asdict

    return json.dumps(
        {
            "session": _session_dict(result.session),
            "tasks": [asdict(o) for o in result.outcomes],
            "total": round(result.total, 4),
            "passed": result.passed,
            "missing": result.missing,
        }
    )


def show_exam(result: ExamReport) -> None:
    """``grade exam submit``: best score per task, weighted total, verdict, time used."""

    table = Table(box=box.SIMPLE_HEAD, title=f"Exam #{result.session.id}", title_justify="left")
    for name in ("task", "category (weight)", "attempts", "best score"):
        table.add_column(name)
    for o in result.outcomes:
        stars = "★" * o.best_score + "☆" * (5 - o.best_score)
        table.add_row(shown(o.task), str(o.category), str(o.attempts), f"{stars} {o.best_score}/5")
    out.print(table)
    verdict = ("PASS", "bold white on green") if result.passed else ("FAIL", "bold white on red")
    out.print(
        Text.assemble(
            (f" {verdict[0]} ", verdict[1]),
            f"  weighted total {result.total:.0%} (pass mark {PASS_MARK:.0%})  ·  "
            f"{fmt_minutes(result.session.time.used_s)} of "
            f"{fmt_minutes(result.session.time.limit_s)} used",
        )
    )
    for task in result.missing:
        note(f"note: {task} is no longer in the catalogue; left out of the total.")


def _graded(attempt: Attempt | None) -> str:
    if attempt is None:
        return "never graded"
    return f"attempt #{attempt.id}: {attempt.status}, {fmt_pct(attempt.value)}, {attempt.score}/5"


def show_replaced(task: str, previous: Current, graded: Attempt | None) -> None:
    """``grade TASK --train``: the model the training overwrote, and how to get it back."""
    note(
        f"Replaced {previous.path.name} ({previous.sha256[:SHORT]}, {_graded(graded)}); "
        f"it is kept: `grade restore {task} --best` puts the best model back."
    )


def show_restored(attempt: Attempt, target: Path, replaced: Current | None) -> None:
    """``grade restore``: what was put back, and what it replaced (kept too)."""
    sha = (attempt.model_sha256 or "")[:SHORT]
    out.print(shown(f"Restored {target} ({sha}, {_graded(attempt)})."), soft_wrap=True)
    if replaced is not None and replaced.sha256 != attempt.model_sha256:
        note(
            f"The model it replaced ({replaced.sha256[:SHORT]}) is kept; "
            f"`grade history {attempt.task}` lists every attempt."
        )


def show_skipped(skipped: list[Skipped]) -> None:
    """``grade exam start``: the tasks the default choice passed over, and why."""
    for s in skipped:
        note(f"skipped {s.task}: {s.reason}; name it with --tasks to include it anyway.")
