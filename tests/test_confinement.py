"""What a sandboxed child can read and reach, attacked the way a hostile learner would.

Each attack here worked against the grader before its read confinement: a solution.py that
reads the cached held-out arrays or regenerates a generated held-out split, connects to a
UNIX socket outside the sandbox, saves its model as a symlink to a file it cannot read, or a
FIFO handed over as a model. Targets live outside /tmp (the child's /tmp is always a fresh
tmpfs, which would make a test pass for the wrong reason).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from typer.testing import CliRunner

from grader import datasets
from grader.cli import app
from grader.datasets.hidden import hidden_folders
from grader.errors import DatasetError, InvalidModelError
from grader.grading.pipeline import grade_file
from grader.grading.training import run_solution, train
from grader.instructors.batch import run_batch
from grader.sandbox.confine import isolation
from grader.sandbox.files import copy_regular
from grader.sandbox.process import Limits, private_dir, run_script, sweep_stale
from grader.sandbox.static_check import inspect_model, max_unpacked_bytes
from grader.tasks.spec import TaskSpec, load_task
from tests.conftest import ModelFactory

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()
needs_bwrap = pytest.mark.skipif(
    not isolation().filesystem_isolated, reason="bubblewrap confinement unavailable here"
)
T = TypeVar("T")


@pytest.fixture
def real_workspace(outside_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace with the real catalogue's task folders and its own grader cache, both
    outside /tmp, where a child under the old read-only-root confinement could read them."""
    ws = outside_tmp / "ws"
    shutil.copytree(REPO / "tasks", ws / "tasks")
    (ws / "solutions").mkdir()
    monkeypatch.setenv("GRADER_HOME", str(ws))
    monkeypatch.setenv("GRADER_CACHE", str(outside_tmp / "cache"))
    for name in ("GRADER_TASKS", "GRADER_HELDOUT_SECRET", "GRADER_HELDOUT_SECRET_FILE"):
        monkeypatch.delenv(name, raising=False)
    return ws


def within(seconds: float, fn: Callable[..., T], *args: Any, unblock: Path | None = None) -> T:
    """``fn(*args)`` or a test failure after ``seconds``; ``unblock`` (a FIFO) is opened for
    writing on timeout so a thread stuck reading it ends."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    future = pool.submit(fn, *args)
    try:
        return future.result(timeout=seconds)
    except concurrent.futures.TimeoutError:
        if unblock is not None:
            os.close(os.open(unblock, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail(f"{getattr(fn, '__name__', fn)} still blocked after {seconds} s")
    finally:
        pool.shutdown(wait=False)


def write_script(folder: Path, source: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "solution.py"
    script.write_text(source)
    return script


# --- 1. private held-out data ------------------------------------------------------------


@needs_bwrap
def test_training_child_can_neither_read_nor_regenerate_the_private_heldout(
    real_workspace: Path, outside_tmp: Path
) -> None:
    spec = load_task("task03")
    heldout = datasets.load_heldout(spec)  # what the grader scores: cached in .grader/ only
    cache = outside_tmp / "cache"
    script = write_script(
        real_workspace / "solutions" / "task03",
        f"""
import glob, os
import numpy as np
from grader.datasets import fingerprint
from grader.datasets.shapes import SHAPES_BINARY, generate

found = []
for root in ({str(cache)!r}, {str(real_workspace)!r}):
    for path in glob.glob(root + "/**/images.npy", recursive=True):
        labels = os.path.join(os.path.dirname(path), "labels.npy")
        found.append(fingerprint(np.load(path), np.load(labels)))
classes, count = SHAPES_BINARY.classes, SHAPES_BINARY.counts["test"]
found.append(fingerprint(*generate(classes, count, 90_731 + sum(b"shapes_binary"))))
try:
    found.append(fingerprint(*generate(classes, count, SHAPES_BINARY.seed("test"))))
except Exception as err:
    print("no seed:", err)
print("FOUND", " ".join(found))
for path in ({str(real_workspace / ".grader" / "heldout-secret")!r},):
    try:
        open(path).read()
        print("READ", path)
    except OSError:
        print("unreadable", path)
open("model.keras", "wb").write(b"not a model")
""",
    )
    lines: list[str] = []
    run_solution(spec, script, outside_tmp / "out", on_output=lines.append)
    found = next(line for line in lines if line.startswith("FOUND")).split()[1:]
    assert found  # the old constant seed was tried
    assert heldout.sha256 not in found
    assert not any(line.startswith("READ") for line in lines), lines


@needs_bwrap
def test_training_child_gets_the_public_splits_it_may_use_and_no_private_one(
    real_workspace: Path, outside_tmp: Path
) -> None:
    spec = load_task("task04")
    script = write_script(
        real_workspace / "solutions" / "task04",
        """
import os
from grader.datasets import load_arrays
x, y = load_arrays("shapes", "train")
print("train", x.shape, y.shape)
try:
    load_arrays("shapes", "test")
    print("GOT PRIVATE TEST SPLIT")
except Exception as err:
    print("test refused:", type(err).__name__)
for folder in ("/usr/share/datasets", os.path.expanduser("~/.cache/grader")):
    print(folder, sorted(os.listdir(folder)) if os.path.isdir(folder) else "absent")
open("model.keras", "wb").write(b"not a model")
""",
    )
    lines: list[str] = []
    run_solution(spec, script, outside_tmp / "out", on_output=lines.append)
    assert "train (3000, 64, 64, 3) (3000,)" in lines
    assert "test refused: DatasetError" in lines
    assert "/usr/share/datasets []" in lines or "/usr/share/datasets absent" in lines


def test_the_private_heldout_is_refused_to_load_and_never_in_the_shared_cache(
    real_workspace: Path, outside_tmp: Path
) -> None:
    with pytest.raises(DatasetError, match="private held-out set"):
        datasets.load("shapes_binary", "test")
    spec = load_task("task03")
    first = datasets.load_heldout(spec)
    assert datasets.load_heldout(spec).sha256 == first.sha256  # stable per workspace
    assert not list((outside_tmp / "cache").glob("arrays/shapes_binary-test-*"))
    assert list((real_workspace / ".grader" / "cache").glob("arrays/shapes_binary-test-*"))
    secret_file = real_workspace / ".grader" / "heldout-secret"
    assert secret_file.stat().st_mode & 0o077 == 0  # readable by its owner only


def test_a_pinned_secret_gives_one_heldout_across_workspaces(
    real_workspace: Path, outside_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = load_task("task03")
    own = datasets.load_heldout(spec).sha256
    pin = outside_tmp / "cohort-secret"
    pin.write_text("cohort 2026 spring\n")
    monkeypatch.setenv("GRADER_HELDOUT_SECRET_FILE", str(pin))
    pinned = datasets.load_heldout(spec).sha256
    monkeypatch.setenv("GRADER_HOME", str(outside_tmp))  # another learner's workspace
    assert datasets.load_heldout(spec).sha256 == pinned != own
    monkeypatch.setenv("GRADER_HELDOUT_SECRET", "cohort 2026 spring")
    monkeypatch.delenv("GRADER_HELDOUT_SECRET_FILE")
    assert datasets.load_heldout(spec).sha256 == pinned


# --- 2. host UNIX sockets ----------------------------------------------------------------


class _Listener:
    """UNIX sockets outside the sandbox (a socket file and an abstract name) that record
    every connection they accept."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "host.sock"
        self.abstract = f"\0grader-test-{secrets.token_hex(6)}"
        self.accepted: list[str] = []
        self._socks = []
        for address in (str(self.path), self.abstract):
            sock = socket.socket(socket.AF_UNIX)
            sock.bind(address)
            sock.listen()
            sock.settimeout(0.2)
            self._socks.append(sock)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for sock in self._socks:
                try:
                    conn, _ = sock.accept()
                except OSError:
                    continue
                self.accepted.append(str(sock.getsockname()))
                conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for sock in self._socks:
            sock.close()


@needs_bwrap
@pytest.mark.parametrize("network", [False, True], ids=["no-network", "network-task"])
def test_child_cannot_connect_to_a_host_unix_socket(outside_tmp: Path, network: bool) -> None:
    listener = _Listener(outside_tmp)
    source = f"""
import os, socket
print("visible" if os.path.exists({str(listener.path)!r}) else "invisible")
for address in ({str(listener.path)!r}, {listener.abstract!r}):
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(address)
        print("CONNECTED", repr(address))
    except OSError as err:
        print("refused", err.errno)
"""
    lines: list[str] = []
    try:
        with private_dir() as root:
            script = root / "work" / "solution.py"
            script.write_text(source)
            run_script(
                script,
                root,
                Limits(wall_s=30),
                network=network,
                on_output=lines.append,
                hide=hidden_folders(),
            )
    finally:
        listener.close()
    assert listener.accepted == []
    assert [line.split()[0] for line in lines] == ["invisible", "refused", "refused"], lines


# --- 3. links out of the sandbox ---------------------------------------------------------


def test_model_saved_as_a_symlink_is_refused_and_its_target_never_copied(
    workspace: Path, tiny_task: TaskSpec, outside_tmp: Path
) -> None:
    secret = outside_tmp / "id_rsa"
    secret.write_text("TOPSECRET private key\n")
    folder = workspace / "solutions" / "tiny01"
    write_script(folder, f"import os\nos.symlink({str(secret)!r}, 'model.keras')\n")
    with pytest.raises(InvalidModelError, match="symbolic link"):
        train(tiny_task)
    assert not (folder / "model.keras").exists()
    assert not any("TOPSECRET" in p.read_text(errors="replace") for p in folder.iterdir())
    result = runner.invoke(app, ["tiny01", "--train", "--json"])
    record = json.loads(result.stdout)
    assert result.exit_code == 1 and record["status"] == "invalid"
    assert "model.keras is a symbolic link" in record["message"]


def test_a_solution_py_that_is_a_symlink_is_never_copied_into_the_sandbox(
    workspace: Path, tiny_task: TaskSpec, outside_tmp: Path
) -> None:
    secret = outside_tmp / "shadow"
    secret.write_text("root:TOPSECRET:19000::::::\n")
    folder = workspace / "solutions" / "tiny01"
    folder.mkdir(parents=True)
    (folder / "solution.py").symlink_to(secret)  # a crash would print its first line
    lines: list[str] = []
    with pytest.raises(InvalidModelError, match=r"solution\.py is a symbolic link"):
        train(tiny_task, on_output=lines.append)
    assert not any("TOPSECRET" in line for line in lines)


def test_saving_over_a_symlink_in_solutions_replaces_the_link_not_its_target(
    workspace: Path, tiny_task: TaskSpec, outside_tmp: Path
) -> None:
    victim = outside_tmp / "victim.txt"
    victim.write_text("keep me")
    folder = workspace / "solutions" / "tiny01"
    write_script(folder, "open('model.keras', 'wb').write(b'fresh model bytes')\n")
    (folder / "model.keras").symlink_to(victim)
    saved = train(tiny_task)
    assert victim.read_text() == "keep me"
    assert not saved.is_symlink() and saved.read_bytes() == b"fresh model bytes"


# --- 4. paths that are not regular files -------------------------------------------------


def test_fifo_as_the_model_is_refused_at_once(tiny_task: TaskSpec, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.keras"
    os.mkfifo(fifo)
    result = within(30, grade_file, tiny_task, fifo, unblock=fifo)
    assert result.status == "invalid" and result.exit_code == 1
    assert "pipe.keras is a named pipe (FIFO)" in result.message
    cli = within(30, runner.invoke, app, ["tiny01", "--model", str(fifo)], unblock=fifo)
    assert cli.exit_code == 1 and "named pipe" in cli.output


@pytest.mark.slow
def test_fifos_in_a_batch_folder_are_invalid_rows_and_the_rest_is_graded(
    workspace: Path, tiny_task: TaskSpec, pixel_model: ModelFactory, tmp_path: Path
) -> None:
    subs = tmp_path / "subs"
    (subs / "alice").mkdir(parents=True)
    shutil.copyfile(pixel_model(), subs / "alice" / "model.keras")
    os.mkfifo(subs / "eve.keras")
    (subs / "mallory").mkdir()
    os.mkfifo(subs / "mallory" / "model.keras")
    outcome = within(240, run_batch, tiny_task, subs, unblock=subs / "eve.keras")
    by = {g.student: g.result for g in outcome.graded}
    assert by["alice"].status == "pass"
    assert by["eve"].status == "invalid" and "named pipe" in by["eve"].message
    assert by["mallory"].status == "invalid" and "named pipe" in by["mallory"].message


def test_a_sparse_huge_model_is_refused_without_reading_it(
    tiny_task: TaskSpec, tmp_path: Path
) -> None:
    big = tmp_path / "big.keras"
    with big.open("wb") as f:
        f.truncate(2 << 30)  # 2 GiB of holes: no disk used, but a naive copy reads it all

    def read_bytes() -> int:
        text = Path("/proc/self/io").read_text()
        return int(next(line for line in text.splitlines() if line.startswith("rchar")).split()[1])

    before = read_bytes()
    result = grade_file(tiny_task, big)
    assert read_bytes() - before < 64 << 20
    assert result.status == "invalid"
    assert "big.keras is 2,048.0 MB; this task allows at most 5 MB" in result.message


def test_copy_regular_refuses_links_devices_and_oversize_before_writing(tmp_path: Path) -> None:
    real = tmp_path / "real.bin"
    real.write_bytes(b"x" * 100)
    link = tmp_path / "link.bin"
    link.symlink_to(real)
    target = tmp_path / "copy.bin"
    for path, words in (
        (link, "is a symbolic link"),
        (Path("/dev/zero"), "is a character device"),
        (tmp_path, "is a directory"),
    ):
        with pytest.raises(InvalidModelError, match=words):
            copy_regular(path, target, max_bytes=1000)
        assert not target.exists()
    with pytest.raises(InvalidModelError, match="allows at most"):
        copy_regular(real, target, max_bytes=99)
    assert not target.exists()
    assert (
        len(copy_regular(real, target, max_bytes=100)) == 64
        and target.read_bytes() == real.read_bytes()
    )


def test_unpacked_size_is_capped_by_the_tasks_parameter_limit(tmp_path: Path) -> None:
    """A .keras whose weights unpack far past what max_params can need is refused before
    anything is extracted, even when its compression ratio looks innocent."""
    cap = max_unpacked_bytes(1000)
    path = tmp_path / "bloated.keras"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("config.json", json.dumps({"class_name": "Sequential", "config": {}}))
        zf.writestr("model.weights.h5", os.urandom(1 << 20) * ((cap >> 20) + 2))
    with pytest.raises(InvalidModelError, match="parameter limit"):
        inspect_model(path, max_params=1000, max_file_mb=1000)


# --- leftovers and limits ----------------------------------------------------------------


def test_private_dir_of_a_grader_killed_with_sigkill_is_removed_by_the_next_run() -> None:
    code = (
        "import sys, time\n"
        "from grader.sandbox.process import private_dir\n"
        "with private_dir() as root:\n"
        "    (root / 'work' / 'big').write_bytes(b'x' * 1000)\n"
        "    print(root, flush=True)\n"
        "    time.sleep(120)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    assert proc.stdout is not None
    left = Path(proc.stdout.readline().strip())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert left.is_dir()  # nothing ran its cleanup
    with private_dir() as mine:
        assert not left.exists()
        assert mine.is_dir()
    assert left not in sweep_stale()


def test_sweep_keeps_directories_of_running_graders_and_foreign_names(tmp_path: Path) -> None:
    running = tmp_path / f"grader-{os.getpid()}-abc"
    foreign = tmp_path / "grader-notapid-x"
    for folder in (running, foreign):
        folder.mkdir()
    assert sweep_stale(tmp_path) == []
    assert running.is_dir() and foreign.is_dir()


def test_memory_cap_is_a_share_of_this_machine_split_between_workers() -> None:
    from grader.sandbox.process import MEMORY_FLOOR_MB, memory_share_mb

    total_mb = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") >> 20
    one, two = memory_share_mb(1), memory_share_mb(2)
    assert one == max(MEMORY_FLOOR_MB, total_mb // 2) and Limits().memory_mb == one
    assert two == max(MEMORY_FLOOR_MB, total_mb // 4)


# --- a real solution still works -----------------------------------------------------------


@needs_bwrap
@pytest.mark.slow
def test_a_legitimate_folder_solution_still_trains_saves_and_grades(real_workspace: Path) -> None:
    """image_dataset_from_directory on the exported PNGs, matplotlib, EarlyStopping and a
    MobileNetV2 built with weights=None all work inside the minimal view. (That task04's own
    reference still passes under it is proven by tests/test_catalogue.py.)"""
    write_script(
        real_workspace / "solutions" / "task04",
        """
import tempfile
from pathlib import Path
import keras
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from grader.datasets import export_train

folder = export_train("shapes", Path(tempfile.gettempdir()) / "shapes")
train, val = keras.utils.image_dataset_from_directory(
    folder, image_size=(64, 64), batch_size=64, validation_split=0.2, subset="both", seed=1
)
keras.applications.MobileNetV2(weights=None, input_shape=(64, 64, 3), include_top=False)
model = keras.Sequential([
    keras.Input((64, 64, 3)), keras.layers.Rescaling(1 / 255),
    keras.layers.Conv2D(8, 3, activation="relu"), keras.layers.MaxPooling2D(4),
    keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(4, activation="softmax"),
])
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
stop = keras.callbacks.EarlyStopping(patience=1, restore_best_weights=True)
history = model.fit(train.take(10), validation_data=val.take(3), epochs=1, callbacks=[stop])
plt.plot(history.history["loss"])
plt.savefig(Path(tempfile.gettempdir()) / "loss.png")
print("plotted")
model.save(Path(__file__).with_name("model.keras"))
""",
    )
    result = runner.invoke(app, ["task04", "--train", "--json"])
    record = json.loads(result.stdout)
    assert record["status"] in ("pass", "fail"), record["message"]
    assert "plotted" in result.stderr
    assert (real_workspace / "solutions" / "task04" / "model.keras").is_file()
