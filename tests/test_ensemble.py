"""The ensemble runner: labelled results, provenance and reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from sim.engine.ensemble import run_ensemble
from sim.paths import DEFAULT_SCENARIO_PATH
from sim.report.run_outputs import ENSEMBLE_FILE, write_run_outputs
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


def test_netcdf_round_trip(results, baseline, tmp_path):
    write_run_outputs(results, baseline.targets, tmp_path / "out", "en", "baseline")
    loaded = xr.load_dataset(tmp_path / "out" / ENSEMBLE_FILE)
    xr.testing.assert_identical(loaded, results)
