"""What bounds the memory of a large ``innosim run``: chunks that cross processes hold at most
``WORKER_CHUNK_BYTES`` of results, and a fan chart reads its variable a block at a time."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import xarray as xr

from sim.engine.ensemble import WORKER_CHUNK_BYTES, EnsembleRun
from sim.engine.runner import DEFAULT_CHUNK_SIZE, Executor
from sim.report.figures import fan_quantiles
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def test_chunks_on_workers_hold_at_most_worker_chunk_bytes(real_model: Path) -> None:
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    serial = EnsembleRun(scenario, 100_000, 1)
    assert serial.chunk_size == DEFAULT_CHUNK_SIZE
    pooled = EnsembleRun(scenario, 100_000, 1, executor=Executor("processes", workers=2))
    per_draw = 8 * (len(pooled.outputs) * pooled.times.size + len(pooled.inputs.uncertainties))
    assert pooled.chunk_size * per_draw <= WORKER_CHUNK_BYTES
    assert pooled.chunk_size > WORKER_CHUNK_BYTES // per_draw - 1 > 1000
    small = EnsembleRun(scenario, 100, 1, chunk_size=50, executor=Executor("processes"))
    assert small.chunk_size == 50


def test_fan_quantiles_hold_a_bounded_share_of_the_variable(tmp_path: Path) -> None:
    draws, times = 100_000, 21
    values = np.random.default_rng(2).normal(size=(draws, times))
    path = tmp_path / "big.nc"
    xr.Dataset({"x": (("draw", "time"), values)}).to_netcdf(path)
    budget = 2**20
    with xr.open_dataset(path, cache=False) as lazy:
        tracemalloc.start()
        try:
            got = fan_quantiles(lazy["x"], 2.0, [0.5], max_bytes=budget)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 6 * budget < values.nbytes / 2  # a column is 0.8 MB, the variable 16.8 MB
    assert got[0].tobytes() == np.nanquantile(values * 2.0, 0.5, axis=0).tobytes()
