"""Reading a file a learner controls: never through a link, only a regular file, size-capped.

Every path that comes from a learner goes through here before a single byte is read: a
model given with ``--model``, found in ``solutions/<task>/`` or in a batch folder, the
``solution.py`` copied into the sandbox, and the model a sandboxed ``solution.py`` saved.
A symlink (which could pull any file the grading account can read into a report), a FIFO
(which would block forever), a device, a socket or a directory is refused with one line
that names what was found. The size is checked on the opened descriptor before copying,
and reading stops at the cap, so a sparse 100 GB file never fills a disk.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path

from grader.errors import InvalidModelError, ModelNotFoundError

REGULAR = "a regular file"
DIRECTORY = "a directory"
LINK = "a symbolic link"
_KINDS = {
    stat.S_IFLNK: LINK,
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: DIRECTORY,
}
_CHUNK = 1 << 20


def kind_of(path: Path) -> str | None:
    """``"a regular file"``, ``"a named pipe (FIFO)"``..., without following a link; None if
    nothing is there."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    return _KINDS.get(stat.S_IFMT(mode), REGULAR)


def refusal(path: Path, kind: str) -> str:
    """The one line that refuses ``path`` for being ``kind`` instead of a regular file."""
    fix = "pass the file itself" if kind == LINK else "put a regular file there"
    return (
        f"{path.name} is {kind}, not a regular file; the grader opens only regular files "
        f"(never links, pipes or devices): {fix}"
    )


def open_regular(path: Path, *, max_bytes: int) -> int:
    """Open ``path`` for reading as a raw descriptor: no link, regular, at most ``max_bytes``.

    Raises ModelNotFoundError when nothing is there, InvalidModelError otherwise.
    """
    kind = kind_of(path)
    if kind is None:
        raise ModelNotFoundError(f"No file at {path}.")
    if kind != REGULAR:
        raise InvalidModelError(refusal(path, kind))
    try:
        # O_NONBLOCK: if the path was swapped for a FIFO since the lstat, open does not block.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        if err.errno == errno.ELOOP:  # swapped for a link since the lstat
            raise InvalidModelError(refusal(path, LINK)) from None
        raise ModelNotFoundError(f"cannot read {path}: {err.strerror}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise InvalidModelError(refusal(path, _KINDS.get(stat.S_IFMT(info.st_mode), "special")))
    if info.st_size > max_bytes:
        os.close(fd)
        raise InvalidModelError(_too_big(path, info.st_size, max_bytes))
    os.set_blocking(fd, True)
    return fd


def copy_regular(path: Path, target: Path, *, max_bytes: int) -> str:
    """Copy ``path`` (checked as :func:`open_regular` does) to a new ``target``; return the
    sha256 of exactly the bytes copied. ``target`` must not exist (never written through a
    link)."""
    fd = open_regular(path, max_bytes=max_bytes)
    digest = hashlib.sha256()
    done = 0
    try:
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            while chunk := os.read(fd, _CHUNK):
                done += len(chunk)
                if done > max_bytes:  # it grew after the size check
                    raise InvalidModelError(_too_big(path, done, max_bytes))
                digest.update(chunk)
                os.write(out, chunk)
        finally:
            os.close(out)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)
    return digest.hexdigest()


def read_regular(path: Path, *, max_bytes: int) -> bytes:
    """The bytes of ``path``, checked as :func:`open_regular` does."""
    fd = open_regular(path, max_bytes=max_bytes)
    try:
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise InvalidModelError(_too_big(path, len(data), max_bytes))
    return data


def sha256_regular(path: Path, *, max_bytes: int) -> str | None:
    """sha256 of ``path``'s bytes, or None when it is not a readable regular file in the cap."""
    try:
        fd = open_regular(path, max_bytes=max_bytes)
    except (InvalidModelError, ModelNotFoundError):
        return None
    try:
        with os.fdopen(fd, "rb", closefd=False) as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return None
    finally:
        os.close(fd)


def _too_big(path: Path, size: int, max_bytes: int) -> str:
    return (
        f"{path.name} is {size / 2**20:,.1f} MB; this task allows at most {max_bytes / 2**20:g} MB"
    )
