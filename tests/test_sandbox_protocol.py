"""The reply protocol, parent side: a forged or malformed reply is refused, never scored.

``grader.sandbox.process.parse_reply`` reads what came back over the reply pipe. These tests hand
it bytes built by hand (no child, no TensorFlow), one forgery at a time.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest

from grader.errors import InvalidModelError
from grader.grading.scoring import predicted_labels
from grader.sandbox.process import out_of_memory
from grader.sandbox.process import parse_reply as _parse

NONCE = "5f2c0d3a9b7e41e8a6c4d2b0f1e3a5c7"
N = 3


def reply(header: Any, body: np.ndarray | bytes | None = None, *, pickle: bool = False) -> bytes:
    """What a child writes: one JSON line, then (when ok) the predictions as one .npy blob."""
    head = (header if isinstance(header, bytes) else json.dumps(header).encode()) + b"\n"
    if body is None or isinstance(body, bytes):
        return head + (body or b"")
    blob = io.BytesIO()
    np.save(blob, body, allow_pickle=pickle)
    return head + blob.getvalue()


def good(**extra: Any) -> dict[str, Any]:
    return {"nonce": NONCE, "ok": True, "output_shape": [None, 4], **extra}


def scores(rows: int = N) -> np.ndarray:
    return np.eye(rows, 4, dtype=np.float32)


def test_a_genuine_reply_is_accepted_with_its_predictions() -> None:
    got = _parse(reply(good(versions={"keras": "3"}), scores()), NONCE, N, "log")
    assert got.ok and got.error is None and not got.timed_out
    assert got.outputs is not None and np.array_equal(got.outputs, scores())
    assert got.meta == {"ok": True, "output_shape": [None, 4], "versions": {"keras": "3"}}
    assert "nonce" not in got.meta


@pytest.mark.parametrize(
    "header",
    [
        pytest.param({"nonce": "0" * 32, "ok": True}, id="wrong-nonce"),
        pytest.param({"ok": True}, id="no-nonce"),
        pytest.param({"nonce": NONCE.upper(), "ok": True}, id="nonce-case-changed"),
        pytest.param([NONCE, True], id="not-an-object"),
        pytest.param(b"PASS 100%", id="not-json"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
    ],
)
def test_a_reply_without_this_runs_nonce_is_refused_whatever_it_carries(header: Any) -> None:
    got = _parse(reply(header, scores()), NONCE, N, "")
    assert not got.ok and got.outputs is None
    assert got.error == "the model crashed the worker (no reply)"


def test_no_reply_at_all_is_a_crash_named_by_the_last_line_of_output() -> None:
    got = _parse(b"", NONCE, N, "loading\nFatal Python error: Segmentation fault")
    assert not got.ok and got.outputs is None
    assert got.error == "the model crashed the worker (Fatal Python error: Segmentation fault)"
    assert got.log_tail.endswith("Segmentation fault")


@pytest.mark.parametrize("sign", ["MemoryError", "std::bad_alloc", "RESOURCE EXHAUSTED: OOM"])
def test_a_crash_that_ran_out_of_memory_says_so(sign: str) -> None:
    got = _parse(b"", NONCE, N, f"Traceback\n  ...\n{sign}\nlast words")
    assert got.error == out_of_memory(0)
    assert got.error.startswith("the model ran out of memory: make its largest layers")


def test_tensorflows_oom_warning_before_a_segfault_names_memory_and_its_limit() -> None:
    """How a capped model really dies: TensorFlow warns, then oneDNN segfaults (bwrap: 139)."""
    log = (
        "I0000 cudart_stub.cc:31] Could not find cuda drivers on your machine\n"
        "W0000 op_kernel.cc:1858] OP_REQUIRES failed at mkl_util.h:848 : RESOURCE_EXHAUSTED: "
        "OOM when allocating tensor with shape[100,1790,1790,4]\n"
    )
    for status in (139, -11):
        got = _parse(b"", NONCE, N, log, exit_status=status, memory_mb=4096)
        assert got.error == out_of_memory(4096)
        assert "(its limit is 4096 MB)" in got.error and "--workers" in got.error


def test_a_child_that_caught_its_own_memory_error_is_told_it_ran_out_of_memory() -> None:
    for caught in (
        "prediction failed: ResourceExhaustedError: {{function_node __wrapped__Tile}} OOM",
        "could not load the model: MemoryError: ",
    ):
        header = {"nonce": NONCE, "ok": False, "error": caught}
        got = _parse(reply(header), NONCE, N, "", memory_mb=2048)
        assert not got.ok and got.error == out_of_memory(2048)


def test_a_segfault_without_a_sign_of_memory_is_not_called_out_of_memory() -> None:
    got = _parse(b"", NONCE, N, "loading\nlast words", exit_status=139, memory_mb=4096)
    assert got.error == "the model crashed the worker (last words)"


def test_the_childs_own_refusal_is_passed_on_without_predictions() -> None:
    header = {"nonce": NONCE, "ok": False, "error": "could not load the model: bad zip"}
    got = _parse(reply(header, scores()), NONCE, N, "")
    assert not got.ok and got.outputs is None
    assert got.error == "could not load the model: bad zip"


@pytest.mark.parametrize("rows", [N - 1, N + 1, 0])
def test_predictions_for_another_number_of_inputs_are_refused(rows: int) -> None:
    got = _parse(reply(good(), scores(rows)), NONCE, N, "")
    assert not got.ok and got.outputs is None
    assert got.error == f"model returned ({rows}, 4) for {N} inputs"


def test_a_scalar_in_place_of_predictions_is_refused() -> None:
    got = _parse(reply(good(), np.array(1.0, np.float32)), NONCE, N, "")
    assert not got.ok and got.outputs is None and got.error == f"model returned () for {N} inputs"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="missing"),
        pytest.param(b"\x93NUMPY garbage", id="garbage"),
        pytest.param(np.array([{"accuracy": 1.0}] * N, dtype=object), id="pickled-objects"),
    ],
)
def test_unreadable_predictions_are_refused(body: Any) -> None:
    got = _parse(reply(good(), body, pickle=True), NONCE, N, "")
    assert not got.ok and got.outputs is None
    assert got.error == "the worker sent unreadable predictions"


def test_predictions_that_are_not_floats_pass_the_pipe_but_are_refused_when_scored() -> None:
    """The pipe checks rows; scoring checks the dtype, so strings or ints never count."""
    for forged in (np.array([["1.0"] * 4] * N), np.eye(N, 4, dtype=np.int64)):
        got = _parse(reply(good(), forged), NONCE, N, "")
        assert got.ok and got.outputs is not None
        with pytest.raises(InvalidModelError, match="expected floats"):
            predicted_labels(got.outputs, 4, "softmax")
