"""What the benchmarks share: the model they time and the bare script they compare against."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

BARE_SCRIPT = """
import sys
import keras
from grader.datasets import load
heldout = load("fashion_mnist", "test")
x = heldout.images.reshape(-1, 28, 28, 1).astype("float32") / 255.0
model = keras.models.load_model(sys.argv[1], safe_mode=True, compile=False)
p = model.predict(x, batch_size=256, verbose=0)
print(float((p.argmax(axis=1) == heldout.labels).mean()))
"""
"""Import TensorFlow, load the model, predict the same 10,000 held-out images: the floor."""

BARE_LOAD_PREDICT = """
import sys, time
import keras
from grader.datasets import load
heldout = load("fashion_mnist", "test")
x = heldout.images.reshape(-1, 28, 28, 1).astype("float32") / 255.0
start, cpu = time.perf_counter(), time.process_time()
model = keras.models.load_model(sys.argv[1], safe_mode=True, compile=False)
p = model.predict(x, batch_size=256, verbose=0)
print(time.process_time() - cpu, time.perf_counter() - start)
"""
"""The bare script's load + predict alone, the import excluded: prints its CPU and wall seconds."""

_REFERENCE_MODEL = (
    "import keras, sys\n"
    "m = keras.Sequential([keras.Input((28, 28, 1)),"
    " keras.layers.Conv2D(32, 3, activation='relu'), keras.layers.MaxPooling2D(),"
    " keras.layers.Conv2D(64, 3, activation='relu'), keras.layers.MaxPooling2D(),"
    " keras.layers.Flatten(), keras.layers.Dropout(0.3),"
    " keras.layers.Dense(128, activation='relu'),"
    " keras.layers.Dense(10, activation='softmax')])\n"
    "m.save(sys.argv[1])\n"
)


def make_reference_model(path: Path) -> None:
    """The task01 reference architecture, untrained: timing does not depend on the weights."""
    subprocess.run(
        [sys.executable, "-c", _REFERENCE_MODEL, str(path)], check=True, capture_output=True
    )


class CpuMeter:
    """CPU seconds used by this process and every process it starts, however they end.

    ``getrusage(RUSAGE_CHILDREN)`` misses sandboxed children (a killed bwrap never reaps its
    own), so this counts through a cgroup-v1 ``cpuacct`` group of our own, where the host
    allows one (root). On a machine shared with other work, CPU seconds are what contention
    does not inflate, unlike wall time. :meth:`read` is None where no group could be made.
    """

    ROOT = Path("/sys/fs/cgroup/cpuacct")

    def __init__(self) -> None:
        self._group: Path | None = self.ROOT / f"grader-bench-{os.getpid()}"
        try:
            self._group.mkdir()
            (self._group / "cgroup.procs").write_text(str(os.getpid()))
        except OSError:
            self._group = None

    def read(self) -> float | None:
        if self._group is None:
            return None
        return int((self._group / "cpuacct.usage").read_text()) / 1e9

    def close(self) -> None:
        if self._group is None:
            return
        with contextlib.suppress(OSError):
            (self.ROOT / "cgroup.procs").write_text(str(os.getpid()))
        for _ in range(50):  # killed sandboxes may take a moment to leave the group
            try:
                self._group.rmdir()
                return
            except OSError:
                time.sleep(0.1)
