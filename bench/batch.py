"""Batch throughput: 40 copies of a Fashion-MNIST model graded with --workers 2 vs --workers 1.

Also the per-model cost against a bare script that imports TensorFlow, loads the same model
and predicts the same 10,000 held-out images (what one sandboxed child must do at least).
Each model is graded in its own fresh sandboxed child, as ``grade batch`` always does.

Run: ``.venv/bin/python bench/batch.py [--n 40]`` on an otherwise quiet machine.
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
sys.path.insert(0, str(ROOT))

from common import BARE_SCRIPT, make_reference_model  # noqa: E402

from grader.instructors.batch import run_batch  # noqa: E402
from grader.tasks.spec import load_task  # noqa: E402


def cohort(folder: Path, n: int) -> Path:
    """``n`` student folders, each holding the task01 reference architecture (untrained)."""
    model = folder / "model.keras"
    make_reference_model(model)
    subs = folder / "subs"
    for i in range(n):
        (subs / f"student{i:03d}").mkdir(parents=True)
        shutil.copyfile(model, subs / f"student{i:03d}" / "model.keras")
    return subs


def timed_batch(subs: Path, out: Path, workers: int) -> float:
    task = load_task("task01", ROOT / "tasks")
    start = time.perf_counter()
    outcome = run_batch(task, subs, out=out, workers=workers, timeout_s=600)
    elapsed = time.perf_counter() - start
    bad = [g for g in outcome.graded if g.result.status not in ("pass", "fail")]
    if bad:
        raise SystemExit(f"{len(bad)} not graded: {bad[0].result.message}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="models in the cohort")
    parser.add_argument("--bare-repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}  load average: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        subs = cohort(folder, args.n)
        model = subs / "student000" / "model.keras"
        bare = statistics.median(
            _run([sys.executable, "-c", BARE_SCRIPT, str(model)]) for _ in range(args.bare_repeats)
        )
        one = timed_batch(subs, folder / "out1", 1)
        two = timed_batch(subs, folder / "out2", 2)
    print(f"bare load+predict (own process):  {bare:6.2f} s per model")
    print(
        f"--workers 1: {one:7.1f} s for {args.n}  ({one / args.n:5.2f} s per model, "
        f"{one / args.n / bare:.2f}x bare)"
    )
    print(f"--workers 2: {two:7.1f} s for {args.n}  ({two / args.n:5.2f} s per model)")
    print(f"speed-up workers 2 vs 1: {one / two:.2f}x  (target >= 1.7x)")


def _run(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
