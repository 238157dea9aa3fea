"""The ``grade`` command: a thin Typer app. A task id typed as the first word is a command.

Each command parses options, calls one core function and hands the result to the report.
Only this module turns exceptions into exit codes: 0 passed, 1 did not pass, 2 could not grade.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from grader.errors import GraderError, SubmissionError


class _TaskAwareGroup(TyperGroup):
    """Route ``grade task01 ...`` to the hidden ``task`` command when no command matches."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["task", *args]
        return super().resolve_command(ctx, args)


app = typer.Typer(
    cls=_TaskAwareGroup,
    help=(
        "Grade TensorFlow/Keras exam-practice tasks on held-out data.\n\n"
        "\b\n"
        "  grade TASK                 grade solutions/TASK/model.keras (or model.h5)\n"
        "  grade TASK --model PATH    grade any .keras/.h5 file\n"
        "  grade TASK --train         run solution.py sandboxed, then grade\n"
        "  grade TASK --json          one JSON result on stdout\n\n"
        "Exit codes: 0 passed, 1 did not pass, 2 could not grade."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: typer's rich help costs ~0.13 s of imports, over the 0.3 s start-up budget.
    rich_markup_mode=None,
)


def _fail(err: GraderError, *, as_json: bool = False, task_id: str | None = None) -> typer.Exit:
    """Report an expected failure as one red line (and a JSON record when asked)."""
    from grader import report

    if as_json:
        from grader.results import Result, Status

        status: Status = err.status if isinstance(err, SubmissionError) else "error"  # type: ignore[assignment]
        record = Result(task=task_id or "", status=status, message=str(err))
        report.print_json(record.to_json())
    report.error(str(err))
    return typer.Exit(err.exit_code)


@app.command("task", hidden=True)
def grade_task(
    task_id: Annotated[str, typer.Argument(metavar="TASK", help="Task id, e.g. task01.")],
    model: Annotated[
        Path | None, typer.Option("--model", "-m", help="Grade this model file instead.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON result object and nothing else.")
    ] = False,
    train: Annotated[
        bool,
        typer.Option(
            "--train",
            help="First run solutions/TASK/solution.py in the sandbox (time-limited), "
            "streaming its output, then grade the model it saved.",
        ),
    ] = False,
) -> None:
    """Grade solutions/TASK/model.keras (or --model PATH) on the task's held-out data."""
    from grader import grading, report, tasks, training, workspace

    try:
        spec = tasks.load_task(task_id)
        if train and model is not None:
            raise typer.BadParameter("use either --train or --model, not both")
        if train:
            path = training.train(spec, on_output=report.child_line)
        else:
            path = model if model is not None else workspace.find_model(spec.id)
        result = grading.grade(spec, path)
    except GraderError as err:
        raise _fail(err, as_json=as_json, task_id=task_id) from None
    if as_json:
        report.print_json(result.to_json())
    else:
        report.show_result(result, spec.title)
    raise typer.Exit(result.exit_code)


@app.command("list")
def list_tasks() -> None:
    """List the task catalogue: id, title, category, pass mark, time limit."""
    from grader import report, tasks

    try:
        catalogue = tasks.load_catalogue()
    except GraderError as err:
        raise _fail(err) from None
    report.show_catalogue(catalogue)


@app.command("show")
def show(task_id: Annotated[str, typer.Argument(metavar="TASK")]) -> None:
    """Show a task's prompt and contract: input shape, pixel scale, classes, pass mark."""
    from grader import report, tasks

    try:
        spec = tasks.load_task(task_id)
    except GraderError as err:
        raise _fail(err) from None
    report.show_task(spec)


@app.command("start")
def start(task_id: Annotated[str, typer.Argument(metavar="TASK")]) -> None:
    """Copy the starter to solutions/TASK/solution.py (never overwriting); show the prompt."""
    from grader import report, tasks, workspace

    try:
        spec = tasks.load_task(task_id)
        solution, copied = workspace.copy_starter(spec.starter_path, spec.id)
    except GraderError as err:
        raise _fail(err) from None
    report.show_task(spec)
    report.show_started(spec, solution, copied)


def main() -> None:
    """Console-script entry point."""
    app()
