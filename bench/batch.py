"""Batch throughput: 40 copies of a Fashion-MNIST model, fork-server vs a fresh child each.

One run measures, side by side on this machine:

- ``grade batch --workers 2`` with a fresh sandboxed child per model (TensorFlow imported
  for every submission) and with the per-worker fork-server (imported once per worker);
- the bare script's load + predict of one model, the import excluded: what one forked child
  must do at least.

Targets (DESIGN.md): the fork-server batch at least 2.5x faster than the fresh-child batch,
and its per-model cost at most 1.5x the bare load + predict. Also printed: the peak memory
of a fork-server (the zygote) and of one forked child.

Run: ``.venv/bin/python bench/batch.py [--n 40] [--workers 2]`` on an otherwise quiet machine.
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

from common import BARE_LOAD_PREDICT, CpuMeter, make_reference_model  # noqa: E402

import grader.instructors.fork_pool as fork_pool  # noqa: E402
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


def timed_batch(
    subs: Path, out: Path, workers: int, fork_server: bool, meter: CpuMeter
) -> tuple[float, float | None]:
    """Wall seconds and (where countable) CPU seconds of one ``grade batch`` run."""
    task = load_task("task01", ROOT / "tasks")
    cpu = meter.read()
    start = time.perf_counter()
    outcome = run_batch(
        task, subs, out=out, workers=workers, timeout_s=600, fork_server=fork_server
    )
    elapsed = time.perf_counter() - start
    after = meter.read()
    used = after - cpu if after is not None and cpu is not None else None
    bad = [g for g in outcome.graded if g.result.status not in ("pass", "fail")]
    if bad:
        raise SystemExit(f"{len(bad)} not graded: {bad[0].result.message}")
    if fork_server and any("fork-server" in n for g in outcome.graded for n in g.result.notes):
        raise SystemExit("the fork-server did not run: " + outcome.graded[0].result.notes[-1])
    return elapsed, used


PEAKS: list[tuple[int, int]] = []
"""(zygote, largest child) resident memory in kB of every fork-server, when it closed."""
CHILD_CPU: list[tuple[float, int]] = []
"""(CPU seconds of its children, models served) of every fork-server, when it closed."""


class _Watched(fork_pool.ForkServer):
    """A fork-server that records its peak memory figures for the report."""

    def close(self) -> None:
        if self.served:
            PEAKS.append((self.zygote_rss_kb, self.peak_rss_kb))
            CHILD_CPU.append((self.child_cpu_s, self.served))
        super().close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="models in the cohort")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--bare-repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}  load average: {os.getloadavg()[0]:.2f}")
    fork_pool.ForkServer = _Watched  # type: ignore[misc]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        subs = cohort(folder, args.n)
        model = subs / "student000" / "model.keras"
        bare_runs = [
            subprocess.run(
                [sys.executable, "-c", BARE_LOAD_PREDICT, str(model)],
                check=True,
                capture_output=True,
                text=True,
                cwd=ROOT,
            ).stdout.split()[-2:]
            for _ in range(args.bare_repeats)
        ]
        bare_cpu = statistics.median(float(cpu) for cpu, _ in bare_runs)
        bare = statistics.median(float(wall) for _, wall in bare_runs)
        meter = CpuMeter()
        try:
            fresh, fresh_cpu = timed_batch(subs, folder / "out-fresh", args.workers, False, meter)
            forked, forked_cpu = timed_batch(subs, folder / "out-forked", args.workers, True, meter)
        finally:
            meter.close()
    n, w = args.n, args.workers
    per_model = forked / n  # what a model costs the batch, as bare's time is one model's
    print(f"bare load+predict, import excluded:   {bare:6.2f} s per model")
    print(
        f"fresh child per model, --workers {w}: {fresh:7.1f} s for {n} ({fresh / n:5.2f} s/model)"
    )
    print(
        f"fork-server,           --workers {w}: {forked:7.1f} s for {n} ({forked / n:5.2f} s/model)"
    )
    speedup = fresh / forked
    print(f"speed-up fork-server vs fresh:       {speedup:6.2f}x  (target >= 2.5x)")
    if fresh_cpu is not None and forked_cpu is not None:
        print(
            f"CPU seconds, every process counted:   fresh {fresh_cpu:6.1f}, fork-server "
            f"{forked_cpu:6.1f}: {fresh_cpu / forked_cpu:.2f}x less (what a busy machine's "
            "wall time hides)"
        )
    print(
        f"per-model cost (batch wall / models): {per_model:5.2f} s = {per_model / bare:.2f}x bare "
        "load+predict (target <= 1.5x; includes the grader's copy, hash and inspection)"
    )
    print(
        f"  (one worker spends {forked * w / n:.2f} s per model on 1 of {os.cpu_count()} cores; "
        "the bare script uses all of them)"
    )
    cpu, served = (sum(c for c, _ in CHILD_CPU), sum(s for _, s in CHILD_CPU))
    if served:
        print(
            f"CPU of one forked child (load + predict): {cpu / served:5.2f} s per model "
            f"(the bare load+predict's CPU: {bare_cpu:5.2f} s)"
        )
    for zygote_kb, child_kb in PEAKS:
        print(
            f"peak memory: zygote {zygote_kb / 1024:6.0f} MB, one child {child_kb / 1024:6.0f} MB"
        )


if __name__ == "__main__":
    main()
