"""grader.atomic.replacing: the final name shows the whole new content or the old one."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from grader.atomic import replacing


def test_a_file_appears_whole_only_when_the_block_succeeds(tmp_path: Path) -> None:
    final = tmp_path / "grades.csv"
    final.write_text("old")
    with pytest.raises(RuntimeError), replacing(final) as staging:
        staging.write_text("half of the new")
        assert final.read_text() == "old"
        raise RuntimeError("crash mid-write")
    assert final.read_text() == "old" and list(tmp_path.iterdir()) == [final]
    with replacing(final) as staging:
        staging.write_text("new")
    assert final.read_text() == "new" and list(tmp_path.iterdir()) == [final]


def test_a_link_at_the_final_name_is_replaced_never_written_through(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep")
    final = tmp_path / "model.keras"
    final.symlink_to(victim)
    with replacing(final) as staging:
        staging.write_text("model")
    assert victim.read_text() == "keep"
    assert not final.is_symlink() and final.read_text() == "model"


def test_a_folder_replaces_an_earlier_one_or_leaves_it_alone(tmp_path: Path) -> None:
    final = tmp_path / "entry"
    final.mkdir()
    (final / "old.npy").write_text("old")
    with pytest.raises(OSError), replacing(final, folder=True) as staging:
        (staging / "new.npy").write_text("new")
        raise OSError("disk full")
    assert [p.name for p in final.iterdir()] == ["old.npy"]
    assert list(tmp_path.iterdir()) == [final]
    with replacing(final, folder=True) as staging:
        (staging / "new.npy").write_text("new")
    assert [p.name for p in final.iterdir()] == ["new.npy"]


def test_a_file_gets_the_mode_a_plain_open_gives_not_0600(tmp_path: Path) -> None:
    """mkstemp's 0600 left batch exports unreadable to the group the user shares them with."""
    old = os.umask(0o022)
    try:
        with replacing(tmp_path / "gradebook.csv") as staging:
            staging.write_text("a,b\n")
        os.umask(0o027)
        with replacing(tmp_path / "private.csv") as staging:
            staging.write_text("a,b\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "gradebook.csv").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "private.csv").stat().st_mode) == 0o640
