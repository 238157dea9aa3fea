"""grader.datasets: registry, idx parsing, Fashion-MNIST lookup/download, the array cache.

Tiny fake Fashion-MNIST files (20 train, 10 test images) stand in for the real
ones; their checksums replace the real table, and a local HTTP server plays the
download origin.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import grader.datasets as datasets
from grader.datasets import cache, fashion_mnist, idx
from grader.errors import ChecksumError, DatasetError, DatasetMissingError
from tests.conftest import Server, closed_port_url

SIZES = {"train": 20, "test": 10}


def idx_bytes(array: np.ndarray, *, code: int = 0x08) -> bytes:
    header = struct.pack(">HBB", 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def fake_arrays(seed: int) -> dict[str, np.ndarray]:
    """Stem -> array for all four files; the same seed gives the same content."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in SIZES.items():
        images_stem, labels_stem = fashion_mnist.SPLIT_FILES[split]
        arrays[images_stem] = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        arrays[labels_stem] = rng.integers(0, 10, n, dtype=np.uint8)
    return arrays


def checksums(seed: int) -> dict[str, tuple[str, int]]:
    table = {}
    for stem, array in fake_arrays(seed).items():
        data = idx_bytes(array)
        table[stem] = (hashlib.sha256(data).hexdigest(), len(data))
    return table


def write_fashion(folder: Path, seed: int = 0, *, compress: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, array in fake_arrays(seed).items():
        data = idx_bytes(array)
        if compress:
            (folder / f"{stem}.gz").write_bytes(gzip.compress(data, mtime=0))
        else:
            (folder / stem).write_bytes(data)
    return folder


@dataclass
class Env:
    home: Path
    cache: Path
    data: Path
    keras: Path
    system: Path
    downloads: Path


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    """An isolated machine: fake HOME, cache, $GRADER_DATA and system dir, none holding data."""
    home = tmp_path / "home"
    home.mkdir()
    e = Env(
        home=home,
        cache=tmp_path / "cache",
        data=tmp_path / "data",
        keras=home / ".keras" / "datasets" / "fashion-mnist",
        system=tmp_path / "usr-share" / "fashion-mnist",
        downloads=tmp_path / "cache" / "fashion-mnist",
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GRADER_CACHE", str(e.cache))
    monkeypatch.setenv("GRADER_DATA", str(e.data))
    monkeypatch.delenv("GRADER_DATASET_MIRROR", raising=False)
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIRS", (e.system,))
    monkeypatch.setattr(fashion_mnist, "CHECKSUMS", checksums(0))
    return e


def files_under(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


# --- registry -----------------------------------------------------------------------------


def test_all_is_sorted_and_exported() -> None:
    assert datasets.__all__ == sorted(datasets.__all__)
    for name in datasets.__all__:
        assert hasattr(datasets, name)


def test_unknown_name_suggests_close_ones() -> None:
    with pytest.raises(DatasetError, match="Did you mean: fashion_mnist"):
        datasets.load("fashon_mnist", "train")


def test_unknown_split_lists_splits() -> None:
    with pytest.raises(DatasetError, match="train, test"):
        datasets.load("fashion_mnist", "validation")


# --- idx ----------------------------------------------------------------------------------


def test_read_idx_gz_and_raw(tmp_path: Path) -> None:
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(array)))
    (tmp_path / "a").write_bytes(idx_bytes(array))
    for path in (tmp_path / "a.gz", tmp_path / "a"):
        out = idx.read_idx(path)
        assert out.dtype == np.uint8
        np.testing.assert_array_equal(out, array)
        out[0, 0, 0] = 1  # parsed arrays are writable


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x08\x03\x00\x00" + bytes(100), "not an idx file"),
        (idx_bytes(np.zeros((2, 2), np.uint8), code=0x0D), "dtype code 0x0d"),
        (idx_bytes(np.zeros((4, 28, 28), np.uint8))[:-10], "truncated or corrupt"),
        (idx_bytes(np.zeros((4, 28, 28), np.uint8))[:10], "header is truncated"),
        (b"\x00", "not an idx file"),
    ],
    ids=["bad-magic", "not-uint8", "short-payload", "short-header", "tiny"],
)
def test_malformed_idx_names_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "broken-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(content))
    with pytest.raises(DatasetError, match=message) as info:
        idx.read_idx(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_truncated_gzip_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.ones((50, 28, 28), np.uint8)))[:-20])
    with pytest.raises(DatasetError, match=r"cut\.gz"):
        idx.read_idx(path)


def test_content_digest_matches_decompressed_bytes(tmp_path: Path) -> None:
    data = idx_bytes(np.ones((5, 28, 28), np.uint8))
    (tmp_path / "x.gz").write_bytes(gzip.compress(data))
    assert idx.content_digest(tmp_path / "x.gz") == (hashlib.sha256(data).hexdigest(), len(data))
    with pytest.raises(DatasetError, match="larger than"):
        idx.content_digest(tmp_path / "x.gz", max_bytes=len(data) - 1)


# --- lookup -------------------------------------------------------------------------------


def test_loads_from_grader_data(env: Env) -> None:
    write_fashion(env.data)
    ds = datasets.load("fashion_mnist", "train")
    expected = fake_arrays(0)
    np.testing.assert_array_equal(ds.images, expected["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(ds.labels, expected["train-labels-idx1-ubyte"])
    assert ds.images.shape == (20, 28, 28)
    assert ds.images.dtype == ds.labels.dtype == np.uint8
    assert ds.class_names[0] == "T-shirt/top"
    assert len(ds.class_names) == 10
    assert ds.source == str(env.data)
    assert len(ds) == 20


def test_test_split_is_t10k(env: Env) -> None:
    write_fashion(env.data)
    images, labels = datasets.load_arrays("fashion_mnist", "test")
    np.testing.assert_array_equal(images, fake_arrays(0)["t10k-images-idx3-ubyte"])
    assert labels.shape == (10,)


def test_grader_data_subfolder_and_raw_files(env: Env) -> None:
    write_fashion(env.data / "fashion-mnist", compress=False)
    ds = datasets.load("fashion_mnist", "test")
    assert ds.source == str(env.data / "fashion-mnist")


def test_lookup_order(env: Env) -> None:
    for folder in (env.system, env.keras, env.data):
        write_fashion(folder)
    sources = []
    for folder in (env.data, env.keras, env.system):
        sources.append(datasets.load("fashion_mnist", "test").source)
        for path in folder.iterdir():
            path.unlink()
    assert sources == [str(env.data), str(env.keras), str(env.system)]


def test_folder_missing_a_file_is_skipped(env: Env) -> None:
    write_fashion(env.data)
    write_fashion(env.keras)
    (env.data / "t10k-labels-idx1-ubyte.gz").unlink()
    assert datasets.load("fashion_mnist", "test").source == str(env.keras)


def test_search_dirs_follow_env_at_call_time(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRADER_DATA")
    monkeypatch.setenv("HOME", str(env.home / "elsewhere"))
    dirs = fashion_mnist.search_dirs()
    assert dirs[0] == env.home / "elsewhere" / ".keras" / "datasets" / "fashion-mnist"
    assert dirs[-1] == env.downloads


def test_local_file_with_wrong_content_is_refused(env: Env) -> None:
    write_fashion(env.data, seed=1)
    with pytest.raises(ChecksumError, match="t10k-images-idx3-ubyte") as info:
        datasets.load("fashion_mnist", "test")
    assert str(env.data) in str(info.value)


def test_malformed_local_file_names_it(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    write_fashion(env.data)
    bad = idx_bytes(np.zeros((10, 28, 28), np.uint8))[:-1]
    path = env.data / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(bad))
    table = dict(fashion_mnist.CHECKSUMS)
    table["t10k-images-idx3-ubyte"] = (hashlib.sha256(bad).hexdigest(), len(bad))
    monkeypatch.setattr(fashion_mnist, "CHECKSUMS", table)
    with pytest.raises(DatasetError, match="truncated or corrupt") as info:
        datasets.load("fashion_mnist", "test")
    assert str(path) in str(info.value)


# --- download -----------------------------------------------------------------------------


def test_downloads_when_absent(env: Env, server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    write_fashion(server.root)
    monkeypatch.setenv("GRADER_DATASET_MIRROR", server.url)
    seen: list[tuple[int, int | None]] = []

    ds = datasets.load("fashion_mnist", "train", on_progress=lambda d, t: seen.append((d, t)))

    np.testing.assert_array_equal(ds.images, fake_arrays(0)["train-images-idx3-ubyte"])
    assert ds.source == server.url
    assert files_under(env.downloads) == [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
    ]
    dones = [done for done, _ in seen]
    assert dones == sorted(dones)
    sent = sum(p.stat().st_size for p in env.downloads.iterdir())
    assert seen[-1] == (sent, sent)

    # Now offline: the download cache is found on disk.
    monkeypatch.setenv("GRADER_DATASET_MIRROR", closed_port_url())
    again = datasets.load("fashion_mnist", "train")
    assert again.sha256 == ds.sha256


def test_learner_facing_load_shows_download_progress_and_the_core_stays_silent(
    env: Env, server: Server, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Progress reaches the screen only through a callback the caller makes (the CLI's rich
    bar, or load_arrays' plain lines for learner code); datasets.load itself draws nothing,
    so batch threads, Ray workers and sandboxed children never print a bar."""
    write_fashion(server.root)
    monkeypatch.setenv("GRADER_DATASET_MIRROR", server.url)
    datasets.load("fashion_mnist", "test")
    assert capsys.readouterr().err == ""
    shutil.rmtree(env.cache)  # download again, through the learner-facing function
    datasets.load_arrays("fashion_mnist", "test")
    err = capsys.readouterr().err
    assert "Downloading fashion_mnist:" in err and "MB" in err
    assert "\x1b[" not in err  # plain text: no rich, no terminal codes


def test_corrupted_download_keeps_nothing(
    env: Env, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_fashion(server.root, seed=1)
    monkeypatch.setenv("GRADER_DATASET_MIRROR", server.url)
    with pytest.raises(ChecksumError):
        datasets.load("fashion_mnist", "test")
    assert files_under(env.downloads) == []


def test_truncated_download_keeps_nothing(
    env: Env, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_fashion(server.root)
    monkeypatch.setenv("GRADER_DATASET_MIRROR", server.url + "truncated/")
    with pytest.raises(DatasetError, match="ended early") as info:
        datasets.load("fashion_mnist", "test")
    assert "\n" not in str(info.value)
    assert files_under(env.downloads) == []


def test_no_network_says_how_to_install(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_DATASET_MIRROR", closed_port_url())
    with pytest.raises(DatasetMissingError) as info:
        datasets.load("fashion_mnist", "test")
    message = str(info.value)
    assert "dataset-fashion-mnist" in message
    assert "GRADER_DATA" in message
    assert str(env.system) in message
    assert "\n" not in message
    assert files_under(env.downloads) == []


# --- array cache --------------------------------------------------------------------------


def forbid_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("idx parsed although the .npy cache should have served")

    monkeypatch.setattr(idx, "read_bytes", boom)
    monkeypatch.setattr(idx, "parse_idx", boom)


def test_second_load_comes_from_npy_cache(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    write_fashion(env.data)
    first = datasets.load("fashion_mnist", "train")
    entries = list((env.cache / "arrays").iterdir())
    assert [p.name.startswith("fashion_mnist-train-") for p in entries] == [True]
    assert sorted(p.name for p in entries[0].iterdir()) == ["images.npy", "labels.npy", "meta.json"]

    forbid_parsing(monkeypatch)
    second = datasets.load("fashion_mnist", "train")
    np.testing.assert_array_equal(second.images, first.images)
    np.testing.assert_array_equal(second.labels, first.labels)
    assert second.sha256 == first.sha256
    assert second.source == first.source


def test_fingerprint_is_stable_and_content_based(env: Env) -> None:
    write_fashion(env.data)
    first = datasets.load("fashion_mnist", "test")
    assert first.sha256 == datasets.fingerprint(first.images, first.labels)
    assert len(first.sha256) == 64
    other = datasets.fingerprint(first.images[:-1], first.labels[:-1])
    assert other != first.sha256


def test_changed_source_is_not_served_stale(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    write_fashion(env.data)
    first = datasets.load("fashion_mnist", "test")
    write_fashion(env.data, seed=1)
    monkeypatch.setattr(fashion_mnist, "CHECKSUMS", checksums(1))
    second = datasets.load("fashion_mnist", "test")
    np.testing.assert_array_equal(second.images, fake_arrays(1)["t10k-images-idx3-ubyte"])
    assert second.sha256 != first.sha256


def test_corrupt_cache_entry_is_reparsed(env: Env) -> None:
    write_fashion(env.data)
    first = datasets.load("fashion_mnist", "test")
    (entry,) = (env.cache / "arrays").iterdir()
    images = entry / "images.npy"
    images.write_bytes(images.read_bytes()[:200])
    second = datasets.load("fashion_mnist", "test")
    np.testing.assert_array_equal(second.images, first.images)
    assert cache.load("fashion_mnist", "test", entry.name.rsplit("-", 1)[1]) is not None


def test_unwritable_cache_does_not_fail_the_load(env: Env) -> None:
    write_fashion(env.data)
    env.cache.mkdir()
    (env.cache / "arrays").write_text("a file where the folder should be")
    ds = datasets.load("fashion_mnist", "test")
    assert ds.images.shape == (10, 28, 28)


# --- the real data, where Debian's package is installed -----------------------------------

REAL = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(not REAL.is_dir(), reason="dataset-fashion-mnist is not installed")
def test_real_test_split(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GRADER_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GRADER_DATA", raising=False)
    monkeypatch.setenv("GRADER_DATASET_MIRROR", closed_port_url())
    ds = datasets.load("fashion_mnist", "test")
    assert ds.source == str(REAL)
    assert ds.images.shape == (10000, 28, 28)
    assert ds.images.dtype == np.uint8
    assert ds.labels.shape == (10000,)
    assert set(np.unique(ds.labels).tolist()) == set(range(10))
    assert np.bincount(ds.labels).tolist() == [1000] * 10
