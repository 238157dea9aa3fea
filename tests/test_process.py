"""The sandboxed child: confinement, limits and the reply protocol, attacked on purpose.

Hostile scripts run through the same launcher that runs a learner's solution.py; hostile
models are handed straight to the child (skipping the static inspector) to prove the
second line of defence holds on its own.
"""

from __future__ import annotations

import errno
import http.server
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.sandbox.confine import isolation
from grader.sandbox.files import copy_regular
from grader.sandbox.process import Limits, disk_use, predict, private_dir, run_script

KEYCTL, ADD_KEY = {"x86_64": (250, 248), "aarch64": (219, 217)}.get(platform.machine(), (0, 0))
"""Syscall numbers of keyctl and add_key (only the architectures CI runs on)."""
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


FORK_BOMB = """
import os, time
made = 0
try:
    for _ in range(300):
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        made += 1
    print("forked", made)
except OSError as err:
    print("stopped", made, err.errno)
"""


@pytest.mark.skipif(
    not isolation().bounds_processes,
    reason="the process limit applies only to a child switched to its own user (run as root)",
)
def test_a_fork_bomb_stops_at_the_process_limit() -> None:
    started = time.monotonic()
    _, lines = run(FORK_BOMB, Limits(wall_s=30, processes=64))
    assert lines and lines[-1].startswith("stopped"), lines
    assert int(lines[-1].split()[1]) < 64 and lines[-1].split()[2] == str(errno.EAGAIN)
    assert time.monotonic() - started < 25  # stopped by the limit, not the wall clock


KEYRING_READER = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
buffer = ctypes.create_string_buffer(64)
got = libc.syscall({keyctl}, 11, {serial}, buffer, 64)  # KEYCTL_READ
print("read", buffer.value.decode() if got > 0 else f"refused {{ctypes.get_errno()}}")
"""


def test_the_grader_session_keyring_is_out_of_reach(tmp_path: Path) -> None:
    """A secret the grader's session holds (``keyctl add user k s3cret @s``) stays there.

    Run in a child with a fresh session keyring of its own, so nothing is left behind."""
    if not isolation().socket_filter:
        pytest.skip("no seccomp filter here")
    code = (
        "import ctypes, sys\n"
        "from grader.sandbox.process import Limits, private_dir, run_script\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        f"if libc.syscall({KEYCTL}, 1, None) < 0:\n"  # KEYCTL_JOIN_SESSION_KEYRING
        "    sys.exit(77)\n"
        f"serial = libc.syscall({ADD_KEY}, b'user', b'grader-test', b's3cret', 6, -3)\n"
        "with private_dir() as root:\n"
        "    script = root / 'work' / 's.py'\n"
        f"    script.write_text({KEYRING_READER!r}.format(keyctl={KEYCTL}, serial=serial))\n"
        "    print(run_script(script, root, Limits(wall_s=30)).log_tail)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    if done.returncode == 77:
        pytest.skip("no kernel keyrings here")
    assert done.stdout.strip() == f"read refused {errno.EPERM}", done.stderr[-500:]


def test_a_script_filling_its_folder_is_stopped_with_a_reason() -> None:
    source = (
        "import os\n"
        "for i in range(100000):\n"
        "    open(f'f{i}', 'wb').close()\n"  # empty files: each still costs a block
        "print('finished')\n"
    )
    outcome, lines = run(source, Limits(wall_s=30, disk_mb=8))
    assert outcome.stopped == "wrote more than 8 MB to its folder"
    assert "finished" not in lines and outcome.returncode is None and not outcome.timed_out


def test_disk_use_counts_blocks_skips_links_and_what_is_read_only(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "big").write_bytes(bytes(1 << 20))
    (tmp_path / "sparse").open("wb").truncate(1 << 30)  # a sparse GB costs one block
    (tmp_path / "link").symlink_to("/usr")
    assert disk_use(tmp_path, (tmp_path / "data",)) == 3 * 4096  # data, sparse, link
    assert disk_use(tmp_path) == (1 << 20) + 3 * 4096
