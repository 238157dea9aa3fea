"""The gradebook's cost where users feel it, measured side by side (never asserted in tests).

1. ``grade list`` with no gradebook vs with one holding N attempts and a running clock.
2. Recording an attempt (one fsynced WAL transaction) per second.

Run: ``.venv/bin/python bench/gradebook.py [--attempts N] [--repeats R]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _list_times(homes: list[Path], repeats: int) -> list[float]:
    """Median ``grade list`` wall time per workspace, runs interleaved so load hits all alike."""
    times: list[list[float]] = [[] for _ in homes]
    for _ in range(repeats):
        for i, home in enumerate(homes):
            env = {**os.environ, "GRADER_HOME": str(home)}
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "grader", "list"], env=env, capture_output=True)
            times[i].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        empty, full = Path(tmp) / "empty", Path(tmp) / "full"
        for home in (empty, full):
            shutil.copytree(ROOT / "tasks", home / "tasks")
        os.environ["GRADER_HOME"] = str(full)
        from grader.practice import gradebook as store
        from grader.practice import history
        from grader.result import Result

        store.start_clock("task01", 3600.0)
        start = time.perf_counter()
        for i in range(args.attempts):
            value = (i % 100) / 100
            history.record(Result(task="task01", status="fail", message="x" * 500, value=value))
        per_s = args.attempts / (time.perf_counter() - start)
        bare, with_book = _list_times([empty, full], args.repeats)
    print(f"record an attempt        {per_s:8.0f} /s   ({args.attempts} attempts)")
    print(f"grade list, no gradebook {bare:8.3f} s   (median of {args.repeats})")
    print(f"grade list, {args.attempts} attempts {with_book:8.3f} s   ratio {with_book / bare:.2f}")


if __name__ == "__main__":
    main()
