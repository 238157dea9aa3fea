"""grader.datasets.cifar10: the pickle tarball from a local server, read without trusting it."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import re
import tarfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from grader.datasets import cifar10, single_file
from grader.errors import ChecksumError, DatasetError, DatasetMissingError
from tests.conftest import Server, closed_port_url

pytestmark = pytest.mark.usefixtures("no_local_data")


def batch(n: int, first_label: int) -> bytes:
    """One batch as upstream pickles it: {b'data': uint8 (n, 3072), b'labels': [int]}."""
    data = (np.arange(n * 3072) % 251).astype(np.uint8).reshape(n, 3072)
    data[:, 0] = np.arange(n) + first_label * 10  # makes every image distinct
    labels = [(first_label + i) % 10 for i in range(n)]
    return pickle.dumps({b"batch_label": b"x", b"data": data, b"labels": labels}, protocol=2)


def tarball(extra: dict[str, bytes] | None = None, *, link: str | None = None) -> bytes:
    members = {f"{cifar10.FOLDER}/data_batch_{i}": batch(2, i) for i in range(1, 6)}
    members[f"{cifar10.FOLDER}/test_batch"] = batch(3, 7)
    members.update(extra or {})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
        if link is not None:
            info = tarfile.TarInfo(link)
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            tar.addfile(info)
    return buffer.getvalue()


def leftovers() -> list[str]:
    folder = single_file.download_dir(cifar10.NAME)
    return os.listdir(folder) if folder.exists() else []


def serve(server: Server, body: bytes) -> single_file.SingleFileSource:
    (server.root / cifar10.FILENAME).write_bytes(body)
    return replace(cifar10.SOURCE, base_url=server.url, sha256=hashlib.sha256(body).hexdigest())


def test_reads_both_splits_as_hwc_uint8(server: Server) -> None:
    source = serve(server, tarball())
    train, test = source.load("train"), source.load("test")
    assert train.images.shape == (10, 32, 32, 3) and train.images.dtype == np.uint8
    assert train.labels.tolist() == [1, 2, 2, 3, 3, 4, 4, 5, 5, 6]
    assert test.images.shape == (3, 32, 32, 3) and test.labels.tolist() == [7, 8, 9]
    # Channel-first rows become HWC: pixel (0, 0) of channel 1 is byte 1024 of the row.
    assert train.images[0, 0, 0, 1] == 1024 % 251
    assert train.class_names[0] == "airplane"


def test_checksum_mismatch_keeps_nothing(server: Server) -> None:
    (server.root / cifar10.FILENAME).write_bytes(tarball())
    with pytest.raises(ChecksumError, match="does not match"):
        replace(cifar10.SOURCE, base_url=server.url, sha256="0" * 64).load("test")
    assert not single_file.download_dir(cifar10.NAME).exists() or not os.listdir(
        single_file.download_dir(cifar10.NAME)
    )


def test_truncated_download_keeps_nothing(server: Server) -> None:
    source = serve(server, tarball())
    source = replace(source, base_url=server.url + "truncated/")
    with pytest.raises(DatasetError, match="ended early"):
        source.load("test")
    assert not single_file.download_dir(cifar10.NAME).exists() or not os.listdir(
        single_file.download_dir(cifar10.NAME)
    )


def test_member_climbing_out_is_refused_and_nothing_is_written(
    server: Server,
    tmp_path: Path,
) -> None:
    source = serve(server, tarball({"../escaped": b"owned"}))
    with pytest.raises(
        DatasetError, match=re.escape("member '../escaped' points outside the archive")
    ):
        source.load("test")
    assert not list(tmp_path.rglob("escaped"))


def test_link_member_is_refused(server: Server) -> None:
    source = serve(server, tarball(link=f"{cifar10.FOLDER}/evil"))
    with pytest.raises(DatasetError, match="is a link or device; refused"):
        source.load("test")


class _Boom:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo owned > /dev/null",))


def test_pickle_that_would_run_code_is_refused(server: Server) -> None:
    evil = pickle.dumps({b"data": _Boom(), b"labels": []}, protocol=2)
    source = serve(server, tarball({f"{cifar10.FOLDER}/test_batch": evil}))
    with pytest.raises(DatasetError, match=r"refused to unpickle .*is not allowed"):
        source.load("test")


def test_offline_without_the_file_says_it_must_be_downloaded_first() -> None:
    with pytest.raises(DatasetMissingError) as caught:
        replace(cifar10.SOURCE, base_url=closed_port_url()).load("test")
    assert str(caught.value).startswith("CIFAR-10 must be downloaded first:")


def test_not_a_tarball_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_DATA", str(tmp_path))
    bad = tmp_path / cifar10.FILENAME
    bad.write_bytes(b"not gzip at all")
    with pytest.raises(DatasetError, match=f"{bad}: not a readable .tar.gz"):
        replace(cifar10.SOURCE, base_url=closed_port_url()).load("test")
