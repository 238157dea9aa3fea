"""The sandboxed child: the only code that imports TensorFlow/Keras and touches a learner's model.

Started by :mod:`grader.sandbox.process` as ``python -I _worker.py`` in a private, empty
directory with a minimal environment. It is standalone (stdlib + numpy + keras) so that
nothing of the parent's package or state is importable from here. It never sees labels.

Two modes: ``run SCRIPT`` executes a learner's solution.py; ``predict FD`` grades a model.

Protocol for ``predict``: the parent writes one JSON line to stdin (nonce, model path,
inputs path, expected input shape, batch size). The child answers on the file descriptor
named on the command line with one JSON line (the nonce, ``ok``, what it saw of the model)
followed, when ``ok``, by the predictions as one ``.npy`` blob. Everything the model prints
goes to stdout/stderr, which the parent keeps only as diagnostics.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from typing import Any, BinaryIO


def _set_limits(cpu_s: int, nofile: int, fsize_mb: int, memory_mb: int) -> None:
    """rlimits applied before TensorFlow loads, so the model runs under them."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # SIGXCPU at the soft limit names the cause; the hard limit (SIGKILL) is a backstop.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 5))
    resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize_mb << 20, fsize_mb << 20))
    if memory_mb > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    detail = text[0] if text else ""
    return f"{type(err).__name__}: {detail}"[:300]


def _shape(shape: Any) -> Any:
    if isinstance(shape, list | tuple):
        return [_shape(s) for s in shape]
    return None if shape is None else int(shape)


def _shape_mismatch(model_shape: Any, expected: list[int]) -> str | None:
    """None when a batch of ``expected`` inputs fits the model's input, else why not."""
    if not isinstance(model_shape, list) or (model_shape and isinstance(model_shape[0], list)):
        return f"model has several inputs {model_shape}; the task feeds one image tensor"
    got = model_shape[1:]
    fits = len(got) == len(expected) and all(
        g is None or g == e for g, e in zip(got, expected, strict=True)
    )
    if fits:
        return None
    pretty = tuple("None" if g is None else g for g in got)
    return f"model expects input {pretty}; the task feeds {tuple(expected)}"


def _answer(channel: BinaryIO, header: dict[str, Any], predictions: Any = None) -> None:
    channel.write(json.dumps(header).encode() + b"\n")
    if predictions is not None:
        import io

        import numpy as np

        blob = io.BytesIO()
        np.save(blob, predictions, allow_pickle=False)
        channel.write(blob.getbuffer())
    channel.flush()


def main(argv: list[str]) -> int:
    mode = argv[1]
    _set_limits(*(int(a) for a in argv[2:6]))
    if mode == "run":
        return _run_script(argv[6])
    return _predict(int(argv[6]))


def _run_script(script: str) -> int:
    """Run a learner's solution.py as ``__main__``, as ``python solution.py`` would."""
    import runpy

    sys.argv = [script]
    sys.path.insert(0, os.path.dirname(script))
    runpy.run_path(script, run_name="__main__")
    return 0


def _predict(fd: int) -> int:
    """Load the model named on stdin, predict the inputs, answer on ``fd``."""
    channel = os.fdopen(fd, "wb")
    request = json.loads(sys.stdin.readline())
    reply: dict[str, Any] = {"nonce": request["nonce"], "ok": False}
    os.environ["KERAS_BACKEND"] = "tensorflow"

    import keras
    import numpy as np
    import tensorflow as tf

    if request.get("threads"):
        tf.config.threading.set_intra_op_parallelism_threads(request["threads"])
        tf.config.threading.set_inter_op_parallelism_threads(request["threads"])

    reply["versions"] = {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": sys.version.split()[0],
    }
    try:
        model = keras.models.load_model(request["model"], safe_mode=True, compile=False)
    except Exception as err:  # any loader failure means the file is not a usable model
        reply["error"] = f"could not load the model: {_first_line(err)}"
        _answer(channel, reply)
        return 0
    reply["input_shape"] = _shape(model.input_shape)
    reply["output_shape"] = _shape(model.output_shape)
    mismatch = _shape_mismatch(reply["input_shape"], request["input_shape"])
    if mismatch:
        reply["error"] = mismatch
        _answer(channel, reply)
        return 0
    inputs = np.load(request["inputs"], allow_pickle=False)
    try:
        outputs = model.predict(inputs, batch_size=request["batch_size"], verbose=0)
    except Exception as err:  # the model's own graph failed on valid inputs
        reply["error"] = f"prediction failed: {_first_line(err)}"
        _answer(channel, reply)
        return 0
    if isinstance(outputs, list | tuple | dict):
        reply["error"] = "model returns several outputs; the task needs one class-score tensor"
        _answer(channel, reply)
        return 0
    outputs = np.asarray(outputs)
    if outputs.dtype.kind != "f" and "float" in outputs.dtype.name:
        outputs = outputs.astype(np.float32)  # bfloat16 and friends have no .npy form
    reply["ok"] = True
    _answer(channel, reply, outputs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
