"""Instructors' views: batch progress and summary, validation tables, scaffolding, and a
Gradescope results.json as the student sees it."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich import box
from rich.markup import escape
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from grader.instructors.batch import BatchOutcome
    from grader.instructors.submissions import Graded
    from grader.instructors.validate import TaskValidation

from grader.instructors.batch import summarize_cohort
from grader.report.console import (
    STATUS_STYLE,
    err,
    note,
    out,
    shown,
    text_bar,
)
from grader.text import visible


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
    counts = {"done": 0, "total": 0}
    with Progress(*columns, console=err, transient=False) as bar:
        task_id = bar.add_task(label, total=None, last="")

        def on_start(total: int) -> None:
            counts["total"] = total
            bar.update(task_id, total=total)

        def on_result(graded: Graded) -> None:
            if graded.resumed:
                return
            label, style = STATUS_STYLE[graded.result.status]
            name = escape(visible(graded.student))  # the column reads markup: ours only
            bar.update(task_id, advance=1, last=f"[{style}] {label} [/] {name}")
            counts["done"] += 1
            if not err.is_terminal:  # a log file: a bar that never redraws shows nothing
                line = f"… {counts['done']}/{counts['total']} {label} {graded.student}"
                err.print(shown(line), soft_wrap=True)

        yield on_start, on_result


def show_batch(outcome: BatchOutcome) -> None:
    """``grade batch``: every student (status, score, accuracy, reason), the pass rate and
    score distribution, common failure reasons, copied models, skipped files, the roster."""

    s = summarize_cohort(outcome.graded)
    out.print(_students(outcome))
    table = Table(
        box=box.SIMPLE_HEAD,
        title=shown(f"{outcome.task.id}: {s.total} submissions"),
        title_justify="left",
        show_header=False,
    )
    table.add_column(style="dim")
    table.add_column()
    table.add_row("pass rate", Text(f"{s.pass_rate:.0%}  ({s.passed} of {s.total})", style="bold"))
    table.add_row("statuses", "  ".join(f"{k} {v}" for k, v in sorted(s.by_status.items())))
    most = max(s.scores.values()) or 1
    for score, count in s.scores.items():
        table.add_row(f"score {score}", f"{text_bar(count / most, 20)} {count}")
    if s.resumed:
        table.add_row("resumed", f"{s.resumed} already graded in an earlier run (same sha256)")
    out.print(table)
    if s.reasons:
        reasons = Table(
            box=box.SIMPLE_HEAD, title="Most common reasons for not passing", title_justify="left"
        )
        reasons.add_column("students", justify="right")
        reasons.add_column("reason", overflow="fold")
        for text, count in s.reasons:
            reasons.add_row(str(count), shown(text))
        out.print(reasons)
    _show_beside(outcome)
    _show_unplaced(outcome)
    out.print(shown(f"Wrote {written(outcome)} to {outcome.out}"), soft_wrap=True)


def written(outcome: BatchOutcome) -> str:
    """Every file the batch wrote, by name (a folder of them as ``gradescope/``)."""
    names: list[str] = []
    for path in outcome.files:
        parts = path.relative_to(outcome.out).parts if path.is_relative_to(outcome.out) else ()
        name = path.name if len(parts) <= 1 else f"{parts[0]}/"
        if name not in names:
            names.append(name)
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else "".join(names)


def _show_unplaced(outcome: BatchOutcome) -> None:
    """Submissions on no roster row: graded, but in no LMS file; the batch exits 2."""
    if not outcome.unknown:
        return
    by_student = {g.student: g for g in outcome.graded}
    table = Table(
        box=box.HEAVY_HEAD,
        title=f"On no roster row: {len(outcome.unknown)} submission(s)",
        title_justify="left",
        title_style="bold red",
        border_style="red",
    )
    table.add_column("submission", overflow="fold")
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("why", overflow="fold", ratio=1)
    for student in outcome.unknown:
        graded = by_student.get(student)
        score = str(graded.result.score) if graded else ""
        table.add_row(shown(student), score, shown(outcome.why.get(student, "")))
    out.print(table)
    out.print(
        Text(
            "Their grades are in gradebook.csv (on_roster = no) but in no LMS import file, "
            "so the batch exits 2. Fix the roster (add the student, or their Canvas ID, SIS "
            "id or email) or rename the submission to their roster name or id, then run the "
            "batch again (models already graded are not graded again).",
            style="red",
        ),
        soft_wrap=True,
    )


def _students(outcome: BatchOutcome) -> Table:
    """One row per student; the reason folds onto more lines rather than being cut."""
    table = Table(box=box.SIMPLE_HEAD, title="Students", title_justify="left")
    table.add_column("student", overflow="fold")
    table.add_column("status", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("accuracy", justify="right", no_wrap=True)
    table.add_column("reason", overflow="fold", ratio=1)
    for g in outcome.graded:
        r = g.result
        label, style = STATUS_STYLE[r.status]
        accuracy = "" if r.value is None else f"{r.value:.2%}"
        why = "" if r.passed else r.message
        if g.copied_from:
            why = f"{why} [copy of {', '.join(g.copied_from)}]".strip()
        table.add_row(
            shown(g.student), Text(label, style=style), str(r.score), accuracy, shown(why)
        )
    for entry in outcome.missing:
        table.add_row(shown(entry.name), Text("MISSING", style="yellow"), "", "", "no submission")
    return table


def _show_beside(outcome: BatchOutcome) -> None:
    """Copies, skipped files and the roster join: what an instructor must look at by hand."""
    if outcome.copies:
        copies = Table(
            box=box.SIMPLE_HEAD,
            title="Copied models (grades unchanged: look at them)",
            title_justify="left",
        )
        copies.add_column("students", overflow="fold")
        copies.add_column("what is the same", overflow="fold")
        for group in outcome.copies:
            copies.add_row(shown(", ".join(group.students)), shown(group.kind))
        out.print(copies)
    lines = []
    if outcome.skipped:
        names = ", ".join(k.name for k in outcome.skipped)
        lines.append(f"skipped {len(outcome.skipped)} file(s) that are not models: {names}")
    if outcome.missing:
        names = ", ".join(e.name for e in outcome.missing)
        lines.append(f"{len(outcome.missing)} roster student(s) with no submission: {names}")
    for line in lines:
        out.print(shown(line, style="yellow"), soft_wrap=True)


_CHECK_STYLE = {
    "ok": ("✓", "green"),
    "fail": ("✗", "red"),
    "error": ("!", "magenta"),
    "skip": ("-", "dim"),
    "warn": ("!", "yellow"),
}


def show_stage(line: str) -> None:
    """One line on stderr as ``grade validate`` reaches a stage; plain text in a log file,
    where a live spinner would print nothing."""
    err.print(shown(f"… {line}", style="dim"), soft_wrap=True, highlight=False)


def show_validation(reports: list[TaskValidation]) -> None:
    """``grade validate``: a table of checks per task."""
    for rep in reports:
        table = Table(title=shown(rep.task_id), box=box.SIMPLE_HEAD, title_justify="left")
        table.add_column("", no_wrap=True)
        table.add_column("check")
        table.add_column("detail", overflow="fold")
        for check in rep.checks:
            mark, style = _CHECK_STYLE[check.status]
            detail = shown(check.detail, style=style, lines=True)
            table.add_row(Text(mark, style=style), shown(check.name), detail)
        out.print(table)


def show_scaffold(folder: Path, notes: list[str]) -> None:
    """``grade new``: what was written and what to do next."""
    for line in notes:
        note(f"note: {line}")
    out.print(
        Text.assemble(
            "Created ",
            shown(str(folder), "bold"),
            ": task.toml, prompt.md, starter.py, reference.py.",
        )
    )
    out.print(
        Text.assemble(
            "Next: fill in reference.py and prompt.md, then ",
            shown(f"grade validate {folder.name}", "bold"),
            ".",
        )
    )


_TEST_STYLE = {"passed": "green", "failed": "red"}


def show_gradescope_results(record: dict[str, Any], notes: list[str]) -> None:
    """``grade gradescope-test``: the instructor's ``notes``, then the results.json as
    Gradescope shows it to the student (score, output, then each test as a block, readable at
    80 columns); its text is shown as written, never as markup."""
    for line in notes:
        note(f"note: {line}")
    out.print(Text(f"Score: {_points(record.get('score'), record.get('max_score'))}", "bold"))
    if record.get("output"):
        out.print(Text(str(record["output"])))
    tests = record.get("tests")
    if isinstance(tests, list) and tests:
        out.print(Text("\nTests:", style="bold"))
    for test in tests if isinstance(tests, list) else []:
        if not isinstance(test, dict):
            continue
        status = str(test.get("status", ""))
        row = Text(f"{status or '-':>6} ", style=_TEST_STYLE.get(status, "bold"))
        row.append(f"{test.get('name', '')} ({_points(test.get('score'), test.get('max_score'))})")
        out.print(row)
        if test.get("output"):
            out.print(Text(textwrap.indent(str(test["output"]), " " * 7)))
    for entry in record.get("leaderboard") or []:
        if isinstance(entry, dict):
            out.print(Text(f"Leaderboard: {entry.get('name')} {entry.get('value')}"))


def _points(score: Any, max_score: Any) -> str:
    return f"{score}" if max_score is None else f"{score}/{max_score}"
