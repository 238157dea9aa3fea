"""Shared fixtures: a tiny offline dataset, throwaway task folders, and tiny Keras models.

The tiny dataset makes outcomes exact: image k carries one bright pixel at column
``label``, so a hand-set Dense layer classifies it perfectly (or wrongly, on purpose)
without any training.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader import datasets
from grader.datasets.base import Dataset, fingerprint
from grader.tasks.spec import TaskSpec

CLASSES = 4
NAMES = ("zero", "one", "two", "three")
PER_CLASS = 25


class TinySource:
    """A registry source of 28x28 images whose label is the column of their bright pixel."""

    name = "tiny"
    splits = ("train", "test")

    def __init__(self, classes: int = CLASSES) -> None:
        self.classes = classes

    def load(self, split: str, *, on_progress: Any = None) -> Dataset:
        labels = np.repeat(np.arange(self.classes, dtype=np.uint8), PER_CLASS)
        images = np.zeros((len(labels), 28, 28), dtype=np.uint8)
        images[np.arange(len(labels)), 0, labels] = 255
        names = NAMES[: self.classes]
        return Dataset(images, labels, names, fingerprint(images, labels), "memory")


TASK_TOML = """\
id = "{id}"
title = "Tiny"
category = 1
time_limit_minutes = 10
version = 3

[dataset]
name = "tiny"
heldout = "test"

[model]
input_shape = [28, 28, 1]
input_scale = "0-1"
classes = {classes}
max_params = 100_000
max_file_mb = 5

[grading]
metric = "accuracy"
threshold = 0.9
score_tiers = [0.5, 0.7, 0.8, 0.9, 0.95]
"""


@pytest.fixture
def tiny_dataset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(datasets.DATASETS, "tiny", TinySource())
    monkeypatch.setitem(datasets.DATASETS, "tiny_binary", TinySource(classes=2))


@pytest.fixture
def tiny_binary_task(workspace: Path) -> TaskSpec:
    """A 2-class variant of tiny01, for single-unit sigmoid or logit heads."""
    folder = workspace / "tasks" / "tinybin"
    folder.mkdir()
    text = TASK_TOML.format(id="tinybin", classes=2).replace('"tiny"', '"tiny_binary"')
    (folder / "task.toml").write_text(text)
    return TaskSpec.from_toml(folder / "task.toml")


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_dataset: None) -> Path:
    """A fresh workspace (tasks/ with task 'tiny01', solutions/) that the grader uses."""
    root = tmp_path / "ws"
    folder = root / "tasks" / "tiny01"
    folder.mkdir(parents=True)
    (folder / "task.toml").write_text(TASK_TOML.format(id="tiny01", classes=CLASSES))
    (folder / "prompt.md").write_text("# Tiny\n\nClassify the bright pixel.\n")
    (folder / "starter.py").write_text("print('starter')\n")
    (folder / "reference.py").write_text("def solution_model():\n    print('reference')\n")
    (root / "solutions").mkdir()
    monkeypatch.setenv("GRADER_HOME", str(root))
    monkeypatch.delenv("GRADER_TASKS", raising=False)
    return root


@pytest.fixture
def tiny_task(workspace: Path) -> TaskSpec:
    return TaskSpec.from_toml(workspace / "tasks" / "tiny01" / "task.toml")


@pytest.fixture(scope="session")
def keras_module() -> Iterator[Any]:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    yield keras


ModelFactory = Callable[..., Path]


@pytest.fixture
def pixel_model(keras_module: Any, tmp_path: Path) -> ModelFactory:
    """Save a Dense model that reads the bright pixel: ``permute`` relabels its answers."""
    keras = keras_module

    def make(
        name: str = "model.keras",
        *,
        units: int = CLASSES,
        activation: str = "softmax",
        permute: tuple[int, ...] | None = None,
        scale: float = 10.0,
        input_shape: tuple[int, ...] = (28, 28, 1),
    ) -> Path:
        model = keras.Sequential(
            [
                keras.Input(shape=input_shape),
                keras.layers.Flatten(),
                keras.layers.Dense(units, activation=activation),
            ]
        )
        kernel = np.zeros((int(np.prod(input_shape)), units), dtype=np.float32)
        order = permute or tuple(range(min(units, CLASSES)))
        for cls, answer in enumerate(order):
            kernel[cls, answer % units] = scale
        model.layers[-1].set_weights([kernel, np.zeros(units, dtype=np.float32)])
        path = tmp_path / name
        model.save(path)
        return path

    return make


# --- a local HTTP server for code that downloads (never the network) ----------------------


class _Handler(SimpleHTTPRequestHandler):
    """Static files, plus failure modes under a path prefix (``/<mode>/<name>``).

    - ``truncated``: every answer sends half its body under a full Content-Length;
    - ``drop-once``: the first answer for a name is cut like that; later ones honour
      ``Range: bytes=N-`` with a 206, as a real file server does;
    - ``drop-once-no-range``: as drop-once, but Range is ignored (the whole file, 200).

    Every request's path and Range header is recorded in ``Server.requests``.
    """

    MODES = ("truncated", "drop-once", "drop-once-no-range")

    def do_GET(self) -> None:
        state: _State = self.server.state  # type: ignore[attr-defined]
        wanted = self.headers.get("Range")
        state.requests.append((self.path, wanted))
        mode, _, name = self.path.lstrip("/").partition("/")
        if mode not in self.MODES:
            super().do_GET()
            return
        body = (Path(self.directory) / name).read_bytes()
        start = 0
        if wanted and mode == "drop-once":
            start = int(wanted.removeprefix("bytes=").removesuffix("-"))
        cut = mode == "truncated" or name not in state.dropped
        state.dropped.add(name)
        payload = body[start:]
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload[: len(payload) // 2] if cut else payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class _State:
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    dropped: set[str] = field(default_factory=set)


@dataclass
class Server:
    root: Path
    url: str
    state: _State

    @property
    def requests(self) -> list[tuple[str, str | None]]:
        """(path, Range header) of every request so far, in order."""
        return self.state.requests


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    root = tmp_path / "served"
    root.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(root)))
    state = _State()
    httpd.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Server(root, f"http://127.0.0.1:{httpd.server_address[1]}/", state)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture
def no_local_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty HOME and grader cache and no $GRADER_DATA or mirror: only what a test
    serves or places exists (for dataset sources that look in several folders)."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GRADER_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GRADER_DATA", raising=False)
    monkeypatch.delenv("GRADER_DATASET_MIRROR", raising=False)


@pytest.fixture(autouse=True)
def _no_retry_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """Downloads retry at once in tests; the pause between tries is for real networks."""
    from grader.datasets import download

    monkeypatch.setattr(download, "RETRY_DELAY_S", 0.0)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def outside_tmp() -> Iterator[Path]:
    """A host folder outside /tmp: a child's /tmp is always a fresh tmpfs, so a target under
    /tmp would make a confinement test pass for the wrong reason."""
    folder = Path(tempfile.mkdtemp(prefix="grader-test-", dir="/var/tmp"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- a real offline task: Fashion-MNIST with a low pass mark, and models without training ----

FASHION_TASK_TOML = """\
id = "gs01"
title = "Fashion-MNIST, low bar"
category = 1
time_limit_minutes = 10
version = 2

[dataset]
name = "fashion_mnist"
heldout = "test"

[model]
input_shape = [28, 28, 1]
input_scale = "0-1"
classes = 10
max_params = 100_000
max_file_mb = 5

[grading]
metric = "accuracy"
threshold = 0.5
score_tiers = [0.2, 0.3, 0.4, 0.5, 0.6]
"""


@pytest.fixture(scope="session")
def fashion_train() -> tuple[np.ndarray, np.ndarray]:
    from grader.datasets import load
    from grader.errors import DatasetError

    try:
        data = load("fashion_mnist", "train")
    except DatasetError as err:
        pytest.skip(f"Fashion-MNIST is not installed here: {err}")
    return data.images, data.labels


@pytest.fixture(scope="session")
def fashion_task(tmp_path_factory: pytest.TempPathFactory, fashion_train: Any) -> TaskSpec:
    """Task ``gs01``: Fashion-MNIST (offline from Debian's package), pass mark 50%."""
    folder = tmp_path_factory.mktemp("catalogue") / "tasks" / "gs01"
    folder.mkdir(parents=True)
    (folder / "task.toml").write_text(FASHION_TASK_TOML)
    (folder / "prompt.md").write_text("# Fashion\n\nInput 28x28x1, pixels 0-1.\n")
    return TaskSpec.from_toml(folder / "task.toml")


def _dense_model(keras: Any, path: Path, kernel: np.ndarray, bias: np.ndarray) -> Path:
    model = keras.Sequential(
        [keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    model.layers[-1].set_weights([kernel.astype(np.float32), bias.astype(np.float32)])
    model.save(path)
    return path


@pytest.fixture(scope="session")
def fashion_models(
    keras_module: Any,
    fashion_train: tuple[np.ndarray, np.ndarray],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Path]:
    """Models for :func:`fashion_task`, made without training: ``passing``, a nearest
    class-mean classifier (about 68%); ``failing``, always class 0 (exactly 10%)."""
    images, labels = fashion_train
    flat = images.reshape(len(images), -1).astype(np.float32) / 255.0
    means = np.stack([flat[labels == k].mean(axis=0) for k in range(10)], axis=1)
    folder = tmp_path_factory.mktemp("models")
    bias = np.zeros(10)
    bias[0] = 1.0
    return {
        "passing": _dense_model(
            keras_module, folder / "pass.keras", means, -0.5 * (means**2).sum(axis=0)
        ),
        "failing": _dense_model(keras_module, folder / "fail.keras", np.zeros((784, 10)), bias),
    }
