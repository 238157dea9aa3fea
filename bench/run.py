"""Budgets from DESIGN.md, measured side by side in one run (never timed asserts in tests).

1. ``grade --help`` and ``grade list``: wall time, and proof that TensorFlow is not imported.
2. ``grade task01 --model M`` vs a bare script that imports TensorFlow, loads M and predicts
   the same 10,000 held-out images: the ratio must stay at or under 1.25.

Run: ``make bench`` (or ``.venv/bin/python bench/run.py [--repeats N]``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import BARE_SCRIPT, make_reference_model

ROOT = Path(__file__).resolve().parents[1]
GRADE = [str(Path(sys.executable).with_name("grade"))]  # the console script users type


def timed(argv: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=False, capture_output=True, cwd=ROOT, env=env)
    return time.perf_counter() - start


def median_of(argv: list[str], repeats: int) -> float:
    return statistics.median(timed(argv) for _ in range(repeats))


def cli_startup(repeats: int) -> None:
    # Measure the installed package as pip leaves it: byte-compiled (the editable checkout
    # would otherwise recompile every module on each run when PYTHONDONTWRITEBYTECODE is set).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "grader")], env=env)
    probe = (
        "import sys\nfrom typer.testing import CliRunner\nfrom grader.cli import app\n"
        "CliRunner().invoke(app, ['list'])\n"
        "print('tensorflow' in sys.modules or 'keras' in sys.modules)\n"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    python = median_of([sys.executable, "-c", "pass"], repeats)
    print(f"python -c pass           {python:6.3f} s   (interpreter floor)")
    for args in (["--help"], ["list"]):
        t = median_of([*GRADE, *args], repeats)
        verdict = "ok" if t < 0.3 else "OVER 0.3 s budget"
        print(f"grade {' '.join(args):<18} {t:6.3f} s   {verdict}")
    print(f"TensorFlow imported by grade list: {loaded.stdout.strip()}")


def grade_vs_bare(repeats: int, model: Path | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if model is None:
            model = Path(tmp) / "model.keras"
            make_reference_model(model)
        bare_script = Path(tmp) / "bare.py"
        bare_script.write_text(BARE_SCRIPT)
        # Warm the parsed-array cache and the page cache once for both sides.
        timed([*GRADE, "task01", "--model", str(model), "--json"])
        bare, grade = [], []
        for _ in range(repeats):
            bare.append(timed([sys.executable, str(bare_script), str(model)]))
            grade.append(timed([*GRADE, "task01", "--model", str(model), "--json"]))
        b, g = statistics.median(bare), statistics.median(grade)
        print(f"bare load+predict        {b:6.2f} s   (median of {repeats}: {_fmt(bare)})")
        print(f"grade task01 --model M   {g:6.2f} s   (median of {repeats}: {_fmt(grade)})")
        verdict = "ok" if g / b <= 1.25 else "OVER the 1.25x budget"
        print(f"ratio grade / bare       {g / b:6.2f} x   {verdict}")


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--model", type=Path, default=None, help="model to time (default: built)")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    print(f"cores: {os.cpu_count()}  python: {sys.version.split()[0]}")
    cli_startup(args.repeats)
    grade_vs_bare(args.repeats, args.model)


if __name__ == "__main__":
    main()
