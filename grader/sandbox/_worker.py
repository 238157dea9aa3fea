"""The sandboxed child: the only code that imports TensorFlow/Keras and touches a learner's model.

Started by :mod:`grader.sandbox.process` as ``python -I _worker.py`` in a private, empty
directory with a minimal environment. It is standalone (stdlib + numpy + keras) so that
nothing of the parent's package or state is importable from here. It never sees labels.

Three modes: ``run SCRIPT`` executes a learner's solution.py; ``predict FD`` grades one model;
``zygote INPUTS OWN_PID_NS`` is a fork-server for a batch: it imports Keras once, then forks
one child per model (see :mod:`grader.sandbox.forkserver`).

Protocol for ``predict``: the parent writes one JSON line to stdin (nonce, model path,
inputs path, expected input shape, batch size). The child answers on the file descriptor
named on the command line with one JSON line (the nonce, ``ok``, what it saw of the model)
followed, when ``ok``, by the predictions as one ``.npy`` blob. Everything the model prints
goes to stdout/stderr, which the parent keeps only as diagnostics.

Protocol for ``zygote``: after importing, it writes one JSON line to stdout (``ready``, its
thread count). Then per model: the parent writes a JSON line (the request as for
``predict``, plus ``name``, ``size`` and the child's limits) followed by ``size`` bytes of
model; the zygote writes the model into a fresh job folder, forks a child that answers
exactly as ``predict`` does on a pipe, enforces the wall clock, then kills every process
left in its PID namespace, removes what the child added under every writable mount, and
writes one JSON line (how the child ended, its last output lines, the reply's size, and
``retire`` when it must stop serving) followed by the reply bytes.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import sys
from typing import Any, BinaryIO


def _set_limits(cpu_s: int, nofile: int, fsize_mb: int, memory_mb: int, nproc: int = 0) -> None:
    """rlimits applied before TensorFlow loads, so the model runs under them.

    ``nproc`` (0: left as it is) caps the processes and threads of the child's user: the
    parent passes it only where that user is the sandbox's alone.
    """
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # SIGXCPU at the soft limit names the cause; the hard limit (SIGKILL) is a backstop.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 5))
    resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize_mb << 20, fsize_mb << 20))
    if memory_mb > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
    if nproc > 0:
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


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
    _set_limits(*(int(a) for a in argv[2:7]))
    if mode == "run":
        return _run_script(argv[7])
    if mode == "zygote":
        return _zygote(argv[7], own_pid_namespace=argv[8] == "1", own_view=argv[9] == "1")
    channel = os.fdopen(int(argv[7]), "wb")
    request = json.loads(sys.stdin.readline())
    import numpy as np

    _load_and_predict(request, np.load(request["inputs"], allow_pickle=False), channel)
    return 0


def _run_script(script: str) -> int:
    """Run a learner's solution.py as ``__main__``, as ``python solution.py`` would."""
    import runpy

    sys.argv = [script]
    sys.path.insert(0, os.path.dirname(script))
    runpy.run_path(script, run_name="__main__")
    return 0


def _load_and_predict(request: dict[str, Any], inputs: Any, channel: BinaryIO) -> None:
    """Load the model named in ``request``, predict ``inputs``, answer on ``channel``."""
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
        return
    reply["input_shape"] = _shape(model.input_shape)
    reply["output_shape"] = _shape(model.output_shape)
    mismatch = _shape_mismatch(reply["input_shape"], request["input_shape"])
    if mismatch:
        reply["error"] = mismatch
        _answer(channel, reply)
        return
    try:
        outputs = _predict(model, inputs, request["batch_size"])
    except Exception as err:  # the model's own graph failed on valid inputs
        reply["error"] = f"prediction failed: {_first_line(err)}"
        _answer(channel, reply)
        return
    if isinstance(outputs, list | tuple | dict):
        reply["error"] = "model returns several outputs; the task needs one class-score tensor"
        _answer(channel, reply)
        return
    outputs = np.asarray(outputs)
    if outputs.dtype.kind != "f" and "float" in outputs.dtype.name:
        outputs = outputs.astype(np.float32)  # bfloat16 and friends have no .npy form
    reply["ok"] = True
    _answer(channel, reply, outputs)


def _predict(model: Any, inputs: Any, batch_size: int) -> Any:
    """``model.predict`` in full batches only: a short last batch would trace the model again
    (about 0.2 s of CPU), so it is padded with zeros and the padding's outputs dropped."""
    import numpy as np

    n, short = len(inputs), len(inputs) % batch_size
    if short and n > batch_size:
        padding = np.zeros((batch_size - short, *inputs.shape[1:]), inputs.dtype)
        inputs = np.concatenate([inputs, padding])
    outputs = model.predict(inputs, batch_size=batch_size, verbose=0)
    if isinstance(outputs, list | tuple | dict):
        return outputs
    return outputs[:n]


# --- the fork-server ----------------------------------------------------------------------


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))


def _rss_kb() -> int:
    with open("/proc/self/status") as status:
        return next((int(line.split()[1]) for line in status if line.startswith("VmRSS")), 0)


_PRIVATE_SUBDIRS = ("home", "keras", "tmp", "work")
"""What the grader makes in a child's private directory (``process.private_dir``)."""


def _zygote(inputs_path: str, *, own_pid_namespace: bool, own_view: bool) -> int:
    """Import Keras once, then fork one confined child per model request on stdin."""
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import keras  # noqa: F401  (imported once here, inherited by every child)
    import numpy as np
    import tensorflow  # noqa: F401

    inputs = np.load(inputs_path, allow_pickle=False)
    os.unlink(inputs_path)  # in memory now; nothing left on disk for a child to alter
    control_in, control_out = sys.stdin.buffer, sys.stdout.buffer
    root = os.path.dirname(os.path.dirname(inputs_path))
    _not_dumpable()
    threads = _threads()
    unsealed = (_drop_capabilities() or _shared_writable()) if threads == 1 else None
    for sub in _PRIVATE_SUBDIRS:  # what importing Keras left (keras.json)
        _empty(os.path.join(root, sub))
    view = _View(root, own_view)
    ready = threads == 1 and unsealed is None
    _say(control_out, {"ready": ready, "threads": threads, "why": unsealed, "pid": os.getpid()})
    if not ready:
        return 0  # a fork would copy other threads' locks, or a child could reach in here
    while True:
        line = control_in.readline()
        if not line:
            return 0
        request = json.loads(line)
        blob = control_in.read(request["size"])
        job = os.path.join(root, "work", "job")
        os.makedirs(job)
        model = os.path.join(job, os.path.basename(request["name"]))
        with open(model, "wb") as out:
            out.write(blob)
        request["model"] = model
        outcome, reply = _fork_one(request, inputs, job, control_in, control_out)
        outcome["swept"], survivors = _sweep(own_pid_namespace)
        outcome["zygote_rss_kb"] = _rss_kb()
        retire = survivors or view.restore()
        if retire is None and _threads() != 1:
            retire = "something started a thread in the fork-server"
        outcome["retire"] = retire
        outcome["size"] = len(reply)
        _say(control_out, outcome, reply)
        if retire:  # the next child would not start as the first did: stop serving
            return 0


def _fork_one(
    request: dict[str, Any], inputs: Any, job: str, control_in: Any, control_out: Any
) -> tuple[dict[str, Any], bytes]:
    """Fork a child for one model; collect its reply within the wall clock."""
    import select
    import signal
    import time

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: one model, then exit
        code = 1
        try:
            os.close(read_fd)
            _become_child(request, job, control_in, control_out)
            _load_and_predict(request, inputs, os.fdopen(write_fd, "wb"))
            code = 0
        except BaseException as err:  # its last words (a MemoryError) go to its log
            _last_words(err)
        finally:
            os._exit(code)
    os.close(write_fd)
    chunks: list[bytes] = []
    deadline = time.monotonic() + request["wall_s"]
    timed_out, ended = False, None
    while ended is None:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        if select.select([read_fd], [], [], min(left, 0.2))[0]:
            chunk = os.read(read_fd, 1 << 20)
            if chunk:
                chunks.append(chunk)
                continue
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:  # the child is gone: what it wrote is all there is (a grandchild may
            ended = (status, usage)  # still hold the pipe open, so EOF cannot be awaited)
            os.set_blocking(read_fd, False)
            with contextlib.suppress(BlockingIOError):
                while chunk := os.read(read_fd, 1 << 20):
                    chunks.append(chunk)
    os.close(read_fd)
    for target in (-pid, pid):  # its process group, then itself if it left the group
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(target, signal.SIGKILL)
    status, usage = ended if ended is not None else os.wait4(pid, 0)[1:]
    return {
        "timed_out": timed_out,
        "exit_status": -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status),
        "log_tail": _log_tail(os.path.join(job, "child.log")),
        "child_maxrss_kb": usage.ru_maxrss,
        "child_cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
    }, b"".join(chunks)


def _not_dumpable() -> None:
    """Make this zygote non-dumpable: only a holder of CAP_SYS_PTRACE may then ptrace it or
    open its ``/proc/PID/mem``, and :func:`_drop_capabilities` leaves no one holding it."""
    import ctypes

    pr_set_dumpable = 4
    ctypes.CDLL(None).prctl(pr_set_dumpable, 0, 0, 0, 0)


_PR_CAPBSET_DROP, _PR_SET_SECUREBITS, _PR_SET_NO_NEW_PRIVS, _PR_CAP_AMBIENT = 24, 28, 38, 47
_SECUREBITS_LOCKED_NOROOT = 0xEF
"""NOROOT, NO_SETUID_FIXUP, NO_CAP_AMBIENT_RAISE, each locked, and KEEP_CAPS locked off:
uid 0 gains nothing by ``execve``."""
_CAPS_ZERO = ("CapInh", "CapPrm", "CapEff", "CapAmb")


def _drop_capabilities() -> str | None:
    """Give up every capability, for this zygote and all it forks, for good.

    As root a child would otherwise hold CAP_SYS_PTRACE and could write the zygote's memory
    through ``/proc/PID/mem`` (non-dumpable or not). Dropped here once, before any fork,
    it costs a child nothing. Returns None once no capability is left, else why not.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    with open("/proc/sys/kernel/cap_last_cap") as last:
        for cap in range(int(last.read()) + 1):  # fails harmlessly without CAP_SETPCAP
            libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)
    libc.prctl(_PR_SET_SECUREBITS, _SECUREBITS_LOCKED_NOROOT, 0, 0, 0)
    libc.prctl(_PR_CAP_AMBIENT, 4, 0, 0, 0)  # PR_CAP_AMBIENT_CLEAR_ALL

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    header = Header(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    none = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable; twice (64 bits)
    libc.capset(ctypes.byref(header), none)
    with open("/proc/self/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    left = [f"{k} {fields[k].strip()}" for k in _CAPS_ZERO if int(fields.get(k, "0"), 16)]
    if fields.get("NoNewPrivs", "0").strip() != "1":
        left.append("no_new_privs unset")
    return f"it kept capabilities ({', '.join(left)})" if left else None


def _become_child(request: dict[str, Any], job: str, control_in: Any, control_out: Any) -> None:
    """In the forked child: own process group, no control channel, output to a log, limits."""
    os.setpgid(0, 0)
    for stream in (control_in, control_out):
        os.close(stream.fileno())
    log = os.open(os.path.join(job, "child.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    sys.stderr = os.fdopen(2, "w", buffering=1)
    os.chdir(job)
    _set_limits(
        request["cpu_s"], request["open_files"], request["file_size_mb"], request["memory_mb"]
    )


def _shared_writable() -> str | None:
    """A writable mapping this zygote shares with its children (``MAP_SHARED``), if any:
    what one child wrote there, the zygote and every later child would read."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            if fields[1][1] == "w" and fields[1][3] == "s":
                what = fields[5].strip() if len(fields) > 5 else "anonymous memory"
                return f"it maps {what[:100]} shared and writable"
    return None


def _sweep(own_pid_namespace: bool) -> tuple[int, str | None]:
    """Kill every process left in this PID namespace but its init and this zygote.

    Returns how many were killed, and why serving must stop when one would not die.
    """
    if not own_pid_namespace:
        return 0, None  # without a namespace of its own, /proc shows the host: touch nothing
    import signal
    import time

    killed, deadline = 0, time.monotonic() + 5.0
    while True:
        alive = _others()
        for pid in alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        killed = max(killed, len(alive))
        while True:  # reap what were our own children
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        if not alive:
            return killed, None
        if time.monotonic() > deadline:
            return killed, f"processes {alive} outlived SIGKILL"
        time.sleep(0.001)  # a killed process may finish its syscall (a file) before it dies


def _others() -> list[int]:
    """Processes in this PID namespace other than its init and this zygote, zombies aside."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in (1, os.getpid()):
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    state = stat.read().rpartition(b")")[2].split()[0]
            except (OSError, IndexError):
                continue
            if state not in (b"Z", b"X"):
                found.append(int(entry))
    return found


class _View:
    """Every folder a child could write, as the zygote found it before the first child.

    With its own filesystem view (bubblewrap) that is every writable mount: ``/``, ``/dev``
    (``/dev/shm``), ``/tmp`` and the private directory; without one, the private directory.
    :meth:`restore` removes whatever a child added there; what it changed or removed of the
    first state cannot be put back, so the zygote then stops serving.
    """

    def __init__(self, root: str, own_view: bool) -> None:
        self.mounts = _mount_points()
        writable = [p for p, rw in self.mounts.items() if rw] if own_view else []
        self.trees = []
        for top in dict.fromkeys([*writable, root]):
            if os.access(top, os.R_OK | os.X_OK):
                self.trees.append(top)
            elif top == root:  # the grader's, traversable only: its sub-folders are ours
                self.trees += [os.path.join(root, sub) for sub in _PRIVATE_SUBDIRS]
            elif os.access(top, os.W_OK):
                self.trees.append(top)  # writable yet unreadable: restore() will say so
            # else: no child (this uid, no capabilities) can list or change it either
        self.own_log = os.fstat(2)  # the zygote's stderr: it grows, and that is no change
        self.clean: dict[str, tuple[int, ...]] = {}
        for top in self.trees:
            self._walk(top, self._record)

    def restore(self) -> str | None:
        """Remove what a child left; None when all is as it was, else what is not."""
        problems: list[str] = []
        seen: set[str] = set()

        def check(path: str, info: os.stat_result) -> bool:
            if path not in self.clean:
                try:
                    _remove(path)
                except (OSError, RecursionError) as err:
                    problems.append(f"could not remove {path}: {type(err).__name__}")
                return False
            seen.add(path)
            if self._signature(info) != self.clean[path]:
                problems.append(f"{path} was changed")
                return False
            return True

        for top in self.trees:
            try:
                self._walk(top, check)
            except OSError as err:
                problems.append(f"{top} cannot be read: {type(err).__name__}")
        problems += [f"{path} was removed" for path in self.clean.keys() - seen][:3]
        return (
            f"a child left the fork-server's folders unrestorable ({problems[0]})"
            if (problems)
            else None
        )

    def _record(self, path: str, info: os.stat_result) -> bool:
        self.clean[path] = self._signature(info)
        return True

    def _signature(self, info: os.stat_result) -> tuple[int, ...]:
        kept = (info.st_mode, info.st_uid, info.st_gid, info.st_ino, info.st_dev)
        if not os.path.samestat(info, self.own_log) and (info.st_mode & 0o170000) == 0o100000:
            return (*kept, info.st_size, info.st_mtime_ns)  # a regular file: its content too
        return kept

    def _walk(self, top: str, visit: Any) -> None:
        """Call ``visit(path, lstat)`` on ``top`` and below, entering a folder only when it
        returns True and never crossing into another mount or through a link."""
        import stat

        pending = [top]
        while pending:
            folder = pending.pop()
            if not visit(folder, os.lstat(folder)):
                continue
            for name in os.listdir(folder):
                path = os.path.join(folder, name)
                info = os.lstat(path)
                if stat.S_ISDIR(info.st_mode) and path not in self.mounts:
                    pending.append(path)
                else:
                    visit(path, info)


def _mount_points() -> dict[str, bool]:
    """Every mount point this process sees, and whether a child could write below it."""
    import re

    unwritable = ("proc", "sysfs", "devpts", "mqueue", "cgroup", "cgroup2", "devtmpfs")
    points: dict[str, bool] = {}
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            fields = line.split()
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            fstype = fields[fields.index("-") + 1]
            writable = "rw" in fields[5].split(",") and fstype not in unwritable
            points[point] = writable and os.path.isdir(point) and not os.path.islink(point)
    return points


def _remove(path: str) -> None:
    """Remove ``path`` and all below it, never following a link, whatever its modes."""
    import stat

    if not stat.S_ISDIR(os.lstat(path).st_mode):
        os.unlink(path)
        return
    os.chmod(path, 0o700)  # a child may have left it unreadable; it is ours to change
    for name in os.listdir(path):
        _remove(os.path.join(path, name))
    os.rmdir(path)


def _empty(folder: str) -> None:
    for name in os.listdir(folder):
        _remove(os.path.join(folder, name))


def _last_words(err: BaseException) -> None:
    """A forked child's uncaught exception, written to its log (a MemoryError included)."""
    try:
        import traceback

        traceback.print_exc()
        sys.stderr.flush()
    except BaseException:  # out of memory even for that: name it at least
        with contextlib.suppress(OSError):
            os.write(2, f"\n{type(err).__name__}\n".encode())


def _log_tail(path: str) -> str:
    try:
        with open(path, "rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - 8192))
            return log.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _say(channel: Any, header: dict[str, Any], body: bytes = b"") -> None:
    channel.write(json.dumps(header).encode() + b"\n" + body)
    channel.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
