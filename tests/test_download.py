"""grader.datasets.download: streaming, verification, atomic writes, failures (local server)."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest

from grader.datasets import download
from grader.errors import ChecksumError, DatasetError, DatasetMissingError
from tests.conftest import Server, closed_port_url


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


PAYLOAD = bytes(range(256)) * 4000  # ~1 MB: several chunks, so progress is seen to grow


def test_fetch_writes_verified_file_and_reports_progress(server: Server, tmp_path: Path) -> None:
    (server.root / "blob.gz").write_bytes(gzip.compress(PAYLOAD, mtime=0))
    sent = (server.root / "blob.gz").read_bytes()
    seen: list[tuple[int, int | None]] = []
    dest = tmp_path / "cache" / "blob.gz"

    out = download.fetch(
        server.url + "blob.gz",
        dest,
        sha256=hashlib.sha256(sent).hexdigest(),
        content_sha256=hashlib.sha256(PAYLOAD).hexdigest(),
        content_size=len(PAYLOAD),
        on_progress=lambda done, total: seen.append((done, total)),
    )

    assert out == dest
    assert dest.read_bytes() == sent
    assert leftovers(dest.parent) == ["blob.gz"]
    dones = [done for done, _ in seen]
    assert dones == sorted(dones)
    assert dones[-1] == len(sent)
    assert {total for _, total in seen} == {len(sent)}


def test_sha256_mismatch_keeps_nothing(server: Server, tmp_path: Path) -> None:
    (server.root / "blob").write_bytes(PAYLOAD)
    dest = tmp_path / "cache" / "blob"
    with pytest.raises(ChecksumError, match="does not match"):
        download.fetch(server.url + "blob", dest, sha256="0" * 64)
    assert leftovers(dest.parent) == []


def test_content_mismatch_keeps_nothing(server: Server, tmp_path: Path) -> None:
    (server.root / "blob.gz").write_bytes(gzip.compress(PAYLOAD))
    dest = tmp_path / "cache" / "blob.gz"
    with pytest.raises(ChecksumError):
        download.fetch(server.url + "blob.gz", dest, content_sha256="0" * 64)
    assert leftovers(dest.parent) == []


def test_gzip_bomb_stops_at_expected_size(server: Server, tmp_path: Path) -> None:
    (server.root / "bomb.gz").write_bytes(gzip.compress(bytes(5_000_000)))
    dest = tmp_path / "cache" / "bomb.gz"
    with pytest.raises(ChecksumError):
        download.fetch(server.url + "bomb.gz", dest, content_sha256="0" * 64, content_size=1000)
    assert leftovers(dest.parent) == []


def test_truncated_body_is_an_error_and_keeps_nothing(server: Server, tmp_path: Path) -> None:
    (server.root / "blob").write_bytes(PAYLOAD)
    dest = tmp_path / "cache" / "blob"
    with pytest.raises(DatasetError, match="ended early") as info:
        download.fetch(server.url + "truncated/blob", dest)
    assert not isinstance(info.value, ChecksumError)
    assert "\n" not in str(info.value)
    assert leftovers(dest.parent) == []
    assert len(server.requests) == download.ATTEMPTS


def test_dropped_connection_resumes_where_it_stopped(server: Server, tmp_path: Path) -> None:
    (server.root / "blob").write_bytes(PAYLOAD)
    dest = tmp_path / "cache" / "blob"
    seen: list[int] = []

    download.fetch(
        server.url + "drop-once/blob",
        dest,
        sha256=hashlib.sha256(PAYLOAD).hexdigest(),
        on_progress=lambda done, total: seen.append(done),
    )

    assert dest.read_bytes() == PAYLOAD
    assert leftovers(dest.parent) == ["blob"]
    half = len(PAYLOAD) // 2
    assert server.requests == [("/drop-once/blob", None), ("/drop-once/blob", f"bytes={half}-")]
    assert seen == sorted(seen) and seen[-1] == len(PAYLOAD)


def test_server_without_range_support_restarts_from_zero(server: Server, tmp_path: Path) -> None:
    (server.root / "blob").write_bytes(PAYLOAD)
    dest = tmp_path / "cache" / "blob"

    download.fetch(
        server.url + "drop-once-no-range/blob", dest, sha256=hashlib.sha256(PAYLOAD).hexdigest()
    )

    assert dest.read_bytes() == PAYLOAD
    assert [rng for _, rng in server.requests] == [None, f"bytes={len(PAYLOAD) // 2}-"]


def test_http_404_is_missing(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "cache" / "nope"
    with pytest.raises(DatasetMissingError, match="HTTP 404"):
        download.fetch(server.url + "nope", dest)
    assert leftovers(dest.parent) == []


def test_unreachable_server_is_missing(tmp_path: Path) -> None:
    dest = tmp_path / "cache" / "blob"
    with pytest.raises(DatasetMissingError, match="cannot download") as info:
        download.fetch(closed_port_url() + "blob", dest, timeout=5)
    assert "\n" not in str(info.value)
    assert leftovers(dest.parent) == []


def test_existing_file_survives_a_failed_refetch(server: Server, tmp_path: Path) -> None:
    (server.root / "blob").write_bytes(PAYLOAD)
    dest = tmp_path / "cache" / "blob"
    dest.parent.mkdir()
    dest.write_bytes(b"old")
    with pytest.raises(ChecksumError):
        download.fetch(server.url + "blob", dest, sha256="0" * 64)
    assert dest.read_bytes() == b"old"
    assert leftovers(dest.parent) == ["blob"]


def test_resolve_url_prefers_argument_then_mirror_then_origin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    origin = "https://example.org/data/"
    monkeypatch.delenv(download.MIRROR_ENV, raising=False)
    assert download.resolve_url(origin, "f.gz") == "https://example.org/data/f.gz"
    monkeypatch.setenv(download.MIRROR_ENV, "http://127.0.0.1:9")
    assert download.resolve_url(origin, "f.gz") == "http://127.0.0.1:9/f.gz"
    assert download.resolve_url(origin, "f.gz", base_url="http://m/x/") == "http://m/x/f.gz"


def test_offline_fetch_asks_the_server_nothing_and_is_missing(
    server: Server, tmp_path: Path
) -> None:
    (server.root / "blob.gz").write_bytes(b"here")
    with download.offline(), pytest.raises(DatasetMissingError, match="not on this machine"):
        download.fetch(server.url + "blob.gz", tmp_path / "blob.gz")
    assert server.requests == [] and not (tmp_path / "blob.gz").exists()
    assert download.fetch(server.url + "blob.gz", tmp_path / "blob.gz").read_bytes() == b"here"
