"""Run untrusted code (a learner's model) in an isolated child process.

Each run gets a private 0700 directory with an empty HOME, KERAS_HOME and TMPDIR, a minimal
environment and ``python -I``, confined as :mod:`grader.sandbox.confine` allows (bubblewrap: a
minimal read-only filesystem view but for that directory, no network, its own PID namespace,
no UNIX sockets; as root, an unprivileged user with no capabilities). rlimits (CPU seconds,
open files, file size, memory, processes, no core) are set in the child before TensorFlow
loads, and a wall-clock timeout kills the whole process group; a script that fills its
private directory past :attr:`Limits.disk_mb` is stopped. Replies
come back over a pipe the parent owns, tagged with a per-run nonce; the child's exit code and
stdout count for nothing. A private directory left by a grader that was killed (``kill -9``)
is removed by the next run once its owning process is gone.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from grader.errors import SandboxError
from grader.sandbox.child_log import is_tf_noise
from grader.sandbox.confine import isolation, seccomp_file, seccomp_program

WORKER = Path(__file__).with_name("_worker.py")
BATCH_SIZE = 256
"""Fixed, so the same model always sees the same batches and grades identically."""
MEMORY_SHARE = 0.5
"""Share of the machine's memory one child may map (split between a batch's workers)."""
MEMORY_FLOOR_MB = 4096
"""TensorFlow maps ~2.6 GB of address space to predict with a small model: never cap below."""
_PREFIX = "grader-"
DISK_MB = 2048
"""Bytes a script may leave in its private directory (:func:`run_script`), in MiB."""
_BLOCK = 4096
"""What each file or folder counts for at least: many empty files fill a disk too."""
GRADING_ENV = {"TF_CPP_MIN_LOG_LEVEL": "1"}
"""What a grading child adds to :func:`child_env`: TensorFlow's warnings, because running
out of memory shows only there ("OOM when allocating tensor") before oneDNN segfaults."""


def memory_share_mb(workers: int = 1) -> int:
    """RLIMIT_AS for one of ``workers`` children: half the machine's memory shared among them."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return MEMORY_FLOOR_MB * 2
    return max(MEMORY_FLOOR_MB, int(total * MEMORY_SHARE / max(1, workers)) >> 20)


def process_cap() -> int:
    """RLIMIT_NPROC for a child: room for TensorFlow's thread pools (each thread counts, about
    two per core) across a batch's workers, far below what a fork bomb wants."""
    return max(512, 16 * (os.cpu_count() or 1))


@dataclass(frozen=True)
class Limits:
    """Resource limits for one child."""

    wall_s: float = 300.0
    """Wall-clock seconds before the whole process group is killed."""
    cpu_s: int = 1800
    """CPU seconds across all threads (RLIMIT_CPU)."""
    memory_mb: int = field(default_factory=memory_share_mb)
    """Address-space cap (RLIMIT_AS); 0 disables it. Default: :func:`memory_share_mb`."""
    open_files: int = 1024
    """RLIMIT_NOFILE."""
    file_size_mb: int = 256
    """Largest file the child may write (RLIMIT_FSIZE)."""
    processes: int = field(default_factory=process_cap)
    """RLIMIT_NPROC: processes and threads of the child's user, set only where the child
    switched to its own user (see :attr:`grader.sandbox.confine.Isolation.bounds_processes`)."""
    disk_mb: int = DISK_MB
    """Bytes a script may leave in its private directory (:func:`run_script` only)."""
    threads: int = 0
    """TensorFlow intra/inter-op threads in the child; 0 keeps TensorFlow's default (all cores).
    Parallel batches give each child its share of the cores instead of oversubscribing them."""


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
    """A fresh 0700 directory with home/, keras/, tmp/ and work/, removed afterwards.

    Its name carries this process's id, so a later run can tell a leftover from a grader
    killed mid-run (its process gone) and remove it: see :func:`sweep_stale`.
    """
    sweep_stale()
    root = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-"))
    try:
        for sub in ("home", "keras", "tmp", "work"):
            (root / sub).mkdir()
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def sweep_stale(folder: Path | None = None) -> list[Path]:
    """Remove private directories of graders that no longer run; return what was removed.

    Only this user's own directories named ``grader-<pid>-*`` (never a link) whose process
    is gone are touched.
    """
    removed: list[Path] = []
    for path in (folder or Path(tempfile.gettempdir())).glob(f"{_PREFIX}*-*"):
        pid = path.name[len(_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            info = path.lstat()
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


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


def launch(
    mode: str,
    root: Path,
    limits: Limits,
    *,
    network: bool = False,
    pass_fds: tuple[int, ...] = (),
    stdout: Any = None,
    extra: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    hide: tuple[Path, ...] = (),
    read_only: tuple[Path, ...] = (),
    stderr: Any = subprocess.STDOUT,
    worker: Path = WORKER,
) -> subprocess.Popen[bytes]:
    """Start ``_worker.py MODE`` confined to ``root``, in its own session and process group.

    Everything the child needs under ``root`` must be there already: it is handed to the
    child's user (as root, an unprivileged one) just before the start.
    """
    confine = isolation()
    argv = [
        sys.executable,
        "-I",
        str(worker),
        mode,
        str(limits.cpu_s),
        str(limits.open_files),
        str(limits.file_size_mb),
        str(limits.memory_mb),
        str(limits.processes if confine.bounds_processes else 0),
        *extra,
    ]
    confine.hand_over(root)
    program = seccomp_program() if confine.socket_filter else None
    filter_fd = seccomp_file(program) if program is not None else None
    try:
        return subprocess.Popen(
            confine.wrap(
                argv, root, network=network, hide=hide, read_only=read_only, seccomp_fd=filter_fd
            ),
            stdin=subprocess.PIPE,
            stdout=stdout,
            stderr=stderr,
            cwd=root / "work",
            env={**child_env(root), **(env or {})},
            pass_fds=(*pass_fds, *(() if filter_fd is None else (filter_fd,))),
            start_new_session=True,
        )
    except OSError as err:
        raise SandboxError(f"could not start the sandboxed worker: {err}") from None
    finally:
        if filter_fd is not None:
            os.close(filter_fd)


def predict(
    model_copy: Path,
    inputs: np.ndarray,
    root: Path,
    limits: Limits | None = None,
    *,
    hide: tuple[Path, ...] = (),
) -> WorkerReply:
    """Load ``model_copy`` (already inside ``root``) in a child and predict ``inputs``.

    ``hide`` names folders the child must not see (where the held-out labels live).
    """
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
        "threads": limits.threads,
    }
    read_fd, write_fd = os.pipe()
    log_path = root / "tmp" / "child.log"
    with log_path.open("wb") as log:
        try:
            proc = launch(
                "predict",
                root,
                limits,
                pass_fds=(write_fd,),
                stdout=log,
                extra=(str(write_fd),),
                env=GRADING_ENV,
                hide=hide,
            )
        except SandboxError:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        received = _Reader(read_fd)
        _send(proc, json.dumps(request).encode() + b"\n")
        timed_out = wait_and_kill(proc, limits.wall_s)
        received.finish()
    log_tail = _tail(log_path)
    if timed_out:
        return WorkerReply(
            ok=False,
            timed_out=True,
            error=f"grading took longer than {limits.wall_s:.0f} s and was stopped",
            log_tail=log_tail,
        )
    return parse_reply(
        received.data,
        nonce,
        len(inputs),
        log_tail,
        exit_status=proc.returncode,
        memory_mb=limits.memory_mb,
    )


@dataclass(frozen=True)
class RunOutcome:
    """How a sandboxed solution.py ended. Only the files it left count, never its words."""

    returncode: int | None
    """Exit status; None when it was killed for time."""
    timed_out: bool
    """It ran past the wall-clock limit."""
    log_tail: str
    """Its last lines of output."""
    stopped: str | None = None
    """Why the grader stopped it early other than for time (it filled its disk share)."""


def run_script(
    script: Path,
    root: Path,
    limits: Limits,
    *,
    network: bool = False,
    on_output: Callable[[str], None] | None = None,
    env: dict[str, str] | None = None,
    hide: tuple[Path, ...] = (),
    read_only: tuple[Path, ...] = (),
) -> RunOutcome:
    """Run ``script`` (already inside ``root``) as ``__main__``, streaming its output lines
    (TensorFlow's start-up logging left out, :mod:`grader.sandbox.child_log`).

    ``env`` adds variables to the minimal child environment (e.g. where the data lives);
    ``read_only`` and ``hide`` are passed to :meth:`grader.sandbox.confine.Isolation.wrap`.
    """
    proc = launch(
        "run",
        root,
        limits,
        network=network,
        stdout=subprocess.PIPE,
        extra=(str(script),),
        env=env,
        hide=hide,
        read_only=read_only,
    )
    lines: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if is_tf_noise(line):
                continue
            lines.append(line)
            del lines[:-40]
            if on_output:
                on_output(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    done, over = threading.Event(), threading.Event()
    watcher = threading.Thread(
        target=_watch_disk, args=(proc, root, read_only, limits.disk_mb, done, over), daemon=True
    )
    watcher.start()
    _send(proc, b"")
    timed_out = wait_and_kill(proc, limits.wall_s)
    done.set()
    reader.join(timeout=5)
    watcher.join()
    return RunOutcome(
        returncode=None if timed_out or over.is_set() else proc.returncode,
        timed_out=timed_out and not over.is_set(),
        log_tail="\n".join(lines[-20:]),
        stopped=f"wrote more than {limits.disk_mb} MB to its folder" if over.is_set() else None,
    )


def _watch_disk(
    proc: subprocess.Popen[bytes],
    root: Path,
    skip: tuple[Path, ...],
    disk_mb: int,
    done: threading.Event,
    over: threading.Event,
) -> None:
    """Kill ``proc``'s group once ``root`` (but ``skip``) holds more than ``disk_mb``.

    Polled: a walk costs time, so the pause grows with it (never under 0.25 s).
    """
    pause = 0.25
    while not done.wait(pause):
        started = time.monotonic()
        if disk_use(root, skip) > disk_mb << 20:
            over.set()
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            return
        pause = max(0.25, 5 * (time.monotonic() - started))


def disk_use(root: Path, skip: tuple[Path, ...] = ()) -> int:
    """Bytes the files below ``root`` take on disk (allocated blocks, so a sparse file costs
    what it holds), each entry at least one block; links never followed, ``skip`` not read."""
    total, folders, skipped = 0, [str(root)], {str(p) for p in skip}
    while folders:
        try:
            with os.scandir(folders.pop()) as entries:
                for entry in entries:
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    total += max(info.st_blocks * 512, _BLOCK)
                    if stat.S_ISDIR(info.st_mode) and entry.path not in skipped:
                        folders.append(entry.path)
        except OSError:
            continue
    return total


def _send(proc: subprocess.Popen[bytes], data: bytes) -> None:
    """Write the request to the child's stdin and close it."""
    try:
        assert proc.stdin is not None
        proc.stdin.write(data)
        proc.stdin.close()
    except OSError:
        pass  # the child died early; its (missing) reply says why


def wait_and_kill(proc: subprocess.Popen[bytes], wall_s: float) -> bool:
    """Wait for the child, then kill its whole process group either way. True on timeout."""
    try:
        proc.wait(timeout=wall_s)
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return timed_out


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


def parse_reply(
    data: bytes,
    nonce: str,
    n_inputs: int,
    log_tail: str,
    *,
    exit_status: int | None = None,
    memory_mb: int = 0,
) -> WorkerReply:
    """Check a child's reply (``exit_status`` and ``memory_mb`` name why it died, if it did)."""
    head, _, body = data.partition(b"\n")
    try:
        meta = json.loads(head)
    except (json.JSONDecodeError, UnicodeDecodeError):
        meta = None
    if not isinstance(meta, dict) or meta.get("nonce") != nonce:
        reason = _crash_reason(log_tail, exit_status)
        error = (
            out_of_memory(memory_mb)
            if reason == "out of memory"
            else f"the model crashed the worker ({reason})"
        )
        return WorkerReply(ok=False, error=error, log_tail=log_tail)
    meta.pop("nonce")
    if not meta.get("ok"):
        error = str(meta.get("error"))
        if _names_memory(error):  # a MemoryError or ResourceExhaustedError it caught
            error = out_of_memory(memory_mb)
        return WorkerReply(ok=False, error=error, meta=meta, log_tail=log_tail)
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


_MEMORY_SIGNS = (
    "memoryerror",
    "bad_alloc",
    "resource exhausted",
    "resourceexhausted",
    "oom when allocating",
    "failed to map segment",
    "allocation failed",
    "cannot allocate memory",
    "out of memory",
)
"""How running out of address space shows in a child's last words (Python, TensorFlow, the
loader, OpenBLAS): a capped mmap rarely ends in a clean MemoryError. TensorFlow's own
("RESOURCE_EXHAUSTED: OOM when allocating tensor") is a warning, often followed by a
segfault in oneDNN."""


def out_of_memory(memory_mb: int) -> str:
    """The one line for a model that ran out of memory, with its limit and what to do."""
    limit = f" (its limit is {memory_mb} MB)" if memory_mb > 0 else ""
    return (
        f"the model ran out of memory{limit}: make its largest layers or activations smaller "
        "(fewer units or filters, less upsampling); a batch with fewer --workers gives "
        "each model more"
    )


def _names_memory(text: str) -> bool:
    lowered = text.lower().replace("_", " ")
    return any(sign.replace("_", " ") in lowered for sign in _MEMORY_SIGNS)


def _crash_reason(log_tail: str, exit_status: int | None = None) -> str:
    """Why a child died without a reply: its exit signal first, then its last words."""
    died_of = _signal_of(exit_status)
    if died_of == signal.SIGXCPU:
        return "out of CPU time"
    if _names_memory(log_tail):
        return "out of memory"
    if died_of == signal.SIGKILL:
        return "killed by the system, most likely out of memory"
    last = log_tail.strip().splitlines()[-1:] if log_tail.strip() else []
    return last[0][:200] if last else "no reply"


def _signal_of(exit_status: int | None) -> int | None:
    """The signal a child died of: negative from Popen, 128 + n through bubblewrap."""
    if exit_status is None:
        return None
    if exit_status < 0:
        return -exit_status
    return exit_status - 128 if exit_status > 128 else None
