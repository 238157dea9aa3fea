"""Every model a candidate graded, kept by content in ``<workspace>/.grader/models/``.

A graded model is copied (never through a link, size-capped: :mod:`grader.sandbox.files`)
to ``<sha256>.keras`` or ``<sha256>.h5``, so the same bytes are kept once however often they
are graded. ``grade TASK --train`` keeps the model it is about to overwrite, and
``grade restore TASK`` copies a kept one back into ``solutions/<task>/``. The folder stays
under a size budget (``$GRADER_MODELS_BUDGET_MB``, default 2 GiB): the oldest models go first,
but never a task's best one.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from grader.atomic import replacing
from grader.errors import InvalidModelError, ModelNotFoundError, WorkspaceError
from grader.practice.gradebook import Attempt
from grader.sandbox.files import REGULAR, copy_regular, kind_of, sha256_regular
from grader.sandbox.static_check import SUFFIXES
from grader.tasks.workspace import MODEL_NAMES, solution_dir, workspace_root

BUDGET_ENV = "GRADER_MODELS_BUDGET_MB"
DEFAULT_BUDGET_MB = 2048
"""2 GiB: dozens of exam-sized models, small beside a TensorFlow install."""
SHORT = 8
"""Characters of a sha256 shown to people."""


def store_dir() -> Path:
    """``<workspace>/.grader/models/``."""
    return workspace_root() / ".grader" / "models"


def budget_bytes() -> int:
    """The store's size budget: ``$GRADER_MODELS_BUDGET_MB`` megabytes, else 2 GiB.

    Anything but a positive finite number (junk, 0, negative, nan, inf, 1e400) is refused
    with one line rather than guessed at: a typo must not silently prune the store.
    """
    raw = os.environ.get(BUDGET_ENV, "").strip()
    if not raw:
        return DEFAULT_BUDGET_MB << 20
    try:
        mb = float(raw)
    except ValueError:
        mb = math.nan
    if not math.isfinite(mb) or mb <= 0:
        raise WorkspaceError(
            f"${BUDGET_ENV} must be a positive number of megabytes (e.g. {DEFAULT_BUDGET_MB}), "
            f"got {raw!r}; fix it, or unset it for the default {DEFAULT_BUDGET_MB} MB"
        )
    return max(1, int(mb * (1 << 20)))


def stored(sha256: str, file_name: str | None) -> Path:
    """Where the model with these bytes is kept (its suffix from the graded file's name)."""
    suffix = Path(file_name or "").suffix.lower()
    return store_dir() / f"{sha256}{suffix if suffix in SUFFIXES else '.keras'}"


def keep(source: Path, expected_sha256: str | None = None) -> str:
    """Copy the model file ``source`` into the store (once per content); return its sha256.

    Raises WorkspaceError when it cannot be kept, or when its bytes are no longer the
    ``expected_sha256`` that was graded (the file changed since).
    """
    cap = budget_bytes()
    sha = sha256_regular(source, max_bytes=cap)
    if sha is None:
        why = (
            f"it is larger than the model store's budget (${BUDGET_ENV})"
            if kind_of(source) == REGULAR
            else "not a readable regular file"
        )
        raise WorkspaceError(f"could not keep {source.name}: {why}")
    if expected_sha256 is not None and sha != expected_sha256:
        raise WorkspaceError(f"{source.name} changed after it was graded; it was not kept")
    final = stored(sha, source.name)
    if final.exists():
        os.utime(final)  # pruning goes oldest first: this one was just seen again
        return sha
    try:
        with replacing(final) as staged:
            staged.unlink()  # copy_regular creates its target afresh (O_EXCL)
            if copy_regular(source, staged, max_bytes=cap) != sha:
                raise WorkspaceError(f"{source.name} changed while it was kept; not kept")
    except (InvalidModelError, ModelNotFoundError) as err:
        raise WorkspaceError(f"could not keep {source.name}: {err}") from None
    except OSError as err:
        raise WorkspaceError(f"could not keep {source.name}: {err.strerror}") from None
    return sha


def prune(protected: set[str], budget: int | None = None) -> list[Path]:
    """Delete the oldest kept models until the store fits ``budget``; never one whose sha256
    is in ``protected`` (each task's best). Returns what was deleted."""
    budget = budget_bytes() if budget is None else budget
    folder = store_dir()
    if not folder.is_dir():
        return []
    kept = [p for p in folder.iterdir() if p.suffix in SUFFIXES and kind_of(p) == REGULAR]
    sizes = {p: p.stat().st_size for p in kept}
    total = sum(sizes.values())
    removed: list[Path] = []
    for path in sorted(kept, key=lambda p: p.stat().st_mtime):
        if total <= budget:
            break
        if path.stem in protected:
            continue
        path.unlink(missing_ok=True)
        total -= sizes[path]
        removed.append(path)
    return removed


def best(attempts: list[Attempt]) -> Attempt | None:
    """The attempt whose model is the one to keep: highest score, then metric, then latest."""
    with_model = [a for a in attempts if a.model_sha256]
    return max(
        with_model,
        key=lambda a: (a.score, a.value if a.value is not None else -1.0, a.id),
        default=None,
    )


@dataclass(frozen=True)
class Current:
    """The model now in ``solutions/<task>/``, kept in the store before it is overwritten."""

    path: Path
    sha256: str


def keep_current(task: str) -> Current | None:
    """Keep every model in ``solutions/<task>/``; return the one ``grade TASK`` grades now
    (None when there is none)."""
    folder = solution_dir(task)
    found = [folder / n for n in MODEL_NAMES if kind_of(folder / n) == REGULAR]
    kept = [Current(path, keep(path)) for path in found]
    return kept[0] if kept else None


def restore(task: str, attempt: Attempt) -> tuple[Path, Current | None]:
    """Copy ``attempt``'s kept model to ``solutions/<task>/model.<suffix>``, keeping the models
    there first: (the restored path, the model it replaced)."""
    if not attempt.model_sha256:
        raise WorkspaceError(f"attempt #{attempt.id} graded no model file; nothing to restore")
    source = stored(attempt.model_sha256, attempt.model_file)
    if kind_of(source) != REGULAR:
        raise WorkspaceError(
            f"the model of attempt #{attempt.id} ({attempt.model_sha256[:SHORT]}) is no longer "
            f"kept (pruned or deleted from {store_dir()}); pick another with `grade history {task}`"
        )
    replaced = keep_current(task)
    target = solution_dir(task) / f"model{source.suffix}"
    try:
        with replacing(target) as staged:
            staged.unlink()  # copy_regular creates its target afresh (O_EXCL)
            copied = copy_regular(source, staged, max_bytes=source.stat().st_size)
            if copied != attempt.model_sha256:  # checked on the bytes copied: no race
                raise WorkspaceError(
                    f"{source} no longer matches the sha256 it was kept under (changed or "
                    f"damaged), so it was not restored; delete it and pick another attempt "
                    f"with `grade history {task}`"
                )
        for name in MODEL_NAMES:  # kept above; the other format would be graded first
            if name != target.name:
                (target.parent / name).unlink(missing_ok=True)
    except (InvalidModelError, ModelNotFoundError) as err:
        raise WorkspaceError(f"cannot restore from {source}: {err}") from None
    except OSError as err:
        raise WorkspaceError(f"cannot write {target}: {err.strerror}") from None
    return target, replaced


def choose(task: str, attempts: list[Attempt], attempt_id: int | None) -> Attempt:
    """Attempt ``attempt_id`` of ``task``, or its best; one line when there is none."""
    mine = [a for a in attempts if a.task == task]
    if attempt_id is None:
        top = best(mine)
        if top is None:
            raise WorkspaceError(f"No graded model of {task} to restore; grade one first.")
        return top
    match = next((a for a in mine if a.id == attempt_id), None)
    if match is None:
        raise WorkspaceError(
            f"{task} has no attempt #{attempt_id}; see the attempts with `grade history {task}`."
        )
    return match
