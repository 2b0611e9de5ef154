"""Benchmark of the runner's executors (not a test): one core against local workers.

Run: ``.venv/bin/python benchmarks/bench_runner.py [--draws 1000000] [--workers 2]``.

Simulates the baseline's draws (its levers, uncertainties and yearly paths, as every command
builds them) with ``sim.engine.runner.run_draws``, keeping the targets' variables in their
years (as ``sensitivity`` and ``discover`` do), once serially and once on ``--workers`` local
processes, checks the results are bit-identical and prints the seconds and the speed-up. The
machine is shared and noisy: read the ratio, not absolute times.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from sim.engine import compile_model
from sim.engine.ensemble import monte_carlo_settings, scenario_inputs
from sim.engine.runner import Executor, run_draws
from sim.paths import DEFAULT_SCENARIO_PATH
from sim.scenario import load_scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=50_000)
    args = parser.parse_args()
    scenario = load_scenario(DEFAULT_SCENARIO_PATH)
    compiled = compile_model()
    start = time.perf_counter()
    settings = monte_carlo_settings(scenario, draws=args.draws)
    inputs = scenario_inputs(scenario, settings, compiled)
    print(f"{os.cpu_count()} CPUs; {args.draws:,} draws, chunks of {args.chunk_size:,}")
    print(f"inputs (sampling, paths): {time.perf_counter() - start:.1f} s")
    times = compiled.times()
    columns = {
        t.variable: [int(np.flatnonzero(np.isclose(times, t.year))[0])] for t in scenario.targets
    }
    results = {}
    for executor in (Executor("serial"), Executor("processes", workers=args.workers)):
        start = time.perf_counter()
        _, values = run_draws(
            compiled,
            inputs.n_draws,
            inputs.fixed,
            inputs.per_draw,
            list(columns),
            chunk_size=args.chunk_size,
            executor=executor,
            columns=columns,
        )
        seconds = time.perf_counter() - start
        results[executor.kind] = (seconds, values)
        print(f"{executor.kind} ({executor.worker_count} worker(s)): {seconds:.1f} s")
    (serial, one), (parallel, other) = results["serial"], results["processes"]
    same = all(np.array_equal(one[name], other[name]) for name in one)
    print(f"speed-up {serial / parallel:.2f}x with {args.workers} workers; bit-identical: {same}")


if __name__ == "__main__":
    main()
