"""Benchmark of ``innosim sensitivity`` and ``innosim discover`` at their default settings
(not a test; prints figures for docs/performance.md). Goal: each command < 60 s.

Run: ``.venv/bin/python benchmarks/bench_drivers.py [--repeats 1] [--scenario PATH]``.

Each command runs end to end in a fresh Python process (imports, scenario, model, runs,
analysis, charts, files), as a user runs it; then the phases of the Sobol' analysis are timed
in this process: SALib design and ppf mapping, simulation, SALib estimators, charts.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from sim.paths import DEFAULT_SCENARIO_PATH, REPO_ROOT

GOAL_SECONDS = 60.0
LAUNCH = (
    "import typer; from sim.cli.driver_commands import register; "
    "app = typer.Typer(); register(app); app()"
)
COMMANDS = {
    "sensitivity (sobol)": ["sensitivity"],
    "sensitivity (morris)": ["sensitivity", "--method", "morris"],
    "discover (contract target)": ["discover", "--target", "technology_contract_turnover_2025"],
}


def _command_seconds(args: list[str], scenario: Path, repeats: int) -> tuple[float, float]:
    """Median wall time and largest child max RSS (MiB) of the command."""
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as out:
            command = [sys.executable, "-c", LAUNCH, args[0], str(scenario), *args[1:]]
            start = time.perf_counter()
            subprocess.run(
                [*command, "--out", out, "--lang", "en"],
                cwd=REPO_ROOT,
                check=True,
                capture_output=True,
            )
            times.append(time.perf_counter() - start)
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return statistics.median(times), rss


def _sobol_phases(scenario_path: Path) -> dict[str, float]:
    from sim.analysis import sensitivity_indices as sa
    from sim.engine import compile_model
    from sim.engine.ensemble import monte_carlo_settings, scenario_inputs
    from sim.report.figures import figure_png
    from sim.report.sensitivity_charts import sensitivity_chart
    from sim.scenario import load_scenario
    from sim.workflows.sensitivity import DEFAULT_SAMPLES, target_values

    phases: dict[str, float] = {}
    start = time.perf_counter()
    scenario = load_scenario(scenario_path)
    compiled = compile_model()
    phases["load scenario and model"] = time.perf_counter() - start

    samples = DEFAULT_SAMPLES["sobol"]
    uncertain, paths = sorted(scenario.uncertainties), sorted(scenario.paths)
    names = [*uncertain, *paths]
    start = time.perf_counter()
    # as sim.workflows.sensitivity.run_sensitivity: each path is one input choosing a realisation
    unit = sa.design(names, "sobol", samples, scenario.monte_carlo.seed)
    drawn = sa.to_model_units(unit[:, : len(uncertain)], scenario.uncertainties, uncertain, "sobol")
    probabilities = sa.to_probabilities(unit[:, len(uncertain) :], "sobol")
    realisation = {
        name: np.minimum((probabilities[:, j] * samples).astype(np.intp), samples - 1)
        for j, name in enumerate(paths)
    }
    settings = monte_carlo_settings(scenario, draws=samples)
    placeholders = {name: np.zeros(samples) for name in uncertain}
    realisations = scenario_inputs(scenario, settings, compiled, uncertainty_draws=placeholders)
    shocks = {
        name: realisations.exogenous[name].prior_shocks(samples, settings.seed)[realisation[name]]
        for name in realisations.paths
    }
    inputs = realisations.with_draws(drawn, shocks if shocks else None)
    phases[f"SALib design + ppf + paths ({len(unit):,} runs)"] = time.perf_counter() - start

    start = time.perf_counter()
    values = target_values(compiled, scenario.targets, inputs.fixed, inputs.per_draw, len(unit))
    seconds = time.perf_counter() - start
    phases[f"simulate ({len(unit) / seconds:,.0f} runs/s)"] = seconds

    start = time.perf_counter()
    table = sa.sensitivity_table(unit, values, scenario.targets, "sobol", names)
    analysed = int(table.groupby(["target", "output"])["ST"].apply(lambda s: s.notna().any()).sum())
    phases[f"SALib estimators ({analysed} outputs, 100 resamples)"] = time.perf_counter() - start

    start = time.perf_counter()
    labels = {name: name for name in names}
    for target in scenario.targets:
        figure_png(sensitivity_chart(table, target, "sobol", "en", labels, len(unit), samples))
    phases[f"charts ({len(scenario.targets)} PNG)"] = time.perf_counter() - start
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=1, help="runs per command (median)")
    parser.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO_PATH)
    args = parser.parse_args()

    print(f"scenario {args.scenario.name}; goal < {GOAL_SECONDS:.0f} s per command")
    print(f"{'command':<28} {'seconds':>8} {'of goal':>8}")
    for label, command in COMMANDS.items():
        seconds, _ = _command_seconds(command, args.scenario, args.repeats)
        print(f"{label:<28} {seconds:>8.1f} {seconds / GOAL_SECONDS:>8.0%}")
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"largest command max RSS {rss:.0f} MiB")
    print("\nphases of sensitivity (sobol, default samples), in this process:")
    for phase, seconds in _sobol_phases(args.scenario).items():
        print(f"  {phase:<48} {seconds:>6.1f} s")


if __name__ == "__main__":
    main()
