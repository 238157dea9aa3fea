"""Write-then-rename: a file or folder appears whole under its final name, or not at all.

Used for everything the grader writes that another process may read while it is being
written, or that a crash must not leave half-done: exports, cache entries, exported image
folders, extracted archives, downloads and the model copied out of the sandbox.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(final: Path, *, folder: bool = False, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a fresh staging path beside ``final`` (an empty file, or with ``folder`` an empty
    folder); when the block ends without an error it is renamed over ``final``, else removed.

    A file replaces ``final`` in one rename (a link at ``final`` is replaced, never followed);
    it gets the mode a plain ``open()`` gives (0666 less the umask, so 0644 by default), not
    ``mkstemp``'s 0600, so the user can read and share what was written.
    A folder replaces an earlier ``final`` folder, which is removed just before the rename.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{final.name}."
    if folder:
        staging = Path(tempfile.mkdtemp(dir=final.parent, prefix=prefix, suffix=suffix))
    else:
        staging = _new_file(final.parent, prefix, suffix)
    try:
        yield staging
        if folder:
            if final.is_dir() and not final.is_symlink():
                shutil.rmtree(final)
            os.rename(staging, final)
        else:
            os.replace(staging, final)
    except BaseException:
        if folder:
            shutil.rmtree(staging, ignore_errors=True)
        else:
            staging.unlink(missing_ok=True)
        raise


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _new_file(parent: Path, prefix: str, suffix: str) -> Path:
    """A new empty file with a random name in ``parent``, created exclusively (as
    ``mkstemp`` does) with mode 0666 less the umask."""
    for _ in range(100):
        path = parent / f"{prefix}{secrets.token_hex(6)}{suffix}"
        try:
            os.close(os.open(path, _CREATE, 0o666))
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"no free temporary name in {parent}")
