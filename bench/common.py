"""What the benchmarks share: the model they time and the bare script they compare against."""

from __future__ import annotations

import subprocess
import sys
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
