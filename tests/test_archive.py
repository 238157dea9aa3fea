"""grader.datasets.archive: zip archives of class folders from a local server, extracted safely."""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from grader import datasets
from grader.datasets import rock_paper_scissors as rps
from grader.datasets.archive import ImageArchive
from grader.errors import ChecksumError, DatasetError, DatasetMissingError
from tests.conftest import Server


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GRADER_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GRADER_DATA", raising=False)
    monkeypatch.delenv("GRADER_DATASET_MIRROR", raising=False)


def png_bytes(value: int, size: int = 20) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (value, 255 - value, 7)).save(buffer, format="PNG")
    return buffer.getvalue()


def archive(top: str, first: int, extra: dict[str, bytes] | None = None) -> bytes:
    """``top/<class>/<n>.png`` for the three rps classes, two distinct images each."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(f"{top}/", b"")
        for c, name in enumerate(rps.CLASS_NAMES):
            for n in range(2):
                zf.writestr(f"{top}/{name}/{n}.png", png_bytes(first + 10 * c + n))
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


def serve(server: Server, train: bytes, test: bytes, **kwargs: int) -> ImageArchive:
    (server.root / "rps.zip").write_bytes(train)
    (server.root / "rps-test-set.zip").write_bytes(test)
    return rps.source(
        base_url=server.url,
        train_sha256=hashlib.sha256(train).hexdigest(),
        test_sha256=hashlib.sha256(test).hexdigest(),
        **kwargs,
    )


def leftovers(tmp_path: Path) -> list[str]:
    """Every extracted or partial file in the download cache (archives themselves excluded)."""
    folder = tmp_path / "cache" / rps.NAME
    if not folder.is_dir():
        return []
    return sorted(str(p) for p in folder.rglob("*") if p.is_file() and p.suffix != ".zip")


def test_good_archives_give_both_splits_at_the_source_size(server: Server) -> None:
    source = serve(server, archive("rps", 0), archive("rps-test-set", 100))
    train, test = source.load("train"), source.load("test")
    assert train.class_names == test.class_names == rps.CLASS_NAMES
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
    folder = tmp_path / "cache" / rps.NAME
    assert not folder.exists() or list(folder.iterdir()) == []


def test_truncated_download_keeps_nothing(server: Server, tmp_path: Path) -> None:
    source = serve(server, archive("rps", 0), archive("rps-test-set", 100))
    source.base_url = server.url + "truncated/"
    with pytest.raises(DatasetError):
        source.load("train")
    folder = tmp_path / "cache" / rps.NAME
    assert not folder.exists() or list(folder.iterdir()) == []


def test_corrupt_zip_with_right_checksum_is_a_clear_error(server: Server, tmp_path: Path) -> None:
    source = serve(server, b"not a zip at all", archive("rps-test-set", 100))
    with pytest.raises(DatasetError, match="not a readable zip"):
        source.load("train")
    assert leftovers(tmp_path) == []


def test_unrecorded_checksum_never_downloads(server: Server) -> None:
    serve(server, archive("rps", 0), archive("rps-test-set", 100))
    unverified = rps.source(base_url=server.url)
    with pytest.raises(DatasetMissingError, match="not recorded yet") as caught:
        unverified.load("train")
    assert "rps.zip" in str(caught.value)


def test_unrecorded_checksum_reads_a_copy_the_user_placed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "rps-test-set.zip").write_bytes(archive("rps-test-set", 100))
    monkeypatch.setenv("GRADER_DATA", str(data))
    assert len(rps.source().load("test")) == 6


def test_registered_under_its_name() -> None:
    assert datasets.get_source("rock_paper_scissors").splits == ("train", "test")
