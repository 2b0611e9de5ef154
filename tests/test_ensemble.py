"""The ensemble runner: labelled results, provenance and reproducibility."""

from __future__ import annotations

import netCDF4
import numpy as np
import pytest
import xarray as xr

from sim.engine.ensemble import EnsembleRun, run_ensemble
from sim.paths import DEFAULT_SCENARIO_PATH
from sim.report.run_outputs import write_streamed_ensemble
from sim.results import OUTCOME, UNCERTAINTY, names_with_role, slug
from sim.scenario import load_scenario


@pytest.fixture(scope="module")
def baseline(real_model):
    return load_scenario(DEFAULT_SCENARIO_PATH)


@pytest.fixture(scope="module")
def results(baseline) -> xr.Dataset:
    return run_ensemble(baseline, draws=64, seed=7)


def test_results_are_labelled(results, baseline):
    assert set(results.dims) == {"draw", "time"}
    assert results.sizes["draw"] == 64
    assert results["time"].values[0] == 2015 and results["time"].values[-1] == 2035
    outcomes = names_with_role(results, OUTCOME)
    assert set(outcomes) == set(baseline.saved_variables()) | set(baseline.exogenous())
    assert set(names_with_role(results, UNCERTAINTY)) == set(baseline.uncertainties)
    hte = results[slug("High Tech Enterprises")]
    assert hte.dims == ("draw", "time") and hte.attrs["units"] == "Firm"
    assert hte.attrs["label_zh"] == "高新技术企业"
    for name in baseline.uncertainties:
        data = results[slug(name)]
        assert data.dims == ("draw",) and data.attrs["distribution"] and data.attrs["source"]
    for key in ("created_at", "seed", "sampler", "scenario_sha256", "model_sha256",
                "innosim_version", "pysd_version", "numpy_version"):  # fmt: skip
        assert key in results.attrs, key


def test_same_seed_is_bit_identical_whatever_the_chunk_size(baseline, results):
    chunked = run_ensemble(baseline, draws=64, seed=7, chunk_size=5)
    for key in results.data_vars:
        np.testing.assert_array_equal(results[key].values, chunked[key].values)


def test_another_seed_gives_other_draws(baseline, results):
    other = run_ensemble(baseline, draws=64, seed=8)
    name = slug(next(iter(baseline.uncertainties)))
    assert not np.array_equal(results[name].values, other[name].values)


def test_netcdf_round_trip(results, tmp_path):
    results.to_netcdf(tmp_path / "ensemble.nc")
    xr.testing.assert_identical(xr.load_dataset(tmp_path / "ensemble.nc"), results)


def test_a_run_streamed_chunk_by_chunk_is_the_run_in_memory(baseline, results, tmp_path):
    run = EnsembleRun(baseline, draws=64, seed=7, chunk_size=10)
    done: list[int] = []
    chunks = list(run.chunks(done.append))
    assert [chunk.sizes["draw"] for chunk in chunks] == [10] * 6 + [4] and sum(done) == 64
    # written out of order, the file is the one xarray writes for the whole run
    path = tmp_path / "streamed.nc"
    write_streamed_ensemble(path, run.template(), 64, reversed(chunks))
    streamed, expected = xr.load_dataset(path), results.copy()
    for dataset in (streamed, expected):  # the time each run was made
        dataset.attrs = {k: v for k, v in dataset.attrs.items() if k != "created_at"}
    xr.testing.assert_identical(streamed, expected)
    results.to_netcdf(tmp_path / "whole.nc")
    with netCDF4.Dataset(path) as ours, netCDF4.Dataset(tmp_path / "whole.nc") as theirs:
        assert list(ours.dimensions) == list(theirs.dimensions)
        assert set(ours.variables) == set(theirs.variables)
        for name, variable in theirs.variables.items():
            mine = ours.variables[name]
            assert (mine.dtype, mine.dimensions) == (variable.dtype, variable.dimensions), name
            assert mine.ncattrs() == variable.ncattrs(), name
            assert mine.chunking() == variable.chunking() == "contiguous", name
    assert run.finite


def test_a_streamed_file_must_get_every_draw(baseline, tmp_path):
    run = EnsembleRun(baseline, draws=20, seed=7, chunk_size=10)
    with pytest.raises(ValueError, match="10 draws written to short.nc, 20 expected"):
        write_streamed_ensemble(tmp_path / "short.nc", run.template(), 20, [next(run.chunks())])
