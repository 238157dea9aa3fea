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

When the grader runs as root (Docker, Gradescope, Colab, CI), a child that kept uid 0 would
keep root's capabilities (umount the data cover, remount ``/usr`` or the venv writable) and
escape ``RLIMIT_NPROC``, which the kernel never enforces for the host's root. So as root,
bubblewrap stays in the host's user namespace (its own would map only uid 0), unshares the
others, drops every capability but the three ``setpriv`` needs, and ``setpriv`` switches the
child to an unprivileged host user (``nobody``, or ``$GRADER_SANDBOX_UID``) with no
capabilities, an empty bounding set and ``no_new_privs`` before Python starts. The unshare
and plain fallbacks switch the same way where that works, else their note says so. The
private directory is handed to that user (:meth:`Isolation.hand_over`).

bubblewrap's ``/tmp`` and ``/dev/shm`` are tmpfs of a fixed size (:data:`TMPFS_MB`,
:data:`SHM_MB`): memory a child could otherwise fill without bound.

The seccomp filter refuses ``socket(AF_UNIX, ...)`` (EACCES), so even with the host's
network namespace shared (``[training] network = true``) the child cannot reach an
abstract-namespace socket (D-Bus, X11) or any socket file; ``io_uring_setup`` (ENOSYS),
whose ring could open and connect sockets without passing the filter; and ``ptrace`` and
``process_vm_readv/writev`` (EPERM), so a child of a fork-server cannot reach into it;
``keyctl``, ``add_key`` and ``request_key`` (EPERM), since the session keyring the grader was
started in is otherwise readable by the child. ``socketpair`` still works (Python's
multiprocessing uses it). Syscalls of other architectures are killed.

In every case the child runs in its own process group, so a timeout kills all of it, and
with a PID namespace nothing it forks outlives it.
"""

from __future__ import annotations

import errno
import functools
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from grader.errors import SandboxError

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
TMPFS_MB = 512
"""Size of the child's ``/tmp`` (bubblewrap): a tmpfs is memory, so it gets a bound."""
SHM_MB = 256
"""Size of the child's ``/dev/shm`` (bubblewrap), its own tmpfs rather than ``/dev``'s."""
NOBODY = 65534
"""The host user a root grader's children run as, unless ``$GRADER_SANDBOX_UID`` names one."""
UID_ENV = "GRADER_SANDBOX_UID"
_SETPRIV_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP")
"""All a root bubblewrap keeps for its child: what setpriv needs to switch user and empty
the bounding set; setpriv drops them before Python starts."""


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
    privileged: bool = False
    """The grader runs as root: the child must not stay uid 0."""
    user: tuple[int, int] | None = None
    """``(uid, gid)`` of the unprivileged host user the child switches to (as root only)."""
    setpriv: str = "setpriv"
    """Path of util-linux's setpriv, which switches the child's user."""

    @property
    def network_isolated(self) -> bool:
        """The child gets its own empty network namespace (unless the task needs network)."""
        return self.kind != "none"

    @property
    def filesystem_isolated(self) -> bool:
        """The child sees the minimal filesystem view, read-only but for its private dir."""
        return self.kind == "bwrap"

    @property
    def bounds_processes(self) -> bool:
        """``RLIMIT_NPROC`` can be set: the child runs as the switched-to user, so the limit
        never counts the grader's own user's other processes (a desktop's browser threads)."""
        return self.user is not None

    @property
    def note(self) -> str | None:
        """A caveat for the report when confinement is partial; None when complete."""
        if self.privileged and self.user is None:
            return (
                "the grader runs as root and cannot switch children to an unprivileged user "
                "here (util-linux setpriv missing, or Python not readable by that user); "
                "grade untrusted submissions as a dedicated non-root user"
            )
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
        argv = [*self._switch_user(), *argv]
        if self.kind == "bwrap":
            assert self.tool is not None
            return [
                self.tool,
                *_namespace_args(network, self.privileged, switch=self.user is not None),
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

    def _switch_user(self) -> list[str]:
        """setpriv's prefix to become :attr:`user` with no capabilities; none when not root."""
        if self.user is None:
            return []
        uid, gid = self.user
        return [
            self.setpriv,
            f"--reuid={uid}",
            f"--regid={gid}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
            "--",
        ]

    def hand_over(self, root: Path) -> None:
        """Give the switched-to user what the child must write and read under ``root``.

        Everything below ``root`` (made by the grader for this run: home, work, the model
        copy, exported arrays) is chowned to that user, links never followed; ``root`` itself
        stays the grader's (so :func:`grader.sandbox.process.sweep_stale` knows it) and
        becomes traversable only (0711). Nothing to do when the child keeps the grader's uid.
        """
        if self.user is None:
            return
        uid, gid = self.user
        root.chmod(0o711)
        for folder, dirs, files in os.walk(root):
            for name in (*dirs, *files):
                os.chown(os.path.join(folder, name), uid, gid, follow_symlinks=False)


def _namespace_args(network: bool, privileged: bool, *, switch: bool) -> list[str]:
    common = ["--die-with-parent", "--new-session"]
    if not privileged:
        return ["--unshare-all", *(["--share-net"] if network else []), *common]
    # A root bwrap's own user namespace maps only uid 0 (still the host's root, with every
    # capability over its mounts): stay in the host's and let setpriv switch the user.
    unshare = ["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try"]
    keep = [arg for cap in _SETPRIV_CAPS for arg in ("--cap-add", cap)] if switch else []
    return [
        *unshare,
        *([] if network else ["--unshare-net"]),
        *common,
        "--cap-drop",
        "ALL",
        *keep,
    ]


def _view_args(
    root: Path, network: bool, hide: tuple[Path, ...], read_only: tuple[Path, ...]
) -> list[str]:
    """bwrap's filesystem: system, Python, venv, package read-only; root writable; no more."""
    view = _View(["--ro-bind", str(_SYSTEM), str(_SYSTEM)], [_SYSTEM])
    for top in map(Path, _TOP_LINKS):
        if top.is_symlink():
            view.args += ["--symlink", os.readlink(top), str(top)]
        elif top.is_dir():
            view.mount("--ro-bind", top)
    for path in (*_ETC_ALWAYS, *(_ETC_NETWORK if network else ())):
        view.mount("--ro-bind-try", Path(path))
    view.args += ["--dev", "/dev", "--proc", "/proc"]
    view.mounts += [Path("/dev"), Path("/proc")]
    view.dirs.add(Path("/tmp"))  # empty: what is bound below it still needs its parents
    for tmpfs, size_mb in (("/tmp", TMPFS_MB), ("/dev/shm", SHM_MB)):
        view.args += ["--perms", "1777", "--size", str(size_mb << 20), "--tmpfs", tmpfs]
    for path in needed():
        view.mount("--ro-bind", path)
    view.mount("--bind", root)
    for path in read_only:
        view.mount("--ro-bind", path)
    bound = (_SYSTEM, *needed())
    for folder in hide:
        if _maskable(folder, root) and any(folder.resolve().is_relative_to(b) for b in bound):
            view.args += ["--tmpfs", str(folder.resolve())]
    return view.args


@dataclass
class _View:
    """bwrap arguments being built, and what the view holds so far."""

    args: list[str]
    mounts: list[Path]
    """Paths mounted: everything below them is already in the view."""
    dirs: set[Path] = field(default_factory=set)
    """Folders made with ``--dir``."""

    def mount(self, flag: str, path: Path) -> None:
        """Mount ``path`` at the same place, its missing parents made 0755 first.

        bwrap would make them 0700, owned by root: a child switched to another user could
        not reach a bound ``/root/.pyenv/...`` or a private dir below them.
        """
        for parent in reversed(path.parents):
            if parent == Path("/") or parent in self.dirs:
                continue
            if any(parent.is_relative_to(m) for m in self.mounts):
                continue
            self.args += ["--perms", "0755", "--dir", str(parent)]
            self.dirs.add(parent)
        self.args += [flag, str(path), str(path)]
        self.mounts.append(path)


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
        for call in ("keyctl", "add_key", "request_key"):  # the grader's session keyring
            rules.add_rule(seccomp.ERRNO(errno.EPERM), call)
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


_PROBE = [sys.executable, "-I", "-c", ""]
"""What a probe runs where the child switches user: this Python, so a user that cannot read
it is caught (elsewhere ``true`` is enough)."""


def _wrapped_works(candidate: Isolation, program: bytes | None = None) -> bool:
    with tempfile.TemporaryDirectory(prefix="grader-probe-") as tmp:
        root = Path(tmp)
        (root / "work").mkdir()
        candidate.hand_over(root)
        argv = _PROBE if candidate.user is not None else ["true"]
        if program is None:
            return _works(candidate.wrap(argv, root))
        fd = seccomp_file(program)
        try:
            return _works(candidate.wrap(argv, root, seccomp_fd=fd), (fd,))
        finally:
            os.close(fd)


def sandbox_user() -> tuple[int, int]:
    """``(uid, gid)`` a root grader's children run as: ``$GRADER_SANDBOX_UID`` or nobody."""
    raw = os.environ.get(UID_ENV, "").strip()
    if not raw:
        uid = NOBODY
    elif raw.isdigit() and 0 < int(raw) < 2**32 - 1:
        uid = int(raw)
    else:
        raise SandboxError(
            f"{UID_ENV}={raw!r} is not a non-root user id; set it to a number above 0 "
            f"(an unused account's uid) or unset it to use nobody ({NOBODY})"
        )
    try:
        gid = pwd.getpwuid(uid).pw_gid
    except KeyError:  # a uid with no account is fine: it owns nothing on this machine
        gid = uid
    return uid, gid


def _candidates(privileged: bool) -> list[Isolation]:
    """Every confinement to try, strongest first; as root, each with the user switch first."""
    setpriv = shutil.which("setpriv")
    users = [sandbox_user(), None] if privileged and setpriv else [None]
    kinds: list[Isolation] = []
    bwrap = shutil.which("bwrap")
    if bwrap:
        kinds += [Isolation("bwrap", bwrap, socket_filter=f) for f in (True, False)]
    unshare = shutil.which("unshare")
    if unshare:
        for flags in _UNSHARE_VARIANTS:
            if not (privileged and "--user" in flags):  # as root it would map only uid 0
                kinds.append(Isolation("unshare", unshare, flags))
    kinds.append(Isolation("none"))
    return [
        replace(kind, privileged=privileged, user=user, setpriv=setpriv or "setpriv")
        for kind in kinds
        for user in users
    ]


@functools.cache
def isolation() -> Isolation:
    """Probe once which confinement works on this machine."""
    privileged = os.geteuid() == 0
    if not sys.platform.startswith("linux"):
        return Isolation("none", privileged=privileged)
    program = seccomp_program()
    for candidate in _candidates(privileged):
        if candidate.socket_filter and program is None:
            continue
        if candidate.kind == "none" and candidate.user is None:
            return candidate
        if _wrapped_works(candidate, program if candidate.socket_filter else None):
            return candidate
    return Isolation("none", privileged=privileged)
