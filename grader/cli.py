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
        "  grade TASK --json          one JSON result on stdout\n"
        "  grade restore TASK         put the best graded model back\n\n"
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
    from grader.report import console

    if as_json:
        from grader.result import Result, Status

        status: Status = err.status if isinstance(err, SubmissionError) else "error"
        record = Result(task=task_id or "", status=status, message=str(err))
        console.print_json(record.to_json())
    console.error(str(err))
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
    report_path: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="Also write a self-contained HTML report (confusion heatmap, per-class bars, "
            "misclassified training images) to this file.",
        ),
    ] = None,
) -> None:
    """Grade solutions/TASK/model.keras (or --model PATH) on the task's held-out data."""
    from grader.practice import history, models
    from grader.practice.attempt import attempt
    from grader.report import console, verdict
    from grader.tasks.spec import load_task

    try:
        spec = load_task(task_id)
        if train and model is not None:
            raise typer.BadParameter("use either --train or --model, not both")
        previous = models.keep_current(spec.id) if train else None
        with console.download_progress(f"Downloading {spec.dataset.name}") as bar:
            graded = attempt(
                spec, model, train=train, on_output=console.child_line, on_progress=bar
            )
    except GraderError as err:
        raise _fail(err, as_json=as_json, task_id=task_id) from None
    result = graded.result
    problems: list[GraderError] = []
    if not as_json:
        verdict.show_result(result, spec.title)
    if previous is not None and previous.sha256 != result.model_sha256:
        from grader.report import practice as practice_views

        practice_views.show_replaced(
            spec.id, previous, _quietly(lambda: history.previous_grading(spec.id, previous.sha256))
        )
    if report_path is not None:
        try:
            _write_report(report_path, result, spec)
        except GraderError as err:
            problems.append(err)
    final = graded.final(problems)
    if as_json:
        # Printed last, once every failure is known, so that exit 2 always reads "error".
        console.print_json(final.to_json())
    for problem in [*graded.problems, *problems]:
        console.error(str(problem))
    raise typer.Exit(final.exit_code)


def _interactive() -> bool:
    """Whether a person can answer a question on stdin (a pipe or a script cannot)."""
    import sys

    return sys.stdin.isatty()


def _quietly(read: Any) -> Any:
    """``read()``, or None when the gradebook cannot say (the error was already reported)."""
    try:
        return read()
    except GraderError:
        return None


def _write_report(path: Path, result: Any, spec: Any) -> None:
    """Write the HTML report for ``--report``, with this task's attempts from the gradebook."""
    import time

    from grader.errors import WorkspaceError
    from grader.grading import inputs
    from grader.practice import history
    from grader.report import console, html

    try:
        attempts = history.load(spec.id)[0]
    except GraderError:
        attempts = []  # the gradebook's problem is reported once, by the grading
    page = html.html_report(
        result,
        spec.title,
        inputs.mistake_images(spec, result.train_mistakes),
        tiers=spec.grading.score_tiers,
        attempts=attempts,
        graded_at=time.time(),
    )
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as err:
        raise WorkspaceError(f"cannot write the report to {path}: {err.strerror}") from None
    console.note(f"Wrote the visual report to {path}")


@app.command("list")
def list_tasks(
    as_json: Annotated[bool, typer.Option("--json", help="Print the catalogue as JSON.")] = False,
) -> None:
    """List the task catalogue: id, title, category, pass mark, time limit, your status."""
    from grader.practice import history
    from grader.report import catalogue as catalogue_views
    from grader.report import console
    from grader.tasks.spec import load_catalogue

    try:
        catalogue = load_catalogue()
        status = history.task_status([t.id for t in catalogue])
    except GraderError as err:
        raise _fail(err) from None
    if as_json:
        console.print_json(catalogue_views.catalogue_json(catalogue, status))
    else:
        catalogue_views.show_catalogue(catalogue, status)


@app.command("show")
def show(task_id: Annotated[str, typer.Argument(metavar="TASK")]) -> None:
    """Show a task's prompt and contract: input shape, pixel scale, classes, pass mark."""
    from grader.report import catalogue as catalogue_views
    from grader.tasks.spec import load_task

    try:
        spec = load_task(task_id)
    except GraderError as err:
        raise _fail(err) from None
    catalogue_views.show_task(spec)


@app.command("start")
def start(
    task_id: Annotated[str, typer.Argument(metavar="TASK")],
    restart: Annotated[
        bool, typer.Option("--restart", help="Reset the task's clock to zero (asks first).")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before --restart.")] = False,
    download: Annotated[
        bool, typer.Option("--download", help="Download the task's data first, then start.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Start the clock even if the data is not here yet.")
    ] = False,
) -> None:
    """Copy the starter to solutions/TASK/solution.py (never overwriting), show the prompt,
    and start the task's clock (not while its data is missing: see --download, --force)."""
    from grader.errors import DatasetMissingError
    from grader.practice import exam, gradebook
    from grader.report import catalogue as catalogue_views
    from grader.report import console
    from grader.report import practice as practice_views
    from grader.tasks import workspace
    from grader.tasks.spec import load_task

    try:
        spec = load_task(task_id)
        if download:
            with console.download_progress(f"Downloading {spec.dataset.name}") as bar:
                exam.fetch_data(spec, on_progress=bar)
        missing = None if download else exam.missing_data(spec)
        if missing and not force:
            raise DatasetMissingError(
                f"{spec.id}'s clock was not started: {missing}. Run `grade start {spec.id} "
                "--download` to fetch it first, or --force to start the clock anyway."
            )
        if restart and not yes and gradebook.clock_running(spec.id):
            typer.confirm(f"Reset the clock of {spec.id} to zero?", abort=True, err=True)
        solution, copied = workspace.copy_starter(spec.starter_path, spec.id)
        started, clock = gradebook.start_clock(
            spec.id, spec.time_limit_minutes * 60.0, restart=restart
        )
    except GraderError as err:
        raise _fail(err) from None
    catalogue_views.show_task(spec)
    catalogue_views.show_started(spec, solution, copied)
    practice_views.show_clock_started(clock, started)
    if missing:
        console.note(
            f"warning: {spec.id}'s clock is running but {missing}; it downloads on first use, "
            "inside the time limit."
        )


@app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Print the clocks as JSON.")] = False,
) -> None:
    """Show every running clock (and the exam session): time used and left."""
    from grader.practice import gradebook
    from grader.report import console
    from grader.report import practice as practice_views
    from grader.tasks.spec import task_ids

    try:
        clocks, session = gradebook.running()
        known = set(task_ids())
    except GraderError as err:
        raise _fail(err) from None
    if as_json:
        console.print_json(practice_views.status_json(clocks, session, known))
    else:
        practice_views.show_status(clocks, session, known)


@app.command("history")
def history_cmd(
    task_id: Annotated[str | None, typer.Argument(metavar="[TASK]")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print attempts as JSON.")] = False,
) -> None:
    """Every graded attempt: accuracy over time, best score, time to first pass."""
    from grader.practice import history
    from grader.report import console
    from grader.report import practice as practice_views

    try:
        attempts, summaries = history.load(task_id)
    except GraderError as err:
        raise _fail(err) from None
    if as_json:
        console.print_json(practice_views.history_json(attempts, summaries))
    else:
        practice_views.show_history(attempts, summaries)


@app.command("restore")
def restore(
    task_id: Annotated[str, typer.Argument(metavar="TASK")],
    attempt: Annotated[
        int | None,
        typer.Option("--attempt", help="Restore this attempt's model (# in `grade history`)."),
    ] = None,
    best: Annotated[
        bool, typer.Option("--best", help="Restore the best-scoring model (the default).")
    ] = False,
) -> None:
    """Put a graded model back in solutions/TASK/ (default: the best); the one there is kept."""
    from grader.practice import history
    from grader.report import practice as practice_views
    from grader.tasks.spec import load_task

    try:
        if best and attempt is not None:
            raise GraderError("use either --best or --attempt N, not both")
        spec = load_task(task_id)
        chosen, target, replaced = history.restore(spec.id, attempt)
    except GraderError as err:
        raise _fail(err) from None
    practice_views.show_restored(chosen, target, replaced)


exam_app = typer.Typer(
    help="A timed exam: several tasks, one clock, a total weighted by category.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(exam_app, name="exam")


@exam_app.command("start")
def exam_start(
    task_ids: Annotated[
        list[str] | None,
        typer.Option(
            "--tasks",
            help="Task ids (repeat or comma-separate); default: one per category.",
        ),
    ] = None,
    minutes: Annotated[int, typer.Option(help="Session length in minutes.")] = 300,
) -> None:
    """Start an exam session; grade tasks as usual, then `grade exam submit`."""
    from grader.practice import exam
    from grader.report import practice as practice_views

    wanted = [t for item in task_ids or [] for t in item.split(",") if t.strip()]
    try:
        session, skipped = exam.start([t.strip() for t in wanted] or None, minutes)
    except GraderError as err:
        raise _fail(err) from None
    practice_views.show_session(session)
    practice_views.show_skipped(skipped)


@exam_app.command("status")
def exam_status() -> None:
    """Show the running exam session: tasks, time used and left."""
    from grader.practice import exam
    from grader.report import practice as practice_views

    try:
        session, scores = exam.status()
    except GraderError as err:
        raise _fail(err) from None
    practice_views.show_session(session, scores)


@exam_app.command("submit")
def exam_submit(
    as_json: Annotated[bool, typer.Option("--json", help="Print the exam report as JSON.")] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask, even while time remains.")
    ] = False,
) -> None:
    """End the session: best score per task, weighted total, pass or fail, time used."""
    from grader.practice import exam
    from grader.report import console
    from grader.report import practice as practice_views

    try:
        session, _ = exam.status()
        if not yes and not session.time.over:
            left = console.fmt_minutes(session.time.left_s)
            if not _interactive():
                raise GraderError(
                    f"{left} of the exam remain; run `grade exam submit --yes` to end it now."
                )
            typer.confirm(f"{left} of the exam remain. Submit now?", abort=True, err=True)
        result = exam.submit()
    except GraderError as err:
        raise _fail(err) from None
    if as_json:
        console.print_json(practice_views.exam_json(result))
    else:
        practice_views.show_exam(result)
    raise typer.Exit(0 if result.passed else 1)


@app.command("new")
def new(
    task_id: Annotated[str, typer.Argument(metavar="TASK", help="New task id, e.g. task07.")],
    dataset: Annotated[
        str, typer.Option(help="Dataset registry name the task scores on.")
    ] = "fashion_mnist",
    classes: Annotated[
        int | None, typer.Option(help="Number of classes (default: the dataset's).")
    ] = None,
    title: Annotated[str | None, typer.Option(help="One-line title for `grade list`.")] = None,
) -> None:
    """Scaffold tasks/TASK/ (task.toml, prompt.md, starter.py, reference.py) for instructors."""
    from grader.instructors import scaffold
    from grader.report import instructor as instructor_views

    try:
        folder, notes = scaffold.new_task(task_id, dataset=dataset, classes=classes, title=title)
    except GraderError as err:
        raise _fail(err) from None
    instructor_views.show_scaffold(folder, notes)


@app.command("validate")
def validate(
    task_ids: Annotated[
        list[str] | None, typer.Argument(metavar="[TASK]...", help="Tasks (default: all).")
    ] = None,
    fast: Annotated[
        bool, typer.Option("--fast", help="Skip the trainings (starter and reference).")
    ] = False,
    runs: Annotated[
        int, typer.Option(min=1, help="Train the reference this many times; all must pass.")
    ] = 1,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline", help="Skip, not fail, tasks whose data must be downloaded first (CI)."
        ),
    ] = False,
) -> None:
    """Check tasks: spec, data, prompt, baseline fails, starter fails, reference passes."""
    from grader.instructors import validate as core
    from grader.report import console
    from grader.report import instructor as instructor_views

    try:
        with console.download_progress("Downloading data") as bar:
            reports = core.validate(
                task_ids,
                fast=fast,
                runs=runs,
                offline=offline,
                on_progress=bar,
                on_stage=instructor_views.show_stage,
            )
    except GraderError as err:
        raise _fail(err) from None
    instructor_views.show_validation(reports)
    raise typer.Exit(max(r.exit_code for r in reports))


@app.command("batch")
def batch(
    task_id: Annotated[str, typer.Argument(metavar="TASK")],
    submissions: Annotated[
        Path, typer.Argument(metavar="DIR", help="A folder per student, or model files.")
    ],
    workers: Annotated[int, typer.Option(min=1, help="Models graded at once.")] = 1,
    timeout: Annotated[
        float, typer.Option(min=1, help="Wall seconds per submission before it is stopped.")
    ] = 300.0,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: grades/ next to DIR).")
    ] = None,
    backend: Annotated[
        str, typer.Option(help="local (threads + sandboxed children) or ray.")
    ] = "local",
    address: Annotated[
        str | None, typer.Option(help="Ray cluster address, e.g. ray://head:10001 or auto.")
    ] = None,
    fresh_children: Annotated[
        bool,
        typer.Option(
            "--fresh-children",
            help="Start a fresh sandboxed child per model instead of forking one from a "
            "per-worker fork-server (slower; for comparison).",
        ),
    ] = False,
    roster: Annotated[
        Path | None,
        typer.Option(
            help="Course roster CSV (name, id, email...): joins ids into gradebook.csv, lists "
            "roster students with no submission and submissions not on it."
        ),
    ] = None,
    lms: Annotated[
        str,
        typer.Option(
            help="Also write the grade-import file of this LMS: canvas or moodle (needs "
            "--roster); csv writes gradebook.csv only."
        ),
    ] = "csv",
    assignment: Annotated[
        str | None,
        typer.Option(
            help="The roster's assignment column to fill in canvas.csv, e.g. 'Task01 Fashion "
            "(5521)' (default: the one named after TASK)."
        ),
    ] = None,
) -> None:
    """Grade every submission in DIR, N at a time; write CSV, JSON, JUnit and Gradescope."""
    from grader.instructors import batch as core
    from grader.report import console
    from grader.report import instructor as instructor_views
    from grader.tasks.spec import load_task

    backends: dict[str, core.Backend] = {"local": "local", "ray": "ray"}
    if backend not in backends:
        raise _fail(GraderError(f"--backend must be local or ray, got '{backend}'")) from None
    try:
        spec = load_task(task_id)
        with (
            instructor_views.batch_progress(f"grading {spec.id}") as (on_start, on_result),
            console.download_progress(f"Downloading {spec.dataset.name}") as bar,
        ):
            outcome = core.run_batch(
                spec,
                submissions,
                out=out,
                workers=workers,
                timeout_s=timeout,
                backend=backends[backend],
                address=address,
                on_start=on_start,
                on_result=on_result,
                on_progress=bar,
                fork_server=not fresh_children,
                roster=roster,
                lms=lms,
                assignment=assignment,
            )
    except GraderError as err:
        raise _fail(err) from None
    instructor_views.show_batch(outcome)
    raise typer.Exit(outcome.exit_code)


@app.command("gradescope")
def gradescope_build(
    task_id: Annotated[str, typer.Argument(metavar="TASK")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The autograder zip to write.")] = Path(
        "autograder.zip"
    ),
) -> None:
    """Build a Gradescope autograder zip for TASK (setup.sh, run_autograder, the task, its
    held-out data and the grader); upload it as the assignment's autograder."""
    from grader.instructors import gradescope
    from grader.report import console
    from grader.tasks.spec import load_task

    try:
        spec = load_task(task_id)
        with console.download_progress(f"Downloading {spec.dataset.name}") as bar:
            path = gradescope.build(spec, out, on_progress=bar)
    except GraderError as err:
        raise _fail(err) from None
    size = path.stat().st_size / 2**20
    console.note(
        f"Wrote {path} ({size:.1f} MB): upload it as the Gradescope autograder; try it here "
        f"first with `grade gradescope-test {path} MODEL`"
    )


@app.command("gradescope-test")
def gradescope_test(
    zip_path: Annotated[Path, typer.Argument(metavar="ZIP", help="The built autograder zip.")],
    submission: Annotated[
        Path,
        typer.Argument(
            metavar="SUBMISSION", help="A model file, or a folder as a student uploads it."
        ),
    ],
    timeout: Annotated[
        float, typer.Option(min=1, help="Seconds before run_autograder is stopped.")
    ] = 600.0,
) -> None:
    """Run a built autograder ZIP on SUBMISSION as Gradescope does, in a simulated
    /autograder in a temporary folder, and show the results.json the student will see.
    setup.sh is NOT run: it grades with the grader installed on this machine. Exit 0 when
    run_autograder wrote a valid results.json (whatever the score), 2 otherwise."""
    import tempfile

    from grader.instructors import gradescope_trial as core
    from grader.report import instructor as instructor_views

    try:
        with tempfile.TemporaryDirectory(prefix="grader-autograder-") as tmp:
            run, notes = core.trial(
                zip_path, submission, Path(tmp) / "autograder", timeout_s=timeout
            )
    except GraderError as err:
        raise _fail(err) from None
    instructor_views.show_gradescope_results(run.record, notes)


@app.command("gradescope-run", hidden=True)
def gradescope_run() -> None:
    """Grade the submission in $AUTOGRADER_ROOT (default /autograder) and write
    results/results.json: what run_autograder runs on Gradescope. Exit 0 once written."""
    from grader.instructors import gradescope
    from grader.report import console

    try:
        result, path = gradescope.run()
    except (GraderError, OSError) as err:
        raise _fail(GraderError(f"could not write the Gradescope results: {err}")) from None
    console.info(f"{result.status}: {result.message} (wrote {path})")


@app.command("classroom")
def classroom(
    task_id: Annotated[str, typer.Argument(metavar="TASK")],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Workflow file (default .github/workflows/grade.yml)."),
    ] = None,
) -> None:
    """Write a GitHub Classroom / GitHub Actions workflow that grades TASK on every push."""
    from grader.instructors import classroom as core
    from grader.report import console
    from grader.tasks.spec import load_task

    try:
        path = core.write_workflow(load_task(task_id), out or core.DEFAULT_OUT)
    except GraderError as err:
        raise _fail(err) from None
    console.note(f"Wrote {path}: commit it to the assignment's template repository")


def main() -> None:
    """Console-script entry point."""
    app()
