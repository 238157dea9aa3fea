"""Confinement probing and wrapping: what the child can see and touch."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from grader.errors import SandboxError
from grader.sandbox import confine
from grader.sandbox.confine import Isolation, isolation, sandbox_user

needs_bwrap = pytest.mark.skipif(
    not isolation().filesystem_isolated, reason="bubblewrap confinement unavailable here"
)


def run_wrapped(code: str, root: Path, **kwargs: object) -> str:
    (root / "work").mkdir(exist_ok=True)
    isolation().hand_over(root)
    argv = isolation().wrap([sys.executable, "-I", "-c", code], root, **kwargs)  # type: ignore[arg-type]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False).stdout


@needs_bwrap
def test_folders_outside_the_view_are_absent_and_hidden_ones_inside_it_empty(
    tmp_path: Path, outside_tmp: Path
) -> None:
    (outside_tmp / "labels.txt").write_text("3 1 4 1 5")
    inside = Path(tempfile.mkdtemp(dir=sys.prefix, prefix="grader-test-"))  # the venv is bound
    inside.chmod(0o755)  # readable like the rest of the venv, by a child switched to nobody
    try:
        (inside / "labels.txt").write_text("2 7 1 8")
        paths = [str(outside_tmp), str(inside)]
        code = f"import os; print([os.path.exists(p) and os.listdir(p) for p in {paths!r}])"
        root = tmp_path / "root"
        root.mkdir()
        assert run_wrapped(code, root).strip() == "[False, ['labels.txt']]"
        assert run_wrapped(code, root, hide=(outside_tmp, inside)).strip() == "[False, []]"
    finally:
        shutil.rmtree(inside)


@needs_bwrap
def test_read_only_binds_are_visible_but_not_writable(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shared = root / "data"
    shared.mkdir(parents=True)
    (shared / "x.npy").write_bytes(b"1")
    code = (
        f"import os\nprint(open({str(shared / 'x.npy')!r}).read())\n"
        f"try:\n    open({str(shared / 'y')!r}, 'w')\nexcept OSError as e:\n    print(e.errno)\n"
        f"open({str(root / 'work' / 'ok')!r}, 'w').write('w')\nprint('wrote work')"
    )
    out = run_wrapped(code, root, read_only=(shared,)).split()
    assert out == ["1", "30", "wrote", "work"]


@needs_bwrap
def test_folders_the_child_needs_are_never_hidden(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    out = run_wrapped("print('alive')", root, hide=(Path(sys.prefix), Path("/")))
    assert out.strip() == "alive"


def test_plain_fallback_notes_what_is_missing() -> None:
    assert Isolation("none").note and "network and filesystem" in (Isolation("none").note or "")
    assert Isolation("unshare", "/usr/bin/unshare").note
    assert Isolation("bwrap", "x", socket_filter=True).note is None
    assert "UNIX-socket filter" in (Isolation("bwrap", "x").note or "")
    assert Isolation("none").wrap(["python"], Path("/tmp")) == ["python"]


def test_unshare_drops_net_flag_when_network_is_allowed() -> None:
    iso = Isolation("unshare", "/usr/bin/unshare", ("--net", "--pid", "--fork"))
    assert "--net" in iso.wrap(["x"], Path("/tmp"))
    assert "--net" not in iso.wrap(["x"], Path("/tmp"), network=True)


def test_a_checkout_under_tmp_still_runs_children(tmp_path: Path) -> None:
    """The child's /tmp is a fresh tmpfs; a package living under /tmp must be bound back."""
    copy = tmp_path / "checkout"
    shutil.copytree(Path(__file__).resolve().parents[1] / "grader", copy / "grader")
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(copy)!r})\n"
        "from grader.sandbox.process import Limits, private_dir, run_script\n"
        "with private_dir() as root:\n"
        "    script = root / 'work' / 's.py'\n"
        "    script.write_text('print(40 + 2)')\n"
        "    print(run_script(script, root, Limits(wall_s=30)).log_tail)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "42", done.stderr[-500:]


as_root = pytest.mark.skipif(os.geteuid() != 0, reason="the root case: run as root, as CI does")


@as_root
@needs_bwrap
def test_as_root_the_child_is_an_unprivileged_user_without_capabilities(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    code = (
        "import os\nstatus = dict(l.split(':\\t') for l in open('/proc/self/status').read()"
        ".splitlines() if ':\\t' in l)\n"
        "print(os.getuid(), os.getgid(), os.getgroups(), "
        "[status[k].strip() for k in ('CapEff', 'CapPrm', 'CapBnd', 'CapAmb', 'NoNewPrivs')])"
    )
    uid, gid = sandbox_user()
    zero = "0000000000000000"
    assert run_wrapped(code, root).strip() == f"{uid} {gid} [] {[zero] * 4 + ['1']}"


@needs_bwrap
def test_tmp_and_dev_shm_are_sized_tmpfs_and_dev_is_not_writable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(confine, "TMPFS_MB", 4)
    monkeypatch.setattr(confine, "SHM_MB", 2)
    root = tmp_path / "root"
    root.mkdir()
    code = (
        "import os\n"
        "for path in ('/tmp/fill', '/dev/shm/fill', '/dev/fill'):\n"
        "    try:\n"
        "        with open(path, 'wb') as out:\n"
        "            for _ in range(8):\n"
        "                out.write(bytes(1 << 20))\n"
        "        print(path, 'wrote')\n"
        "    except OSError as err:\n"
        "        print(path, 'blocked', err.errno)\n"
    )
    out = run_wrapped(code, root).splitlines()
    assert out[:2] == [f"/tmp/fill blocked {errno.ENOSPC}", f"/dev/shm/fill blocked {errno.ENOSPC}"]
    if os.geteuid() == 0:  # a switched-to user cannot write bwrap's /dev at all
        assert out[2] == f"/dev/fill blocked {errno.EACCES}"


def test_a_bad_sandbox_uid_is_one_line_and_a_good_one_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for bad in ("0", "root", "-5", "1.5"):
        monkeypatch.setenv(confine.UID_ENV, bad)
        with pytest.raises(SandboxError, match=f"^{confine.UID_ENV}=") as caught:
            sandbox_user()
        assert "\n" not in str(caught.value)
    monkeypatch.setenv(confine.UID_ENV, "4242")
    assert sandbox_user() == (4242, 4242)
    monkeypatch.delenv(confine.UID_ENV)
    assert sandbox_user()[0] == confine.NOBODY


@as_root
@needs_bwrap
def test_as_root_grader_sandbox_uid_picks_the_childs_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(confine.UID_ENV, "4242")
    isolation.cache_clear()
    try:
        root = tmp_path / "root"
        root.mkdir()
        assert isolation().user == (4242, 4242)
        assert run_wrapped("import os; print(os.getuid())", root).strip() == "4242"
    finally:
        monkeypatch.delenv(confine.UID_ENV)
        isolation.cache_clear()


def test_fallbacks_as_root_switch_user_or_say_they_cannot() -> None:
    iso = Isolation("unshare", "/usr/bin/unshare", ("--net",), privileged=True, user=(9, 9))
    argv = iso.wrap(["python"], Path("/tmp"))
    assert argv[argv.index("--") + 1 :][:3] == ["setpriv", "--reuid=9", "--regid=9"]
    assert iso.note and "root" not in iso.note
    stuck = Isolation("bwrap", "x", socket_filter=True, privileged=True)
    assert stuck.note and "runs as root" in stuck.note
    assert "--cap-drop" in stuck.wrap(["python"], Path("/tmp"))
    assert not stuck.bounds_processes  # uid 0 is never counted: no false promise
