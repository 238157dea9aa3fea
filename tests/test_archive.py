"""grader.datasets.archive: zip archives of class folders from a local server, extracted safely."""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from grader import datasets
from grader.datasets import image_sets, single_file
from grader.datasets.archive import ArchiveSplit, ImageArchive
from grader.errors import ChecksumError, DatasetError, DatasetMissingError
from tests.conftest import Server

RPS = image_sets.ROCK_PAPER_SCISSORS


pytestmark = pytest.mark.usefixtures("no_local_data")


def png_bytes(value: int, size: int = 20) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (value, 255 - value, 7)).save(buffer, format="PNG")
    return buffer.getvalue()


def archive(
    top: str,
    first: int,
    extra: dict[str, bytes] | None = None,
    classes: tuple[str, ...] = RPS.class_names,
) -> bytes:
    """``top/<class>/<n>.png`` for each class (the rps ones by default), two images each."""
    buffer = io.BytesIO()
    prefix = f"{top}/" if top else ""
    with zipfile.ZipFile(buffer, "w") as zf:
        if top:
            zf.writestr(prefix, b"")
        for c, name in enumerate(classes):
            for n in range(2):
                zf.writestr(f"{prefix}{name}/{n}.png", png_bytes(first + 10 * c + n))
        for member, body in (extra or {}).items():
            zf.writestr(member, body)
    return buffer.getvalue()


def symlink_archive(top: str) -> bytes:
    buffer = io.BytesIO(archive(top, 0))
    with zipfile.ZipFile(buffer, "a") as zf:
        info = zipfile.ZipInfo(f"{top}/rock/link.png")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def serve(
    server: Server, train: bytes, test: bytes, source: ImageArchive = RPS, **kwargs: int
) -> ImageArchive:
    """``source`` pointed at the local server, which holds ``train`` and ``test``."""
    files: dict[str, ArchiveSplit] = {}
    for split, body in (("train", train), ("test", test)):
        part = source.files[split]
        (server.root / part.filename).write_bytes(body)
        files[split] = replace(part, sha256=hashlib.sha256(body).hexdigest())
    return replace(source, base_url=server.url, files=files, **kwargs)


def leftovers(tmp_path: Path) -> list[str]:
    """Every extracted or partial file in the download cache (archives themselves excluded)."""
    folder = tmp_path / "cache" / RPS.name
    if not folder.is_dir():
        return []
    return sorted(str(p) for p in folder.rglob("*") if p.is_file() and p.suffix != ".zip")


def test_good_archives_give_both_splits_at_the_source_size(server: Server) -> None:
    source = serve(server, archive("rps", 0), archive("rps-test-set", 100))
    train, test = source.load("train"), source.load("test")
    assert train.class_names == test.class_names == RPS.class_names
    assert train.images.shape == (6, 160, 160, 3) and train.images.dtype == np.uint8
    assert train.labels.tolist() == [0, 0, 1, 1, 2, 2]
    assert train.images[0, 0, 0].tolist() == [0, 255, 7]
    assert test.images[0, 0, 0].tolist() == [100, 155, 7]
    assert source.load("test").sha256 == test.sha256  # again, from the cache


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (archive("rps", 0, {"rps/../../evil.png": b"x"}), "points outside"),
        (archive("rps", 0, {"/tmp/evil.png": b"x"}), "points outside"),
        (symlink_archive("rps"), "link"),
    ],
    ids=["dotdot", "absolute", "symlink"],
)
def test_unsafe_member_is_refused_and_nothing_is_extracted(
    server: Server, tmp_path: Path, body: bytes, words: str
) -> None:
    source = serve(server, body, archive("rps-test-set", 100))
    with pytest.raises(DatasetError, match=words) as caught:
        source.load("train")
    assert "rps.zip" in str(caught.value) and "\n" not in str(caught.value)
    assert leftovers(tmp_path) == []
    assert not (tmp_path / "evil.png").exists()


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_duplicate_member_is_a_clear_error(server: Server, tmp_path: Path) -> None:
    body = archive("rps", 0, {"rps/rock/0.png": png_bytes(1)})
    source = serve(server, body, archive("rps-test-set", 100))
    with pytest.raises(DatasetError, match="cannot extract"):
        source.load("train")
    assert leftovers(tmp_path) == []


def test_zip_bomb_stops_at_the_size_cap(server: Server, tmp_path: Path) -> None:
    bomb = archive("rps", 0, {"rps/rock/zeros.png": bytes(5_000_000)})
    source = serve(server, bomb, archive("rps-test-set", 100), max_unpacked=1_000_000)
    with pytest.raises(DatasetError, match="limit"):
        source.load("train")
    assert leftovers(tmp_path) == []


def test_checksum_mismatch_keeps_nothing(server: Server, tmp_path: Path) -> None:
    source = serve(server, archive("rps", 0), archive("rps-test-set", 100))
    (server.root / "rps.zip").write_bytes(archive("rps", 1))
    with pytest.raises(ChecksumError, match="sha256"):
        source.load("train")
    folder = tmp_path / "cache" / RPS.name
    assert not folder.exists() or list(folder.iterdir()) == []


def test_truncated_download_keeps_nothing(server: Server, tmp_path: Path) -> None:
    source = serve(server, archive("rps", 0), archive("rps-test-set", 100))
    source = replace(source, base_url=server.url + "truncated/")
    with pytest.raises(DatasetError):
        source.load("train")
    folder = tmp_path / "cache" / RPS.name
    assert not folder.exists() or list(folder.iterdir()) == []


def test_corrupt_zip_with_right_checksum_is_a_clear_error(server: Server, tmp_path: Path) -> None:
    source = serve(server, b"not a zip at all", archive("rps-test-set", 100))
    with pytest.raises(DatasetError, match="not a readable zip"):
        source.load("train")
    assert leftovers(tmp_path) == []


def unrecorded(source: ImageArchive) -> ImageArchive:
    return replace(
        source, files={split: replace(p, sha256=None) for split, p in source.files.items()}
    )


def test_unrecorded_checksum_never_downloads(server: Server) -> None:
    serve(server, archive("rps", 0), archive("rps-test-set", 100))
    unverified = replace(unrecorded(RPS), base_url=server.url)
    with pytest.raises(DatasetMissingError, match="not recorded yet") as caught:
        unverified.load("train")
    assert "rps.zip" in str(caught.value)
    assert server.requests == []


def test_unrecorded_checksum_reads_a_copy_the_user_placed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "rps-test-set.zip").write_bytes(archive("rps-test-set", 100))
    monkeypatch.setenv("GRADER_DATA", str(data))
    assert len(unrecorded(RPS).load("test")) == 6


def test_folders_beside_the_classes_are_ignored(server: Server) -> None:
    """Published zips carry extras (``__MACOSX/``, a README): only the classes count."""
    junk = {"__MACOSX/horses/._0.png": b"\0", "README.txt": b"about", "notes/a.txt": b"x"}
    horses = image_sets.HORSES_OR_HUMANS
    train = archive("", 0, junk, classes=horses.class_names)
    source = serve(server, train, archive("", 100, classes=horses.class_names), horses)
    data = source.load("train")
    assert data.class_names == ("horses", "humans")
    assert data.labels.tolist() == [0, 0, 1, 1]
    assert data.images.shape == (4, 150, 150, 3)


def test_missing_class_folder_is_named(server: Server, tmp_path: Path) -> None:
    body = archive("rps", 0, classes=("paper", "rock"))
    source = serve(server, body, archive("rps-test-set", 100))
    with pytest.raises(DatasetError, match=r"rps/scissors: class folder missing") as caught:
        source.load("train")
    assert str(caught.value).startswith(str(single_file.download_dir(RPS.name) / "rps.zip"))
    assert "\n" not in str(caught.value)
    assert leftovers(tmp_path) == []


def test_one_archive_can_hold_both_splits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """cats_vs_dogs: train/ and validation/ inside cats_and_dogs_filtered.zip."""
    cats = image_sets.CATS_VS_DOGS
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for folder, first in (("train", 0), ("validation", 100)):
            for c, name in enumerate(cats.class_names):
                body = png_bytes(first + c, size=30 + c)  # mixed sizes, as the JPEGs are
                zf.writestr(f"cats_and_dogs_filtered/{folder}/{name}/{c}.png", body)
    data = tmp_path / "data"
    data.mkdir()
    (data / "cats_and_dogs_filtered.zip").write_bytes(buffer.getvalue())
    monkeypatch.setenv("GRADER_DATA", str(data))
    train, test = cats.load("train"), cats.load("test")
    assert train.images.shape == test.images.shape == (2, 150, 150, 3)
    assert train.images[0, 0, 0].tolist() == [0, 255, 7]
    assert test.images[0, 0, 0].tolist() == [100, 155, 7]


@pytest.mark.parametrize("name", ["rock_paper_scissors", "horses_or_humans"])
def test_published_sets_are_verified_before_use(name: str) -> None:
    source = datasets.get_source(name)
    assert isinstance(source, ImageArchive) and source.splits == ("train", "test")
    for part in source.files.values():
        assert part.sha256 is not None and len(bytes.fromhex(part.sha256)) == 32


def test_cats_vs_dogs_is_registered_but_never_fetched_unverified() -> None:
    source = datasets.get_source("cats_vs_dogs")
    assert isinstance(source, ImageArchive)
    assert {part.sha256 for part in source.files.values()} == {None}
