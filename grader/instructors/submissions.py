"""A cohort's submissions: read from a folder into one entry per student (refusals
included), and each graded into one record that never raises.

A folder holds a folder per student with one model file inside (``alice/model.keras``),
model files named by student (``bob.h5``), or both. Every entry that cannot be graded (an
empty folder, two models, the same student twice, a file that is not a model, a pipe or
device, a link outside the folder, an unreadable file, an unsafe name) becomes a
:class:`Submission` carrying the one-line reason, before any file is read. A file beside
them that is not a model at all (``notes.txt``, ``roster.csv``) is :class:`Skipped`, not
graded as a student. Names are kept as written (``Jo Smith``, ``José Ñúñez``); see
:mod:`grader.instructors.names` for the ones refused.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from grader.errors import GraderError, SubmissionError, WorkspaceError
from grader.grading.inputs import GradingData
from grader.grading.pipeline import grade
from grader.instructors.names import normalized, unsafe
from grader.instructors.roster import RosterEntry
from grader.result import Result, Status
from grader.sandbox.files import DIRECTORY, LINK, REGULAR, kind_of, sha256_regular
from grader.sandbox.forkserver import ForkServer
from grader.sandbox.process import Limits
from grader.sandbox.static_check import SUFFIXES
from grader.tasks.spec import TaskSpec


@dataclass(frozen=True)
class Submission:
    """One student's entry in the submissions folder."""

    student: str
    """The student's name: the folder name, or the model file's stem."""
    path: Path | None
    """The model file to grade; None when the entry was refused before grading."""
    problem: str | None = None
    """Why the entry cannot be graded (one line), or None."""


@dataclass(frozen=True)
class Skipped:
    """A file in the submissions folder that is not a model, so no student's entry."""

    name: str
    """The file's name, e.g. ``notes.txt``."""
    reason: str
    """Why it was skipped (one line)."""


def discover(folder: Path, *, exclude: Iterable[Path] = ()) -> list[Submission]:
    """The submissions in ``folder``, one per student, sorted by name; refusals included."""
    return scan(folder, exclude=exclude)[0]


def scan(folder: Path, *, exclude: Iterable[Path] = ()) -> tuple[list[Submission], list[Skipped]]:
    """The submissions in ``folder`` (as :func:`discover`) and the files skipped as no model."""
    if not folder.is_dir():
        raise WorkspaceError(f"{folder} is not a folder of submissions")
    root = folder.resolve()
    skip = {p.resolve() for p in exclude}
    found: dict[str, list[Submission]] = {}
    skipped: list[Skipped] = []
    for entry in sorted(folder.iterdir()):
        if entry.resolve() in skip:
            continue
        if entry.name.startswith("."):  # .DS_Store, .git, or a student hiding: shown, not graded
            skipped.append(Skipped(entry.name, "hidden (its name starts with a dot)"))
            continue
        if _not_a_model(entry):
            skipped.append(Skipped(entry.name, "not a .keras or .h5 model file"))
            continue
        sub = _entry(entry, root)
        found.setdefault(sub.student, []).append(sub)
    if not found:
        raise WorkspaceError(
            f"No submissions in {folder}: expected a folder per student with model.keras "
            "(or .h5) inside, or model files named by student"
        )
    return [_one(student, subs) for student, subs in sorted(found.items())], skipped


def _not_a_model(entry: Path) -> bool:
    """A regular file (not a link, pipe or folder) whose suffix is no model format's."""
    return kind_of(entry) == REGULAR and entry.suffix.lower() not in SUFFIXES


def _entry(entry: Path, root: Path) -> Submission:
    kind = kind_of(entry)
    is_dir = entry.is_dir()
    student = normalized(entry.name if is_dir else entry.stem)
    why = unsafe(student)
    if why is not None:
        return Submission(student, None, f"refused: unsafe student name {entry.name!r}: {why}")
    if kind == LINK:
        if not entry.resolve().is_relative_to(root):
            return Submission(student, None, f"refused: {entry.name} links outside {root}")
        entry = entry.resolve()  # a link inside the folder: grade what it points at
        kind = kind_of(entry)
    if kind not in (REGULAR, DIRECTORY):
        return Submission(student, None, f"{entry.name} is {kind}, not a model file; refused")
    if not is_dir:
        if entry.suffix.lower() not in SUFFIXES:
            return Submission(student, None, f"{entry.name} is not a .keras or .h5 model file")
        return _readable(Submission(student, entry))
    models = sorted(
        p for p in entry.iterdir() if p.suffix.lower() in SUFFIXES or _saved_model_dir(p)
    )
    if not models:
        return Submission(student, None, f"no model file in {entry.name}/ (expected model.keras)")
    if len(models) > 1:
        names = ", ".join(p.name for p in models)
        return Submission(
            student, None, f"several model files in {entry.name}/ ({names}); keep one"
        )
    model = models[0]
    inner = kind_of(model)
    if inner == LINK:
        if not model.resolve().is_relative_to(root):
            return Submission(
                student, None, f"refused: {entry.name}/{model.name} links outside {root}"
            )
        model = model.resolve()
        inner = kind_of(model)
    if inner not in (REGULAR, DIRECTORY):
        return Submission(
            student, None, f"{entry.name}/{model.name} is {inner}, not a model file; refused"
        )
    return _readable(Submission(student, model))


def _saved_model_dir(path: Path) -> bool:
    return path.is_dir() and (path / "saved_model.pb").is_file()


def _readable(sub: Submission) -> Submission:
    assert sub.path is not None
    if sub.path.is_file() and not os.access(sub.path, os.R_OK):
        return Submission(sub.student, None, f"cannot read {sub.path.name} (permission denied)")
    return sub


def _one(student: str, subs: list[Submission]) -> Submission:
    if len(subs) == 1:
        return subs[0]
    names = ", ".join(str(s.path.name) if s.path else s.problem or "?" for s in subs)
    return Submission(student, None, f"duplicate submissions for {student} ({names}); keep one")


def model_sha256(path: Path, max_bytes: int) -> str | None:
    """sha256 of a model file's bytes, or None when it is not a readable regular file within
    ``max_bytes`` (never follows a link, never opens a pipe)."""
    return sha256_regular(path, max_bytes=max_bytes)


@dataclass(frozen=True)
class Graded:
    """One student's record: their name and the Result of grading their model."""

    student: str
    """The name as the submissions folder spells it (never the folder-safe slug)."""
    result: Result
    resumed: bool = False
    """Taken from an earlier run's index rather than graded now."""
    copied_from: tuple[str, ...] = ()
    """Other students whose model is a copy of this one (same file or same weights)."""
    roster: RosterEntry | None = None
    """Their row in the ``--roster`` CSV, None when there is none or it lacks them."""

    def to_dict(self) -> dict[str, object]:
        """The Result record with ``student`` first (then the roster's id and email, and the
        copies, when known)."""
        extra: dict[str, object] = {}
        if self.roster is not None:
            extra = {"student_id": self.roster.student_id, "email": self.roster.email}
        if self.copied_from:
            extra["copied_from"] = list(self.copied_from)
        return {"student": self.student, **extra, **self.result.to_dict()}


EXTRA_KEYS = ("student", "student_id", "email", "copied_from")
"""Keys :meth:`Graded.to_dict` adds to a Result record."""


def grade_submission(
    task: TaskSpec,
    sub: Submission,
    data: GradingData,
    limits: Limits,
    server: ForkServer | None = None,
) -> Result:
    """Grade one submission (with ``server``'s forked child, else a fresh one); any failure
    becomes a Result, never an exception."""

    if sub.path is None:
        return Result(
            task=task.id,
            task_version=task.version,
            status="invalid",
            message=sub.problem or "refused",
            threshold=task.grading.threshold,
        )
    try:
        return grade(task, sub.path, data, limits=limits, server=server)
    except SubmissionError as err:
        status: Status = "timeout" if err.status == "timeout" else "invalid"
        message = str(err)
    except GraderError as err:
        status, message = "error", str(err)
    except Exception as err:  # one broken submission must not stop a cohort
        status, message = "error", f"internal error grading this model: {type(err).__name__}: {err}"
    return Result(
        task=task.id,
        task_version=task.version,
        status=status,
        message=message,
        threshold=task.grading.threshold,
        model_path=str(sub.path),
    )
