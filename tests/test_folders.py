"""grader.datasets.folders: reading class folders of images, and each broken input's error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from grader.datasets.folders import read_image_folders
from grader.errors import DatasetError, DatasetMissingError


def png(path: Path, size: tuple[int, int] = (8, 6), value: int = 0) -> Path:
    """Write a solid RGB PNG of ``size`` (width, height)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (value, value, value)).save(path)
    return path


@pytest.fixture
def two_classes(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    png(root / "cats" / "a.png", value=10)
    png(root / "cats" / "b.png", value=20)
    png(root / "dogs" / "c.png", value=30)
    return root


def test_classes_are_numbered_in_sorted_folder_order(two_classes: Path) -> None:
    data = read_image_folders(two_classes)
    assert data.class_names == ("cats", "dogs")
    assert data.labels.tolist() == [0, 0, 1]
    assert data.images.shape == (3, 6, 8, 3) and data.images.dtype == np.uint8
    assert data.images[:, 0, 0, 0].tolist() == [10, 20, 30]


def test_same_folder_gives_the_same_fingerprint(two_classes: Path) -> None:
    assert read_image_folders(two_classes).sha256 == read_image_folders(two_classes).sha256


def test_hidden_files_are_skipped(two_classes: Path) -> None:
    (two_classes / "cats" / ".DS_Store").write_bytes(b"\0\1")
    assert len(read_image_folders(two_classes)) == 3


def test_grayscale_reads_one_channel(two_classes: Path) -> None:
    assert read_image_folders(two_classes, channels=1).images.shape == (3, 6, 8, 1)


def test_non_image_file_is_named(two_classes: Path) -> None:
    notes = two_classes / "dogs" / "notes.txt"
    notes.write_text("hello")
    with pytest.raises(DatasetError, match=f"{notes}: not an image file"):
        read_image_folders(two_classes)


def test_corrupt_png_is_named(two_classes: Path) -> None:
    broken = two_classes / "dogs" / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    with pytest.raises(DatasetError, match=f"{broken}: cannot decode the image"):
        read_image_folders(two_classes)


def test_truncated_png_is_named(two_classes: Path) -> None:
    cut = two_classes / "dogs" / "cut.png"
    whole = png(cut, size=(64, 64)).read_bytes()
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DatasetError, match=f"{cut}: cannot decode"):
        read_image_folders(two_classes)


def test_empty_class_is_named(two_classes: Path) -> None:
    (two_classes / "birds").mkdir()
    with pytest.raises(DatasetError, match=f"{two_classes / 'birds'}: class folder is empty"):
        read_image_folders(two_classes)


def test_mixed_sizes_are_refused_naming_the_odd_file(two_classes: Path) -> None:
    odd = png(two_classes / "dogs" / "d.png", size=(16, 16))
    with pytest.raises(DatasetError, match=f"{odd}: image is 16x16 but earlier ones are 8x6"):
        read_image_folders(two_classes)


def test_mixed_sizes_are_resized_to_the_contract_when_given(two_classes: Path) -> None:
    png(two_classes / "dogs" / "d.png", size=(16, 16), value=200)
    data = read_image_folders(two_classes, size=(4, 5))
    assert data.images.shape == (4, 4, 5, 3)
    assert data.images[-1, 2, 2, 0] == 200  # a solid image stays solid after resizing


def test_missing_folder_says_so(tmp_path: Path) -> None:
    with pytest.raises(
        DatasetMissingError, match=f"{tmp_path / 'nowhere'}: image folder not found"
    ):
        read_image_folders(tmp_path / "nowhere")


def test_file_directly_under_root_is_named(two_classes: Path) -> None:
    stray = png(two_classes / "stray.png")
    with pytest.raises(DatasetError, match=f"{stray}: a file directly under"):
        read_image_folders(two_classes)


def test_root_without_class_folders_says_what_is_expected(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no class folders"):
        read_image_folders(tmp_path / "empty")
