"""``grade batch``: discovery of a messy submissions folder, parallel grading, resume, Ray."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.errors import WorkspaceError
from grader.instructors.batch import load_index, run_batch, summarize_cohort
from grader.instructors.submissions import Graded, Skipped, discover, scan
from grader.result import Result
from grader.sandbox.process import Limits
from grader.tasks.spec import TaskSpec
from tests.conftest import ModelFactory
from tests.test_grading import WALL_S, assert_killed_at_the_wall_clock, marked_limits


def _problems(folder: Path) -> dict[str, str | None]:
    return {s.student: s.problem for s in discover(folder)}


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    """A folder with one good entry per layout and one of every kind of bad entry."""
    subs = tmp_path / "subs"
    (subs / "alice").mkdir(parents=True)
    (subs / "alice" / "model.keras").write_bytes(b"x")
    (subs / "bob.h5").write_bytes(b"x")
    (subs / "empty").mkdir()
    (subs / "mixed").mkdir()
    (subs / "mixed" / "model.keras").write_bytes(b"x")
    (subs / "mixed" / "model.h5").write_bytes(b"x")
    (subs / "dup").mkdir()
    (subs / "dup" / "model.keras").write_bytes(b"x")
    (subs / "dup.keras").write_bytes(b"x")
    (subs / "notes.txt").write_text("hi")
    outside = tmp_path / "x"
    outside.mkdir()
    (outside / "model.keras").write_bytes(b"x")
    (subs / "escape").symlink_to(Path("..") / "x")
    (subs / ".DS_Store").write_bytes(b"")
    return subs


def test_discovery_reports_each_bad_entry_and_keeps_the_good_ones(messy: Path) -> None:
    problems = _problems(messy)
    assert problems["alice"] is None and problems["bob"] is None
    assert "no model file" in str(problems["empty"])
    assert "several model files" in str(problems["mixed"])
    assert "duplicate submissions for dup" in str(problems["dup"])
    assert "links outside" in str(problems["escape"])
    assert ".DS_Store" not in problems and "" not in problems


def test_a_file_that_is_not_a_model_is_skipped_not_graded_as_a_student(messy: Path) -> None:
    subs, skipped = scan(messy)
    assert "notes" not in {s.student for s in subs}
    assert skipped == [
        Skipped(".DS_Store", "hidden (its name starts with a dot)"),
        Skipped("notes.txt", "not a .keras or .h5 model file"),
    ]


def test_names_as_an_lms_writes_them_are_accepted_and_kept(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "Jo Smith.keras").write_bytes(b"x")
    (subs / unicodedata.normalize("NFD", "José Ñúñez")).mkdir()  # as macOS writes it
    (subs / unicodedata.normalize("NFD", "José Ñúñez") / "model.keras").write_bytes(b"x")
    (subs / "o'brien.h5").write_bytes(b"x")
    assert _problems(subs) == {"Jo Smith": None, "José Ñúñez": None, "o'brien": None}


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("-rf.keras", "formula"),
        ("=HYPERLINK(1).keras", "formula"),
        ("a..b.keras", "'..'"),
        ("back\\slash.keras", "path separator"),
        ("tab\there.keras", "control character U+0009"),
        ("bidi\u202egnp.keras", "control character U+202E"),
    ],
)
def test_genuinely_unsafe_student_names_are_refused(tmp_path: Path, name: str, why: str) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / name).write_bytes(b"x")
    (problem,) = _problems(subs).values()
    assert "unsafe student name" in str(problem) and why in str(problem)


REPO = Path(__file__).resolve().parents[1]
DISCOVER_AS_CALLER = (
    "import json, sys\n"
    "from pathlib import Path\n"
    "from grader.instructors.submissions import discover\n"
    "print(json.dumps({s.student: s.problem for s in discover(Path(sys.argv[1]))}))\n"
)


def _unprivileged() -> list[str]:
    """A command prefix that drops root to nobody; empty when the tests already run unprivileged.

    Root reads any file, so the refusal can only be seen from an ordinary account."""
    if os.geteuid() != 0:
        return []
    if setpriv := shutil.which("setpriv"):
        return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    if runuser := shutil.which("runuser"):
        return [runuser, "-u", "nobody", "--"]
    pytest.skip("running as root, and neither setpriv nor runuser is here to drop to nobody")


@pytest.fixture
def world_readable_dir() -> Iterator[Path]:
    """A 0755 folder outside /tmp (pytest's tmp_path sits in a 0700 folder nobody can enter)."""
    folder = Path(tempfile.mkdtemp(prefix="grader-subs-", dir="/var/tmp"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_unreadable_model_is_refused(world_readable_dir: Path) -> None:
    """Replaces a test that was skipped whenever the suite ran as root (always, in CI)."""
    subs = world_readable_dir / "subs"
    subs.mkdir(mode=0o755)
    (subs / "eve.keras").write_bytes(b"x")
    (subs / "eve.keras").chmod(0)
    (subs / "ada.keras").write_bytes(b"x")
    (subs / "ada.keras").chmod(0o644)

    def as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*_unprivileged(), sys.executable, *args],
            capture_output=True,
            text=True,
            cwd=REPO,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO)},
            timeout=60,
            check=False,
        )

    probe = as_nobody("-c", "import grader.instructors.batch")
    if probe.returncode != 0:  # e.g. a checkout under a 0700 home
        pytest.skip(f"the unprivileged user cannot import this checkout: {probe.stderr[-300:]}")
    done = as_nobody("-c", DISCOVER_AS_CALLER, str(subs))
    assert done.returncode == 0, done.stderr
    problems = json.loads(done.stdout)
    assert problems == {"ada": None, "eve": "cannot read eve.keras (permission denied)"}


def test_empty_submissions_folder_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="No submissions"):
        discover(tmp_path)


def test_cli_batch_of_only_refused_entries_grades_each_and_writes_exports(
    workspace: Path, messy: Path, tmp_path: Path
) -> None:
    """No child is needed: every entry is refused before loading, none stops the rest."""
    out = tmp_path / "grades"
    done = CliRunner().invoke(app, ["batch", "tiny01", str(messy), "--out", str(out)])
    assert done.exit_code == 0, done.output
    records = json.loads((out / "results.json").read_text())
    by_student = {r["student"]: r for r in records}
    assert set(by_student) == {"alice", "bob", "dup", "empty", "escape", "mixed"}
    assert {r["status"] for r in records} == {"invalid"}
    summary = json.loads((out / "summary.json").read_text())
    assert {"name": "notes.txt", "reason": "not a .keras or .h5 model file"} in summary["skipped"]
    assert "notes.txt" in done.output
    assert (out / "gradebook.csv").is_file() and (out / "junit.xml").is_file()
    assert "pass rate" in done.output and "0%" in done.output


def test_unknown_backend_is_a_usage_error(workspace: Path, messy: Path) -> None:
    done = CliRunner().invoke(app, ["batch", "tiny01", str(messy), "--backend", "spark"])
    assert done.exit_code == 2 and "--backend must be local or ray" in done.output


def test_summary_counts_pass_rate_scores_and_groups_reasons() -> None:
    def r(status: str, score: int, message: str) -> Graded:
        return Graded("s", Result(task="t", status=status, message=message, score=score))  # type: ignore[arg-type]

    s = summarize_cohort(
        [
            r("pass", 5, "ok"),
            r("fail", 2, "75.00% is below the 90% pass mark (-15.00 points)"),
            r("fail", 1, "60.00% is below the 90% pass mark (-30.00 points)"),
            r("invalid", 0, "model.h5 has 12 layers over the limit"),
            r("invalid", 0, "model.h5 has 7 layers over the limit"),
        ]
    )
    assert s.total == 5 and s.pass_rate == 0.2
    assert s.scores == {0: 2, 1: 1, 2: 1, 3: 0, 4: 0, 5: 1}
    assert s.reasons == [
        ("below the pass mark", 2),
        ("model.h5 has N layers over the limit", 2),
    ]


@pytest.fixture
def cohort(tmp_path: Path, pixel_model: ModelFactory) -> Path:
    """Four students: one passes, one fails, one saved garbage, one had no model."""
    subs = tmp_path / "cohort"
    subs.mkdir()
    shutil.move(pixel_model("p.keras"), subs / "passes.keras")
    (subs / "fails").mkdir()
    shutil.move(pixel_model("f.keras", permute=(0, 1, 2, 0)), subs / "fails" / "model.keras")
    (subs / "garbage.keras").write_bytes(b"not a zip")
    (subs / "nomodel").mkdir()
    return subs


@pytest.mark.slow
def test_batch_grades_in_parallel_then_resumes_without_regrading(
    tiny_task: TaskSpec, cohort: Path, tmp_path: Path
) -> None:
    out = tmp_path / "grades"
    started: list[int] = []
    outcome = run_batch(tiny_task, cohort, out=out, workers=2, on_start=started.append)
    status = {g.student: g.result.status for g in outcome.graded}
    assert status == {"fails": "fail", "garbage": "invalid", "nomodel": "invalid", "passes": "pass"}
    assert started == [4] and outcome.exit_code == 0
    passed = next(g.result for g in outcome.graded if g.student == "passes")
    assert passed.value == 1.0 and passed.score == 5

    # Re-run: every model already graded (same sha256, garbage too) is skipped; a changed one
    # is graded again.
    shutil.copyfile(cohort / "passes.keras", cohort / "fails" / "model.keras")
    again = run_batch(tiny_task, cohort, out=out, workers=2, on_start=started.append)
    assert started[-1] == 2  # fails (changed) and nomodel (nothing to hash) are graded again
    status = {g.student: g.result.status for g in again.graded}
    assert status["fails"] == "pass"
    resumed = {g.student for g in again.graded if g.resumed}
    assert resumed == {"passes", "garbage"}
    lines = (out / "index.jsonl").read_text().splitlines()
    assert len(lines) == 6


@pytest.mark.slow
def test_a_submission_past_its_timeout_is_killed_at_the_wall_clock_and_recorded(
    tiny_task: TaskSpec,
    pixel_model: ModelFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subs = tmp_path / "slow"
    subs.mkdir()
    shutil.move(pixel_model(), subs / "sam.keras")
    marked = marked_limits(wall_s=WALL_S)
    monkeypatch.setattr(  # tag the batch's Limits so pgrep finds this test's worker
        "grader.instructors.batch.Limits",
        lambda **kwargs: Limits(**{**kwargs, "cpu_s": marked.cpu_s}),
    )
    started = time.monotonic()
    outcome = run_batch(  # a fresh child's kill; the fork-server's is in test_forkserver.py
        tiny_task, subs, out=tmp_path / "g", timeout_s=WALL_S, fork_server=False
    )
    elapsed = time.monotonic() - started
    assert [g.result.status for g in outcome.graded] == ["timeout"]
    assert "longer than 1 s" in outcome.graded[0].result.message
    assert outcome.exit_code == 0  # a timeout is the submission's verdict, not a grader error
    assert_killed_at_the_wall_clock(elapsed, marked)


@pytest.mark.slow
def test_ray_backend_grades_the_same_way_on_a_local_runtime(
    tiny_task: TaskSpec, cohort: Path, tmp_path: Path
) -> None:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        outcome = run_batch(tiny_task, cohort, out=tmp_path / "g", workers=2, backend="ray")
    finally:
        ray.shutdown()
    status = {g.student: g.result.status for g in outcome.graded}
    assert status == {"fails": "fail", "garbage": "invalid", "nomodel": "invalid", "passes": "pass"}
    passed = next(g.result for g in outcome.graded if g.student == "passes")
    assert passed.value == 1.0 and passed.model_path == str(cohort / "passes.keras")
    # Each Ray worker process predicted through its own fork-server, not a fallback.
    assert not [n for g in outcome.graded for n in g.result.notes if "fork-server" in n]


# --- resume, unit level: records written by hand, grading replaced by a recorder ----------


class Recorder:
    """Stands in for grade_submission: records who was graded, answers with a set status."""

    def __init__(self, task: TaskSpec, heldout_sha: str, status: dict[str, str]) -> None:
        self.task, self.heldout_sha, self.status = task, heldout_sha, status
        self.graded: list[str] = []

    def __call__(
        self, task: TaskSpec, sub: Any, heldout: Any, limits: Limits, server: Any = None
    ) -> Result:
        self.graded.append(sub.student)
        return record(
            self.task,
            self.status.get(sub.student, "pass"),
            _sha(sub.path),
            self.heldout_sha,
            message="graded now",
        )


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def record(
    task: TaskSpec,
    status: str,
    model_sha: str | None,
    heldout_sha: str | None,
    *,
    version: int | None = None,
    message: str = "graded earlier",
) -> Result:
    return Result(
        task=task.id,
        task_version=task.version if version is None else version,
        status=status,  # type: ignore[arg-type]
        message=message,
        model_sha256=model_sha,
        heldout_sha256=heldout_sha,
    )


def write_index(out: Path, records: dict[str, Result], tail: str = "") -> None:
    out.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"student": s, **r.to_dict()}) + "\n" for s, r in records.items()]
    (out / "index.jsonl").write_text("".join(lines) + tail)


@pytest.fixture
def five(tmp_path: Path) -> Path:
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("ann", "ben", "cat", "dan", "eve"):
        (subs / f"{name}.keras").write_bytes(f"model of {name}".encode())
    return subs


@pytest.fixture
def heldout_sha(tiny_task: TaskSpec) -> str:
    from grader import datasets

    return datasets.load_heldout(tiny_task).sha256


def _run(
    task: TaskSpec, subs: Path, out: Path, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> Any:
    monkeypatch.setattr("grader.instructors.batch.grade_submission", recorder)
    return run_batch(task, subs, out=out, fork_server=False)  # nothing is predicted here


def test_resume_keeps_final_verdicts_and_grades_timeouts_and_errors_again(
    tiny_task: TaskSpec,
    five: Path,
    tmp_path: Path,
    heldout_sha: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "grades"
    earlier = {"ann": "pass", "ben": "fail", "cat": "invalid", "dan": "timeout", "eve": "error"}
    write_index(
        out,
        {
            s: record(tiny_task, st, _sha(five / f"{s}.keras"), heldout_sha)
            for s, st in earlier.items()
        },
    )
    recorder = Recorder(tiny_task, heldout_sha, {})
    outcome = _run(tiny_task, five, out, recorder, monkeypatch)
    assert sorted(recorder.graded) == ["dan", "eve"]
    by_student = {g.student: g for g in outcome.graded}
    assert {s for s, g in by_student.items() if g.resumed} == {"ann", "ben", "cat"}
    assert [by_student[s].result.status for s in ("ann", "ben", "cat", "dan", "eve")] == [
        "pass", "fail", "invalid", "pass", "pass"
    ]  # fmt: skip
    assert by_student["ben"].result.message == "graded earlier"


@pytest.mark.parametrize(
    ("change", "regraded"),
    [
        pytest.param({}, False, id="nothing-changed"),
        pytest.param({"version": 2}, True, id="older-task-version"),
        pytest.param({"heldout_sha": "0" * 64}, True, id="other-heldout-fingerprint"),
        pytest.param({"model_sha": "1" * 64}, True, id="other-model-bytes"),
        pytest.param({"model_sha": None}, True, id="no-model-hash"),
    ],
)
def test_a_new_task_version_heldout_or_model_forces_a_regrade(
    tiny_task: TaskSpec,
    five: Path,
    tmp_path: Path,
    heldout_sha: str,
    monkeypatch: pytest.MonkeyPatch,
    change: dict[str, Any],
    regraded: bool,
) -> None:
    assert tiny_task.version == 3
    out = tmp_path / "grades"
    fields: dict[str, Any] = {"model_sha": _sha(five / "ann.keras"), "heldout_sha": heldout_sha}
    fields.update(change)
    ann = record(
        tiny_task, "fail", fields["model_sha"], fields["heldout_sha"], version=change.get("version")
    )
    others = {
        s: record(tiny_task, "pass", _sha(five / f"{s}.keras"), heldout_sha)
        for s in ["ben", "cat", "dan", "eve"]
    }
    write_index(out, {"ann": ann, **others})
    recorder = Recorder(tiny_task, heldout_sha, {})
    outcome = _run(tiny_task, five, out, recorder, monkeypatch)
    assert recorder.graded == (["ann"] if regraded else [])
    first = outcome.graded[0]
    assert first.student == "ann" and first.resumed is not regraded
    assert first.result.status == ("pass" if regraded else "fail")


def _torn_index(task: TaskSpec, five: Path, out: Path, heldout_sha: str) -> None:
    """ann..dan recorded as fail, then half of eve's line: a batch killed mid-write."""
    kept = {
        s: record(task, "fail", _sha(five / f"{s}.keras"), heldout_sha)
        for s in ["ann", "ben", "cat", "dan"]
    }
    eve = record(task, "fail", _sha(five / "eve.keras"), heldout_sha)
    torn = json.dumps({"student": "eve", **eve.to_dict()})
    write_index(out, kept, tail=torn[: len(torn) // 2])


def test_a_torn_last_line_in_the_index_is_tolerated_and_graded_again(
    tiny_task: TaskSpec,
    five: Path,
    tmp_path: Path,
    heldout_sha: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "grades"
    _torn_index(tiny_task, five, out, heldout_sha)
    assert set(load_index(out)) == {"ann", "ben", "cat", "dan"}
    recorder = Recorder(tiny_task, heldout_sha, {})
    outcome = _run(tiny_task, five, out, recorder, monkeypatch)
    assert recorder.graded == ["eve"]
    assert [g.result.status for g in outcome.graded] == ["fail", "fail", "fail", "fail", "pass"]
    assert [g.resumed for g in outcome.graded] == [True, True, True, True, False]


def test_the_record_appended_after_a_torn_line_is_read_back(
    tiny_task: TaskSpec,
    five: Path,
    tmp_path: Path,
    heldout_sha: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "grades"
    _torn_index(tiny_task, five, out, heldout_sha)
    _run(tiny_task, five, out, Recorder(tiny_task, heldout_sha, {}), monkeypatch)
    again = load_index(out)
    assert "eve" in again and again["eve"].result.message == "graded now"


@pytest.mark.parametrize(
    ("status", "code"),
    [("pass", 0), ("fail", 0), ("invalid", 0), ("timeout", 0), ("error", 2)],
)
def test_a_batch_exits_2_only_when_the_grader_failed_on_a_submission(
    workspace: Path,
    tiny_task: TaskSpec,
    five: Path,
    tmp_path: Path,
    heldout_sha: str,
    monkeypatch: pytest.MonkeyPatch,
    status: str,
    code: int,
) -> None:
    recorder = Recorder(tiny_task, heldout_sha, {"cat": status})
    monkeypatch.setattr("grader.instructors.batch.grade_submission", recorder)
    done = CliRunner().invoke(app, ["batch", "tiny01", str(five), "--out", str(tmp_path / "g")])
    assert done.exit_code == code, done.output
    assert sorted(recorder.graded) == ["ann", "ben", "cat", "dan", "eve"]


def test_cli_batch_with_a_roster_writes_canvas_ids_and_flags_both_sides(
    workspace: Path,
    tiny_task: TaskSpec,
    five: Path,
    tmp_path: Path,
    heldout_sha: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    roster = tmp_path / "roster.csv"
    names = ["ann", "ben", "cat", "dan"]  # eve submitted, zoe did not
    rows = [f"{n.title()} X,{i},S{i},{n},A" for i, n in enumerate(names)]
    roster.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section\n" + "\n".join(rows) + "\nZoe Y,9,S9,zoe,A\n"
    )
    monkeypatch.setattr(
        "grader.instructors.batch.grade_submission", Recorder(tiny_task, heldout_sha, {})
    )
    out = tmp_path / "g"
    args = ["batch", "tiny01", str(five), "--out", str(out), "--roster", str(roster)]
    done = CliRunner().invoke(app, [*args, "--lms", "canvas"])
    assert done.exit_code == 2, done.output  # eve is graded but placed in no LMS file
    gradebook = list(csv.DictReader((out / "gradebook.csv").open()))
    assert [(r["student"], r["student_id"], r["status"], r["on_roster"]) for r in gradebook] == [
        ("ann", "S0", "pass", "yes"),
        ("ben", "S1", "pass", "yes"),
        ("cat", "S2", "pass", "yes"),
        ("dan", "S3", "pass", "yes"),
        ("eve", "", "pass", "no"),
        ("Zoe Y", "S9", "missing", "yes"),
    ]
    canvas = list(csv.reader((out / "canvas.csv").open()))
    assert canvas[0][-1] == "tiny01" and ["Zoe Y", "9", "S9", "zoe", "A", ""] in canvas
    summary = json.loads((out / "summary.json").read_text())
    assert summary["roster"] == {
        "missing": ["Zoe Y"],
        "not_on_roster": ["eve"],
        "why_not_placed": {"eve": "matches no roster row (tried name or id 'eve')"},
        "grade_column": "tiny01",
    }
    assert "On no roster row: 1 submission(s)" in done.output
    assert "matches no roster row (tried name or id 'eve')" in done.output
    assert "in no LMS import file, so the batch exits 2" in done.output
    assert "1 roster student(s) with no submission: Zoe Y" in done.output
    assert "… 5/5 PASS eve" in done.output  # not a terminal: one line per graded model


def test_an_lms_layout_without_a_roster_is_one_usage_line(
    workspace: Path, five: Path, tmp_path: Path
) -> None:
    done = CliRunner().invoke(app, ["batch", "tiny01", str(five), "--lms", "canvas"])
    assert done.exit_code == 2 and "--lms canvas needs --roster" in done.output


def _invoke_batch(
    tiny_task: TaskSpec, heldout_sha: str, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> Any:
    monkeypatch.setattr(
        "grader.instructors.batch.grade_submission", Recorder(tiny_task, heldout_sha, {})
    )
    return CliRunner().invoke(app, ["batch", "tiny01", *args])


CANVAS_EIGHT = (
    "Student,ID,SIS User ID,SIS Login ID,Section,Tiny01 Pixels (5521),Current Score\n"
    "    Points Possible,,,,,5.00,(read only)\n"
    + "".join(
        f'"{last}, {first}",{1000 + i},S{i},{login},A,,\n'
        for i, (last, first, login) in enumerate(
            [
                ("Smith", "Jo", "jsmith"),
                ("Lee", "Ann", "alee"),
                ("Chen", "Bo", "bchen"),
                ("Ñúñez", "José", "jnunez"),
                ("Okafor", "Ada", "aokafor"),
                ("Ivanova", "Mia", "mivanova"),
                ("Brown", "Tom", "tbrown"),
                ("Garcia", "Luz", "lgarcia"),
            ]
        )
    )
)


def test_cli_batch_places_a_canvas_bulk_download_in_the_exports_own_column(
    workspace: Path,
    tiny_task: TaskSpec,
    tmp_path: Path,
    heldout_sha: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Canvas's own names ("Smith, Jo"; smithjo[_LATE]_<user id>_<sub id>_<file>) left 3 of 8
    MISSING with blank canvas.csv rows and exit 0; each is placed now, in the export's column."""
    subs = tmp_path / "subs"
    subs.mkdir()
    files = [
        "smithjo_1000_991_model.keras",  # Canvas bulk download
        "leeann_LATE_1001_992_model.keras",  # ... late
        "chenbo_1002_993_final-1.h5",
        "José Ñúñez.keras",  # "Last, First" on the roster
        "S4.keras",  # SIS user id
        "mivanova.keras",  # SIS login id
        "Brown, Tom.keras",  # as the roster writes it
    ]
    for i, name in enumerate(files):
        (subs / name).write_bytes(f"model {i}".encode())
    (subs / "Luz Garcia").mkdir()
    (subs / "Luz Garcia" / "model.keras").write_bytes(b"model 7")
    roster = tmp_path / "gradebook_export.csv"
    roster.write_text(CANVAS_EIGHT, encoding="utf-8")
    out = tmp_path / "g"
    args = [str(subs), "--out", str(out), "--roster", str(roster), "--lms", "canvas"]
    done = _invoke_batch(tiny_task, heldout_sha, monkeypatch, args)
    assert done.exit_code == 0, done.output
    canvas = list(csv.reader((out / "canvas.csv").open(encoding="utf-8", newline="")))
    assert canvas[0][-1] == "Tiny01 Pixels (5521)"
    assert [(row[0], row[-1]) for row in canvas[1:]] == [  # the Recorder's pass scores 0
        ("Smith, Jo", "0"),
        ("Lee, Ann", "0"),
        ("Chen, Bo", "0"),
        ("Ñúñez, José", "0"),
        ("Okafor, Ada", "0"),
        ("Ivanova, Mia", "0"),
        ("Brown, Tom", "0"),
        ("Garcia, Luz", "0"),
    ]
    assert "MISSING" not in done.output and "no roster row" not in done.output
    last = done.output.strip().splitlines()[-1]
    for name in ("gradebook.csv", "results.json", "junit.xml", "summary.json", "canvas.csv"):
        assert name in last, last
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o666 & ~_umask(), name
    assert "gradescope/" in last and str(out) in last


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_cli_batch_reads_moodle_folders_and_fills_its_grading_worksheet(
    workspace: Path,
    tiny_task: TaskSpec,
    tmp_path: Path,
    heldout_sha: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.test_roster import MOODLE_WORKSHEET

    subs = tmp_path / "subs"
    folder = subs / "Jo Smith_12345_assignsubmission_file_"
    folder.mkdir(parents=True)
    (folder / "model.keras").write_bytes(b"jo's model")
    worksheet = tmp_path / "Grades-Task01.csv"
    worksheet.write_text(MOODLE_WORKSHEET, encoding="utf-8")
    out = tmp_path / "g"
    args = [str(subs), "--out", str(out), "--roster", str(worksheet), "--lms", "moodle"]
    done = _invoke_batch(tiny_task, heldout_sha, monkeypatch, args)
    assert done.exit_code == 0, done.output
    rows = list(csv.DictReader((out / "moodle.csv").open(encoding="utf-8", newline="")))
    assert [(r["Identifier"], r["Grade"], r["Feedback comments"]) for r in rows] == [
        ("Participant 12345", "0", "pass: graded now"),
        ("Participant 12346", "", ""),
    ]
    assert "moodle.csv" in done.output.strip().splitlines()[-1]


def test_cli_batch_says_which_assignment_to_pick_before_grading_anything(
    workspace: Path,
    tiny_task: TaskSpec,
    five: Path,
    tmp_path: Path,
    heldout_sha: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    roster = tmp_path / "export.csv"
    roster.write_text(CANVAS_EIGHT.replace("Tiny01 Pixels", "Homework 1"), encoding="utf-8")
    recorder = Recorder(tiny_task, heldout_sha, {})
    monkeypatch.setattr("grader.instructors.batch.grade_submission", recorder)
    args = ["batch", "tiny01", str(five), "--roster", str(roster), "--lms", "canvas"]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 2 and "--assignment 'Homework 1 (5521)'" in done.output
    assert recorder.graded == []
    picked = CliRunner().invoke(app, [*args, "--assignment", "Homework 1", "--out", str(tmp_path)])
    assert picked.exit_code == 2  # graded, but five's names are on no roster row
    header = next(csv.reader((tmp_path / "canvas.csv").open(encoding="utf-8")))
    assert header[-1] == "Homework 1 (5521)"
