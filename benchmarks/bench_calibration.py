"""Benchmark of ``innosim calibrate | assess | backtest`` at their defaults (not a test).

Run: ``.venv/bin/python benchmarks/bench_calibration.py [--repeats 1] [--executor processes
[--workers 2]]`` (the executor options go to ``calibrate`` and ``backtest``; ``assess`` runs as
it is).

Each case runs the whole command in a fresh Python process (as a user would: loading the
scenario and the data, conditioning 10,000 draws, simulating the ensembles, writing the
outputs) and prints the wall-clock seconds (best of ``--repeats``) against the goal of 15 s for
``calibrate`` and ``assess`` (issue 10), with the command's summary line. The machine is shared
and noisy: compare ratios, not absolute times, between runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sim.paths import REPO_ROOT, SCENARIO_DIR

GOAL_SECONDS = 15.0
#: The ``innosim`` console script's entry point (``sim.cli:app``), run with this interpreter.
ENTRY_POINT = "from sim.cli import app; app()"
HISTORY = REPO_ROOT / "data" / "observed" / "changzhi_2015_2020.csv"
ECONOMY = REPO_ROOT / "data" / "observed" / "changzhi_economy_2021_2023.csv"


def cases(
    out: Path, executor: list[str] | None = None
) -> dict[str, tuple[list[str], float | None]]:
    """Command lines of the benchmark and their goals (seconds), by name; ``executor``: the
    ``--executor``/``--workers`` options given to ``calibrate`` and ``backtest``."""
    baseline = str(SCENARIO_DIR / "baseline.yaml")
    economy = str(SCENARIO_DIR / "economy_2021_2023.yaml")
    runner = executor or []
    return {
        "calibrate baseline on 2015-2020": (
            ["calibrate", baseline, "--out", str(out / "calibrate"), *runner],
            GOAL_SECONDS,
        ),
        "assess as of 2023 (real economy)": (
            ["assess", economy, "--observed", str(ECONOMY), "--out", str(out / "assess")],
            GOAL_SECONDS,
        ),
        "backtest origins 2015, 2020": (
            ["backtest", baseline, "--observed", str(HISTORY), "--observed", str(ECONOMY)]
            + ["--origin", "2015", "--origin", "2020", "--out", str(out / "backtest"), *runner],
            None,
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--executor", choices=["serial", "processes", "dask"], default="serial")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    runner = [] if args.executor == "serial" else ["--executor", args.executor]
    if args.workers is not None:
        runner += ["--workers", str(args.workers)]
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}, "
        f"calibrate and backtest with {' '.join(runner) or 'the serial executor'}"
    )
    with tempfile.TemporaryDirectory() as directory:
        for name, (command, goal) in cases(Path(directory), runner).items():
            best, output = float("inf"), ""
            for _ in range(args.repeats):
                start = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-c", ENTRY_POINT, *command, "--lang", "en"],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                best = min(best, time.perf_counter() - start)
                if done.returncode != 0:
                    sys.exit(f"{name} failed:\n{done.stderr}")
                output = done.stdout
            summary = next((line for line in output.splitlines() if "effective" in line), "")
            verdict = "" if goal is None else ("  (goal met)" if best <= goal else "  (over goal)")
            target = "" if goal is None else f" / goal {goal:g} s"
            print(f"{name}: {best:.1f} s{target}{verdict}")
            if summary:
                print(f"    {summary}")


if __name__ == "__main__":
    main()
