"""Benchmark of ``innosim run`` as a user runs it (not a test): whole job, memory, phases.

Run: ``.venv/bin/python benchmarks/bench_run.py [--draws 10000] [--executor serial]
[--workers 2] [--repeat 2] [--phases]``.

Each repeat runs ``innosim run scenarios/baseline.yaml --draws N`` in a fresh process (output in
a temporary directory, removed afterwards) and prints its wall-clock seconds and its memory:
the peak resident set size of the largest process and the peak of the sum over the process and
all its descendants (worker processes, a fork server), sampled every 50 ms from ``/proc``
(``psutil``), beside what ``getrusage`` reports for the finished children. The first repeat
warms the caches (the model's parse and generated code, the inverse CDFs of a sample of up
to ``sim.sampling.CACHED_DRAWS`` draws); later ones are warm.

``--phases`` then runs the same job once in this process with timers around its phases
(imports, loading, the sample's design, the runs streamed to the file, the target table, the
fan charts, the report). The machine is shared and noisy: read several repeats (the load
average is printed first).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
INNOSIM = Path(sys.executable).with_name("innosim")


def _tree_rss(process: psutil.Process) -> tuple[int, int]:
    """(sum, largest) resident set size in bytes of ``process`` and its descendants."""
    sizes = []
    with contextlib.suppress(psutil.Error):
        for member in [process, *process.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                sizes.append(member.memory_info().rss)
    return sum(sizes), max(sizes, default=0)


def whole_job(args: argparse.Namespace, out: Path) -> dict[str, float]:
    """One ``innosim run`` in a fresh process: seconds, peak memory (MiB)."""
    command = [str(INNOSIM), "run", str(ROOT / "scenarios" / "baseline.yaml")]
    command += ["--draws", str(args.draws), "--out", str(out), "--lang", "en"]
    if args.executor != "serial":
        command += ["--executor", args.executor, "--workers", str(args.workers)]
    peaks = {"sum": 0, "largest": 0}
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    watched = psutil.Process(child.pid)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            total, largest = _tree_rss(watched)
            peaks["sum"] = max(peaks["sum"], total)
            peaks["largest"] = max(peaks["largest"], largest)
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = child.communicate()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    if child.returncode:
        raise SystemExit(f"innosim run failed ({child.returncode}):\n{stderr.decode()}")
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "seconds": seconds,
        "sum": peaks["sum"] / 2**20,
        "largest": peaks["largest"] / 2**20,
        "getrusage": children,
    }


@contextlib.contextmanager
def _timed(phases: dict[str, float], owner: object, name: str, label: str) -> Iterator[None]:
    """Add the seconds spent in ``owner.name`` to ``phases[label]`` while the block runs."""
    original: Callable = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: object, **kwargs: object) -> object:
        begin = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            phases[label] = phases.get(label, 0.0) + time.perf_counter() - begin

    setattr(owner, name, wrapper)
    try:
        yield
    finally:
        setattr(owner, name, original)


def phases(args: argparse.Namespace, out: Path) -> dict[str, float]:
    """Seconds per phase of one run in this process (imports included)."""
    spent: dict[str, float] = {}
    begin = time.perf_counter()
    import sim.analysis
    import sim.engine.ensemble
    import sim.report.figures
    import sim.report.html
    import sim.report.run_outputs
    import sim.report.workbook
    import sim.report.writer
    import sim.scenario
    import sim.workflows.brief
    import sim.workflows.run
    from sim.engine.runner import Executor

    spent["imports"] = time.perf_counter() - begin
    executor = Executor(args.executor, workers=None if args.executor == "serial" else args.workers)
    hooks = [
        (sim.scenario, "load_scenario", "load scenario"),
        (sim.engine.ensemble, "sample_design", "sample design"),
        (sim.engine.ensemble.EnsembleRun, "__init__", "inputs, layout"),
        (sim.report.run_outputs, "write_streamed_ensemble", "runs streamed to ensemble.nc"),
        (sim.analysis, "target_table", "target table"),
        (sim.report.figures.FanCharts, "pngs", "fan charts (all of them)"),
        (sim.report.figures, "_draw_fan_chart", "fan charts: quantiles, artists"),
        (sim.report.run_outputs, "render_report", "report.html"),
        (sim.report.html, "font_face_css", "report.html: CJK font subset"),
        (sim.workflows.brief, "target_drivers", "brief: drivers"),
        (sim.workflows.brief, "lever_options", "brief: lever search"),
        (sim.report.workbook, "write_workbook", "run.xlsx"),
    ]
    with contextlib.ExitStack() as stack:
        for owner, name, label in hooks:
            stack.enter_context(_timed(spent, owner, name, label))
        begin = time.perf_counter()
        sim.workflows.run.run_scenario(
            ROOT / "scenarios" / "baseline.yaml",
            out,
            draws=args.draws,
            lang="zh",
            executor=executor,
        )
        spent["whole run_scenario"] = time.perf_counter() - begin
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--executor", choices=("serial", "processes", "dask"), default="serial")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--phases", action="store_true")
    args = parser.parse_args()
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    run = f"innosim run, {args.draws:,} draws, {args.executor}"
    print(f"{os.cpu_count()} CPUs, load average {load}; {run}")
    with tempfile.TemporaryDirectory(prefix="bench-run-") as scratch:
        for repeat in range(args.repeat):
            figures = whole_job(args, Path(scratch) / f"out{repeat}")
            print(
                f"run {repeat + 1}: {figures['seconds']:.2f} s; peak RSS {figures['largest']:.0f} "
                f"MiB (largest process), {figures['sum']:.0f} MiB (process tree); getrusage "
                f"of the children {figures['getrusage']:.0f} MiB"
            )
        if args.phases:
            spent = phases(args, Path(scratch) / "phases")
            for label, seconds in spent.items():
                print(f"  {label:<32} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
