"""Fashion-MNIST: 28x28 grayscale clothing, 60,000 train and 10,000 test images.

The four idx.gz files are looked for, in order, in $GRADER_DATA (or its
``fashion-mnist`` subfolder), the Keras cache, Debian's ``dataset-fashion-mnist``
package, and the grader's download cache; failing all, they are downloaded
from the origin tf.keras uses into that cache.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from grader.datasets import cache, download, idx, locations
from grader.datasets.base import Dataset, ProgressCallback, fingerprint
from grader.errors import ChecksumError, DatasetError, DatasetMissingError

NAME = "fashion_mnist"
FOLDER = "fashion-mnist"
ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
"""Where tf.keras.datasets.fashion_mnist downloads from; $GRADER_DATASET_MIRROR replaces it."""
DATA_ENV = locations.DATA_ENV
CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
"""Split -> (images, labels) idx file stems; "test" is the held-out split the grader scores."""

CHECKSUMS: dict[str, tuple[str, int]] = {
    "t10k-images-idx3-ubyte": (
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        7840016,
    ),
    "t10k-labels-idx1-ubyte": (
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        10008,
    ),
    "train-images-idx3-ubyte": (
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        47040016,
    ),
    "train-labels-idx1-ubyte": (
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        60008,
    ),
}
"""Stem -> (sha256, size) of the DECOMPRESSED idx bytes: Debian re-gzips, so only these agree."""

SYSTEM_DIRS: tuple[Path, ...] = (locations.SYSTEM_ROOT / FOLDER,)
"""Folders installed by system packages (Debian's dataset-fashion-mnist)."""


def download_dir() -> Path:
    """Return the folder downloads go to: <grader cache>/fashion-mnist."""
    return cache.cache_root() / FOLDER


def search_dirs() -> list[Path]:
    """Return the folders to look in, best first; computed from HOME and env at call time."""
    dirs: list[Path] = []
    data = os.environ.get(DATA_ENV)
    if data:
        root = Path(data).expanduser()
        dirs += [root / FOLDER, root]
    dirs.append(locations.keras_cache() / FOLDER)
    dirs += SYSTEM_DIRS
    dirs.append(download_dir())
    return dirs


class FashionMnist:
    """The registry's source for Fashion-MNIST."""

    name = NAME
    splits = tuple(SPLIT_FILES)

    def __init__(self, *, base_url: str | None = None) -> None:
        self.base_url = base_url
        """Overrides both the origin and $GRADER_DATASET_MIRROR when set."""

    def load(self, split: str, *, on_progress: ProgressCallback | None = None) -> Dataset:
        """Return the split, parsing (and caching) or downloading as needed."""
        stems = SPLIT_FILES[split]
        files = _find(stems)
        if files is None:
            files, source = self._download(stems, on_progress)
        else:
            source = str(files[0].parent)
        key = cache.key_for(files, [CHECKSUMS[stem] for stem in stems])
        hit = cache.load(NAME, split, key)
        if hit is not None:
            return Dataset(hit.images, hit.labels, CLASS_NAMES, hit.sha256, hit.source)
        images = _read_verified(files[0], stems[0])
        labels = _read_verified(files[1], stems[1])
        _check_shapes(files, images, labels)
        sha = fingerprint(images, labels)
        cache.save(NAME, split, key, cache.CachedArrays(images, labels, sha, source))
        return Dataset(images, labels, CLASS_NAMES, sha, source)

    def _download(
        self, stems: tuple[str, ...], on_progress: ProgressCallback | None
    ) -> tuple[list[Path], str]:
        files: list[Path] = []
        offset = 0
        for stem in stems:
            filename = f"{stem}.gz"
            url = download.resolve_url(ORIGIN, filename, base_url=self.base_url)
            sha, size = CHECKSUMS[stem]
            path = download_dir() / filename
            if path.is_file():  # kept from an earlier, interrupted split: verified when written
                files.append(path)
                continue
            try:
                download.fetch(
                    url,
                    path,
                    content_sha256=sha,
                    content_size=size,
                    on_progress=_shifted(on_progress, offset),
                )
            except DatasetMissingError as err:
                raise DatasetMissingError(_missing_message(url, err)) from err
            offset += path.stat().st_size
            files.append(path)
        return files, download.resolve_url(ORIGIN, "", base_url=self.base_url)


def _find(stems: tuple[str, ...]) -> list[Path] | None:
    for folder in search_dirs():
        found = [_existing(folder, stem) for stem in stems]
        paths = [path for path in found if path is not None]
        if len(paths) == len(stems):
            return paths
    return None


def _existing(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    return None


def _read_verified(path: Path, stem: str) -> np.ndarray:
    sha, size = CHECKSUMS[stem]
    data = idx.read_bytes(path, max_bytes=size)
    got = hashlib.sha256(data).hexdigest()
    if len(data) != size or got != sha:
        raise ChecksumError(
            f"{path}: content ({len(data)} bytes, sha256 {got[:16]}…) is not Fashion-MNIST's "
            f"{stem} ({size} bytes, {sha[:16]}…); delete or replace the file."
        )
    return idx.parse_idx(data, name=str(path))


def _check_shapes(files: list[Path], images: np.ndarray, labels: np.ndarray) -> None:
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise DatasetError(
            f"{files[0]} and {files[1]}: shapes {images.shape} and {labels.shape} do not pair up "
            "as images and labels; replace the files."
        )
    if labels.size and int(labels.max()) >= len(CLASS_NAMES):
        raise DatasetError(
            f"{files[1]}: label {int(labels.max())} is out of range 0..{len(CLASS_NAMES) - 1}; "
            "replace the file."
        )


def _shifted(on_progress: ProgressCallback | None, offset: int) -> ProgressCallback | None:
    # One monotonic count across the split's files, so one progress bar can follow it.
    if on_progress is None:
        return None
    report = on_progress

    def shifted(done: int, total: int | None) -> None:
        report(offset + done, None if total is None else offset + total)

    return shifted


def _missing_message(url: str, err: DatasetMissingError) -> str:
    looked = ", ".join(str(folder) for folder in search_dirs())
    why = download.reason(err.__cause__) if err.__cause__ is not None else str(err)
    return (
        f"Fashion-MNIST not found (looked in {looked}) and downloading {url} failed ({why}); "
        "install it with `sudo apt-get install dataset-fashion-mnist`, put the four .gz files "
        f"in ${DATA_ENV}, or connect to the internet to download it."
    )
