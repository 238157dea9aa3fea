"""Which OS confinement this machine offers a child, probed once, strongest first.

- ``bwrap`` (bubblewrap): a minimal filesystem view, new user, PID, IPC, UTS, cgroup and
  network namespaces, and (where libseccomp loads) a seccomp filter. The child sees only
  ``/usr`` (system libraries and tools), the Python installation, the virtual environment
  and this package, all read-only; a fresh ``/dev``, its own ``/proc`` and an empty ``/tmp``;
  its private directory, writable; and what the caller binds read-only (the splits a
  training run may use). No ``/home``, ``/root``, ``/run``, ``/var``, ``/srv``, host ``/tmp``,
  no grader cache, no workspace: no secret, no held-out data and no host socket file is in
  reach. Data folders that happen to lie inside a bound path (``/usr/share/datasets``) are
  covered by an empty tmpfs.
- ``unshare``: new network and PID namespaces only; the filesystem is not confined.
- ``none``: plain child process; the report carries a note saying so.

The seccomp filter refuses ``socket(AF_UNIX, ...)`` (EACCES), so even with the host's
network namespace shared (``[training] network = true``) the child cannot reach an
abstract-namespace socket (D-Bus, X11) or any socket file; ``io_uring_setup`` (ENOSYS),
whose ring could open and connect sockets without passing the filter; and ``ptrace`` and
``process_vm_readv/writev`` (EPERM), so a child of a fork-server cannot reach into it.
``socketpair`` still works (Python's multiprocessing uses it). Syscalls of other
architectures are killed.

In every case the child runs in its own process group, so a timeout kills all of it, and
with a PID namespace nothing it forks outlives it.
"""

from __future__ import annotations

import errno
import functools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

_UNSHARE_VARIANTS = (
    ("--user", "--map-root-user", "--net", "--pid", "--fork", "--kill-child"),
    ("--net", "--pid", "--fork", "--kill-child"),
)
_SYSTEM = Path("/usr")
"""System libraries, the dynamic loader and tools: bound read-only for every child."""
_TOP_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
"""Top-level folders that merged-/usr systems make symlinks into /usr (recreated as links)."""
_ETC_ALWAYS = ("/etc/fonts",)
"""fontconfig's configuration: matplotlib and Pillow look fonts up through it."""
_ETC_NETWORK = (
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/gai.conf",
    "/etc/ssl",
    "/etc/ca-certificates",
)
"""Name resolution and CA certificates, only for a task that may download
(``[training] network = true``, e.g. pretrained weights over HTTPS)."""


@dataclass(frozen=True)
class Isolation:
    """How children are confined here, and how to wrap a command accordingly."""

    kind: str
    """``bwrap``, ``unshare`` or ``none``."""
    tool: str | None = None
    """Path of the wrapping program."""
    flags: tuple[str, ...] = ()
    """Flags that worked in the probe (unshare only)."""
    socket_filter: bool = False
    """The seccomp filter refusing UNIX sockets is applied (bwrap only)."""

    @property
    def network_isolated(self) -> bool:
        """The child gets its own empty network namespace (unless the task needs network)."""
        return self.kind != "none"

    @property
    def filesystem_isolated(self) -> bool:
        """The child sees the minimal filesystem view, read-only but for its private dir."""
        return self.kind == "bwrap"

    @property
    def note(self) -> str | None:
        """A caveat for the report when confinement is partial; None when complete."""
        if self.kind == "bwrap":
            if self.socket_filter:
                return None
            return (
                "the UNIX-socket filter is unavailable here (libseccomp did not load); "
                "children are confined, but one allowed network access could reach host sockets"
            )
        missing = "filesystem" if self.kind == "unshare" else "network and filesystem"
        return (
            f"{missing} isolation unavailable here (install bubblewrap, enable user "
            "namespaces); grade untrusted submissions on a dedicated account"
        )

    def wrap(
        self,
        argv: list[str],
        root: Path,
        *,
        network: bool = False,
        hide: tuple[Path, ...] = (),
        read_only: tuple[Path, ...] = (),
        seccomp_fd: int | None = None,
    ) -> list[str]:
        """``argv`` confined to ``root`` (writable), with or without network.

        ``read_only`` lists paths bound read-only at the same place (inside ``root`` too:
        a later bind wins). ``hide`` lists folders to cover with an empty tmpfs when they lie
        inside what the view binds. ``seccomp_fd`` is an open file holding the compiled
        filter (see :func:`seccomp_program`). The last three apply to bwrap only.
        """
        if self.kind == "bwrap":
            assert self.tool is not None
            return [
                self.tool,
                *_namespace_args(network),
                *_view_args(root, network, hide, read_only),
                *(("--seccomp", str(seccomp_fd)) if seccomp_fd is not None else ()),
                *("--chdir", str(root / "work"), "--"),
                *argv,
            ]
        if self.kind == "unshare":
            assert self.tool is not None
            flags = [f for f in self.flags if f != "--net"] if network else list(self.flags)
            return [self.tool, *flags, "--", *argv]
        return argv


def _namespace_args(network: bool) -> list[str]:
    share = ["--share-net"] if network else []
    return ["--unshare-all", *share, "--die-with-parent", "--new-session"]


def _view_args(
    root: Path, network: bool, hide: tuple[Path, ...], read_only: tuple[Path, ...]
) -> list[str]:
    """bwrap's filesystem: system, Python, venv, package read-only; root writable; no more."""
    args = ["--ro-bind", str(_SYSTEM), str(_SYSTEM)]
    for top in map(Path, _TOP_LINKS):
        if top.is_symlink():
            args += ["--symlink", os.readlink(top), str(top)]
        elif top.is_dir():
            args += ["--ro-bind", str(top), str(top)]
    for path in (*_ETC_ALWAYS, *(_ETC_NETWORK if network else ())):
        args += ["--ro-bind-try", path, path]
    args += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for path in needed():
        args += ["--ro-bind", str(path), str(path)]
    args += ["--bind", str(root), str(root)]
    for path in read_only:
        args += ["--ro-bind", str(path), str(path)]
    bound = (_SYSTEM, *needed())
    for folder in hide:
        if _maskable(folder, root) and any(folder.resolve().is_relative_to(b) for b in bound):
            args += ["--tmpfs", str(folder.resolve())]
    return args


PACKAGE = Path(__file__).resolve().parents[1]
"""The ``grader`` package folder: a child imports it (its worker, ``grader.datasets``)."""


def needed() -> tuple[Path, ...]:
    """What every child runs from: the Python installation, the venv (and any site-packages
    folder a ``.pth`` file adds), this package. Never the current folder or a test root."""
    sites = [Path(p) for p in sys.path if Path(p).name in ("site-packages", "dist-packages")]
    roots = (Path(sys.prefix), Path(sys.base_prefix), *sites, PACKAGE)
    return tuple(dict.fromkeys(p.resolve() for p in roots if p.is_dir()))


def _maskable(folder: Path, root: Path) -> bool:
    """A folder may be hidden unless the child needs what is inside it (Python, itself)."""
    keep = (*needed(), root.resolve(), _SYSTEM)
    return folder.is_dir() and not any(n.is_relative_to(folder.resolve()) for n in keep)


@functools.cache
def seccomp_program() -> bytes | None:
    """The compiled BPF filter (UNIX sockets, io_uring and ptrace refused), or None without
    libseccomp."""
    try:
        import pyseccomp as seccomp
    except (ImportError, OSError):  # the bindings, or libseccomp.so itself, are missing
        return None
    try:
        rules = seccomp.SyscallFilter(seccomp.ALLOW)
        rules.add_rule(
            seccomp.ERRNO(errno.EACCES), "socket", seccomp.Arg(0, seccomp.EQ, socket.AF_UNIX)
        )
        rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "io_uring_setup")
        for call in ("ptrace", "process_vm_readv", "process_vm_writev"):  # no reaching into
            rules.add_rule(seccomp.ERRNO(errno.EPERM), call)  # another process (a zygote)
        with tempfile.TemporaryFile() as out:
            rules.export_bpf(out)
            out.seek(0)
            return out.read()
    except (OSError, RuntimeError, ValueError):
        return None


def seccomp_file(program: bytes) -> int:
    """An anonymous file holding ``program`` at offset 0, for bwrap's ``--seccomp FD``."""
    fd = os.memfd_create("grader-seccomp")
    os.write(fd, program)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _works(argv: list[str], pass_fds: tuple[int, ...] = ()) -> bool:
    try:
        probe = subprocess.run(
            argv, capture_output=True, timeout=10, check=False, pass_fds=pass_fds
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def _bwrap_works(candidate: Isolation, program: bytes | None) -> bool:
    with tempfile.TemporaryDirectory(prefix="grader-probe-") as tmp:
        root = Path(tmp)
        (root / "work").mkdir()
        if program is None:
            return _works(candidate.wrap(["true"], root))
        fd = seccomp_file(program)
        try:
            return _works(candidate.wrap(["true"], root, seccomp_fd=fd), (fd,))
        finally:
            os.close(fd)


@functools.cache
def isolation() -> Isolation:
    """Probe once which confinement works on this machine."""
    if not sys.platform.startswith("linux"):
        return Isolation("none")
    bwrap = shutil.which("bwrap")
    if bwrap:
        program = seccomp_program()
        if program is not None and _bwrap_works(Isolation("bwrap", bwrap), program):
            return Isolation("bwrap", bwrap, socket_filter=True)
        if _bwrap_works(Isolation("bwrap", bwrap), None):
            return Isolation("bwrap", bwrap)
    unshare = shutil.which("unshare")
    if unshare:
        for flags in _UNSHARE_VARIANTS:
            if _works([unshare, *flags, "true"]):
                return Isolation("unshare", unshare, flags)
    return Isolation("none")
