"""The secret that private held-out splits are generated from.

A generated held-out set (``shapes``, ``shapes_binary``) is private only if nobody can
regenerate it: its seed is derived (HMAC-SHA256) from a secret, never from a constant in
the package. The secret is, first found:

1. ``$GRADER_HELDOUT_SECRET``: the secret itself, so an instructor can pin one for a cohort;
2. ``$GRADER_HELDOUT_SECRET_FILE``: a file holding it, kept outside the learner's tree;
3. ``<workspace>/.grader/heldout-secret``: created on first use (0600, 256 random bits).

The same secret gives the same held-out set, so fingerprints stay stable per workspace and
across a cohort. Sandboxed children never see any of these: their environment is rebuilt
from scratch and the workspace is not in their filesystem view.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from grader.errors import DatasetError
from grader.tasks.workspace import workspace_root

SECRET_ENV = "GRADER_HELDOUT_SECRET"
"""The secret itself (any non-empty string)."""
SECRET_FILE_ENV = "GRADER_HELDOUT_SECRET_FILE"
"""A file holding the secret."""
FILENAME = "heldout-secret"
"""The workspace's own secret, in ``<workspace>/.grader/``."""


def secret_path() -> Path:
    """Where the workspace keeps its secret (it may not exist yet)."""
    return workspace_root() / ".grader" / FILENAME


def heldout_secret() -> bytes:
    """The secret, from the environment, a named file, or the workspace (created if absent)."""
    pinned = os.environ.get(SECRET_ENV, "").strip()
    if pinned:
        return pinned.encode()
    named = os.environ.get(SECRET_FILE_ENV)
    if named:
        return _read(Path(named).expanduser(), f"${SECRET_FILE_ENV}")
    path = secret_path()
    if not path.exists():
        _create(path)
    return _read(path, "the workspace's held-out secret")


def seed(name: str, split: str) -> int:
    """The seed of dataset ``name``'s private ``split``: 64 bits of HMAC(secret, name:split)."""
    digest = hmac.new(heldout_secret(), f"{name}:{split}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big")


def _read(path: Path, what: str) -> bytes:
    try:
        value = path.read_bytes().strip()
    except OSError as err:
        raise DatasetError(
            f"cannot read {what} at {path} ({err.strerror}); fix the file or unset "
            f"${SECRET_FILE_ENV}."
        ) from None
    if not value:
        raise DatasetError(f"{what} at {path} is empty; write a secret into it or remove it.")
    return value


def _create(path: Path) -> None:
    """Write a new random secret atomically; a concurrent creator's secret wins if first."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32) + "\n")
        try:
            os.link(staging, path)  # fails if another process created it meanwhile: keep theirs
        except FileExistsError:
            pass
        finally:
            staging.unlink(missing_ok=True)
    except OSError as err:
        raise DatasetError(
            f"cannot create the held-out secret at {path} ({err.strerror}); make "
            f"{path.parent} writable or set ${SECRET_FILE_ENV}."
        ) from None
