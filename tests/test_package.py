"""The public API: a sorted ``__all__`` of names that exist, and no heavy imports."""

from __future__ import annotations

import subprocess
import sys

import grader


def test_all_is_sorted_and_importable() -> None:
    assert grader.__all__ == sorted(grader.__all__)
    for name in grader.__all__:
        assert hasattr(grader, name), name


def test_importing_grader_does_not_load_tensorflow_or_rich() -> None:
    code = (
        "import sys, grader, grader.cli, grader.grading\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
