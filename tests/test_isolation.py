"""Confinement probing and wrapping: what the child can see and touch."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.isolation import Isolation, isolation

needs_bwrap = pytest.mark.skipif(
    not isolation().filesystem_isolated, reason="bubblewrap confinement unavailable here"
)


@pytest.fixture
def outside_tmp() -> Iterator[Path]:
    """A folder outside /tmp, which the child gets as a fresh tmpfs anyway."""
    folder = Path(tempfile.mkdtemp(dir="/var/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def run_wrapped(code: str, root: Path, **kwargs: object) -> str:
    (root / "work").mkdir(exist_ok=True)
    argv = isolation().wrap([sys.executable, "-I", "-c", code], root, **kwargs)  # type: ignore[arg-type]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False).stdout


@needs_bwrap
def test_hidden_folder_is_empty_inside_the_child(tmp_path: Path, outside_tmp: Path) -> None:
    secret = outside_tmp
    (secret / "labels.txt").write_text("3 1 4 1 5")
    code = f"import os; print(os.listdir({str(secret)!r}))"
    root = tmp_path / "root"
    root.mkdir()
    assert run_wrapped(code, root).strip() == "['labels.txt']"
    assert run_wrapped(code, root, hide=(secret,)).strip() == "[]"


@needs_bwrap
def test_folders_the_child_needs_are_never_hidden(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    out = run_wrapped("print('alive')", root, hide=(Path(sys.prefix), Path("/")))
    assert out.strip() == "alive"


def test_plain_fallback_notes_what_is_missing() -> None:
    assert Isolation("none").note and "network and filesystem" in (Isolation("none").note or "")
    assert Isolation("unshare", "/usr/bin/unshare").note and not Isolation("bwrap", "x").note
    assert Isolation("none").wrap(["python"], Path("/tmp")) == ["python"]


def test_unshare_drops_net_flag_when_network_is_allowed() -> None:
    iso = Isolation("unshare", "/usr/bin/unshare", ("--net", "--pid", "--fork"))
    assert "--net" in iso.wrap(["x"], Path("/tmp"))
    assert "--net" not in iso.wrap(["x"], Path("/tmp"), network=True)
