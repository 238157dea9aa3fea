"""Gradescope: a Result as Gradescope's ``results.json``, and a complete autograder zip.

``grade gradescope TASK --out autograder.zip`` builds what Gradescope's autograder
specification asks for (https://gradescope-autograders.readthedocs.io/en/latest/specs/)::

    README.md         what these files are, how to upload, test locally and pin the secret
    setup.sh          installs bubblewrap, Python, TensorFlow CPU and this grader (from
                      grader-src/, pinned to the versions that built the zip)
    run_autograder    a thin shell script: ``grade gradescope-run``
    manifest.json     task id and version, the held-out fingerprint, the pinned versions
    tasks/<id>/       the task folder (without a held-out folder kept inside it)
    data/arrays/      the public data grading reads: the held-out split, and of the
                      training split only the fixed sample predicted for the overfitting hint
    heldout/          an instructor's held-out folder (tasks with ``heldout_dir``), or
    heldout-secret    the secret a generated private held-out set is made from
    grader-src/       the grader's source (pyproject.toml, README.md, grader/)

Gradescope unzips it into ``/autograder/source``; for each submission ``run_autograder``
finds the one model file in ``/autograder/submission``, grades it sandboxed exactly like
``grade TASK --model`` and writes ``/autograder/results/results.json``.
``$AUTOGRADER_ROOT`` (default ``/autograder``) moves the whole tree:
:mod:`grader.instructors.gradescope_trial` runs a zip that way (``grade gradescope-test``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from grader import datasets
from grader.atomic import replacing
from grader.datasets import exported, secret
from grader.datasets.base import ProgressCallback, private_splits
from grader.datasets.heldout import env_var, heldout_folder
from grader.errors import GraderError, WorkspaceError
from grader.grading.inputs import GradingData, sample_indices, train_split
from grader.instructors.submissions import Submission, grade_submission
from grader.result import RUBRIC_EFFECTS, Result, RubricLine
from grader.sandbox.files import kind_of
from grader.sandbox.process import Limits
from grader.sandbox.static_check import SUFFIXES
from grader.tasks.spec import TaskSpec, load_task
from grader.text import visible

MAX_SCORE = 5
ROOT_ENV = "AUTOGRADER_ROOT"
"""Moves Gradescope's ``/autograder`` tree (``grade gradescope-test`` and the tests simulate it
in a temporary folder)."""
DEFAULT_ROOT = Path("/autograder")
MANIFEST = "manifest.json"
SCRIPTS = ("README.md", "setup.sh", "run_autograder")
"""The files written from templates at the zip's top level."""
EXECUTABLE = ("setup.sh", "run_autograder")
SECRET_FILE = "heldout-secret"
WEAKEST = 3
"""Classes named in the student's summary as the weakest."""
_MAX_ENTRIES = 10_000
"""A submission tree is walked up to this many entries (a zip bomb of folders stops there)."""


# --- a Result as Gradescope's results.json ---------------------------------------------------


def results_dict(result: Result) -> dict[str, Any]:
    """One submission in Gradescope's ``results.json`` format (batch exports and
    ``run_autograder`` both write this).

    The score is the task score out of 5. The student-facing ``output`` carries the verdict,
    the gap to the pass mark, the hints and the per-class accuracy (weakest first); the tests
    are the held-out verdict (the 5 points) and one line per rubric requirement (no points of
    their own: the rubric acts through the score). Every text is written through
    :func:`grader.text.visible`: a control or bidi character in a file name or a layer name
    reaches the student's page as ``\x1b``, never raw.
    """
    tests: list[dict[str, Any]] = [
        {
            "name": _shown(f"{result.task}: held-out {result.metric} reaches the pass mark"),
            "score": result.score,
            "max_score": MAX_SCORE,
            "status": "passed" if result.passed else "failed",
            "output": _shown(result.message),
            "visibility": "visible",
        }
    ]
    for line in result.rubric:
        effect = "" if line.met else f" ({RUBRIC_EFFECTS.get(line.effect, line.effect)})"
        tests.append(
            {
                "name": _shown(rubric_name(line)),
                "score": 0,
                "max_score": 0,
                "status": "passed" if line.met else "failed",
                "output": _shown(line.reason + effect),
                "visibility": "visible",
            }
        )
    return {
        "score": result.score,
        "max_score": MAX_SCORE,
        "execution_time": round(result.elapsed_s, 3),
        "output": _shown(student_output(result)),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "leaderboard": [
            {"name": "Accuracy", "value": round((result.value or 0.0) * 100, 2), "order": "desc"}
        ],
        "extra_data": {
            "status": result.status,
            "task_version": result.task_version,
            "model_sha256": result.model_sha256,
            "heldout_sha256": result.heldout_sha256,
        },
    }


def _shown(text: str) -> str:
    return visible(text, keep="\n")


def student_output(result: Result) -> str:
    """What a student reads: verdict and gap, weakest classes, confusions, hints, notes."""
    lines = [summary_line(result)]
    if result.threshold is not None and result.margin is not None:
        side = "above" if result.margin >= 0 else "below"
        lines.append(
            f"Gap: {abs(result.margin) * 100:.2f} points {side} the "
            f"{result.threshold:.0%} pass mark."
        )
    if result.per_class:
        ranked = sorted(result.per_class, key=lambda c: (c.accuracy, c.label))
        weakest = ", ".join(f"{c.name} {c.accuracy:.2%}" for c in ranked[:WEAKEST])
        lines.append(f"Weakest classes: {weakest}.")
        lines.append("Per class (weakest first):")
        lines += [f"  {c.name}: {c.accuracy:.2%} of {c.support}" for c in ranked]
    if result.top_confusions:
        mistakes = ", ".join(
            f"{c.true} → {c.predicted} ({c.count})" for c in result.top_confusions[:WEAKEST]
        )
        lines.append(f"Most confused: {mistakes}.")
    if result.train_value is not None and result.value is not None:
        lines.append(f"Training sample: {result.train_value:.2%} vs held-out {result.value:.2%}.")
    lines += [f"Hint: {hint}" for hint in result.hints]
    lines += [f"Note: {note}" for note in result.notes]
    return "\n".join(lines)


def summary_line(result: Result) -> str:
    """``PASS 4/5: <message>``."""
    return f"{result.status.upper()} {result.score}/{MAX_SCORE}: {result.message}"


def rubric_name(line: RubricLine) -> str:
    """A rubric line's name in test reports."""
    return f"rubric: {line.name}"


def write_results(result: Result, path: Path) -> Path:
    """Write Gradescope's ``results.json`` for one submission (the folder is created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results_dict(result), indent=1, ensure_ascii=False, allow_nan=False)
    with replacing(path) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
    return path


# --- building the autograder zip -------------------------------------------------------------


@dataclass(frozen=True)
class Manifest:
    """What the autograder was built for, read back by ``run_autograder``."""

    task: str
    task_version: int
    heldout_sha256: str
    """The held-out fingerprint at build time; grading refuses data that differs."""
    requirements: tuple[str, ...]
    """The pinned packages setup.sh installs (``name==version``)."""

    @classmethod
    def read(cls, source: Path) -> Manifest:
        """The manifest in ``source`` (the unzipped autograder)."""
        path = source / MANIFEST
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                raw["task"], raw["task_version"], raw["heldout_sha256"], tuple(raw["requirements"])
            )
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise WorkspaceError(
                f"cannot read the autograder's {path} ({err}); rebuild it with "
                "`grade gradescope TASK --out autograder.zip`"
            ) from None


def requirements() -> tuple[str, ...]:
    """The grader's runtime dependencies pinned to the versions installed here, TensorFlow as
    ``tensorflow-cpu``: what setup.sh installs."""
    pins = []
    for requirement in metadata.requires("grader") or []:
        name, _, marker = requirement.partition(";")
        if "extra" in marker:
            continue
        dist = name.strip().split()[0]
        for sep in "<>=!~[(":
            dist = dist.split(sep)[0]
        version = metadata.version(dist)
        pins.append(f"tensorflow-cpu=={version}" if dist == "tensorflow" else f"{dist}=={version}")
    return tuple(pins)


def build(task: TaskSpec, out: Path, *, on_progress: ProgressCallback | None = None) -> Path:
    """Write the Gradescope autograder zip for ``task`` to ``out``; return ``out``.

    The grading data is loaded here first (so a missing dataset or a changed held-out folder
    fails now, not on Gradescope) and its fingerprint recorded in the manifest.
    """
    data = GradingData.load(task, on_progress=on_progress)
    manifest = Manifest(task.id, task.version, data.sha256, requirements())
    with tempfile.TemporaryDirectory(prefix="grader-gradescope-") as tmp:
        staging = Path(tmp)
        (staging / MANIFEST).write_text(json.dumps(asdict(manifest), indent=1) + "\n")
        for name, text in scripts(task).items():
            (staging / name).write_text(text, encoding="utf-8")
        _copy_tree(task.folder, staging / "tasks" / task.id, skip=heldout_folder(task))
        _copy_source(staging / "grader-src")
        _add_data(task, staging)
        try:
            with replacing(out) as tmp_zip:
                _zip(staging, tmp_zip)
        except OSError as err:
            raise WorkspaceError(f"cannot write {out}: {err.strerror or err}") from None
    return out


def scripts(task: TaskSpec) -> dict[str, str]:
    """The text of the zip's README.md, setup.sh and run_autograder for ``task``."""
    from importlib import resources

    fields = {
        "task": task.id,
        "grader_version": metadata.version("grader"),
        "requirements": " ".join(f'"{p}"' for p in requirements()),
        "secret_env": secret.SECRET_FILE_ENV,
    }
    folder = resources.files("grader.instructors") / "templates"
    return {
        name: (folder / f"{name}.tmpl").read_text(encoding="utf-8").format(**fields)
        for name in SCRIPTS
    }


def _add_data(task: TaskSpec, staging: Path) -> None:
    """The held-out data (or what makes it) and the training sample, into ``staging``: of
    the training split, only the rows :func:`grader.grading.inputs.train_sample` predicts."""
    arrays = staging / "data" / "arrays"
    folder = heldout_folder(task)
    name, heldout = task.dataset.name, task.dataset.heldout
    if folder is not None:
        _copy_tree(folder, staging / "heldout" / task.id)
    elif heldout in private_splits(datasets.get_source(name)):
        (staging / SECRET_FILE).write_bytes(secret.heldout_secret() + b"\n")
    else:
        exported.export(datasets.load(name, heldout), name, heldout, arrays)
    train = train_split(task)
    if train is not None and train not in private_splits(datasets.get_source(name)):
        # Without a training split here, Gradescope grades without the overfitting check.
        with contextlib.suppress(GraderError):
            whole = datasets.load(name, train)
            exported.export_sample(whole, sample_indices(len(whole)), name, train, arrays)


def _copy_tree(source: Path, target: Path, *, skip: Path | None = None) -> None:
    """Copy a folder's regular files (no links, no caches) into ``target``, leaving out the
    folder ``skip`` (a held-out folder inside the task folder ships once, as heldout/)."""
    skipped = skip.resolve() if skip is not None else None
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if "__pycache__" in rel.parts or path.is_symlink() or not path.is_file():
            continue
        if skipped is not None and path.resolve().is_relative_to(skipped):
            continue
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / rel)


def _copy_source(target: Path) -> None:
    """The grader's source, installable with pip: pyproject.toml, README.md and grader/."""
    package = Path(__file__).resolve().parents[1]  # grader/
    checkout = package.parent
    if not (checkout / "pyproject.toml").is_file():
        raise WorkspaceError(
            f"no pyproject.toml next to {package}: build the autograder from a checkout of the "
            "grader (pip install -e .)"
        )
    target.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copyfile(checkout / name, target / name)
    _copy_tree(package, target / "grader")


def _zip(staging: Path, out: Path) -> None:
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for path in sorted(staging.rglob("*")):
            if not path.is_file():
                continue
            info = zipfile.ZipInfo.from_file(path, path.relative_to(staging).as_posix())
            info.compress_type = zipfile.ZIP_DEFLATED
            executable = path.parent == staging and path.name in EXECUTABLE
            info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
            with path.open("rb") as src, zf.open(info, "w") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)


# --- run_autograder: grading one submission ---------------------------------------------------


def autograder_root() -> Path:
    """``$AUTOGRADER_ROOT``, else ``/autograder``."""
    return Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT)


def environment(source: Path, manifest: Manifest) -> dict[str, str]:
    """The grader's settings inside the unzipped autograder: its tasks, data and secret."""
    env = {
        "GRADER_HOME": str(source),
        "GRADER_TASKS": str(source / "tasks"),
        exported.ARRAYS_ENV: str(source / "data" / "arrays"),
        "GRADER_CACHE": str(source.parent / "cache"),
    }
    if (source / SECRET_FILE).is_file():
        env[secret.SECRET_FILE_ENV] = str(source / SECRET_FILE)
    if (source / "heldout" / manifest.task).is_dir():
        env[env_var(manifest.task)] = str(source / "heldout" / manifest.task)
    return env


def find_submission(folder: Path) -> Submission:
    """The one model file in a student's submission tree (links never followed), or the
    reason there is none to grade. A link, pipe or device named ``*.keras`` is returned as
    found: grading refuses it with the line that says what it is."""
    if kind_of(folder) is None:
        return Submission("submission", None, f"no submission folder at {folder}")
    found: list[Path] = []
    seen = 0
    for parent, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__MACOSX")
        for name in sorted(files + dirs):
            seen += 1
            path = Path(parent) / name
            if path.suffix.lower() in SUFFIXES or (path / "saved_model.pb").is_file():
                found.append(path)
        if seen > _MAX_ENTRIES:
            break
    if not found:
        return Submission(
            "submission", None, "no model file in the submission: upload model.keras (or .h5)"
        )
    if len(found) > 1:
        names = ", ".join(str(p.relative_to(folder)) for p in found[:5])
        return Submission(
            "submission", None, f"several model files in the submission ({names}); upload one"
        )
    return Submission("submission", found[0])


def run(root: Path | None = None) -> tuple[Result, Path]:
    """Grade the submission in ``root`` (default :func:`autograder_root`) and write
    ``results/results.json``; return the Result and the file written.

    Every outcome becomes a results.json: a missing or refused model scores 0 with the
    reason, and a grader problem (broken autograder, changed data) is an ``error`` record
    that tells the student to contact the instructor. This process's environment is set to
    the unzipped autograder's tasks, data and secret (:func:`environment`): it is the entry
    point of ``run_autograder``, one process per submission.
    """
    root = root or autograder_root()
    source = root / "source"
    task_id = ""
    try:
        manifest = Manifest.read(source)
        task_id = manifest.task
        os.environ.pop(secret.SECRET_ENV, None)
        os.environ.update(environment(source, manifest))
        task = load_task(manifest.task, source / "tasks")
        data = GradingData.load(task)
        if data.sha256 != manifest.heldout_sha256:
            raise WorkspaceError(
                f"the held-out data is not the data this autograder was built with "
                f"(fingerprint {data.sha256[:12]}…, expected "
                f"{manifest.heldout_sha256[:12]}…); rebuild it with `grade gradescope`"
            )
        submission = find_submission(root / "submission")
        result = grade_submission(task, submission, data, Limits())
    except GraderError as err:
        result = Result(
            task=task_id,
            status="error",
            message=f"the autograder could not grade (tell your instructor): {err}",
        )
    return result, write_results(result, root / "results" / "results.json")
