"""grader.datasets.mnist: lookup, download from a local server, and every failure's message."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from grader.datasets import mnist, single_file
from grader.errors import ChecksumError, DatasetError, DatasetMissingError
from tests.conftest import Server, closed_port_url

pytestmark = pytest.mark.usefixtures("no_local_data")


def npz_bytes() -> bytes:
    """A small mnist.npz in the upstream layout: x_/y_ train/test, uint8."""
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        x_train=rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        y_train=np.arange(6, dtype=np.uint8),
        x_test=rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
        y_test=np.arange(4, dtype=np.uint8),
    )
    return buffer.getvalue()


def serve(server: Server) -> single_file.SingleFileSource:
    body = npz_bytes()
    (server.root / "mnist.npz").write_bytes(body)
    return replace(mnist.SOURCE, base_url=server.url, sha256=hashlib.sha256(body).hexdigest())


def leftovers() -> list[Path]:
    folder = single_file.download_dir(mnist.NAME)
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_downloads_verifies_and_reads_both_splits(server: Server) -> None:
    source = serve(server)
    train = source.load("train")
    test = source.load("test")
    assert train.images.shape == (6, 28, 28) and train.labels.tolist() == [0, 1, 2, 3, 4, 5]
    assert test.images.shape == (4, 28, 28)
    assert train.class_names == tuple("0123456789")
    assert leftovers() == [single_file.download_dir(mnist.NAME) / "mnist.npz"]


def test_a_downloaded_file_is_used_offline(server: Server) -> None:
    first = serve(server).load("train")
    offline = replace(mnist.SOURCE, base_url=closed_port_url(), sha256=serve(server).sha256)
    assert offline.load("train").sha256 == first.sha256


def test_lookup_order_is_data_env_then_keras_cache_then_system_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(single_file, "SYSTEM_ROOT", tmp_path / "usr-share-datasets")
    offline = replace(mnist.SOURCE, base_url=closed_port_url())
    places = {
        "system": tmp_path / "usr-share-datasets" / "mnist",
        "keras": tmp_path / "home" / ".keras" / "datasets",
        "data": tmp_path / "data",
    }
    for where, folder in places.items():  # each new copy outranks the ones before it
        folder.mkdir(parents=True)
        (folder / "mnist.npz").write_bytes(npz_bytes())
        if where == "data":
            monkeypatch.setenv("GRADER_DATA", str(folder))
        assert offline.load("train").source == str(folder), where


def test_checksum_mismatch_keeps_nothing(server: Server) -> None:
    (server.root / "mnist.npz").write_bytes(npz_bytes())
    source = replace(mnist.SOURCE, base_url=server.url, sha256="0" * 64)
    with pytest.raises(ChecksumError, match="does not match"):
        source.load("train")
    assert leftovers() == []


def test_truncated_download_keeps_nothing(server: Server) -> None:
    source = serve(server)
    source = replace(source, base_url=server.url + "truncated/")
    with pytest.raises(DatasetError, match="ended early"):
        source.load("train")
    assert leftovers() == []


def test_offline_without_the_file_says_it_must_be_downloaded_first() -> None:
    source = replace(mnist.SOURCE, base_url=closed_port_url())
    with pytest.raises(DatasetMissingError) as caught:
        source.load("test")
    message = str(caught.value)
    assert message.startswith("MNIST must be downloaded first:")
    assert "\n" not in message


def test_keras_cache_copy_is_found(tmp_path: Path) -> None:
    keras_dir = tmp_path / "home" / ".keras" / "datasets"
    keras_dir.mkdir(parents=True)
    (keras_dir / "mnist.npz").write_bytes(npz_bytes())
    data = replace(mnist.SOURCE, base_url=closed_port_url()).load("test")
    assert data.source == str(keras_dir) and len(data) == 4


def test_corrupt_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_DATA", str(tmp_path / "data"))
    bad = tmp_path / "data" / "mnist.npz"
    bad.parent.mkdir()
    bad.write_bytes(npz_bytes()[:100])
    with pytest.raises(DatasetError, match=f"{bad}: not a readable .npz"):
        replace(mnist.SOURCE, base_url=closed_port_url()).load("train")


def test_pickled_arrays_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_DATA", str(tmp_path))
    bad = tmp_path / "mnist.npz"
    np.savez(bad, x_train=np.array([object()]), y_train=np.zeros(1, dtype=np.uint8))
    with pytest.raises(DatasetError, match=f"{bad}: not a readable .npz"):
        replace(mnist.SOURCE, base_url=closed_port_url()).load("train")
