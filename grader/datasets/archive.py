"""Image sets shipped as zip archives of class folders (rock-paper-scissors and the like).

Each split is one archive ``<file>.zip`` holding ``<top>/<class>/<image>``. It is found
or fetched like any single-file dataset (:func:`single_file.find_or_fetch`, sha256 checked),
then extracted into the grader cache and decoded with
:func:`grader.datasets.folders.read_image_folders` at the source's image size.

Extraction trusts nothing in the archive:

- a member with an absolute path, a drive letter, a backslash or a ``..`` component,
  a symlink or any other special file is refused;
- the declared and the actual unpacked bytes are capped (a zip bomb stops early);
- members go into a temporary folder beside the final one, renamed into place only
  when every member is written, so a refused or broken archive leaves nothing behind.

A split whose archive sha256 is not recorded (``None``) is never downloaded: the user
may copy a file they trust into a search folder, else the load is refused plainly.
"""

from __future__ import annotations

import shutil
import stat
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grader.atomic import replacing
from grader.datasets import cache, single_file
from grader.datasets.base import Dataset, ProgressCallback
from grader.datasets.folders import read_image_folders
from grader.errors import DatasetError, DatasetMissingError

_MARKER = ".grader-extracted"
_CHUNK = 1 << 16


@dataclass(frozen=True)
class ArchiveSplit:
    """One split: the archive's file name, its sha256 (None: not yet recorded), the folder
    inside the archive that holds the class folders ("" for the archive's root)."""

    filename: str
    sha256: str | None
    top: str


@dataclass(frozen=True)
class ImageArchive:
    """A registry source whose splits are zip archives of class folders.

    ``class_names`` are the class folders, in sorted order (Keras's label order).
    Tests and mirrors point it elsewhere with ``dataclasses.replace(source, base_url=...)``.
    """

    name: str
    title: str
    origin: str
    files: Mapping[str, ArchiveSplit]
    class_names: tuple[str, ...]
    size: tuple[int, int]
    max_bytes: int = 512 << 20
    max_unpacked: int = 1 << 30
    base_url: str | None = None
    splits: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        if list(self.class_names) != sorted(self.class_names):
            raise ValueError(f"{self.name}: class_names must be sorted, as Keras numbers them")
        object.__setattr__(self, "splits", tuple(self.files))

    def load(self, split: str, *, on_progress: ProgressCallback | None = None) -> Dataset:
        """Return the split as uint8 (N, height, width, 3) images, fetching what is missing."""
        part = self.files[split]
        archive = self._archive(part, on_progress)
        key = cache.key_for([archive], [part.sha256, part.top, list(self.size)])
        hit = cache.load(self.name, split, key)
        if hit is not None:
            return Dataset(hit.images, hit.labels, self.class_names, hit.sha256, hit.source)

        folder = f"{Path(part.filename).stem}-{cache.key_for([archive], part.sha256)[:12]}"
        root = extract(
            archive, single_file.download_dir(self.name) / folder, max_unpacked=self.max_unpacked
        )
        try:
            data = read_image_folders(
                root / part.top, size=self.size, channels=3, classes=self.class_names
            )
        except DatasetError as err:
            shutil.rmtree(root, ignore_errors=True)  # keep no extraction of a bad archive
            raise DatasetError(
                f"{archive}: not the published {self.title} ({err}); replace it."
            ) from err
        entry = cache.CachedArrays(data.images, data.labels, data.sha256, data.source)
        cache.save(self.name, split, key, entry)
        return data

    def _archive(self, part: ArchiveSplit, on_progress: ProgressCallback | None) -> Path:
        if part.sha256 is not None:
            return single_file.find_or_fetch(
                self.name,
                part.filename,
                origin=self.origin,
                sha256=part.sha256,
                title=self.title,
                max_bytes=self.max_bytes,
                base_url=self.base_url,
                on_progress=on_progress,
            )
        dirs = single_file.search_dirs(self.name)
        found = next((d / part.filename for d in dirs if (d / part.filename).is_file()), None)
        if found is None:
            raise DatasetMissingError(
                f"{self.title}: the sha256 of {part.filename} is not recorded yet, so it is "
                f"not downloaded unverified; copy a trusted {part.filename} into "
                f"{dirs[-1]} (or $GRADER_DATA), or record its sha256 in "
                "grader/datasets/image_sets.py."
            )
        return found


def extract(archive: Path, dest: Path, *, max_unpacked: int) -> Path:
    """Extract ``archive`` into ``dest`` safely and atomically; return ``dest``.

    An existing complete extraction is reused. Every refusal is a DatasetError naming
    the archive and the member, and leaves no folder behind.
    """
    if (dest / _MARKER).is_file():
        return dest
    with replacing(dest, folder=True) as staging:
        try:
            with zipfile.ZipFile(archive) as zf:
                members = [_checked(archive, info) for info in zf.infolist()]
                declared = sum(info.file_size for info, _ in members)
                if declared > max_unpacked:
                    raise DatasetError(
                        f"{archive}: unpacks to {declared:,} bytes, over the "
                        f"{max_unpacked:,} byte limit; refused."
                    )
                budget = max_unpacked
                for info, name in members:
                    budget = _write(zf, info, staging / name, budget, archive)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as err:
            raise DatasetError(f"{archive}: not a readable zip ({err}); replace the file.") from err
        except OSError as err:  # a duplicate member, a file where a folder should be
            raise DatasetError(f"{archive}: cannot extract ({err}); replace the file.") from err
        (staging / _MARKER).write_text(str(archive) + "\n")
    return dest


def _checked(archive: Path, info: zipfile.ZipInfo) -> tuple[zipfile.ZipInfo, str]:
    raw = info.filename
    path = PurePosixPath(raw)
    if (
        raw.startswith("/")
        or "\\" in raw
        or (len(raw) > 1 and raw[1] == ":")
        or ".." in path.parts
        or not path.parts
    ):
        raise DatasetError(f"{archive}: member '{raw}' points outside the archive; refused.")
    kind = stat.S_IFMT(info.external_attr >> 16)  # 0: no Unix type recorded, a plain file
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise DatasetError(f"{archive}: member '{raw}' is a link or special file; refused.")
    return info, str(path)


def _write(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int, archive: Path
) -> int:
    if info.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return budget
    target.parent.mkdir(parents=True, exist_ok=True)
    with zf.open(info) as src, target.open("xb") as out:
        while chunk := src.read(_CHUNK):
            budget -= len(chunk)
            if budget < 0:
                raise DatasetError(
                    f"{archive}: unpacks past the size limit at '{info.filename}'; refused."
                )
            out.write(chunk)
    return budget
