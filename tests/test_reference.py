"""reference.py read without running it: filled in, or not yet."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.instructors.reference import unfilled

FILLED = "def solution_model():\n    helper = NotImplemented\n    return helper\n"


@pytest.mark.parametrize(
    ("code", "says"),
    [
        (FILLED, None),
        ("def solution_model():\n    if True:\n        raise NotImplementedError()\n", "still"),
        ("def solution_model():\n    raise NotImplementedError\n", "still"),
        ("def solution_model():\n    raise ValueError('no')\n", None),
        ("def build():\n    pass\n", "has no solution_model()"),
        ("x = (\n", "does not compile"),
    ],
)
def test_unfilled_names_the_file_and_the_fix(tmp_path: Path, code: str, says: str | None) -> None:
    path = tmp_path / "reference.py"
    path.write_text(code)
    problem = unfilled(path)
    if says is None:
        assert problem is None
    else:
        assert problem is not None and says in problem and str(path) in problem
