"""The sandboxed child: confinement, limits and the reply protocol, attacked on purpose.

Hostile scripts run through the same launcher that runs a learner's solution.py; hostile
models are handed straight to the child (skipping the static inspector) to prove the
second line of defence holds on its own.
"""

from __future__ import annotations

import http.server
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.sandbox.confine import isolation
from grader.sandbox.files import copy_regular
from grader.sandbox.process import Limits, predict, private_dir, run_script

needs_bwrap = pytest.mark.skipif(
    not isolation().filesystem_isolated, reason="bubblewrap confinement unavailable here"
)


def run(source: str, limits: Limits | None = None, **kwargs: Any) -> tuple[Any, list[str]]:
    lines: list[str] = []
    with private_dir() as root:
        script = root / "work" / "solution.py"
        script.write_text(source)
        outcome = run_script(
            script, root, limits or Limits(wall_s=30), on_output=lines.append, **kwargs
        )
    return outcome, lines


def test_script_output_streams_and_exit_code_is_reported() -> None:
    outcome, lines = run("print('hello'); raise SystemExit(3)")
    assert lines == ["hello"] and outcome.returncode == 3 and not outcome.timed_out


def test_hanging_script_is_killed_at_the_wall_clock() -> None:
    started = time.monotonic()
    outcome, _ = run("import time\ntime.sleep(60)", Limits(wall_s=2))
    assert outcome.timed_out and outcome.returncode is None
    assert time.monotonic() - started < 20


@pytest.mark.skipif(isolation().kind == "none", reason="no PID namespaces here")
def test_forked_daemon_does_not_outlive_the_run(tmp_path: Path) -> None:
    tag = f"grader-daemon-{time.time_ns()}"
    source = (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        f"    os.execvp('python3', ['python3', '-c', 'import time; time.sleep(300)', '{tag}'])\n"
        "time.sleep(1)\n"
        "print('parent done')\n"
    )
    _outcome, lines = run(source)
    assert "parent done" in lines
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-f", tag], capture_output=True, text=True).stdout.strip()
    assert left == "", f"daemon survived: {left}"


@pytest.fixture
def local_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.mark.skipif(not isolation().network_isolated, reason="no network namespaces here")
def test_script_has_no_network(local_server: int) -> None:
    source = (
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {local_server}), timeout=3)\n"
        "    print('connected')\n"
        "except OSError:\n"
        "    print('no network')\n"
    )
    _, lines = run(source)
    assert lines == ["no network"]
    _, allowed = run(source, network=True)
    if isolation().kind == "bwrap":
        assert allowed == ["connected"]


def test_cpu_rlimit_stops_a_busy_loop() -> None:
    outcome, _ = run("while True:\n    pass\n", Limits(wall_s=30, cpu_s=1))
    assert not outcome.timed_out and outcome.returncode != 0


def test_memory_rlimit_stops_a_huge_allocation() -> None:
    _outcome, lines = run(
        "try:\n"
        "    b = bytearray(4 << 30)\n"
        "    print('allocated')\n"
        "except MemoryError:\n"
        "    print('refused')\n",
        Limits(wall_s=30, memory_mb=1024),
    )
    assert lines == ["refused"]


@pytest.mark.slow
def test_lambda_model_is_refused_by_the_child_too(keras_module: Any, tmp_path: Path) -> None:
    """Even with the inspector skipped, safe_mode in the child refuses Lambda bytecode."""
    keras = keras_module
    marker = tmp_path / "MARKER"
    touch = eval(f"lambda x: (open({str(marker)!r}, 'w').close(), x)[1]")
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Lambda(touch), keras.layers.Flatten()]
    )
    source = tmp_path / "evil.keras"
    model.save(source)
    marker.unlink(missing_ok=True)
    with private_dir() as root:
        copy = root / "work" / "model.keras"
        copy_regular(source, copy, max_bytes=1 << 30)
        reply = predict(copy, np.zeros((4, 28, 28, 1), np.float32), root, Limits(wall_s=120))
    assert not reply.ok and reply.error and "could not load" in reply.error
    assert not marker.exists()
