"""The batch fork-server: children forked from one zygote are as isolated as fresh ones.

A real model cannot run code (the static inspector and ``safe_mode`` stop that), so the
hostile submission here is simulated by a worker wrapper that, for a model named
``evil*``, does in the forked child what a model that won code execution could: writes
files everywhere it can, poisons its copy of the inputs, leaves a thread and a detached
daemon that later tries to kill every process it can signal, and exhausts its memory.
The next student's predictions must be bit-for-bit what they are alone.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from grader.grading.inputs import GradingData
from grader.instructors.batch import run_batch
from grader.instructors.fork_pool import ForkPool
from grader.sandbox.confine import isolation
from grader.sandbox.forkserver import ForkServer, ForkServerUnavailable
from grader.sandbox.process import WORKER, Limits, predict, private_dir
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


def hostile(request, inputs, channel):
    name = os.path.basename(request["model"])
    if name.startswith("evil"):
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
    if name.startswith("killer"):
        os.kill(os.getppid(), signal.SIGKILL)  # the zygote itself
    honest(request, inputs, channel)


real._load_and_predict = hostile
sys.exit(real.main(sys.argv))
"""


@pytest.fixture
def hostile_worker() -> Iterator[Path]:
    """The wrapper, placed inside the venv: a folder every child's view binds."""
    folder = Path(tempfile.mkdtemp(dir=sys.prefix, prefix="grader-test-"))
    folder.chmod(0o755)  # readable like the rest of the venv, by a child switched to nobody
    path = folder / "hostile_worker.py"
    path.write_text(HOSTILE.format(worker=str(WORKER)))
    yield path
    shutil.rmtree(folder)


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
        assert server.last_swept >= 1  # the thread's process and the daemon did not survive
        left = [
            p for sub in ("home", "keras", "tmp", "work") for p in (server.root / sub).iterdir()
        ]
        assert left == []  # nothing it wrote is there for the next child
        after = server.predict(good)
        assert after.ok, after.error
        assert np.array_equal(after.outputs, alone)
        assert server.alive


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
) -> None:
    folder = Path(tempfile.mkdtemp(dir=sys.prefix, prefix="grader-test-"))
    folder.chmod(0o755)
    threaded = folder / "threaded_worker.py"
    threaded.write_text(
        "import threading, time, runpy, sys\n"
        "threading.Thread(target=time.sleep, args=(600,), daemon=True).start()\n"
        f"sys.argv[0] = {str(WORKER)!r}\n"
        f"runpy.run_path({str(WORKER)!r}, run_name='__main__')\n"
    )
    try:
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
    finally:
        shutil.rmtree(folder)


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
