"""Parsed-array cache: each split saved once as .npy files so later loads skip parsing.

An entry is a folder ``<root>/arrays/<name>-<split>-<key>`` holding
``images.npy``, ``labels.npy`` and ``meta.json``. The key hashes whatever
identifies the source bytes (paths, sizes, mtimes, expected checksums), so a
changed source file gets a new entry instead of a stale one.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.atomic import replacing

CACHE_ENV = "GRADER_CACHE"
"""Environment variable naming the grader's cache folder (default ~/.cache/grader)."""

_FORMAT = 1


@dataclass(frozen=True)
class CachedArrays:
    """What a cache entry holds."""

    images: np.ndarray
    labels: np.ndarray
    sha256: str
    """The fingerprint computed when the entry was written."""
    source: str
    class_names: tuple[str, ...] = ()
    """Names of the classes, when the entry records them (exported splits do)."""


def cache_root() -> Path:
    """Return $GRADER_CACHE, else ~/.cache/grader (read at call time)."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "grader"


def key_for(files: list[Path], extra: object = None) -> str:
    """Return a key for ``files`` as they are now (path, size, mtime) plus any JSON-able extra."""
    parts: list[object] = [_FORMAT, extra]
    for path in files:
        stat = path.stat()
        parts.append([str(path.resolve()), stat.st_size, stat.st_mtime_ns])
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]


def entry_dir(name: str, split: str, key: str, *, root: Path | None = None) -> Path:
    """Return the folder an entry lives in (it may not exist); ``root`` defaults to the cache."""
    return (root or cache_root()) / "arrays" / f"{name}-{split}-{key}"


def load(name: str, split: str, key: str, *, root: Path | None = None) -> CachedArrays | None:
    """Return the entry, or None if it is absent or unreadable (a bad entry is just a miss)."""
    return read_entry(entry_dir(name, split, key, root=root))


def save(
    name: str, split: str, key: str, entry: CachedArrays, *, root: Path | None = None
) -> Path | None:
    """Write the entry atomically; return its folder, or None if the cache is not writable.

    Failing to cache never fails a load: the data is already in memory.
    """
    return write_entry(entry_dir(name, split, key, root=root), entry)


def read_entry(folder: Path) -> CachedArrays | None:
    """The arrays an entry folder holds, or None if it is absent, damaged or of another format."""
    try:
        meta = json.loads((folder / "meta.json").read_text())
        images = np.load(folder / "images.npy", allow_pickle=False)
        labels = np.load(folder / "labels.npy", allow_pickle=False)
        if (
            meta["format"] != _FORMAT
            or list(images.shape) != meta["images_shape"]
            or list(labels.shape) != meta["labels_shape"]
            or images.dtype != np.uint8
            or labels.dtype != np.uint8
        ):
            return None
        names = tuple(str(n) for n in meta.get("class_names", ()))
        return CachedArrays(images, labels, str(meta["sha256"]), str(meta["source"]), names)
    except (OSError, ValueError, KeyError, TypeError, EOFError):
        return None


def write_entry(final: Path, entry: CachedArrays) -> Path | None:
    """Write ``entry`` into ``final`` through a staging folder renamed into place; None if the
    folder is not writable."""
    meta = {
        "format": _FORMAT,
        "images_shape": list(entry.images.shape),
        "labels_shape": list(entry.labels.shape),
        "sha256": entry.sha256,
        "source": entry.source,
        "class_names": list(entry.class_names),
    }
    try:
        with replacing(final, folder=True) as staging:
            np.save(staging / "images.npy", entry.images, allow_pickle=False)
            np.save(staging / "labels.npy", entry.labels, allow_pickle=False)
            (staging / "meta.json").write_text(json.dumps(meta))
    except OSError:
        return None
    return final
