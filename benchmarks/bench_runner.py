"""Benchmark of the runner's executors (not a test): one core against local workers.

Run: ``.venv/bin/python benchmarks/bench_runner.py [--draws 1000000] [--workers 2]
[--chunk-size 50000] [--whole-inputs]``.

Simulates the baseline's draws (its levers, uncertainties and yearly paths, as every command
builds them) with ``sim.engine.runner.run_draws``, keeping the targets' variables in their
years (as ``sensitivity`` and ``discover`` do), once serially and once on ``--workers`` local
processes, checks the results are bit-identical and prints the seconds, the speed-up and the
peak memory (the largest process and the sum over this process and its workers, sampled every
200 ms).

By default each chunk draws its own inputs where it runs (``sim.engine.ensemble.
scenario_draws``: this process makes the sample's design once and sends each chunk a small
recipe), so the timed runs include drawing the inputs. ``--whole-inputs`` builds them whole
first (``scenario_inputs``, timed apart) and sends each chunk its rows, as before issue 11.
The cached inverse CDFs are removed before each run. The machine is shared and noisy: read
the ratio, not absolute times.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import threading
import time
from collections.abc import Iterator

import numpy as np
import psutil

from sim.engine import compile_model
from sim.engine.ensemble import monte_carlo_settings, scenario_draws, scenario_inputs
from sim.engine.runner import Executor, run_draws
from sim.paths import DEFAULT_SCENARIO_PATH
from sim.scenario import load_scenario
from sim.vensim import cache_root


@contextlib.contextmanager
def peak_memory() -> Iterator[dict[str, float]]:
    """Peak RSS (MiB) of this process and its descendants while the block runs: ``largest``
    (one process) and ``sum`` (all of them at once)."""
    me = psutil.Process()
    peaks = {"largest": 0.0, "sum": 0.0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            sizes = []
            for process in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    sizes.append(process.memory_info().rss / 2**20)
            peaks["largest"] = max(peaks["largest"], max(sizes, default=0.0))
            peaks["sum"] = max(peaks["sum"], sum(sizes))
            done.wait(0.2)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peaks
    finally:
        done.set()
        thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=50_000)
    parser.add_argument("--whole-inputs", action="store_true")
    args = parser.parse_args()
    scenario = load_scenario(DEFAULT_SCENARIO_PATH)
    compiled = compile_model()
    settings = monte_carlo_settings(scenario, draws=args.draws)
    print(f"{os.cpu_count()} CPUs; {args.draws:,} draws, chunks of {args.chunk_size:,}")
    times = compiled.times()
    columns = {
        t.variable: [int(np.flatnonzero(np.isclose(times, t.year))[0])] for t in scenario.targets
    }
    results = {}
    for executor in (Executor("serial"), Executor("processes", workers=args.workers)):
        # the same work for both: no inverse CDF read from the other's run (up to
        # sim.sampling.CACHED_DRAWS draws they are cached on disk)
        shutil.rmtree(cache_root() / "inverse_cdf", ignore_errors=True)
        with peak_memory() as peaks:
            start = time.perf_counter()
            if args.whole_inputs:
                inputs = scenario_inputs(scenario, settings, compiled)
                fixed, drawn = inputs.fixed, inputs.per_draw
                print(f"  inputs built whole: {time.perf_counter() - start:.1f} s")
            else:
                drawn = scenario_draws(scenario, settings, compiled)
                fixed = drawn.fixed
                print(f"  the sample's design: {time.perf_counter() - start:.1f} s")
            _, values = run_draws(
                compiled,
                args.draws,
                fixed,
                drawn,
                list(columns),
                chunk_size=args.chunk_size,
                executor=executor,
                columns=columns,
            )
            seconds = time.perf_counter() - start
            del drawn
        results[executor.kind] = (seconds, values)
        print(
            f"{executor.kind} ({executor.worker_count} worker(s)): {seconds:.1f} s, inputs "
            f"included; peak RSS {peaks['largest']:.0f} MiB (largest process), "
            f"{peaks['sum']:.0f} MiB (all processes); load average {os.getloadavg()[0]:.1f}"
        )
    (serial, one), (parallel, other) = results["serial"], results["processes"]
    same = all(np.array_equal(one[name], other[name]) for name in one)
    print(f"speed-up {serial / parallel:.2f}x with {args.workers} workers; bit-identical: {same}")


if __name__ == "__main__":
    main()
