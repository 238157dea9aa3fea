"""Run untrusted code (a learner's model) in an isolated child process.

Each run gets a private 0700 directory with an empty HOME, KERAS_HOME and TMPDIR, a minimal
environment and ``python -I``. Where the OS allows, the child runs in fresh user, network and
PID namespaces (``unshare``): no network, and every process it forks dies with it. rlimits
(CPU seconds, open files, file size, memory, no core) are set in the child before TensorFlow
loads, and a wall-clock timeout kills the whole process group. Replies come back over a pipe
the parent owns, tagged with a per-run nonce; the child's exit code and stdout count for nothing.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from grader.errors import SandboxError

WORKER = Path(__file__).with_name("_worker.py")
BATCH_SIZE = 256
"""Fixed, so the same model always sees the same batches and grades identically."""

_UNSHARE_VARIANTS = (
    ("--user", "--map-root-user", "--net", "--pid", "--fork", "--kill-child"),
    ("--net", "--pid", "--fork", "--kill-child"),
)


@dataclass(frozen=True)
class Limits:
    """Resource limits for one child."""

    wall_s: float = 300.0
    """Wall-clock seconds before the whole process group is killed."""
    cpu_s: int = 1800
    """CPU seconds across all threads (RLIMIT_CPU)."""
    memory_mb: int = 12288
    """Address-space cap (RLIMIT_AS); 0 disables it."""
    open_files: int = 1024
    """RLIMIT_NOFILE."""
    file_size_mb: int = 256
    """Largest file the child may write (RLIMIT_FSIZE)."""


@dataclass(frozen=True)
class Isolation:
    """How a child is confined on this machine."""

    prefix: tuple[str, ...]
    """Command prepended to the child's argv (``unshare ...``), or empty."""
    network_isolated: bool
    """True when the child runs in its own network namespace."""

    @property
    def note(self) -> str | None:
        """A caveat for the report when isolation is partial."""
        if self.network_isolated:
            return None
        return (
            "network isolation unavailable on this machine (no user namespaces): "
            "grade untrusted submissions on a dedicated account"
        )


@functools.cache
def isolation() -> Isolation:
    """Probe once which namespace isolation works here."""
    unshare = shutil.which("unshare")
    if unshare and sys.platform.startswith("linux"):
        for flags in _UNSHARE_VARIANTS:
            prefix = (unshare, *flags)
            try:
                probe = subprocess.run(
                    [*prefix, "true"], capture_output=True, timeout=10, check=False
                )
            except (OSError, subprocess.TimeoutExpired):
                continue
            if probe.returncode == 0:
                return Isolation(prefix=prefix, network_isolated=True)
    return Isolation(prefix=(), network_isolated=False)


@dataclass
class WorkerReply:
    """What came back from one child, already checked against the nonce."""

    ok: bool
    """The child loaded the model and predicted."""
    error: str | None = None
    """Why not, when not ok: one line."""
    timed_out: bool = False
    """The wall-clock limit killed the child."""
    outputs: np.ndarray | None = None
    """Raw model outputs, one row per input."""
    meta: dict[str, Any] = field(default_factory=dict)
    """input_shape, output_shape and versions as the child saw them."""
    log_tail: str = ""
    """Last lines the child printed, for diagnostics only."""


@contextmanager
def private_dir() -> Iterator[Path]:
    """A fresh 0700 directory with home/, keras/, tmp/ and work/, removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="grader-"))
    try:
        for sub in ("home", "keras", "tmp", "work"):
            (root / sub).mkdir()
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def child_env(root: Path) -> dict[str, str]:
    """The whole environment a child gets: nothing inherited but a plain PATH."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(root / "home"),
        "KERAS_HOME": str(root / "keras"),
        "TMPDIR": str(root / "tmp"),
        "KERAS_BACKEND": "tensorflow",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "CUDA_VISIBLE_DEVICES": "",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "LANG": "C.UTF-8",
    }


def copy_and_hash(source: Path, target: Path) -> str:
    """Copy ``source`` into the sandbox and return the sha256 of exactly the bytes copied."""
    digest = hashlib.sha256()
    with source.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
            dst.write(chunk)
    return digest.hexdigest()


def predict(
    model_copy: Path, inputs: np.ndarray, root: Path, limits: Limits | None = None
) -> WorkerReply:
    """Load ``model_copy`` (already inside ``root``) in a child and predict ``inputs``."""
    limits = limits or Limits()
    inputs_path = root / "work" / "inputs.npy"
    np.save(inputs_path, inputs, allow_pickle=False)
    nonce = secrets.token_hex(16)
    request = {
        "nonce": nonce,
        "model": str(model_copy),
        "inputs": str(inputs_path),
        "input_shape": list(inputs.shape[1:]),
        "batch_size": BATCH_SIZE,
    }
    read_fd, write_fd = os.pipe()
    argv = [
        *isolation().prefix,
        sys.executable,
        "-I",
        str(WORKER),
        str(write_fd),
        str(limits.cpu_s),
        str(limits.open_files),
        str(limits.file_size_mb),
        str(limits.memory_mb),
    ]
    log_path = root / "tmp" / "child.log"
    with log_path.open("wb") as log:
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=root / "work",
                env=child_env(root),
                pass_fds=(write_fd,),
                start_new_session=True,
            )
        except OSError as err:
            os.close(read_fd)
            raise SandboxError(f"could not start the sandboxed worker: {err}") from None
        finally:
            os.close(write_fd)
        received = _Reader(read_fd)
        timed_out = _wait(proc, request, limits.wall_s)
        received.finish()
    log_tail = _tail(log_path)
    if timed_out:
        return WorkerReply(
            ok=False,
            timed_out=True,
            error=f"grading took longer than {limits.wall_s:.0f} s and was stopped",
            log_tail=log_tail,
        )
    return _parse(received.data, nonce, len(inputs), log_tail)


def _wait(proc: subprocess.Popen[bytes], request: dict[str, Any], wall_s: float) -> bool:
    """Send the request, wait for the child; kill its process group always. True on timeout."""
    deadline = time.monotonic() + wall_s
    try:
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(request).encode() + b"\n")
        proc.stdin.close()
    except OSError:
        pass  # the child died early; its (missing) reply says why
    try:
        proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True
    _kill_group(proc)
    return timed_out


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


class _Reader:
    """Drain the reply pipe in a thread so a large reply never blocks the child."""

    def __init__(self, fd: int) -> None:
        self._file = os.fdopen(fd, "rb")
        self._chunks: list[bytes] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while chunk := self._file.read1(1 << 20):
                self._chunks.append(chunk)
        except (OSError, ValueError):
            pass

    def finish(self) -> None:
        # Every writer is dead once the process group is killed; a short join is enough.
        self._thread.join(timeout=5)
        self._file.close()

    @property
    def data(self) -> bytes:
        return b"".join(self._chunks)


def _parse(data: bytes, nonce: str, n_inputs: int, log_tail: str) -> WorkerReply:
    head, _, body = data.partition(b"\n")
    try:
        meta = json.loads(head)
    except (json.JSONDecodeError, UnicodeDecodeError):
        meta = None
    if not isinstance(meta, dict) or meta.get("nonce") != nonce:
        reason = _crash_reason(log_tail)
        return WorkerReply(
            ok=False, error=f"the model crashed the worker ({reason})", log_tail=log_tail
        )
    meta.pop("nonce")
    if not meta.get("ok"):
        return WorkerReply(ok=False, error=str(meta.get("error")), meta=meta, log_tail=log_tail)
    try:
        outputs = np.load(io.BytesIO(body), allow_pickle=False)
    except (ValueError, OSError, EOFError):
        return WorkerReply(ok=False, error="the worker sent unreadable predictions", meta=meta)
    if outputs.ndim == 0 or outputs.shape[0] != n_inputs:
        return WorkerReply(
            ok=False,
            error=f"model returned {outputs.shape} for {n_inputs} inputs",
            meta=meta,
        )
    return WorkerReply(ok=True, outputs=outputs, meta=meta, log_tail=log_tail)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_bytes()[-8192:].decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def _crash_reason(log_tail: str) -> str:
    lowered = log_tail.lower()
    if "memoryerror" in lowered or "bad_alloc" in lowered or "resource exhausted" in lowered:
        return "out of memory"
    last = log_tail.strip().splitlines()[-1:] if log_tail.strip() else []
    return last[0][:200] if last else "no reply"
