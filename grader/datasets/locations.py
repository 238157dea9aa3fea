"""Where dataset files live on this machine: the folders the loaders search, which are also
the folders a sandboxed child must never see.

One list serves both jobs, so a folder added for searching is hidden from children too:

- ``$GRADER_DATA`` (or its ``<name>`` subfolder): data an instructor or user placed;
- the Keras cache ``~/.keras/datasets``;
- ``/usr/share/datasets/<name>``: what system packages install (Debian's
  ``dataset-fashion-mnist``);
- the grader's cache (``$GRADER_CACHE``, default ``~/.cache/grader``): downloads, extracted
  archives and parsed ``.npy`` arrays.

A child that trains gets the splits it may use exported as arrays at :data:`CHILD_ARRAYS`
instead (see :mod:`grader.datasets.exported`); it sees none of the folders above.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from grader.datasets.cache import cache_root
from grader.datasets.heldout import heldout_folder
from grader.datasets.secret import secret_path

if TYPE_CHECKING:
    from grader.tasks import TaskSpec

DATA_ENV = "GRADER_DATA"
"""Environment variable naming a folder of placed dataset files."""
SYSTEM_ROOT = Path("/usr/share/datasets")
"""Where system packages install datasets."""


def keras_cache() -> Path:
    """The Keras dataset cache, ``~/.keras/datasets`` (read at call time)."""
    return Path.home() / ".keras" / "datasets"


def data_roots() -> tuple[Path, ...]:
    """Every folder under which a loader may find dataset files, resolved, without repeats."""
    roots = [keras_cache(), SYSTEM_ROOT, cache_root()]
    placed = os.environ.get(DATA_ENV)
    if placed:
        roots.insert(0, Path(placed).expanduser())
    return tuple(dict.fromkeys(p.resolve() for p in roots))


def hidden_folders(task: TaskSpec | None = None) -> tuple[Path, ...]:
    """Folders a sandboxed child must never see: every data root, the workspace's private
    ``.grader/`` folder (gradebook, held-out secret, private held-out cache) and ``task``'s
    instructor held-out folder, if it has one.

    The child's filesystem view binds none of them; this list covers any that lie inside a
    folder the view does bind (``/usr/share/datasets`` inside ``/usr``).
    """
    folders = [*data_roots(), secret_path().parent]
    if task is not None and (instructor := heldout_folder(task)) is not None:
        folders.append(instructor)
    return tuple(dict.fromkeys(p.resolve() for p in folders))
