"""Which OS confinement this machine offers a child, probed once, strongest first.

- ``bwrap`` (bubblewrap): the whole filesystem read-only except the run's private dir, a
  fresh /tmp, and new user, PID, IPC, UTS and network namespaces.
- ``unshare``: new network and PID namespaces only; the filesystem is not confined.
- ``none``: plain child process; the report carries a note saying so.

In every case the child runs in its own process group, so a timeout kills all of it, and
with a PID namespace nothing it forks outlives it.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

_UNSHARE_VARIANTS = (
    ("--user", "--map-root-user", "--net", "--pid", "--fork", "--kill-child"),
    ("--net", "--pid", "--fork", "--kill-child"),
)


@dataclass(frozen=True)
class Isolation:
    """How children are confined here, and how to wrap a command accordingly."""

    kind: str
    """``bwrap``, ``unshare`` or ``none``."""
    tool: str | None = None
    """Path of the wrapping program."""
    flags: tuple[str, ...] = ()
    """Flags that worked in the probe (unshare only)."""

    @property
    def network_isolated(self) -> bool:
        """The child gets its own empty network namespace (unless the task needs network)."""
        return self.kind != "none"

    @property
    def filesystem_isolated(self) -> bool:
        """Everything outside the private dir is read-only to the child."""
        return self.kind == "bwrap"

    @property
    def note(self) -> str | None:
        """A caveat for the report when confinement is partial; None when complete."""
        if self.kind == "bwrap":
            return None
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
    ) -> list[str]:
        """``argv`` confined to ``root`` (writable), with or without network.

        ``hide`` lists folders to cover with an empty tmpfs (bwrap only), e.g. where held-out
        labels live, so that even code execution inside the child cannot read them.
        """
        if self.kind == "bwrap":
            assert self.tool is not None
            share = ["--share-net"] if network else []
            masks = [a for p in hide if _maskable(p, root) for a in ("--tmpfs", str(p))]
            # /tmp becomes an empty tmpfs; what the child runs from may live there (a checkout
            # or venv under /tmp), so those folders are bound back, read-only.
            keep = [a for p in _under_tmp(_needed()) for a in ("--ro-bind", str(p), str(p))]
            return [
                self.tool,
                *("--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", *masks),
                *("--tmpfs", "/tmp", *keep, "--bind", str(root), str(root)),
                *("--unshare-all", *share, "--die-with-parent", "--new-session"),
                *("--chdir", str(root / "work"), "--"),
                *argv,
            ]
        if self.kind == "unshare":
            assert self.tool is not None
            flags = [f for f in self.flags if f != "--net"] if network else list(self.flags)
            return [self.tool, *flags, "--", *argv]
        return argv


def _needed() -> tuple[Path, ...]:
    """What every child runs from: the Python installation, the venv, this package."""
    return tuple(
        dict.fromkeys(
            p.resolve() for p in (Path(sys.prefix), Path(sys.base_prefix), Path(__file__).parent)
        )
    )


def _under_tmp(paths: tuple[Path, ...]) -> list[Path]:
    return [p for p in paths if p.is_relative_to("/tmp") and p != Path("/tmp")]


def _maskable(folder: Path, root: Path) -> bool:
    """A folder may be hidden unless the child needs what is inside it (Python, itself)."""
    needed = (*_needed(), root.resolve())
    return folder.is_dir() and not any(n.is_relative_to(folder.resolve()) for n in needed)


def _works(argv: list[str]) -> bool:
    try:
        probe = subprocess.run(argv, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


@functools.cache
def isolation() -> Isolation:
    """Probe once which confinement works on this machine."""
    if not sys.platform.startswith("linux"):
        return Isolation("none")
    bwrap = shutil.which("bwrap")
    if bwrap:
        candidate = Isolation("bwrap", bwrap)
        probe_root = Path("/tmp")
        argv = candidate.wrap(["true"], probe_root)
        argv[argv.index("--chdir") + 1] = "/"
        if _works(argv):
            return candidate
    unshare = shutil.which("unshare")
    if unshare:
        for flags in _UNSHARE_VARIANTS:
            if _works([unshare, *flags, "true"]):
                return Isolation("unshare", unshare, flags)
    return Isolation("none")
