"""Shapes: procedural 64x64 RGB images of geometric shapes, generated with numpy from a seed.

Each image holds one light shape (random size, position, colour, and a tilt of up
to 20 degrees) on a dark two-tone gradient background with a stray line and small
dots, plus pixel noise. A small CNN learns it in a few epochs; a dense net on raw
pixels does not, because the shape moves and changes size and colour. Nothing is
downloaded: the same seed gives the same bytes on every machine, so the data works
offline.

- ``shapes``: four classes (circle, square, star, triangle).
- ``shapes_binary``: two classes (circle, square), for the single sigmoid unit.

The ``train`` split is what the learner trains on (as arrays, or written as class
folders of PNGs with :func:`grader.datasets.export_train`); its seed is public, and it is
cached in the grader's cache like any parsed split. The ``test`` split is the private
held-out set: its seed is derived from the workspace's held-out secret
(:mod:`grader.datasets.secret`), so neither a learner's code nor a reading of this package
can regenerate it. Only the grader loads it (:meth:`ShapesSource.load_private`), and it is
cached only inside the workspace's ``.grader/`` folder, which no sandboxed child can see.
Class names sort alphabetically, so ``image_dataset_from_directory`` numbers the
folders exactly as the grader numbers the labels.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from grader.datasets import cache, secret
from grader.datasets.base import Dataset, ProgressCallback, fingerprint
from grader.errors import DatasetError

SIZE = 64
"""Height and width of every image, in pixels."""
_BATCH = 256
_TILT = np.pi / 9  # rotation up to 20 degrees either way: shapes stay recognisable
_TRAIN_SEED = 20_241
"""Base seed of the public ``train`` split."""


class ShapesSource:
    """A registry source of generated shape images; ``classes`` picks the shapes drawn."""

    splits: tuple[str, ...] = ("train", "test")
    private_splits: tuple[str, ...] = ("test",)
    """The held-out split: generated from the workspace's secret, by the grader only."""

    def __init__(
        self, name: str, classes: tuple[str, ...], counts: dict[str, int], *, size: int = SIZE
    ) -> None:
        if tuple(sorted(classes)) != classes or not set(classes) <= set(_MASKS):
            raise ValueError(f"classes must be sorted names from {sorted(_MASKS)}")
        self.name = name
        self.classes = classes
        self.counts = counts
        """Split -> number of images (balanced over classes)."""
        self.size = size

    def seed(self, split: str) -> int:
        """The seed a split is generated from: public for ``train``, secret for ``test``."""
        if split in self.private_splits:
            return secret.seed(self.name, split)
        return _TRAIN_SEED + sum(self.name.encode())

    def load(self, split: str, *, on_progress: ProgressCallback | None = None) -> Dataset:
        """Return the public ``train`` split from the cache, or generate (seconds) and cache it.

        The private held-out split is refused: only :meth:`load_private` makes it.
        """
        if split in self.private_splits:
            raise DatasetError(
                f"The '{split}' split of {self.name} is the private held-out set: the grader "
                "generates it from this workspace's secret when it grades. Train on 'train' "
                "(hold part of it out for validation, e.g. validation_split=0.2)."
            )
        return self._load(split, self.seed(split), cache.cache_root())

    def load_private(self, split: str) -> Dataset:
        """The private held-out split, cached only in the workspace's ``.grader/`` folder."""
        return self._load(split, self.seed(split), secret.secret_path().parent / "cache")

    def _load(self, split: str, seed: int, root: Path) -> Dataset:
        count = self.counts[split]
        public = split not in self.private_splits
        source = f"generated:{self.name}" + (f":seed={seed}" if public else ":private")
        # Keyed on this file's bytes too: any change to the generator misses the old entry.
        key = cache.key_for([], [self.name, split, seed, count, self.size, _generator_hash()])
        hit = cache.load(self.name, split, key, root=root)
        if hit is not None:
            return Dataset(hit.images, hit.labels, self.classes, hit.sha256, hit.source)
        images, labels = generate(self.classes, count, seed, size=self.size)
        sha = fingerprint(images, labels)
        cache.save(
            self.name, split, key, cache.CachedArrays(images, labels, sha, source), root=root
        )
        return Dataset(images, labels, self.classes, sha, source)


def _generator_hash() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def generate(
    classes: tuple[str, ...], count: int, seed: int, *, size: int = SIZE
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``count`` images uint8 (count, size, size, 3) and labels uint8, balanced, shuffled."""
    rng = np.random.default_rng(seed)
    labels = np.resize(np.arange(len(classes), dtype=np.uint8), count)
    rng.shuffle(labels)
    images = np.empty((count, size, size, 3), dtype=np.uint8)
    for start in range(0, count, _BATCH):
        part = labels[start : start + _BATCH]
        images[start : start + len(part)] = _draw([classes[i] for i in part], rng, size)
    return images, labels


def _draw(shapes: list[str], rng: np.random.Generator, size: int) -> np.ndarray:
    n = len(shapes)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) + np.float32(0.5)
    ys, xs = ys[None], xs[None]

    # Background: a dark linear gradient between two close colours, in a random direction.
    c0 = _uniform(rng, 0, 0.45, (n, 3))
    c1 = (c0 + _uniform(rng, -0.15, 0.15, (n, 3))).clip(0, 1)
    angle = _uniform(rng, 0, 2 * np.pi, (n, 1, 1))
    t = ((xs * np.cos(angle) + ys * np.sin(angle)) / size + 1) / 2
    t = t.clip(0, 1)[..., None]
    img = c0[:, None, None] * (1 - t) + c1[:, None, None] * t

    # Clutter: thin line segments and small dots in random colours.
    for _ in range(1):
        p = rng.uniform(0, size, (n, 2))
        q = p + rng.normal(0, size / 3, (n, 2))
        near = _segment_distance(xs, ys, p, q) < rng.uniform(0.6, 1.4, n)[:, None, None]
        np.copyto(img, _uniform(rng, 0, 1, (n, 1, 1, 3)), where=near[..., None])
    for _ in range(2):
        c = rng.uniform(0, size, (n, 2))
        r = rng.uniform(1.0, 2.0, n)[:, None, None]
        dot = (xs - c[:, None, None, 0]) ** 2 + (ys - c[:, None, None, 1]) ** 2 < r**2
        np.copyto(img, _uniform(rng, 0, 1, (n, 1, 1, 3)), where=dot[..., None])

    # The shape: random radius, centre (kept inside), tilt, and a light colour.
    radius = _uniform(rng, size * 0.2, size * 0.34, (n,))
    cx = rng.uniform(radius, size - radius)
    cy = rng.uniform(radius, size - radius)
    theta = _uniform(rng, -_TILT, _TILT, (n,))
    dx = (xs - cx[:, None, None]) / radius[:, None, None]
    dy = (ys - cy[:, None, None]) / radius[:, None, None]
    cos, sin = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    u, v = dx * cos + dy * sin, -dx * sin + dy * cos
    inside = np.zeros((n, size, size), dtype=bool)
    for name, mask in _MASKS.items():
        rows = np.array([s == name for s in shapes])
        if rows.any():
            inside[rows] = mask(u[rows], v[rows])
    colour = _uniform(rng, 0.6, 1, (n, 3))
    np.copyto(img, colour[:, None, None], where=inside[..., None])

    img += rng.standard_normal(img.shape, dtype=np.float32) * np.float32(0.03)
    np.clip(img, 0, 1, out=img)
    pixels: np.ndarray = (img * 255 + 0.5).astype(np.uint8)
    return pixels


def _uniform(
    rng: np.random.Generator, low: float, high: float, shape: tuple[int, ...]
) -> np.ndarray:
    return rng.uniform(low, high, shape).astype(np.float32)


def _segment_distance(xs: np.ndarray, ys: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    px, py = p[:, 0, None, None], p[:, 1, None, None]
    ex, ey = (q - p)[:, 0, None, None], (q - p)[:, 1, None, None]
    length2 = np.maximum(ex**2 + ey**2, 1e-6)
    t = (((xs - px) * ex + (ys - py) * ey) / length2).clip(0, 1)
    return np.asarray(np.hypot(xs - px - t * ex, ys - py - t * ey))


def _circle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.asarray(u**2 + v**2 <= 0.9**2)


def _square(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.asarray(np.maximum(np.abs(u), np.abs(v)) <= 0.75)


def _triangle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    # Equilateral: inside the three half-planes whose normals are 120 degrees apart.
    inside = np.ones(u.shape, dtype=bool)
    for k in range(3):
        a = -np.pi / 2 + 2 * np.pi * k / 3
        inside &= u * np.cos(a) + v * np.sin(a) <= 0.55
    return inside


def _star(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    # Five points: the allowed radius swings between 0.45 (notches) and 1.05 (tips).
    phase = (np.arctan2(v, u) * 5 / (2 * np.pi)) % 1.0
    reach = 0.45 + 0.6 * np.abs(2 * phase - 1)
    return np.asarray(u**2 + v**2 <= reach**2)


_MASKS = {"circle": _circle, "square": _square, "star": _star, "triangle": _triangle}

SHAPES = ShapesSource(
    "shapes", ("circle", "square", "star", "triangle"), {"train": 3000, "test": 1200}
)
"""Four shapes: 3,000 training images, 1,200 held-out."""
SHAPES_BINARY = ShapesSource("shapes_binary", ("circle", "square"), {"train": 2000, "test": 1000})
"""Circle vs square: 2,000 training images, 1,000 held-out."""
