"""grader.datasets.shapes: seeded generation, the cache, and export as class folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from grader import datasets
from grader.datasets import shapes
from grader.datasets.folders import read_image_folders
from grader.errors import DatasetError


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("GRADER_CACHE", str(cache))
    return cache


@pytest.fixture
def small_shapes(monkeypatch: pytest.MonkeyPatch) -> shapes.ShapesSource:
    """A 4-class source small enough to generate in a blink, registered as 'shapes'."""
    source = shapes.ShapesSource(
        "shapes", ("circle", "square", "star", "triangle"), {"train": 40, "test": 24}
    )
    monkeypatch.setitem(datasets.DATASETS, "shapes", source)
    return source


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not() -> None:
    classes = shapes.SHAPES.classes
    a_images, a_labels = shapes.generate(classes, 16, seed=3)
    b_images, b_labels = shapes.generate(classes, 16, seed=3)
    c_images, _ = shapes.generate(classes, 16, seed=4)
    assert np.array_equal(a_images, b_images) and np.array_equal(a_labels, b_labels)
    assert not np.array_equal(a_images, c_images)


def test_images_are_rgb_uint8_with_balanced_labels() -> None:
    images, labels = shapes.generate(("circle", "square", "star"), 30, seed=1)
    assert images.shape == (30, 64, 64, 3) and images.dtype == np.uint8
    assert labels.dtype == np.uint8
    assert np.bincount(labels).tolist() == [10, 10, 10]


def test_registry_serves_both_variants_with_sorted_class_names() -> None:
    assert datasets.DATASETS["shapes"].splits == ("train", "test")
    assert shapes.SHAPES.classes == ("circle", "square", "star", "triangle")
    assert shapes.SHAPES_BINARY.classes == ("circle", "square")


def test_classes_must_be_sorted_known_shapes() -> None:
    with pytest.raises(ValueError, match="sorted"):
        shapes.ShapesSource("x", ("square", "circle"), {"train": 1, "test": 1})
    with pytest.raises(ValueError, match="sorted"):
        shapes.ShapesSource("x", ("blob",), {"train": 1, "test": 1})


def test_second_load_comes_from_the_cache(
    small_shapes: shapes.ShapesSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = datasets.load("shapes", "test")

    def no_generation(*args: object, **kwargs: object) -> None:
        raise AssertionError("generated again instead of reading the cache")

    monkeypatch.setattr(shapes, "generate", no_generation)
    again = datasets.load("shapes", "test")
    assert again.sha256 == first.sha256
    assert np.array_equal(again.images, first.images)


def test_heldout_uses_its_own_seed(small_shapes: shapes.ShapesSource) -> None:
    assert small_shapes.seed("test") != small_shapes.seed("train")
    assert shapes.SHAPES.seed("train") != shapes.SHAPES_BINARY.seed("train")


def test_export_writes_class_folders_that_read_back_to_the_same_pixels(
    small_shapes: shapes.ShapesSource, tmp_path: Path
) -> None:
    train = datasets.load("shapes", "train")
    dest = datasets.export_train("shapes", tmp_path / "shapes_train")
    assert sorted(p.name for p in dest.iterdir() if p.is_dir()) == list(train.class_names)
    back = read_image_folders(dest)
    order = np.argsort(train.labels, kind="stable")
    assert back.class_names == train.class_names
    assert np.array_equal(back.labels, train.labels[order])
    assert np.array_equal(back.images, train.images[order])


def test_export_again_leaves_the_files_alone(
    small_shapes: shapes.ShapesSource, tmp_path: Path
) -> None:
    dest = datasets.export_train("shapes", tmp_path / "shapes_train")
    png = next((dest / "circle").iterdir())
    before = png.stat().st_mtime_ns
    datasets.export_train("shapes", tmp_path / "shapes_train")
    assert png.stat().st_mtime_ns == before


def test_export_replaces_an_older_export_but_never_other_files(
    small_shapes: shapes.ShapesSource, tmp_path: Path
) -> None:
    dest = datasets.export_train("shapes", tmp_path / "shapes_train")
    (dest / ".grader-fingerprint").write_text("an older export\n")
    (dest / "circle" / "stale.png").write_bytes(b"old")
    datasets.export_train("shapes", dest)
    assert not (dest / "circle" / "stale.png").exists()

    own = tmp_path / "my_photos"
    own.mkdir()
    (own / "holiday.jpg").write_bytes(b"precious")
    with pytest.raises(DatasetError, match="not written by the grader"):
        datasets.export_train("shapes", own)
    assert (own / "holiday.jpg").read_bytes() == b"precious"


@pytest.mark.parametrize("name", ["shapes", "shapes_binary"])
def test_real_heldout_regenerates_to_the_same_fingerprint(name: str, private_cache: Path) -> None:
    first = datasets.load(name, "test")
    shutil.rmtree(private_cache)
    again = datasets.load(name, "test")
    assert again.sha256 == first.sha256 == datasets.fingerprint(again.images, again.labels)
