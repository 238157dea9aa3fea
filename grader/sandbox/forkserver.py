"""A sandboxed fork-server ("zygote") for a batch: TensorFlow's import paid once per worker.

A fresh child pays a full Python + TensorFlow start-up (seconds of CPU) to do well under a
second of loading and predicting. A fork-server is started once, inside the same
confinement as a fresh child (bubblewrap, the minimal filesystem view, no network, the
seccomp filter, rlimits), imports Keras with no model built, checks it has one thread (so
``fork`` copies no lock another thread holds; else it refuses and the caller falls back to
fresh children), loads the held-out inputs once, and then forks one child per model:

- each child gets its own model bytes over the control pipe, written into a fresh job
  folder, never a folder another child wrote;
- each child sets its own rlimits (CPU, memory, file size, open files) and runs in its own
  process group; the zygote enforces its wall clock and kills its group;
- the zygote is non-dumpable and gives up every capability before its first fork, so no
  child (even as root) can ptrace it or write its ``/proc/PID/mem``;
- after each child, the zygote kills every process left in its PID namespace (a daemon a
  hostile model forked, or a thread's process) and removes whatever was added under every
  writable mount (``/``, ``/dev``, ``/tmp``, its own folder), so the next student's child
  starts exactly as the first did; a child that changed what cannot be put back retires
  the zygote once its reply is sent;
- the reply is the child's own, nonce-checked by :func:`grader.sandbox.process.parse_reply`
  exactly like a fresh child's; the zygote's words count for nothing but the exit status.

A zygote that dies (a child may kill it) or breaks protocol fails only the model it was
serving; the caller starts a new one for the next. ``grade TASK`` (one model) never uses
this: one model gains nothing from a zygote.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import subprocess
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

from grader.errors import SandboxError
from grader.sandbox.confine import isolation
from grader.sandbox.process import (
    BATCH_SIZE,
    GRADING_ENV,
    WORKER,
    Limits,
    WorkerReply,
    launch,
    parse_reply,
    private_dir,
)

START_TIMEOUT_S = 300.0
"""How long a zygote may take to import Keras and say it is ready."""
REPLY_MARGIN_S = 30.0
"""Beyond a child's own wall clock, how long the zygote may take to answer for it."""


class ForkServerUnavailable(SandboxError):
    """The fork-server could not start (or would not fork safely): use fresh children."""


class ForkServer:
    """One sandboxed zygote serving one worker slot; :meth:`predict` one model at a time."""

    def __init__(
        self,
        inputs: np.ndarray,
        limits: Limits,
        *,
        hide: tuple[Path, ...] = (),
        worker: Path = WORKER,
    ) -> None:
        self.inputs_shape = inputs.shape
        self.limits = limits
        self.served = 0
        self.peak_rss_kb = 0
        """Largest resident memory of one child so far (for benchmarks)."""
        self.last_swept = 0
        """Processes the zygote killed after the last child (left behind by it)."""
        self.zygote_rss_kb = 0
        """The zygote's own resident memory, as it last reported it."""
        self.child_cpu_s = 0.0
        """CPU seconds its children have used, all together (for benchmarks)."""
        self._pending = b""
        self._stack = ExitStack()
        self._root = self._stack.enter_context(private_dir())
        np.save(self._root / "work" / "inputs.npy", inputs, allow_pickle=False)
        self._log = self._stack.enter_context((self._root / "zygote.log").open("wb"))
        confine = isolation()
        own_pid_ns = "1" if confine.kind != "none" else "0"
        own_view = "1" if confine.filesystem_isolated else "0"
        zygote_limits = Limits(
            wall_s=limits.wall_s,
            cpu_s=max(limits.cpu_s, 600),
            memory_mb=limits.memory_mb,
            open_files=limits.open_files,
            file_size_mb=limits.file_size_mb,
        )
        try:
            self._proc = launch(
                "zygote",
                self._root,
                zygote_limits,
                stdout=subprocess.PIPE,
                stderr=self._log,
                extra=(str(self._root / "work" / "inputs.npy"), own_pid_ns, own_view),
                env={**GRADING_ENV, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
                hide=hide,
                worker=worker,
            )
        except SandboxError as err:
            self._stack.close()
            raise ForkServerUnavailable(str(err)) from None
        header = self._read_header(START_TIMEOUT_S)
        if header is None or not header.get("ready"):
            if header is None:
                why = self._tail() or "it did not start"
            elif header.get("threads") != 1:
                why = f"it has {header.get('threads')} threads after importing Keras"
            else:
                why = str(header.get("why"))[:200]
            self.close()
            raise ForkServerUnavailable(f"the fork-server cannot fork safely: {why}")
        self.zygote_pid = header.get("pid")

    def predict(self, model_copy: Path, limits: Limits | None = None) -> WorkerReply:
        """Predict the server's inputs with ``model_copy`` in a fresh forked child."""
        limits = limits or self.limits
        if not self.alive:
            raise ForkServerUnavailable("the fork-server has stopped")
        nonce = secrets.token_hex(16)
        blob = model_copy.read_bytes()
        request = {
            "nonce": nonce,
            "name": model_copy.name,
            "size": len(blob),
            "input_shape": list(self.inputs_shape[1:]),
            "batch_size": BATCH_SIZE,
            "threads": limits.threads,
            "wall_s": limits.wall_s,
            "cpu_s": limits.cpu_s,
            "memory_mb": limits.memory_mb,
            "open_files": limits.open_files,
            "file_size_mb": limits.file_size_mb,
        }
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps(request).encode() + b"\n" + blob)
            self._proc.stdin.flush()
        except OSError:
            self.close()
            return _lost("the fork-server stopped before this model was sent")
        header = self._read_header(limits.wall_s + REPLY_MARGIN_S)
        body = self._read_exactly(int(header.get("size", 0))) if header else None
        if header is None or body is None:
            self.close()  # dead, hung or out of protocol: never trusted again
            return _lost("the model crashed the worker (its fork-server stopped)")
        self.served += 1
        self.peak_rss_kb = max(self.peak_rss_kb, int(header.get("child_maxrss_kb", 0)))
        self.child_cpu_s += float(header.get("child_cpu_s", 0.0))
        self.last_swept = int(header.get("swept", 0))
        self.zygote_rss_kb = int(header.get("zygote_rss_kb", 0))
        if header.get("retire"):  # its next child would not start as this one did
            self.close()
        log_tail = str(header.get("log_tail", ""))[-4000:]
        if header.get("timed_out"):
            return WorkerReply(
                ok=False,
                timed_out=True,
                error=f"grading took longer than {limits.wall_s:.0f} s and was stopped",
                log_tail=log_tail,
            )
        exit_status = header.get("exit_status")
        return parse_reply(
            body,
            nonce,
            self.inputs_shape[0],
            log_tail,
            exit_status=exit_status if isinstance(exit_status, int) else None,
            memory_mb=limits.memory_mb,
        )

    @property
    def root(self) -> Path:
        """The zygote's private directory (every folder a child could write is in it)."""
        return self._root

    @property
    def alive(self) -> bool:
        """The zygote still runs and has kept to its protocol."""
        return self._proc.poll() is None

    def close(self) -> None:
        """Stop the zygote (its whole sandbox) and remove its private directory."""
        if getattr(self, "_proc", None) is not None and self._proc.poll() is None:
            import signal
            from contextlib import suppress

            with suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait()
        self._stack.close()

    def __enter__(self) -> ForkServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read_header(self, timeout_s: float) -> dict[str, Any] | None:
        line = self._read_line(timeout_s)
        if line is None:
            return None
        try:
            header = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            return None
        return header if isinstance(header, dict) else None

    def _read_line(self, timeout_s: float) -> bytes | None:
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._pending:
            if not self._fill(deadline - time.monotonic()):
                return None
        line, _, self._pending = self._pending.partition(b"\n")
        return line + b"\n"

    def _read_exactly(self, size: int) -> bytes | None:
        while len(self._pending) < size:
            if not self._fill(REPLY_MARGIN_S):
                return None
        body, self._pending = self._pending[:size], self._pending[size:]
        return body

    def _fill(self, timeout_s: float) -> bool:
        """Append what the zygote has written (waiting up to ``timeout_s``); False at its end."""
        assert self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        if timeout_s <= 0 or not select.select([fd], [], [], timeout_s)[0]:
            return False
        chunk = os.read(fd, 1 << 20)
        self._pending += chunk
        return bool(chunk)

    def _tail(self) -> str:
        try:
            text = (self._root / "zygote.log").read_bytes()[-2000:].decode("utf-8", "replace")
        except OSError:
            return ""
        lines = text.strip().splitlines()
        return lines[-1][:200] if lines else ""


def _lost(reason: str) -> WorkerReply:
    return WorkerReply(ok=False, error=reason)
