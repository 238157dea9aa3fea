"""Everything the user sees: the only module that imports rich.

Results go to stdout; errors, progress and notes go to stderr, so ``--json`` output stays
one clean object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from grader.batch import BatchOutcome, Graded
    from grader.exam import ExamReport
    from grader.history import Summary
    from grader.results import Result
    from grader.store import Attempt, Clock, Elapsed, Session
    from grader.tasks import TaskSpec
    from grader.validate import TaskValidation

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
    if result.train_value is not None:
        summary.add_row(
            "train vs held-out",
            f"{_pct(result.train_value)} on a training sample vs {_pct(result.value)} held out",
        )
    if result.time_used_s is not None:
        late = Text("  LATE (after the time limit)", style="bold red") if result.late else ""
        summary.add_row(
            "time used",
            Text.assemble(
                f"{_minutes(result.time_used_s)} of {_minutes(result.time_limit_s)}", late
            ),
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
    for hint in result.hints:
        parts.append(Text.assemble(("hint: ", "bold yellow"), hint))
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


def show_catalogue(tasks: list[TaskSpec], status: dict[str, str] | None = None) -> None:
    """``grade list``: the catalogue as a course, with the candidate's status per task."""
    table = Table(title="Tasks", box=box.SIMPLE_HEAD, title_justify="left")
    for name, justify in (
        ("id", "left"),
        ("title", "left"),
        ("category", "right"),
        ("pass mark", "right"),
        ("time", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    if status is not None:
        table.add_column("status")
    for t in tasks:
        row = [
            t.id,
            t.title,
            str(t.category),
            f"{t.grading.threshold:.0%}",
            f"{t.time_limit_minutes} min",
        ]
        if status is not None:
            state = status.get(t.id, "not started")
            style = "green" if state.startswith("passed") else "dim"
            style = "yellow" if state.startswith("clock") else style
            row.append(f"[{style}]{state}[/]")
        table.add_row(*row)
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


# --- instructors: batch, validate, new -------------------------------------------------


@contextmanager
def batch_progress(label: str) -> Iterator[tuple[Callable[[int], None], Callable[[Graded], None]]]:
    """A progress bar on stderr for ``grade batch``: (on_start(total), on_result(graded))."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[last]}"),
    )
    with Progress(*columns, console=err, transient=False) as bar:
        task_id = bar.add_task(label, total=None, last="")

        def on_start(total: int) -> None:
            bar.update(task_id, total=total)

        def on_result(graded: Graded) -> None:
            if graded.resumed:
                return
            label, style = _STATUS_STYLE[graded.result.status]
            bar.update(task_id, advance=1, last=f"[{style}] {label} [/] {graded.student}")

        yield on_start, on_result


def show_batch(outcome: BatchOutcome) -> None:
    """``grade batch``: pass rate, score distribution, common failure reasons, the exports."""
    from grader.batch import summarize

    s = summarize(outcome.graded)
    table = Table(
        box=box.SIMPLE_HEAD,
        title=f"{outcome.task.id}: {s.total} submissions",
        title_justify="left",
        show_header=False,
    )
    table.add_column(style="dim")
    table.add_column()
    table.add_row("pass rate", Text(f"{s.pass_rate:.0%}  ({s.passed} of {s.total})", style="bold"))
    table.add_row("statuses", "  ".join(f"{k} {v}" for k, v in sorted(s.by_status.items())))
    most = max(s.scores.values()) or 1
    for score, count in s.scores.items():
        table.add_row(f"score {score}", f"{_bar(count / most, 20)} {count}")
    if s.resumed:
        table.add_row("resumed", f"{s.resumed} already graded in an earlier run (same sha256)")
    out.print(table)
    if s.reasons:
        reasons = Table(
            box=box.SIMPLE_HEAD, title="Most common reasons for not passing", title_justify="left"
        )
        reasons.add_column("students", justify="right")
        reasons.add_column("reason")
        for text, count in s.reasons:
            reasons.add_row(str(count), text)
        out.print(reasons)
    out.print(f"Wrote gradebook.csv, results.json, junit.xml and gradescope/ to {outcome.out}")


_CHECK_STYLE = {
    "ok": ("✓", "green"),
    "fail": ("✗", "red"),
    "error": ("!", "magenta"),
    "skip": ("-", "dim"),
}


def show_validation(reports: list[TaskValidation]) -> None:
    """``grade validate``: a table of checks per task."""
    for rep in reports:
        table = Table(title=rep.task_id, box=box.SIMPLE_HEAD, title_justify="left")
        table.add_column("", no_wrap=True)
        table.add_column("check")
        table.add_column("detail")
        for check in rep.checks:
            mark, style = _CHECK_STYLE[check.status]
            table.add_row(Text(mark, style=style), check.name, Text(check.detail, style=style))
        out.print(table)


def show_scaffold(folder: Path, notes: list[str]) -> None:
    """``grade new``: what was written and what to do next."""
    for line in notes:
        note(f"note: {line}")
    out.print(f"Created [bold]{folder}[/bold]: task.toml, prompt.md, starter.py, reference.py.")
    out.print(
        f"Next: fill in reference.py and prompt.md, then [bold]grade validate {folder.name}[/bold]."
    )


# --- practice: clocks, history, exam ----------------------------------------------------


def _clock_text(time: Elapsed) -> Text:
    """``12:03 used · 47:57 left``, red in the last 10% and over the limit."""
    style = "red" if time.used_s >= 0.9 * time.limit_s else "green"
    text = Text(f"{_minutes(time.used_s)} used · {_minutes(time.left_s)} left", style=style)
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


def show_clock_started(clock: Clock, started: bool) -> None:
    """``grade start``: the clock just started, or the one already running."""
    if started:
        out.print(f"Clock started for [bold]{clock.task}[/bold]: {_minutes(clock.time.limit_s)}.")
    else:
        out.print(
            Text.assemble(f"Clock for {clock.task} already running: ", _clock_text(clock.time))
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
        grid.add_row(c.task, line)
    if session is not None:
        grid.add_row(f"exam #{session.id}", _clock_text(session.time))
        grid.add_row("", Text(", ".join(session.tasks), style="dim"))
    out.print(Panel(grid, title="Clocks", title_align="left", box=box.ROUNDED))


_SPARK = "▁▂▃▄▅▆▇█"
_SPARK_WIDTH = 40
"""``grade history`` draws the trend of the latest attempts only."""


def sparkline(values: list[float | None]) -> str:
    """Accuracy over attempts as block characters (0 → ▁, 1 → █; ``·`` when not scored)."""
    return "".join(
        "·" if v is None else _SPARK[min(len(_SPARK) - 1, int(max(0.0, v) * len(_SPARK)))]
        for v in values
    )


def history_json(attempts: list[Attempt], summaries: list[Summary]) -> str:
    """``grade history --json``: attempts (with their full Result) and a summary per task."""
    import json
    from dataclasses import asdict

    return json.dumps(
        {"attempts": [asdict(a) for a in attempts], "summary": [asdict(s) for s in summaries]}
    )


def show_history(attempts: list[Attempt], summaries: list[Summary]) -> None:
    """``grade history``: every attempt, then each task's trend, best score and first pass."""
    import time

    if not attempts:
        out.print("No attempts recorded yet. Grade one with [bold]grade TASK[/bold].")
        return
    table = Table(title="Attempts", box=box.SIMPLE_HEAD, title_justify="left")
    for name in ("#", "when", "task", "status", "accuracy", "", "score", "time used"):
        table.add_column(name, justify="right" if name in ("#", "accuracy", "score") else "left")
    for a in attempts:
        label, style = _STATUS_STYLE.get(a.status, (a.status.upper(), "bold"))
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(a.created_at))
        used = _minutes(a.time_used_s) + ("  late" if a.late else "")
        table.add_row(
            str(a.id),
            when,
            a.task,
            Text(f" {label} ", style),
            _pct(a.value),
            _bar(a.value or 0.0, 10),
            f"{a.score}/5",
            Text(used, style="red" if a.late else ""),
        )
    out.print(table)
    trend = Table(title="Progress", box=box.SIMPLE_HEAD, title_justify="left")
    for name in ("task", "attempts", "accuracy over time", "best", "best score", "first pass at"):
        trend.add_column(name)
    for s in summaries:
        first = "not yet" if not s.passed else _minutes(s.time_to_first_pass_s)
        trend.add_row(
            s.task,
            str(s.attempts),
            Text(sparkline(s.values[-_SPARK_WIDTH:]), style="cyan"),
            _pct(s.best_value),
            f"{s.best_score}/5",
            first,
        )
    out.print(trend)


def _session_dict(session: Session) -> dict[str, object]:
    return {
        "id": session.id,
        "tasks": list(session.tasks),
        "started_at": session.started_at,
        "submitted_at": session.submitted_at,
        **_clock_dict(session.time),
    }


def show_session(session: Session) -> None:
    """``grade exam start|status``: the session's tasks and clock."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim")
    grid.add_column()
    grid.add_row("tasks", ", ".join(session.tasks))
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
    from grader.exam import PASS_MARK

    table = Table(box=box.SIMPLE_HEAD, title=f"Exam #{result.session.id}", title_justify="left")
    for name in ("task", "category (weight)", "attempts", "best score"):
        table.add_column(name)
    for o in result.outcomes:
        stars = "★" * o.best_score + "☆" * (5 - o.best_score)
        table.add_row(o.task, str(o.category), str(o.attempts), f"{stars} {o.best_score}/5")
    out.print(table)
    verdict = ("PASS", "bold white on green") if result.passed else ("FAIL", "bold white on red")
    out.print(
        Text.assemble(
            (f" {verdict[0]} ", verdict[1]),
            f"  weighted total {result.total:.0%} (pass mark {PASS_MARK:.0%})  ·  time used ",
            _clock_text(result.session.time),
        )
    )
    for task in result.missing:
        note(f"note: {task} is no longer in the catalogue; left out of the total.")


# --- visual report: one self-contained HTML file ----------------------------------------


def _png_data_uri(image: Any) -> str:
    """A uint8 (H, W) or (H, W, 1|3) numpy image as a base64 PNG ``data:`` URI (stdlib only)."""
    import base64
    import struct
    import zlib

    height, width = image.shape[:2]
    channels = 1 if image.ndim == 2 else image.shape[2]
    if channels not in (1, 3):
        image, channels = image[..., :1], 1
    raw = image.astype("uint8").reshape(height, width * channels).tobytes()
    stride = width * channels
    rows = b"".join(b"\x00" + raw[y * stride : (y + 1) * stride] for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0 if channels == 1 else 2, 0, 0, 0)
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _heatmap_svg(result: Result) -> str:
    from html import escape

    names = [c.name for c in result.per_class] or [str(i) for i in range(len(result.confusion))]
    n, cell, left, top = len(result.confusion), 44, 130, 70
    parts = [
        f'<svg class="confusion" xmlns="http://www.w3.org/2000/svg" '
        f'width="{left + n * cell + 10}" height="{top + n * cell + 10}">'
    ]
    for j, name in enumerate(names):
        x = left + j * cell + cell / 2
        parts.append(
            f'<text x="{x}" y="{top - 8}" transform="rotate(-45 {x} {top - 8})" '
            f'font-size="12">{escape(name)}</text>'
        )
    for i, row in enumerate(result.confusion):
        total = sum(row) or 1
        y = top + i * cell
        parts.append(
            f'<text x="{left - 6}" y="{y + cell / 2 + 4}" text-anchor="end" '
            f'font-size="12">{escape(names[i])}</text>'
        )
        for j, count in enumerate(row):
            share = count / total
            hue = 130 if i == j else 5
            fill = f"hsl({hue}, 70%, {round(97 - 52 * share)}%)"
            text = "#fff" if share > 0.6 else "#222"
            x = left + j * cell
            parts.append(
                f'<rect class="cell" data-row="{i}" data-col="{j}" data-count="{count}" '
                f'x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{fill}">'
                f"<title>{escape(names[i])} → {escape(names[j])}: {count}</title></rect>"
                f'<text x="{x + cell / 2 - 1}" y="{y + cell / 2 + 4}" text-anchor="middle" '
                f'font-size="11" fill="{text}">{count}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _bars_svg(result: Result) -> str:
    from html import escape

    width, row, left = 320, 24, 130
    threshold = result.threshold or 0.0
    parts = [
        f'<svg class="per-class" xmlns="http://www.w3.org/2000/svg" '
        f'width="{left + width + 70}" height="{len(result.per_class) * row + 10}">'
    ]
    for i, c in enumerate(result.per_class):
        y = i * row + 4
        color = "#2e9d4f" if c.accuracy >= threshold else "#d2413a"
        parts.append(
            f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" font-size="12">'
            f"{escape(c.name)}</text>"
            f'<rect class="bar" data-label="{c.label}" x="{left}" y="{y}" '
            f'width="{round(width * c.accuracy, 1)}" height="{row - 6}" fill="{color}"/>'
            f'<text x="{left + width * c.accuracy + 4}" y="{y + 14}" font-size="11">'
            f"{c.accuracy:.1%}</text>"
        )
    x = left + width * threshold
    parts.append(
        f'<line x1="{x}" x2="{x}" y1="0" y2="{len(result.per_class) * row + 4}" '
        'stroke="#333" stroke-dasharray="4 3"/></svg>'
    )
    return "".join(parts)


def html_report(result: Result, title: str, gallery: list[tuple[Any, str, str]]) -> str:
    """A self-contained HTML page (inline SVG and PNG, no network) for ``--report``.

    ``gallery`` holds misclassified TRAINING-split images as (uint8 image, true, predicted).
    """
    from html import escape

    label, _ = _STATUS_STYLE[result.status]
    rows = [
        ("verdict", result.message),
        (result.metric, f"{_pct(result.value)} (pass mark {_pct(result.threshold)})"),
        ("score", f"{result.score}/5"),
        ("training sample", _pct(result.train_value)),
    ]
    if result.time_used_s is not None:
        late = " (late)" if result.late else ""
        used = f"{_minutes(result.time_used_s)} of {_minutes(result.time_limit_s)}{late}"
        rows.append(("time used", used))
    if result.margin is not None:
        rows.insert(2, ("gap", f"{result.margin * 100:+.2f} points"))
    facts = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    hints = "".join(f"<li>{escape(h)}</li>" for h in result.hints)
    mixups = "".join(
        f"<li>{escape(c.true)} → {escape(c.predicted)} ({c.count})</li>"
        for c in result.top_confusions
    )
    figures = "".join(
        f'<figure class="mistake"><img src="{_png_data_uri(img)}" width="84" height="84" '
        f'alt="training image"><figcaption>{escape(true)} → {escape(pred)}</figcaption></figure>'
        for img, true, pred in gallery
    )
    sections = [
        f"<h1><span class='badge {result.status}'>{label}</span> {escape(result.task)} "
        f"{escape(title)}</h1>",
        f"<table class='facts'>{facts}</table>",
    ]
    if hints:
        sections.append(f"<h2>Hints</h2><ul class='hints'>{hints}</ul>")
    if result.confusion:
        sections.append("<h2>Confusion matrix (rows: true, columns: predicted)</h2>")
        sections.append(_heatmap_svg(result))
    if result.per_class:
        sections.append("<h2>Accuracy per class (dashed: pass mark)</h2>" + _bars_svg(result))
    if mixups:
        sections.append(f"<h2>Most confused</h2><ul>{mixups}</ul>")
    if figures:
        sections.append(
            "<h2>Misclassified training images</h2><p>From the training split only; "
            f"held-out images are never shown.</p><div class='gallery'>{figures}</div>"
        )
    style = (
        "body{font-family:sans-serif;margin:24px;color:#222}"
        ".badge{padding:2px 8px;color:#fff;border-radius:4px;background:#d2413a}"
        ".badge.pass{background:#2e9d4f}.facts th{text-align:left;padding-right:16px;color:#666}"
        ".gallery{display:flex;flex-wrap:wrap;gap:8px}.mistake{margin:0;text-align:center;"
        "font-size:11px}.mistake img{image-rendering:pixelated;border:1px solid #ccc}"
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(result.task)} report</title><style>{style}</style></head>"
        f"<body>{''.join(sections)}</body></html>"
    )
