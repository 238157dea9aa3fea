"""Class folders of image files: the ``image_dataset_from_directory`` layout, both ways.

``root/<class name>/<file>.png``: every sub-folder is a class, numbered in sorted
order (as Keras numbers them). Decoding uses Pillow in the grader's own process,
never TensorFlow.

Rules when reading (each break is a DatasetError naming the file or folder):

- hidden files (``.DS_Store``, ``._x.png``) are skipped; any other file must have an
  image suffix (.png, .jpg, .jpeg, .bmp, .gif) and decode;
- every class folder holds at least one image; files directly under root are refused;
- images are converted to RGB (``channels=3``) or grayscale (``channels=1``);
- with ``size`` given (the task contract's height and width), every image is resized to
  it with bilinear interpolation, identically for every model; without ``size``, images
  of mixed sizes are refused, naming the first file that differs.
"""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np

from grader.atomic import replacing
from grader.datasets.base import Dataset, fingerprint
from grader.errors import DatasetError, DatasetMissingError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
_MARKER = ".grader-fingerprint"


def read_image_folders(
    root: Path,
    *,
    size: tuple[int, int] | None = None,
    channels: int = 3,
    classes: tuple[str, ...] | None = None,
) -> Dataset:
    """Decode ``root/<class>/*`` into a Dataset: uint8 (N, H, W, C) images, sorted by class.

    ``classes`` names the class folders to read when the layout is known in advance
    (a published archive): each must exist, and anything else under root is ignored.
    """
    if not root.is_dir():
        raise DatasetMissingError(f"{root}: image folder not found; check the path.")
    class_dirs = _class_dirs(root) if classes is None else _named_dirs(root, classes)
    mode = {1: "L", 3: "RGB"}[channels]
    images: list[np.ndarray] = []
    labels: list[int] = []
    for label, folder in enumerate(class_dirs):
        files = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
        if not files:
            raise DatasetError(f"{folder}: class folder is empty; add images or remove it.")
        for path in files:
            images.append(_decode(path, mode, size, images[0] if images else None))
            labels.append(label)
    stacked = np.stack(images)
    if channels == 1:
        stacked = stacked[..., None]
    label_array = np.asarray(labels, dtype=np.uint8)
    names = tuple(p.name for p in class_dirs)
    return Dataset(stacked, label_array, names, fingerprint(stacked, label_array), str(root))


def write_image_folders(data: Dataset, dest: Path) -> Path:
    """Write ``data`` as ``dest/<class>/<n>.png``; a no-op if dest already holds this data.

    The folder is built beside ``dest`` and renamed into place, so an interrupted
    write never leaves half a dataset behind. An earlier export with other data is
    replaced; any other non-empty ``dest`` is refused (DatasetError), never deleted.
    """
    from PIL import Image

    marker = dest / _MARKER
    if marker.is_file() and marker.read_text().strip() == data.sha256:
        return dest
    if dest.exists() and not marker.is_file() and (not dest.is_dir() or any(dest.iterdir())):
        # Only ever replace a folder this function wrote: never a learner's own files.
        raise DatasetError(f"{dest}: exists and was not written by the grader; pick a new folder.")
    with replacing(dest, folder=True) as staging:
        for name in data.class_names:
            (staging / name).mkdir()
        for n, (image, label) in enumerate(zip(data.images, data.labels, strict=True)):
            pixels = image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image
            Image.fromarray(pixels).save(staging / data.class_names[label] / f"{n:05d}.png")
        (staging / _MARKER).write_text(data.sha256 + "\n")
    return dest


def _class_dirs(root: Path) -> list[Path]:
    entries = sorted(root.iterdir())
    stray = [p for p in entries if p.is_file() and not p.name.startswith(".")]
    if stray:
        raise DatasetError(
            f"{stray[0]}: a file directly under {root}; put images in class folders."
        )
    class_dirs = [p for p in entries if p.is_dir() and not p.name.startswith(".")]
    if not class_dirs:
        raise DatasetError(f"{root}: no class folders; expected {root}/<class>/<image>.png.")
    return class_dirs


def _named_dirs(root: Path, classes: tuple[str, ...]) -> list[Path]:
    for name in classes:
        if not (root / name).is_dir():
            raise DatasetError(
                f"{root / name}: class folder missing (expected {', '.join(classes)})"
            )
    return [root / name for name in sorted(classes)]


def _decode(
    path: Path, mode: str, size: tuple[int, int] | None, first: np.ndarray | None
) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    if path.is_dir():
        raise DatasetError(f"{path}: a folder inside a class folder; keep one level of classes.")
    try:
        regular = stat.S_ISREG(path.stat().st_mode)  # a link to a regular image is fine
    except OSError as err:
        raise DatasetError(f"{path}: cannot read ({err.strerror}); fix or remove it.") from None
    if not regular:  # a FIFO would block the grader forever, a device could be anything
        raise DatasetError(f"{path}: not a regular file (a pipe, socket or device); remove it.")
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise DatasetError(
            f"{path}: not an image file (expected {', '.join(IMAGE_SUFFIXES)}); remove it."
        )
    try:
        with Image.open(path) as opened:
            opened.load()
            image = opened.convert(mode)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise DatasetError(
            f"{path}: cannot decode the image ({err}); replace or remove it."
        ) from err
    if size is not None and image.size != (size[1], size[0]):
        image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.uint8)
    if first is not None and pixels.shape[:2] != first.shape[:2]:
        raise DatasetError(
            f"{path}: image is {pixels.shape[1]}x{pixels.shape[0]} but earlier ones are "
            f"{first.shape[1]}x{first.shape[0]}; resize the images to one size."
        )
    return pixels
