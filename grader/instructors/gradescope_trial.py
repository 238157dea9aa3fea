"""``grade gradescope-test``: a built autograder zip run on one submission, as Gradescope would.

Like Gradescope's own "Test Autograder" and otter-grader's ``otter run``, on this machine:
the zip is unpacked into a temporary tree laid out like ``/autograder`` (``source/`` from
the zip, ``run_autograder`` copied to the root, ``submission/``, ``results/``), the
submission is copied in, and ``run_autograder`` runs with ``$AUTOGRADER_ROOT`` pointing at
the tree, no ``GRADER_*`` settings and an empty HOME, as in a fresh Gradescope container.

setup.sh is NOT run: ``venv/bin/grade`` runs the grader installed on this machine.
tests/test_gradescope.py runs every zip it builds through this module.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.errors import SubmissionError, WorkspaceError
from grader.instructors.gradescope import EXECUTABLE, MANIFEST, ROOT_ENV
from grader.sandbox.files import DIRECTORY, LINK, REGULAR, copy_regular, kind_of

RUN_SCRIPT = "run_autograder"
RESULTS = Path("results") / "results.json"
MAX_FILE_BYTES = 1 << 30
"""A submitted file larger than this is not copied (Gradescope's uploads are far smaller)."""
MAX_ENTRIES = 10_000
"""A submission folder is copied up to this many entries."""
DEFAULT_TIMEOUT_S = 600.0
"""Gradescope's default autograder timeout (10 minutes)."""
_BUILD = "build one with `grade gradescope TASK --out autograder.zip`"
_DIFFERS = (
    "the grader in the zip (grader-src/) differs from the one installed here, which ran this "
    "test; Gradescope runs the zip's: rebuild the zip to test what you upload"
)


@dataclass(frozen=True)
class Trial:
    """One run of ``run_autograder`` in a simulated ``/autograder`` tree."""

    root: Path
    returncode: int
    stdout: str
    stderr: str
    record: dict[str, Any]
    """The results.json it wrote."""


def unpack(zip_path: Path, root: Path) -> Path:
    """Lay ``zip_path`` out as Gradescope does under ``root`` (which must not exist): the zip
    in source/ (file modes kept, as unzip does), run_autograder copied to the root, empty
    submission/ and results/, and venv/bin/grade running this machine's grader."""
    kind = kind_of(zip_path)
    if kind is None:
        raise WorkspaceError(f"no file at {zip_path}; {_BUILD}")
    if kind == DIRECTORY:
        raise WorkspaceError(f"{zip_path} is a folder, not an autograder zip; {_BUILD}")
    try:
        with zipfile.ZipFile(zip_path) as zf:
            names = set(zf.namelist())
            missing = [n for n in (RUN_SCRIPT, MANIFEST) if n not in names]
            if missing:
                raise WorkspaceError(
                    f"{zip_path} is not a Gradescope autograder (no {' or '.join(missing)} at "
                    f"its top level); {_BUILD}"
                )
            root.mkdir(parents=True)
            source = root / "source"
            for info in zf.infolist():
                target = Path(zf.extract(info, source))  # names are kept inside source/
                mode = (info.external_attr >> 16) & 0o777
                if mode and not info.is_dir():
                    target.chmod(mode)
    except (zipfile.BadZipFile, EOFError):
        raise WorkspaceError(f"{zip_path} is not a zip file; {_BUILD}") from None
    except OSError as err:
        raise WorkspaceError(f"cannot unpack {zip_path}: {err.strerror or err}") from None
    run_script = root / RUN_SCRIPT
    run_script.write_bytes((source / RUN_SCRIPT).read_bytes())
    run_script.chmod(0o755)
    for name in EXECUTABLE:  # Gradescope runs both whatever their mode in the zip
        if (source / name).is_file():
            (source / name).chmod(0o755)
    (root / "submission").mkdir()
    (root / "results").mkdir()
    _this_grader(root / "venv" / "bin" / "grade")
    return root


def _this_grader(path: Path) -> None:
    """What setup.sh's venv provides, ``venv/bin/grade``: here, this interpreter's grader."""
    path.parent.mkdir(parents=True)
    path.write_text(
        f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m grader "$@"\n', encoding="utf-8"
    )
    path.chmod(0o755)


def add_submission(root: Path, submission: Path) -> list[str]:
    """Copy ``submission`` (a model file, or a folder as a student uploads it) into
    ``root/submission``; return what was left out, one line each. Raises
    SubmissionError for a file that cannot be copied.

    Files are copied with :func:`grader.sandbox.files.copy_regular` (never read through a
    link, size-capped). Inside a folder, a link is recreated as a link (never followed:
    grading then refuses it as Gradescope's would) and hidden entries are kept, as an upload
    keeps them; pipes, devices and sockets are left out.
    """
    target = root / "submission"
    if kind_of(submission) == DIRECTORY:
        return _copy_folder(submission, target)
    copy_regular(submission, target / submission.name, max_bytes=MAX_FILE_BYTES)
    return []


def _copy_folder(folder: Path, target: Path) -> list[str]:
    left_out: list[str] = []
    seen = 0
    for parent, dirs, files in os.walk(folder, followlinks=False):
        here = Path(parent)
        dest = target / here.relative_to(folder)
        dest.mkdir(exist_ok=True)
        dirs.sort()
        for name in sorted(files + [d for d in dirs if (here / d).is_symlink()]):
            seen += 1
            if seen > MAX_ENTRIES:
                return [*left_out, f"not copied: the entries after the first {MAX_ENTRIES:,}"]
            path = here / name
            kind = kind_of(path)
            if kind == LINK:
                (dest / name).symlink_to(os.readlink(path))
            elif kind == REGULAR:
                copy_regular(path, dest / name, max_bytes=MAX_FILE_BYTES)
            elif kind is not None:
                left_out.append(
                    f"not copied into the submission: {path.relative_to(folder)} ({kind})"
                )
    return left_out


def run_autograder(root: Path, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> Trial:
    """Run ``root/run_autograder`` as Gradescope does and read the results.json it wrote.

    Raises WorkspaceError when it runs past ``timeout_s`` or writes no valid results.json
    (what Gradescope would show as a failed autograder run).
    """
    home = root / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADER_")}
    env.update({ROOT_ENV: str(root), "HOME": str(home)})
    try:
        proc = subprocess.run(
            [str(root / RUN_SCRIPT)],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        raise WorkspaceError(
            f"run_autograder did not finish in {timeout_s:g} s (Gradescope's default limit is "
            "10 minutes); raise --timeout, or look for what hangs"
        ) from None
    except OSError as err:
        raise WorkspaceError(f"cannot run {root / RUN_SCRIPT}: {err.strerror or err}") from None
    record = read_results(root / RESULTS, proc)
    return Trial(root, proc.returncode, proc.stdout, proc.stderr, record)


def read_results(path: Path, proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The results.json at ``path`` if Gradescope would accept it: a JSON object with a
    numeric score, or tests that have one."""
    said = _last_line(proc.stderr) or _last_line(proc.stdout)
    because = f" (run_autograder exited {proc.returncode}{': ' + said if said else ''})"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WorkspaceError(f"run_autograder wrote no {RESULTS}{because}") from None
    except (OSError, ValueError) as err:
        raise WorkspaceError(f"{RESULTS} is not valid JSON ({err}){because}") from None
    if not isinstance(record, dict) or not _scored(record):
        raise WorkspaceError(
            f"{RESULTS} has no numeric score and no scored tests, which Gradescope rejects{because}"
        )
    return record


def _scored(record: dict[str, Any]) -> bool:
    def number(value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)

    tests = record.get("tests")
    return number(record.get("score")) or (
        isinstance(tests, list)
        and bool(tests)
        and all(isinstance(t, dict) and number(t.get("score")) for t in tests)
    )


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def shipped_grader_differs(root: Path) -> bool:
    """Whether the grader the zip ships (``source/grader-src/grader``, what setup.sh installs
    on Gradescope) differs from the one this machine runs, in any ``.py`` file."""

    def sources(package: Path) -> dict[Path, bytes]:
        return {
            p.relative_to(package): p.read_bytes()
            for p in sorted(package.rglob("*.py"))
            if "__pycache__" not in p.parts
        }

    here = Path(__file__).resolve().parents[1]  # grader/, as gradescope.build copies it
    return sources(root / "source" / "grader-src" / "grader") != sources(here)


def trial(
    zip_path: Path, submission: Path, root: Path, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> tuple[Trial, list[str]]:
    """Unpack ``zip_path`` under ``root``, copy ``submission`` in and run it; return the run
    and the notes for the instructor (what of the submission was left out, and whether the
    zip's grader differs from the one that ran)."""
    if kind_of(submission) is None:  # before unpacking a large zip for nothing
        raise WorkspaceError(f"no submission at {submission}: give a model file or a folder")
    unpack(zip_path, root)
    try:
        left_out = add_submission(root, submission)
    except SubmissionError as err:
        raise WorkspaceError(f"cannot copy the submission: {err}") from None
    except OSError as err:
        raise WorkspaceError(
            f"cannot copy the submission {submission}: {err.strerror or err}"
        ) from None
    if shipped_grader_differs(root):
        left_out = [*left_out, _DIFFERS]
    return run_autograder(root, timeout_s=timeout_s), left_out
