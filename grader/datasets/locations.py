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

from grader.datasets.cache import cache_root

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
