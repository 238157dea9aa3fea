"""The batch fork-server: children forked from one zygote are as isolated as fresh ones.

A real model cannot run code (the static inspector and ``safe_mode`` stop that), so the
hostile submission here is simulated by a worker wrapper that, for a model named
``evil*``, does in the forked child what a model that won code execution could: writes
files everywhere it can (``/tmp``, ``/dev/shm``, ``/``, ``/dev``, the zygote's own folder),
poisons its copy of the inputs and, through ``/proc/<zygote>/mem``, the zygote's, leaves a
thread and a detached daemon that later tries to kill every process it can signal, and
exhausts its memory. Every other model looks for what an earlier child left before it
predicts. The next student's predictions must be bit-for-bit what they are alone.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.grading.inputs import GradingData
from grader.instructors.batch import run_batch
from grader.instructors.fork_pool import ForkPool
from grader.sandbox.confine import isolation
from grader.sandbox.forkserver import ForkServer, ForkServerUnavailable
from grader.sandbox.process import WORKER, Limits, out_of_memory, predict, private_dir
from grader.tasks.spec import TaskSpec
from tests.conftest import ModelFactory

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(isolation().kind == "none", reason="no PID namespace to sweep here"),
]
LIMITS = Limits(wall_s=120, threads=1)

HOSTILE = """
import importlib.util, os, signal, sys, threading, time
spec = importlib.util.spec_from_file_location("real_worker", {worker!r})
real = importlib.util.module_from_spec(spec)
spec.loader.exec_module(real)
honest = real._load_and_predict


def daemon():
    spared = {{1, os.getpid(), os.getppid()}}  # init, this child, the zygote
    where = os.getcwd()
    if os.fork():
        return
    os.setsid()
    if os.fork():
        os._exit(0)
    spared |= {{os.getpid(), os.getppid()}}
    end = time.time() + 30
    while time.time() < end:  # kill whatever starts next in here: the next student's child
        for pid in os.listdir("/proc"):
            if pid.isdigit() and int(pid) not in spared:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass
        for folder in ("/tmp", where):
            try:
                open(os.path.join(folder, "poison"), "w").write("x")
            except OSError:
                pass
        time.sleep(0.01)
    os._exit(0)


def root_of(request):
    return os.path.dirname(os.path.dirname(os.path.dirname(request["model"])))


def litter(request):
    # files everywhere a child can write, and a folder it makes unreadable
    for folder in ("/tmp", "/dev/shm", "/", "/dev", root_of(request)):
        try:
            open(os.path.join(folder, "poison"), "w").write("x")
            print("left", folder, flush=True)
        except OSError as err:
            print("cannot write", folder, err.errno, flush=True)
    try:
        os.makedirs("/tmp/poison-locked/deep")
        open("/tmp/poison-locked/deep/poison", "w").write("x")
        os.chmod("/tmp/poison-locked", 0)
    except OSError:
        pass


def poison_the_zygote(inputs):
    # zero the zygote's own inputs: a forked child has them at the same address
    try:
        with open(f"/proc/{{os.getppid()}}/mem", "r+b", buffering=0) as mem:
            mem.seek(inputs.ctypes.data)
            mem.write(bytes(inputs.nbytes))
        print("zygote memory written", flush=True)
    except OSError as err:
        print("zygote memory refused", err.errno, flush=True)


def look_for_leftovers(request):
    root = root_of(request)
    folders = ("/tmp", "/dev/shm", "/", "/dev", root, *(os.path.join(root, s) for s in
               ("home", "keras", "tmp", "work")))
    found = []
    for f in folders:
        try:
            names = os.listdir(f)
        except PermissionError:  # the grader's root, when the child runs as nobody
            continue
        found += [os.path.join(f, n) for n in names if n.startswith("poison") or n == "keras.json"]
    print("leftovers", found, flush=True)


def hostile(request, inputs, channel):
    name = os.path.basename(request["model"])
    if not name.startswith("evil"):
        look_for_leftovers(request)
    if name.startswith("evil"):
        litter(request)
        poison_the_zygote(inputs)
        for key in ("HOME", "TMPDIR", "KERAS_HOME"):
            os.makedirs(os.environ[key], exist_ok=True)
            open(os.path.join(os.environ[key], "poison"), "w").write("x")
        open(os.path.join(os.environ["KERAS_HOME"], "keras.json"), "w").write(
            '{{"image_data_format": "channels_first"}}'
        )
        inputs[:] = 0  # its own copy-on-write pages
        threading.Thread(target=time.sleep, args=(600,)).start()
        daemon()
        hoard = []
        try:
            while True:
                hoard.append(bytearray(256 << 20))
        except MemoryError:
            hoard.clear()
    if name.startswith("slow"):
        time.sleep(600)
    if name.startswith("hog"):  # past its RLIMIT_AS, and no handler for the MemoryError
        hoard = [bytearray(256 << 20) for _ in range(1 << 10)]
    if name.startswith("tamper"):  # its HOME becomes a link into /tmp for the next child
        home = os.environ["HOME"]
        try:
            os.rmdir(home)
            os.symlink("/tmp", home)
        except PermissionError:  # as nobody, under the grader's root: open HOME to all
            os.chmod(home, 0o777)
    if name.startswith("killer"):
        os.kill(os.getppid(), signal.SIGKILL)  # the zygote itself
    honest(request, inputs, channel)


real._load_and_predict = hostile
sys.exit(real.main(sys.argv))
"""


@pytest.fixture
def in_venv() -> Iterator[Path]:
    """A folder inside the venv (every child's view binds it) for worker wrappers, readable
    like the rest of the venv by a child switched to nobody."""
    folder = Path(tempfile.mkdtemp(dir=sys.prefix, prefix="grader-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


@pytest.fixture
def hostile_worker(in_venv: Path) -> Path:
    """The hostile wrapper, inside the venv."""
    path = in_venv / "hostile_worker.py"
    path.write_text(HOSTILE.format(worker=str(WORKER)))
    return path


@pytest.fixture
def inputs() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.random((100, 28, 28, 1), dtype=np.float32)


def fresh(model: Path, inputs: np.ndarray) -> np.ndarray:
    with private_dir() as root:
        copy = root / "work" / model.name
        shutil.copyfile(model, copy)
        reply = predict(copy, inputs, root, LIMITS)
    assert reply.ok and reply.outputs is not None, reply.error
    return reply.outputs


def copy_as(model: Path, name: str) -> Path:
    target = model.with_name(name)
    shutil.copyfile(model, target)
    return target


def test_forked_children_predict_bit_for_bit_what_fresh_children_do(
    pixel_model: ModelFactory, inputs: np.ndarray
) -> None:
    models = [pixel_model("a.keras"), pixel_model("b.h5", permute=(1, 0, 3, 2), scale=3.0)]
    with ForkServer(inputs, LIMITS) as server:
        for model in models:
            reply = server.predict(model)
            assert reply.ok and reply.outputs is not None, reply.error
            assert np.array_equal(reply.outputs, fresh(model, inputs))
        assert server.served == 2


def test_a_hostile_child_cannot_change_the_next_students_predictions(
    pixel_model: ModelFactory, inputs: np.ndarray, hostile_worker: Path
) -> None:
    good = pixel_model("good.keras")
    alone = fresh(good, inputs)
    with ForkServer(
        inputs, Limits(wall_s=120, threads=1, memory_mb=4096), worker=hostile_worker
    ) as server:
        evil = server.predict(copy_as(good, "evil.keras"))
        assert evil.ok  # it attacked, then answered for itself
        assert "left /tmp\n" in evil.log_tail and "left /dev/shm\n" in evil.log_tail
        if os.geteuid() != 0:  # as root the child is nobody: the private root is not its own
            assert f"left {server.root}" in evil.log_tail
        assert server.last_swept >= 1  # the thread's process and the daemon did not survive
        assert sorted(p.name for p in server.root.iterdir()) == [
            "home",
            "keras",
            "tmp",
            "work",
            "zygote.log",
        ]
        left = [
            p for sub in ("home", "keras", "tmp", "work") for p in (server.root / sub).iterdir()
        ]
        assert left == []  # nothing it wrote is there for the next child
        after = server.predict(good)
        assert after.ok, after.error
        assert "leftovers []" in after.log_tail  # nor in /tmp, /dev/shm, / or /dev
        assert np.array_equal(after.outputs, alone)
        assert server.alive
        assert "zygote memory refused" in evil.log_tail  # no capability, zygote non-dumpable


def test_a_child_that_changes_what_it_cannot_restore_retires_its_zygote_after_replying(
    pixel_model: ModelFactory, inputs: np.ndarray, hostile_worker: Path
) -> None:
    good = pixel_model("good.keras")
    with ForkServer(inputs, LIMITS, worker=hostile_worker) as server:
        tampered = server.predict(copy_as(good, "tamper.keras"))
        assert tampered.ok and np.array_equal(tampered.outputs, fresh(good, inputs))
        assert not server.alive  # the next model gets a new zygote, never this one


@pytest.fixture
def greedy_model(keras_module: Any, tmp_path: Path) -> Path:
    """A small file whose prediction needs gigabytes: 28x28 upsampled 64 times, convolved."""
    keras = keras_module
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.UpSampling2D(size=(64, 64)),
            keras.layers.Conv2D(4, 3),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(4),
        ]
    )
    path = tmp_path / "greedy.keras"
    model.save(path)
    return path


def test_a_model_out_of_memory_is_told_so_alike_in_a_fresh_child_and_a_forked_one(
    greedy_model: Path, inputs: np.ndarray
) -> None:
    """TensorFlow says "OOM when allocating" only as a warning, then oneDNN segfaults: the
    fresh child's last line was a CUDA stub notice, the forked one's nothing at all."""
    limits = Limits(wall_s=120, threads=1, memory_mb=4096)
    with private_dir() as root:
        copy = root / "work" / greedy_model.name
        shutil.copyfile(greedy_model, copy)
        alone = predict(copy, inputs, root, limits)
    with ForkServer(inputs, limits) as server:
        forked = server.predict(greedy_model)
    assert alone.error == forked.error == out_of_memory(4096)
    assert "4096 MB" in out_of_memory(4096)


def test_a_forked_child_dying_of_a_memory_error_is_told_so_and_the_next_one_is_served(
    pixel_model: ModelFactory, inputs: np.ndarray, hostile_worker: Path
) -> None:
    good = pixel_model("good.keras")
    limits = Limits(wall_s=120, threads=1, memory_mb=4096)
    with ForkServer(inputs, limits, worker=hostile_worker) as server:
        hog = server.predict(copy_as(good, "hog.keras"))
        assert not hog.ok and hog.error == out_of_memory(4096)
        assert "MemoryError" in hog.log_tail
        assert np.array_equal(server.predict(good).outputs, fresh(good, inputs))


def test_a_child_past_its_wall_clock_is_stopped_and_the_next_one_is_served(
    pixel_model: ModelFactory, inputs: np.ndarray, hostile_worker: Path
) -> None:
    good = pixel_model("good.keras")
    with ForkServer(inputs, LIMITS, worker=hostile_worker) as server:
        slow = server.predict(copy_as(good, "slow.keras"), Limits(wall_s=2, threads=1))
        assert slow.timed_out and "longer than 2 s" in str(slow.error)
        assert np.array_equal(server.predict(good).outputs, fresh(good, inputs))


def test_a_child_that_kills_its_zygote_fails_alone_and_the_pool_starts_another(
    workspace: Path,
    tiny_task: TaskSpec,
    pixel_model: ModelFactory,
    hostile_worker: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import grader.instructors.fork_pool as fork_pool

    real = fork_pool.ForkServer
    monkeypatch.setattr(
        fork_pool, "ForkServer", lambda *a, **k: real(*a, **k, worker=hostile_worker)
    )
    data = GradingData.load(tiny_task)
    pool = ForkPool(tiny_task, data, LIMITS, enabled=True)
    good = pixel_model("good.keras")
    try:
        with pool.lease() as server:
            assert server is not None
            killed = server.predict(copy_as(good, "killer.keras"))
        assert not killed.ok and "fork-server stopped" in str(killed.error)
        with pool.lease() as server:
            assert server is not None
            assert server.predict(good).ok
        assert len(pool.servers) == 2 and pool.note is None
    finally:
        pool.close()


def test_a_zygote_that_is_not_single_threaded_refuses_and_batch_falls_back_with_a_note(
    workspace: Path,
    tiny_task: TaskSpec,
    pixel_model: ModelFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    in_venv: Path,
) -> None:
    threaded = in_venv / "threaded_worker.py"
    threaded.write_text(
        "import threading, time, runpy, sys\n"
        "threading.Thread(target=time.sleep, args=(600,), daemon=True).start()\n"
        f"sys.argv[0] = {str(WORKER)!r}\n"
        f"runpy.run_path({str(WORKER)!r}, run_name='__main__')\n"
    )
    with pytest.raises(ForkServerUnavailable, match="threads after importing"):
        ForkServer(np.zeros((4, 28, 28, 1), np.float32), LIMITS, worker=threaded)
    import grader.instructors.fork_pool as fork_pool

    real = fork_pool.ForkServer
    monkeypatch.setattr(fork_pool, "ForkServer", lambda *a, **k: real(*a, **k, worker=threaded))
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copyfile(pixel_model(), subs / "ann.keras")
    outcome = run_batch(tiny_task, subs, workers=1, timeout_s=120)
    result = outcome.graded[0].result
    assert result.status == "pass"
    assert any("fork-server unavailable" in note for note in result.notes)


def test_a_zygote_sharing_writable_memory_with_its_children_refuses_to_serve(
    in_venv: Path,
) -> None:
    """A ``MAP_SHARED`` mapping survives a fork: a child writing it would reach every later one."""
    sharing = in_venv / "sharing_worker.py"
    sharing.write_text(
        "import mmap, runpy, sys\n"
        "shared = mmap.mmap(-1, 4096)\n"  # anonymous and MAP_SHARED, as mmap makes it
        f"sys.argv[0] = {str(WORKER)!r}\n"
        f"runpy.run_path({str(WORKER)!r}, run_name='__main__')\n"
    )
    with pytest.raises(ForkServerUnavailable, match="shared and writable"):
        ForkServer(np.zeros((4, 28, 28, 1), np.float32), LIMITS, worker=sharing)


def test_batch_through_fork_servers_grades_exactly_as_fresh_children(
    workspace: Path, tiny_task: TaskSpec, pixel_model: ModelFactory, tmp_path: Path
) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    for name, permute in (("ann", (0, 1, 2, 3)), ("bob", (0, 1, 3, 2)), ("cy", (1, 1, 1, 1))):
        shutil.copyfile(pixel_model(f"{name}.keras", permute=permute), subs / f"{name}.keras")
    forked = run_batch(tiny_task, subs, out=tmp_path / "a", workers=2, timeout_s=120)
    plain = run_batch(
        tiny_task, subs, out=tmp_path / "b", workers=2, timeout_s=120, fork_server=False
    )
    key = ("status", "value", "score", "confusion", "train_value", "model_sha256")
    for a, b in zip(forked.graded, plain.graded, strict=True):
        assert [getattr(a.result, k) for k in key] == [getattr(b.result, k) for k in key]
    assert [g.result.status for g in forked.graded] == ["pass", "fail", "fail"]
    assert not any("fork-server" in n for g in forked.graded for n in g.result.notes)


def test_without_a_pid_namespace_batch_uses_fresh_children_and_says_so(
    workspace: Path, tiny_task: TaskSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    import grader.instructors.fork_pool as fork_pool
    from grader.sandbox.confine import Isolation

    monkeypatch.setattr(fork_pool, "isolation", lambda: Isolation("none"))
    pool = ForkPool(tiny_task, GradingData.load(tiny_task), LIMITS, enabled=True)
    with pool.lease() as server:
        assert server is None
    assert pool.note and "no PID namespace" in pool.note
