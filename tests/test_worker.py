"""The sandboxed worker's own defences: its rlimits, and how its death is reported.

The rlimits are set by ``_worker.py`` before anything of the learner's runs; a script run
through ``run_script`` reads them back and runs into them. A worker that dies before it
replies must come back as a crash that says why, never as a grade.
"""

from __future__ import annotations

import errno

import numpy as np
import pytest

from grader.sandbox.process import (
    Limits,
    WorkerReply,
    out_of_memory,
    predict,
    private_dir,
    run_script,
)

MB = 1 << 20

PROBE_LIMITS = """\
import os, resource
for name in ("RLIMIT_NOFILE", "RLIMIT_FSIZE", "RLIMIT_CORE"):
    print(name, *resource.getrlimit(getattr(resource, name)))
path = os.path.join(os.environ["TMPDIR"], "big")
try:
    with open(path, "wb", buffering=0) as f:
        for _ in range(4):
            f.write(b"x" * {mb})
    print("size wrote")
except OSError as err:
    print("size blocked", err.errno)
print("size", os.path.getsize(path))
files = []
try:
    while len(files) < 4096:
        files.append(open(os.devnull))
    print("files opened", len(files))
except OSError as err:
    print("files blocked", err.errno)
"""


def test_child_runs_under_the_file_count_file_size_and_core_limits() -> None:
    limits = Limits(wall_s=60, open_files=32, file_size_mb=1)
    lines: list[str] = []
    with private_dir() as root:
        script = root / "work" / "solution.py"
        script.write_text(PROBE_LIMITS.format(mb=MB))
        outcome = run_script(script, root, limits, on_output=lines.append)
    assert outcome.returncode == 0, lines
    assert lines[:3] == [
        f"RLIMIT_NOFILE {limits.open_files} {limits.open_files}",
        f"RLIMIT_FSIZE {limits.file_size_mb * MB} {limits.file_size_mb * MB}",
        "RLIMIT_CORE 0 0",
    ]
    # Python ignores SIGXFSZ, so the write past the cap fails with EFBIG instead.
    assert lines[3:5] == [f"size blocked {errno.EFBIG}", f"size {limits.file_size_mb * MB}"]
    assert lines[5] == f"files blocked {errno.EMFILE}"


def _predict_bytes(data: bytes, limits: Limits) -> WorkerReply:
    with private_dir() as root:
        copy = root / "work" / "model.keras"
        copy.write_bytes(data)
        return predict(copy, np.zeros((2, 28, 28, 1), np.float32), root, limits)


@pytest.mark.slow
def test_worker_stopped_at_its_cpu_limit_is_reported_as_out_of_cpu_time() -> None:
    """Importing TensorFlow alone takes more than a CPU second: the worker dies of SIGXCPU
    before it can answer, and the error names that cause, not an unrelated log line.
    (A crash named by its last line of output is tested in test_sandbox_protocol.py.)"""
    reply = _predict_bytes(b"PK", Limits(wall_s=120, cpu_s=1))
    assert not reply.ok and not reply.timed_out and reply.outputs is None
    assert reply.error == "the model crashed the worker (out of CPU time)"


@pytest.mark.slow
def test_worker_out_of_memory_is_reported_as_out_of_memory() -> None:
    reply = _predict_bytes(b"PK", Limits(wall_s=120, memory_mb=256))
    assert reply.error == out_of_memory(256)
    assert reply.error.startswith("the model ran out of memory (its limit is 256 MB): ")


def test_short_last_batch_is_padded_and_the_padding_dropped() -> None:
    """Every batch has the same shape (no second trace); the answer has one row per input."""
    import keras

    from grader.sandbox import _worker

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    inputs = np.random.default_rng(0).normal(size=(10, 3)).astype("float32")
    seen: list[int] = []
    original = model.predict

    def recording(x: np.ndarray, **kwargs: object) -> np.ndarray:
        seen.append(len(x))
        return original(x, **kwargs)

    model.predict = recording  # type: ignore[method-assign]
    outputs = _worker._predict(model, inputs, batch_size=4)
    assert seen == [12]  # 10 rows padded to 3 full batches of 4
    assert outputs.shape == (10, 2)
    np.testing.assert_allclose(outputs, original(inputs, batch_size=4, verbose=0), rtol=1e-6)
