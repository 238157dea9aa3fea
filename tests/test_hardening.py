"""Hardening guarantees that a lax test could not tell from their absence.

Bubblewrap gives the child an empty /tmp, and pytest's ``tmp_path`` lives in /tmp: a write
to a ``tmp_path`` target fails in the child whether or not the host filesystem is read-only
to it. Every target here therefore lies outside /tmp (a folder under /var/tmp, removed
afterwards), and each test asserts both what the child saw and what the host kept.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from grader.cli import app
from grader.grading.pipeline import grade_file
from grader.sandbox.confine import isolation
from grader.sandbox.process import Limits, RunOutcome, child_env, predict, private_dir, run_script
from grader.sandbox.static_check import inspect_model
from grader.tasks.spec import TaskSpec
from tests.conftest import ModelFactory

needs_bwrap = pytest.mark.skipif(
    not isolation().filesystem_isolated, reason="bubblewrap confinement unavailable here"
)
REFUSED = {errno.EROFS, errno.ENOENT, errno.EACCES}
"""How a write outside the private dir may fail: read-only (EROFS), not in the child's view
at all (ENOENT), or not permitted (EACCES)."""
SET_BY_BUBBLEWRAP = {"PWD"}
"""Variables the child may see beyond child_env(): bubblewrap's --chdir exports PWD."""


def run(source: str, **kwargs: Any) -> tuple[RunOutcome, list[str], Path]:
    """Run ``source`` as a solution in a fresh private dir; also return that dir's path."""
    lines: list[str] = []
    with private_dir() as root:
        script = root / "work" / "solution.py"
        script.write_text(source)
        outcome = run_script(script, root, Limits(wall_s=60), on_output=lines.append, **kwargs)
    return outcome, lines, root


def attempt(label: str, code: str) -> str:
    """Child code that runs ``code`` and prints ``label wrote`` or ``label blocked ERRNO``."""
    return (
        "try:\n"
        f"    {code}\n"
        f"    print({label!r}, 'wrote')\n"
        "except OSError as err:\n"
        f"    print({label!r}, 'blocked', err.errno)\n"
    )


def refused(lines: list[str], label: str) -> bool:
    """The child tried ``label`` and the OS refused it with one of REFUSED."""
    found = [line.split() for line in lines if line.startswith(f"{label} ")]
    assert found, f"the child never reported {label!r}: {lines}"
    return found[0][1] == "blocked" and int(found[0][2]) in REFUSED


@needs_bwrap
def test_script_cannot_write_outside_tmp_or_touch_existing_host_files(outside_tmp: Path) -> None:
    """Supersedes test_process.py::test_script_cannot_write_outside_its_private_dir."""
    target = outside_tmp / "results.json"
    kept = outside_tmp / "gradebook.sqlite"
    kept.write_text("the real gradebook")
    source = (
        attempt("create", f"open({str(target)!r}, 'w').write('{{\"status\": \"pass\"}}')")
        + attempt("overwrite", f"open({str(kept)!r}, 'w').write('forged')")
        + attempt("delete", f"__import__('os').remove({str(kept)!r})")
        + attempt("mkdir", f"__import__('os').mkdir({str(outside_tmp / 'new')!r})")
    )
    outcome, lines, _ = run(source)
    assert outcome.returncode == 0, lines
    assert not target.exists() and not (outside_tmp / "new").exists()
    assert kept.read_text() == "the real gradebook"
    for label in ("create", "overwrite", "delete", "mkdir"):
        assert refused(lines, label), lines


def test_keras_json_rewrite_lands_in_the_private_home_not_the_users(
    outside_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Supersedes test_process.py::test_keras_json_rewrite_stays_in_the_private_home."""
    monkeypatch.setenv("HOME", str(outside_tmp))
    source = (
        "import os, pathlib\n"
        "print(os.environ['HOME'])\n"
        "print(os.environ['KERAS_HOME'])\n"
        "p = pathlib.Path(os.path.expanduser('~/.keras/keras.json'))\n"
        "p.parent.mkdir(parents=True, exist_ok=True)\n"
        'p.write_text(\'{"image_data_format": "channels_first"}\')\n'
        "print(p.read_text())\n"
    )
    outcome, lines, root = run(source)
    assert outcome.returncode == 0, lines
    assert lines[:2] == [str(root / "home"), str(root / "keras")]
    assert json.loads(lines[2]) == {"image_data_format": "channels_first"}
    assert list(outside_tmp.iterdir()) == []


def test_child_environment_is_exactly_child_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Supersedes test_process.py::test_child_environment_is_minimal_and_private."""
    monkeypatch.setenv("GRADER_CANARY_SECRET", "x")
    source = (
        "import json, os, sys\nprint(json.dumps(dict(os.environ)))\nprint(sys.flags.isolated)\n"
    )
    outcome, lines, root = run(source)
    assert outcome.returncode == 0, lines
    seen = json.loads(lines[0])
    expected = child_env(root)
    assert "GRADER_CANARY_SECRET" not in seen
    assert set(seen) - set(expected) <= SET_BY_BUBBLEWRAP, sorted(set(seen) - set(expected))
    assert {k: seen.get(k) for k in expected} == expected
    if "PWD" in seen:
        assert seen["PWD"] == str(root / "work")
    assert lines[1] == "1"  # python -I: no PYTHONPATH, no user site, no script dir games


@pytest.fixture
def workspace_outside_tmp(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The ``workspace`` fixture's layout, copied to a folder under /var/tmp."""
    root = Path(tempfile.mkdtemp(prefix="grader-ws-", dir="/var/tmp"))
    try:
        shutil.copytree(workspace, root, dirs_exist_ok=True)
        monkeypatch.setenv("GRADER_HOME", str(root))
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


SAVE_FAILING_MODEL = """
from pathlib import Path
import numpy as np
import keras

model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                          keras.layers.Dense(4, activation="softmax")])
kernel = np.zeros((784, 4), np.float32)
for cls, answer in enumerate((1, 0, 3, 2)):
    kernel[cls, answer] = 10.0
model.layers[-1].set_weights([kernel, np.zeros(4, np.float32)])
model.save(Path(__file__).with_name("model.keras"))
print("PASS 100%, score 5/5")
"""


@needs_bwrap
@pytest.mark.slow
def test_solution_cannot_forge_results_or_edit_its_task_in_the_workspace(
    workspace_outside_tmp: Path,
) -> None:
    """Supersedes test_training.py::test_fake_pass_and_own_results_file_cannot_change_the_grade:
    its workspace lay in /tmp and a try/except hid whether the fake file was written."""
    ws = workspace_outside_tmp
    fake = ws / ".grader" / "results.json"
    toml = ws / "tasks" / "tiny01" / "task.toml"
    before = toml.read_text()
    forged = before.replace("threshold = 0.9", "threshold = 0.0")
    source = (
        SAVE_FAILING_MODEL
        + attempt("mkdir", f"Path({str(fake.parent)!r}).mkdir(parents=True, exist_ok=True)")
        + attempt("results", f'Path({str(fake)!r}).write_text(\'{{"status": "pass"}}\')')
        + attempt("task", f"Path({str(toml)!r}).write_text({forged!r})")
    )
    folder = ws / "solutions" / "tiny01"
    folder.mkdir(parents=True)
    (folder / "solution.py").write_text(source)
    result = CliRunner().invoke(app, ["tiny01", "--train", "--json"])
    # The child may "succeed" inside its own throwaway view (a minimal view has no /var, and
    # mkdir then makes one in memory): only what the host kept counts.
    for label in ("results", "task"):
        assert re.search(rf"\b{label} (wrote|blocked)", result.stderr), result.stderr
    assert not fake.exists()
    assert toml.read_text() == before
    assert result.exit_code == 1, result.output
    record = json.loads(result.stdout)
    assert record["status"] == "fail" and record["value"] == 0.0


@pytest.mark.slow
def test_model_swapped_on_disk_mid_grade_changes_nothing(
    tiny_task: TaskSpec,
    pixel_model: ModelFactory,
    outside_tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """grade() copies and hashes the model once; swapping the learner's file after that (before
    inspection, and again before the child starts) must not reach the child or the hash."""
    original = outside_tmp / "model.keras"
    shutil.copyfile(pixel_model("good.keras"), original)
    good_bytes = original.read_bytes()
    swap_bytes = pixel_model("bad.keras", permute=(1, 0, 3, 2)).read_bytes()
    swaps: list[str] = []

    def swapping(name: str, real: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            original.write_bytes(swap_bytes)
            swaps.append(name)
            return real(*args, **kwargs)

        return wrapper

    monkeypatch.setattr("grader.grading.pipeline.inspect_model", swapping("inspect", inspect_model))
    monkeypatch.setattr("grader.grading.pipeline.predict", swapping("predict", predict))
    result = grade_file(tiny_task, original)
    assert "inspect" in swaps and "predict" in swaps
    assert original.read_bytes() == swap_bytes
    assert result.status == "pass" and result.value == 1.0, result.message
    assert result.model_sha256 == hashlib.sha256(good_bytes).hexdigest()
    assert result.model_path == str(original)


MOUNT_ATTEMPTS = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
MS_RDONLY, MS_REMOUNT, MS_BIND = 1, 32, 4096

def report(label, rc):
    print(label, "done" if rc == 0 else f"blocked {{ctypes.get_errno()}}")

report("remount-usr", libc.mount(None, b"/usr", None, MS_REMOUNT | MS_BIND, None))
report("remount-venv", libc.mount(None, sys.prefix.encode(), None, MS_REMOUNT | MS_BIND, None))
report("umount-cover", libc.umount2({hidden!r}.encode(), 2))
report("umount-usr", libc.umount2(b"/usr", 2))
for label, path in (("write-usr", "/usr/{marker}"), ("write-venv", sys.prefix + "/{marker}")):
    try:
        open(path, "w").write("planted")
        print(label, "done")
    except OSError as err:
        print(label, "blocked", err.errno)
print("hidden", os.listdir({hidden!r}))
for label, call in (("mknod", lambda: os.mknod("disk", 0o600 | 0o060000, os.makedev(8, 0))),
                    ("chroot", lambda: os.chroot("/tmp"))):
    try:
        call()
        print(label, "done")
    except OSError as err:
        print(label, "blocked", err.errno)
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="the root case: run as root, as CI does")
@needs_bwrap
def test_as_root_a_script_cannot_unmount_remount_mknod_or_chroot() -> None:
    """Root's capabilities would let solution.py lift the cover off hidden data and plant
    files in /usr or the venv for the next grade: every attempt fails, the host is unchanged."""
    hidden = Path(tempfile.mkdtemp(dir=sys.prefix, prefix="grader-test-"))  # bound, then hidden
    hidden.chmod(0o755)
    (hidden / "labels.npy").write_bytes(b"secret")
    marker = f"grader-test-{os.getpid()}"
    try:
        source = MOUNT_ATTEMPTS.format(hidden=str(hidden), marker=marker)
        _, lines, _ = run(source, hide=(hidden,))
        said = dict(line.split(" ", 1) for line in lines if " " in line)
        refused = ("remount-usr", "remount-venv", "umount-cover", "umount-usr", "mknod", "chroot")
        for label in refused:
            assert said[label] == f"blocked {errno.EPERM}", (label, lines)
        assert said["write-usr"] == said["write-venv"] == f"blocked {errno.EROFS}", lines
        assert said["hidden"] == "[]", lines
        assert not (Path("/usr") / marker).exists()
        assert not (Path(sys.prefix) / marker).exists()
    finally:
        shutil.rmtree(hidden)
        for planted in (Path("/usr") / marker, Path(sys.prefix) / marker):
            planted.unlink(missing_ok=True)
