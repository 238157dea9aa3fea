"""Write-then-rename: a file or folder appears whole under its final name, or not at all.

Used for everything the grader writes that another process may read while it is being
written, or that a crash must not leave half-done: exports, cache entries, exported image
folders, extracted archives, downloads and the model copied out of the sandbox.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(final: Path, *, folder: bool = False, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a fresh staging path beside ``final`` (an empty file, or with ``folder`` an empty
    folder); when the block ends without an error it is renamed over ``final``, else removed.

    A file replaces ``final`` in one rename (a link at ``final`` is replaced, never followed).
    A folder replaces an earlier ``final`` folder, which is removed just before the rename.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{final.name}."
    if folder:
        staging = Path(tempfile.mkdtemp(dir=final.parent, prefix=prefix, suffix=suffix))
    else:
        fd, name = tempfile.mkstemp(dir=final.parent, prefix=prefix, suffix=suffix)
        os.close(fd)
        staging = Path(name)
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
