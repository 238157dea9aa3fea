"""Datasets shipped upstream as one file (an .npz, a tarball): find it, or fetch it, then cache.

The file is looked for, in order, in $GRADER_DATA (or its ``<name>`` subfolder), the Keras
cache (~/.keras/datasets), the system folder ``/usr/share/datasets/<name>`` (where a
distribution package would put it) and the grader's download cache. Failing all, it is
downloaded from its origin into that cache and checked against its sha256 before it is
kept. Parsed splits are cached as .npy, keyed by the file and its checksum.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grader.datasets import cache, download, locations
from grader.datasets.base import Dataset, ProgressCallback, fingerprint
from grader.errors import DatasetMissingError

Reader = Callable[[Path], tuple[np.ndarray, np.ndarray]]
"""Parses one split out of the file: (images, labels)."""


SYSTEM_ROOT = locations.SYSTEM_ROOT
"""Where system packages install datasets (Debian: dataset-fashion-mnist)."""


def download_dir(name: str) -> Path:
    """The folder downloads of ``name`` go to: <grader cache>/<name>."""
    return cache.cache_root() / name


def search_dirs(name: str) -> list[Path]:
    """The folders to look in, best first; computed from HOME and env at call time."""
    dirs: list[Path] = []
    data = os.environ.get(locations.DATA_ENV)
    if data:
        root = Path(data).expanduser()
        dirs += [root / name, root]
    return [*dirs, locations.keras_cache(), SYSTEM_ROOT / name, download_dir(name)]


@dataclass(frozen=True)
class SingleFileSource:
    """A registry source whose splits are all read out of one upstream file.

    Tests and mirrors point it elsewhere with ``dataclasses.replace(source, base_url=...)``.
    """

    name: str
    title: str
    filename: str
    origin: str
    sha256: str
    """The checksum a downloaded file must have."""
    class_names: tuple[str, ...]
    readers: Mapping[str, Reader]
    """Split -> the function that parses it out of the file."""
    max_bytes: int
    base_url: str | None = None
    """Overrides both the origin and $GRADER_DATASET_MIRROR when set."""
    splits: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "splits", tuple(self.readers))

    def load(self, split: str, *, on_progress: ProgressCallback | None = None) -> Dataset:
        """Return the split, reading (and caching) or downloading the file as needed."""
        path = find_or_fetch(
            self.name,
            self.filename,
            origin=self.origin,
            sha256=self.sha256,
            title=self.title,
            max_bytes=self.max_bytes,
            base_url=self.base_url,
            on_progress=on_progress,
        )
        return load_split(
            self.name,
            split,
            path,
            sha256=self.sha256,
            class_names=self.class_names,
            read=self.readers[split],
        )


def find_or_fetch(
    name: str,
    filename: str,
    *,
    origin: str,
    sha256: str,
    title: str,
    max_bytes: int,
    base_url: str | None = None,
    on_progress: ProgressCallback | None = None,
) -> Path:
    """The local copy of ``filename``, downloading it if no search folder has it."""
    found = next((d / filename for d in search_dirs(name) if (d / filename).is_file()), None)
    if found is not None:
        return found
    url = download.resolve_url(origin, filename, base_url=base_url)
    try:
        return download.fetch(
            url,
            download_dir(name) / filename,
            sha256=sha256,
            on_progress=on_progress,
            max_bytes=max_bytes,
        )
    except DatasetMissingError as err:
        why = download.reason(err.__cause__) if err.__cause__ is not None else str(err)
        looked = ", ".join(str(d) for d in search_dirs(name))
        raise DatasetMissingError(
            f"{title} must be downloaded first: {url} could not be fetched ({why}) and "
            f"no {filename} was found in {looked}; connect to the internet and run "
            f"again, or copy {filename} into one of those folders."
        ) from err


def load_split(
    name: str,
    split: str,
    path: Path,
    *,
    sha256: str,
    class_names: tuple[str, ...],
    read: Reader,
) -> Dataset:
    """The split from the .npy cache, or parsed from ``path`` by ``read`` and cached."""
    key = cache.key_for([path], sha256)
    hit = cache.load(name, split, key)
    if hit is not None:
        return Dataset(hit.images, hit.labels, class_names, hit.sha256, hit.source)
    images, labels = read(path)
    sha = fingerprint(images, labels)
    cache.save(name, split, key, cache.CachedArrays(images, labels, sha, str(path.parent)))
    return Dataset(images, labels, class_names, sha, str(path.parent))
