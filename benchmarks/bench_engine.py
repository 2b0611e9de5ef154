"""Benchmark of the ensemble engine against PySD (not a test; prints figures for docs/).

Run: ``.venv/bin/python benchmarks/bench_engine.py [--sizes 1000 10000 100000]``.

Draws: every uncertain constant of ``scenarios/baseline.yaml`` as a per-draw array (uniform
over its ``min``-``max`` range, or ±30 % of the default), its drivers and yearly paths as the
commands build them (``sim.engine.ensemble.scenario_inputs``: a per-draw time path each), the rest
scalar; outputs: the scenario's ``outputs`` completed to 20 from a fixed list, at SAVEPER over
the model's whole horizon.
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import time
import tracemalloc
from importlib import metadata
from pathlib import Path

import numpy as np
import yaml

from sim.engine import compile_model, simulate
from sim.paths import DEFAULT_SCENARIO_PATH
from sim.vensim import load_model, pysd_deprecations_silenced

FALLBACK_OUTPUTS = [
    "High Tech Enterprises",
    "New HTE Certifications",
    "Technology Contract Turnover",
    "RD Intensity",
    "Government Innovation Share Of Expenditure",
    "Provincial Key Laboratories",
    "Engineering Technology Research Centers",
    "City Platforms Added In Plan Period",
    "Talents Added In Plan Period",
    "Effective Invention Patents",
    "Innovation Carriers",
    "Tech SMEs",
    "Innovative Leading Enterprises",
    "GDP",
    "RD Expenditure",
    "Guidance Fund Capital",
    "Fiscal Innovation Input",
    "Fund Portfolio",
    "Innovation Talents",
    "City Innovation Platforms",
]


def _scenario_setup(compiled, scenario: Path) -> tuple[dict[str, tuple[float, float]], list[str]]:
    ranges: dict[str, tuple[float, float]] = {}
    outputs = list(FALLBACK_OUTPUTS)
    try:
        data = yaml.safe_load(scenario.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        data = {}
    for name, spec in (data.get("uncertainties") or {}).items():
        if name not in compiled.constants:
            continue
        default = compiled.constants[name]
        low = spec.get("min", default * 0.7) if isinstance(spec, dict) else default * 0.7
        high = spec.get("max", default * 1.3) if isinstance(spec, dict) else default * 1.3
        ranges[name] = (float(low), float(high))
    listed = [o for o in (data.get("outputs") or []) if o in compiled.variables]
    outputs = list(dict.fromkeys(listed + FALLBACK_OUTPUTS))[: max(20, len(listed))]
    return ranges, outputs


def _draws(ranges: dict[str, tuple[float, float]], n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.uniform(low, high, n) for name, (low, high) in ranges.items()}


def _exogenous(compiled, scenario: Path, n: int, seed: int) -> dict:
    """The scenario's drivers and paths for ``n`` draws (time paths, per draw for a path)."""
    from sim.engine.ensemble import monte_carlo_settings, scenario_inputs
    from sim.scenario import load_scenario

    resolved = load_scenario(scenario)
    if not resolved.exogenous():
        return {}
    inputs = scenario_inputs(resolved, monte_carlo_settings(resolved, n, seed), compiled)
    return {name: inputs.fixed[name] for name in inputs.exogenous if name in inputs.fixed} | (
        inputs.paths
    )


def _pysd_seconds(repeats: int) -> float:
    times = []
    for _ in range(repeats):
        model = load_model()  # fresh model, as a Monte Carlo over PySD has to do
        start = time.perf_counter()
        with pysd_deprecations_silenced():
            model.run(progress=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--repeats", type=int, default=3, help="engine runs per size (best)")
    parser.add_argument("--pysd-runs", type=int, default=5)
    parser.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO_PATH)
    args = parser.parse_args()

    compiled = compile_model()
    ranges, outputs = _scenario_setup(compiled, args.scenario)
    print(
        f"model {compiled.path.name}: {len(compiled.variables)} variables, "
        f"{len(compiled.times())} save times, TIME STEP {compiled.time_step}"
    )
    paths = _exogenous(compiled, args.scenario, 10, 0)
    print(
        f"per-draw constants: {len(ranges)}; drivers and paths: {len(paths)}; "
        f"outputs: {len(outputs)}"
    )
    simulate(compiled, 10, _draws(ranges, 10, 0) | paths, outputs)  # generate + warm up

    pysd = _pysd_seconds(args.pysd_runs)
    print(
        f"PySD {metadata.version('pysd')} on Python {platform.python_version()}: "
        f"{pysd * 1e3:.1f} ms per run "
        f"(median of {args.pysd_runs}, run only, fresh model each)"
    )
    print(f"{'draws':>8} {'seconds':>9} {'draws/s':>11} {'x PySD/draw':>12} {'peak MiB':>9}")
    for n in args.sizes:
        params = _draws(ranges, n, seed=n) | _exogenous(compiled, args.scenario, n, seed=n)
        best = float("inf")
        for _ in range(args.repeats):
            start = time.perf_counter()
            simulate(compiled, n, params, outputs)
            best = min(best, time.perf_counter() - start)
        tracemalloc.start()
        simulate(compiled, n, params, outputs)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        speedup = pysd / (best / n)
        print(f"{n:>8} {best:>9.3f} {n / best:>11.0f} {speedup:>12.0f} {peak / 2**20:>9.1f}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process max RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()
