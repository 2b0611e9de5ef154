"""sim.analysis.weighting: weights, ESS, intervals, quantiles, resampling, distances."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.analysis.weighting import (
    hellinger_distance,
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
