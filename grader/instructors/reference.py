"""What ``grade validate`` learns from a task's reference.py by reading it, never running it.

The scaffold's reference.py raises ``NotImplementedError`` until the instructor fills in
``solution_model()``; a training run would only say so after minutes. ``--fast`` catches it
(and a missing ``solution_model()``) with ``ast``. The starter is meant to be incomplete and
is not checked.
"""

from __future__ import annotations

import ast
from pathlib import Path


def unfilled(path: Path) -> str | None:
    """Why the reference at ``path`` is not a solution yet (one line naming the file and the
    fix), or None when it defines ``solution_model()`` and does not raise
    ``NotImplementedError`` in it."""
    try:
        tree = ast.parse(path.read_bytes(), str(path))
    except (SyntaxError, ValueError) as err:
        return f"{path} does not compile: {err}"
    defs = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name == "solution_model"
    ]
    if not defs:
        return (
            f"{path} has no solution_model(): define it to build, train and return the "
            "model (the __main__ block saves it)"
        )
    if any(_raises_not_implemented(node) for node in ast.walk(defs[-1])):
        return (
            f"{path}: solution_model() still raises NotImplementedError: replace that line "
            "with your solution (only starter.py may be left incomplete)"
        )
    return None


def _raises_not_implemented(node: ast.AST) -> bool:
    if not isinstance(node, ast.Raise) or node.exc is None:
        return False
    exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"
