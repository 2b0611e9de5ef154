"""Benchmark of ``innosim compare | sweep | solve`` at default settings (not a test): the
workflows ``sim.workflows.compare``, ``.sweep`` and ``.solve`` behind the command line.

Run: ``.venv/bin/python benchmarks/bench_explore.py [--repeats 1] [--keep DIR]``.

Each case runs the command in a fresh Python process (as a user would: loading the scenario,
compiling the model from the cache, simulating, writing CSV and PNG) with the scenario's own
Monte Carlo settings (``scenarios/baseline.yaml``: 10,000 LHS draws), and prints the wall-clock
seconds (best of ``--repeats``) against the goal of 60 s, followed by the command's answer.
The machine is shared and noisy: compare ratios, not absolute times, between runs.
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

from sim.paths import SCENARIO_DIR

GOAL_SECONDS = 60.0

FLOOR = "Fiscal Innovation Share Floor"
VARIANTS = ["fiscal_floor_9pct", "cultivation_doubled", "fund_leverage_high", "fund_leverage_low"]

RUNNER = (
    "import sys, typer; from sim.cli.policy_commands import register; "
    "app = typer.Typer(); register(app); app(sys.argv[1:], prog_name='innosim')"
)


def cases(out: Path) -> dict[str, list[str]]:
    """Command lines of the benchmark, by name (English output)."""
    baseline = str(SCENARIO_DIR / "baseline.yaml")
    weights = out / "equal_weights.yaml"
    lines = ["weights:"] + [f"  {name}: 1" for name in _target_names()]
    weights.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {
        "compare baseline + 4 variants": [
            "compare",
            baseline,
            *(str(SCENARIO_DIR / f"{name}.yaml") for name in VARIANTS),
        ],
        "sweep 1 lever x 13 points": ["sweep", baseline, "--lever", f"{FLOOR}=0:0.06:13"],
        "sweep 2 levers x 11 x 11": [
            "sweep",
            baseline,
            "--lever",
            f"{FLOOR}=0.01:0.05:11",
            "--lever",
            "Carrier Allocation Share=0.02:0.12:11",
            "--rebalance",
            "Public Research Allocation Share",
        ],
        "solve HTE >= 300 at 0.8 (floor)": [
            "solve",
            baseline,
            "--target",
            "high_tech_enterprises_2025",
            "--prob",
            "0.8",
            "--lever",
            FLOOR,
        ],
        "solve key labs >= 4 at 0.8 (floor)": [
            "solve",
            baseline,
            "--target",
            "provincial_key_laboratories_2025",
            "--prob",
            "0.8",
            "--lever",
            FLOOR,
        ],
        "solve --budget (all targets)": ["solve", baseline, "--budget"],
        "solve --budget (equal weights)": [
            "solve",
            baseline,
            "--budget",
            "--objective",
            str(weights),
        ],
    }


def _target_names() -> list[str]:
    from sim.scenario import load_scenario

    return [t.name for t in load_scenario(SCENARIO_DIR / "baseline.yaml").targets]


def run_case(args: list[str], out: Path) -> tuple[float, str]:
    """Seconds of one run of the command and its standard output."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, *args, "--out", str(out), "--lang", "en"],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return seconds, done.stdout + done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="runs per case (best is kept)")
    parser.add_argument("--keep", type=Path, help="keep the outputs in this directory")
    options = parser.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}")
    with tempfile.TemporaryDirectory() as scratch:
        root = options.keep or Path(scratch)
        root.mkdir(parents=True, exist_ok=True)
        results = []
        for index, (name, args) in enumerate(cases(root).items()):
            repeats = range(max(1, options.repeats))
            runs = [run_case(args, root / f"case{index}" / f"run{r}") for r in repeats]
            seconds = min(r[0] for r in runs)
            results.append((name, seconds))
            print(f"\n=== {name}: {seconds:.1f} s ({seconds / GOAL_SECONDS:.2f} of the 60 s goal)")
            print(runs[0][1].rstrip())
    print("\ncase                                   seconds   / goal")
    for name, seconds in results:
        print(f"{name:<38} {seconds:7.1f}   {seconds / GOAL_SECONDS:5.2f}")


if __name__ == "__main__":
    main()
