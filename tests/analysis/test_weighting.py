"""sim.analysis.importance_weighting: weights, ESS, intervals, quantiles, resampling, distances."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.analysis.importance_weighting import (
    hellinger_distance,
    history_consistency,
    joint_identification,
    kish_ess,
    log_likelihood,
    normalised_weights,
    parameter_table,
    standardised_residuals,
    systematic_resample,
    weighted_quantiles,
)


def test_residuals_and_likelihood():
    times = np.array([2019.0, 2020.0])
    values = {"X": np.array([[1.0, 10.0], [1.0, 12.0], [1.0, np.nan]])}
    observations = pd.DataFrame({"variable": ["X"], "year": [2020], "value": [11.0], "sd": [0.5]})
    residuals = standardised_residuals(values, times, observations)
    np.testing.assert_allclose(residuals[0, :2], [-2.0, 2.0])
    loglik = log_likelihood(residuals)
    assert loglik[0] == loglik[1] == -2.0 and loglik[2] == -np.inf
    weights = normalised_weights(loglik)
    np.testing.assert_allclose(weights, [0.5, 0.5, 0.0])
    with pytest.raises(ValueError, match="likelihood 0"):
        normalised_weights(np.array([-np.inf, -np.inf]))
    with pytest.raises(KeyError, match="2030"):
        standardised_residuals(values, times, observations.assign(year=2030))


def test_kish_ess():
    assert kish_ess(np.ones(50)) == pytest.approx(50)
    assert kish_ess(np.array([1.0, 0, 0, 0])) == pytest.approx(1)
    assert kish_ess(np.array([3.0, 1.0])) == pytest.approx(16 / 10)


def test_weighted_quantiles():
    values = np.arange(10.0)
    np.testing.assert_allclose(
        weighted_quantiles(values, np.ones(10), [0.05, 0.5, 0.95]),
        np.quantile(values, [0.05, 0.5, 0.95], method="inverted_cdf"),
    )
    weights = np.zeros(10)
    weights[7] = 1.0
    np.testing.assert_allclose(weighted_quantiles(values, weights, [0.05, 0.95]), [7.0, 7.0])
    table = np.column_stack([values, values * 2])
    np.testing.assert_allclose(weighted_quantiles(table, np.ones(10), [0.5]), [[4.0, 8.0]])


def test_systematic_resample_keeps_proportions():
    weights = np.array([0.5, 0.25, 0.25, 0.0])
    index = systematic_resample(weights, 8, np.random.default_rng(0))
    assert np.bincount(index, minlength=4).tolist() == [4, 2, 2, 0]


def test_hellinger_distance():
    rng = np.random.default_rng(1)
    same = hellinger_distance(rng.normal(size=20_000), rng.normal(size=20_000))
    shifted = hellinger_distance(rng.normal(size=20_000), rng.normal(1.0, size=20_000))
    assert same < 0.03
    assert shifted == pytest.approx(np.sqrt(1 - np.exp(-1 / 8)), abs=0.02)
    choice = hellinger_distance(np.array([0.0, 1.0] * 50), np.array([1.0] * 100))
    assert choice == pytest.approx(np.sqrt(1 - np.sqrt(0.5)))


def test_parameter_table_ranks_by_movement():
    rng = np.random.default_rng(2)
    prior = {"a": rng.normal(size=4000), "b": rng.normal(size=4000)}
    posterior = {"a": rng.normal(0.1, 1.0, 4000), "b": rng.normal(1.0, 0.3, 4000)}
    table = parameter_table(prior, posterior)
    assert table["parameter"].tolist() == ["b", "a"]
    assert table.loc[0, "shift"] == pytest.approx(1.0, abs=0.1)
    assert table.loc[0, "posterior_p05"] > table.loc[0, "prior_p05"]


def test_contraction_is_one_minus_the_variance_ratio():
    rng = np.random.default_rng(3)
    prior = {"pinned": rng.normal(size=20000), "free": rng.normal(size=20000)}
    posterior = {"pinned": rng.normal(0.5, 0.2, 20000), "free": rng.normal(0.0, 1.0, 20000)}
    table = parameter_table(prior, posterior).set_index("parameter")
    assert table.loc["pinned", "contraction"] == pytest.approx(1 - 0.2**2, abs=0.01)
    assert abs(table.loc["free", "contraction"]) < 0.05
    # weights count: a weighted sample equal to the pinned one by repetition
    values = np.array([0.3, 0.5, 0.7])
    weighted = parameter_table({"x": prior["pinned"]}, {"x": values}, np.array([1.0, 2.0, 1.0]))
    repeated = parameter_table({"x": prior["pinned"]}, {"x": np.array([0.3, 0.5, 0.5, 0.7])})
    assert weighted.loc[0, "contraction"] == pytest.approx(repeated.loc[0, "contraction"])


def test_joint_identification_finds_a_ridge_and_only_it() -> None:
    rng = np.random.default_rng(5)
    prior = {name: rng.uniform(size=20_000) for name in ("x", "y", "z")}
    # data fixing x + y (a ridge), saying nothing about z
    kept = np.abs(prior["x"] + prior["y"] - 1.0) < 0.1
    posterior = {name: values[kept] for name, values in prior.items()}
    pairs = joint_identification(prior, posterior)
    assert list(zip(pairs["parameter"], pairs["other"], strict=True)) == [("x", "y")]
    assert pairs["posterior_spearman"].iloc[0] < -0.8
    assert abs(pairs["prior_spearman"].iloc[0]) < 0.05
    # nothing learnt: no pair
    assert joint_identification(prior, prior).empty
    assert list(joint_identification({"x": prior["x"]}, {"x": prior["x"]}).columns) == list(
        pairs.columns
    )


def test_history_consistency_counts_draws_within_three_sd() -> None:
    import xarray as xr

    times = np.array([2015.0, 2020.0])
    gdp = np.array([[100.0, 200.0], [100.0, 260.0], [100.0, np.nan], [140.0, 200.0]])
    coal = np.ones((4, 2))
    results = xr.Dataset(
        {
            "gdp": (("draw", "time"), gdp, {"long_name": "GDP"}),
            "coal": (("draw", "time"), coal, {"long_name": "Coal", "exogenous": "driver"}),
            "share": (("draw",), np.ones(4), {"long_name": "Share"}),
        },
        coords={"draw": np.arange(4), "time": times},
    )
    history = pd.DataFrame(
        {
            "variable": ["GDP", "GDP", "Coal", "GDP"],
            "year": [2015, 2020, 2020, 2030],
            "value": [100.0, 200.0, 50.0, 1.0],
            "sd": [5.0, 10.0, 0.1, 1.0],
        }
    )
    # sd with a 10 % discrepancy: 2015 sqrt(25 + 100) ≈ 11.2, 2020 sqrt(100 + 400) ≈ 22.4;
    # the driver (Coal) and the year outside the run (2030) are left out
    consistent, n = history_consistency(results, history, lambda name: 0.1)
    assert (consistent, n) == (2, 4)  # 260 is 2.7 sd off, 140 is 3.6 sd; NaN fails
    assert history_consistency(results, history, lambda name: 0.2) == (3, 4)
    assert history_consistency(results, history.iloc[[2, 3]], lambda name: 0.1) == (4, 4)
