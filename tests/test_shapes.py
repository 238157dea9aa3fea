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
    """The shared grader cache; the workspace (held-out secret, private cache) beside it."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("GRADER_CACHE", str(cache))
    monkeypatch.setenv("GRADER_HOME", str(tmp_path / "ws"))
    monkeypatch.delenv("GRADER_HELDOUT_SECRET", raising=False)
    monkeypatch.delenv("GRADER_HELDOUT_SECRET_FILE", raising=False)
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


@pytest.mark.parametrize("split", ["train", "test"])
def test_second_load_comes_from_the_cache(
    small_shapes: shapes.ShapesSource, monkeypatch: pytest.MonkeyPatch, split: str
) -> None:
    load = small_shapes.load if split == "train" else small_shapes.load_private
    first = load(split)

    def no_generation(*args: object, **kwargs: object) -> None:
        raise AssertionError("generated again instead of reading the cache")

    monkeypatch.setattr(shapes, "generate", no_generation)
    again = load(split)
    assert again.sha256 == first.sha256
    assert np.array_equal(again.images, first.images)


def test_private_heldout_is_cached_only_in_the_workspace_never_in_the_shared_cache(
    small_shapes: shapes.ShapesSource, private_cache: Path, tmp_path: Path
) -> None:
    """The shared cache is where any process of the user can look; the held-out split
    lives only in the workspace's .grader/ folder, which no sandboxed child sees."""
    small_shapes.load("train")
    small_shapes.load_private("test")
    assert list(private_cache.glob("arrays/shapes-train-*"))
    assert not list(private_cache.glob("arrays/shapes-test-*"))
    assert list((tmp_path / "ws" / ".grader" / "cache").glob("arrays/shapes-test-*"))


def test_heldout_split_cannot_be_loaded_like_a_public_one(
    small_shapes: shapes.ShapesSource,
) -> None:
    with pytest.raises(DatasetError, match="private held-out set"):
        datasets.load("shapes", "test")
    assert datasets.public_splits("shapes") == ("train",)


def test_heldout_seed_comes_from_the_workspace_secret(
    small_shapes: shapes.ShapesSource, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert small_shapes.seed("test") != small_shapes.seed("train")
    assert shapes.SHAPES.seed("train") != shapes.SHAPES_BINARY.seed("train")
    assert shapes.SHAPES.seed("test") != shapes.SHAPES_BINARY.seed("test")
    mine = small_shapes.seed("test")
    monkeypatch.setenv("GRADER_HOME", str(tmp_path / "another-workspace"))
    assert small_shapes.seed("test") != mine  # a new secret there
    assert small_shapes.seed("train") == shapes.ShapesSource(
        "shapes", small_shapes.classes, small_shapes.counts
    ).seed("train")  # the training split stays public and identical everywhere


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
def test_real_heldout_regenerates_to_the_same_fingerprint(name: str, tmp_path: Path) -> None:
    source = datasets.get_source(name)
    assert isinstance(source, shapes.ShapesSource)
    first = source.load_private("test")
    shutil.rmtree(tmp_path / "ws" / ".grader" / "cache")
    again = source.load_private("test")
    assert again.sha256 == first.sha256 == datasets.fingerprint(again.images, again.labels)
