"""sim.analysis.forecast_scores: CRPS and PIT of weighted samples against closed forms and
known-good and known-bad forecasts; coverage summaries and PIT histograms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.analysis.forecast_scores import (
    COVERAGE_COLUMNS,
    OVERALL,
    coverage_summary,
    pit_histogram_counts,
    pit_value,
    score_observation,
    weighted_crps,
)


def _normal_crps(mu: float, sigma: float, y: float) -> float:
    """Closed form for N(mu, sigma²) (Gneiting & Raftery 2007)."""
    z = (y - mu) / sigma
    return sigma * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))


def test_crps_of_a_point_mass_is_the_absolute_error():
    assert weighted_crps(np.full(7, 3.0), None, 1.0) == pytest.approx(2.0)
    assert weighted_crps(np.array([3.0]), np.array([0.2]), 5.5) == pytest.approx(2.5)
    assert weighted_crps(np.full(4, 0.0319), None, 0.0319) == 0.0


def test_crps_matches_a_brute_force_double_sum():
    rng = np.random.default_rng(1)
    x = np.round(rng.normal(size=60), 1)  # ties on purpose
    w = rng.random(60)
    y = 0.25
    p = w / w.sum()
    brute = np.sum(p * np.abs(x - y)) - 0.5 * np.sum(np.outer(p, p) * np.abs(x[:, None] - x))
    assert weighted_crps(x, w, y) == pytest.approx(brute, rel=1e-12)


@pytest.mark.parametrize("y", [-3.0, 1.0, 2.3, 6.0])
def test_crps_of_a_large_normal_sample_matches_the_closed_form(y):
    mu, sigma, n = 1.0, 2.0, 100_000
    sample = np.random.default_rng(7).normal(mu, sigma, n)
    # the estimator's sd is about 0.5 sigma / sqrt(n) (measured over 40 seeds at y = 2.3);
    # 2 sigma / sqrt(n) is 4 of them
    tolerance = 2 * sigma / np.sqrt(n)
    assert weighted_crps(sample, None, y) == pytest.approx(
        _normal_crps(mu, sigma, y), abs=tolerance
    )


def test_weights_are_equivalent_to_repetition():
    x = np.array([5.0, 1.0, 2.0, 7.5])
    w = np.array([3, 2, 1, 0])
    repeated = np.repeat(x, w)
    for y in (0.0, 1.0, 1.5, 5.0, 9.0):
        assert weighted_crps(x, w, y) == pytest.approx(weighted_crps(repeated, None, y))
        assert pit_value(x, w, y) == pytest.approx(pit_value(repeated, None, y))
        weighted, plain = score_observation(x, w, y), score_observation(repeated, None, y)
        assert weighted == pytest.approx(plain, nan_ok=True)


def test_non_finite_draws_and_zero_weights_are_left_out():
    x = np.array([1.0, np.nan, 2.0, np.inf, 3.0])
    w = np.array([1.0, 5.0, 1.0, 5.0, 0.0])
    assert weighted_crps(x, w, 1.5) == pytest.approx(weighted_crps(np.array([1.0, 2.0]), None, 1.5))
    assert pit_value(x, w, 1.5) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="no finite sample"):
        weighted_crps(np.array([np.nan]), None, 1.0)
    with pytest.raises(ValueError, match="weights"):
        pit_value(np.ones(3), np.ones(2), 1.0)


def test_pit_of_a_uniform_sample():
    sample = np.linspace(0.0, 1.0, 1001)
    for y in (0.0, 0.123, 0.5, 0.9, 1.0):
        assert pit_value(sample, None, y) == pytest.approx(y, abs=1e-3)
    assert pit_value(sample, None, -1.0) == 0.0 and pit_value(sample, None, 2.0) == 1.0
    assert pit_value(np.array([1.0, 2.0, 3.0]), None, 2.0) == pytest.approx(0.5)  # tie: half
    assert pit_value(np.full(5, 2.0), None, 2.0) == pytest.approx(0.5)


def _forecasts(shift: float, n_obs: int = 400, n_draws: int = 1000, seed: int = 11):
    """Scores of ``n_obs`` forecasts, each a weighted sample representing N(mu, sigma²)
    (draws from N(mu, (2 sigma)²) weighted by the density ratio), against observations
    drawn from N(mu + shift sigma, sigma²). Returns the score table and the sigmas."""
    rng = np.random.default_rng(seed)
    rows, sigmas = [], []
    for k in range(n_obs):
        mu, sigma = rng.normal(100, 30), rng.uniform(0.5, 20)
        draws = rng.normal(mu, 2 * sigma, n_draws)
        weights = stats.norm.pdf(draws, mu, sigma) / stats.norm.pdf(draws, mu, 2 * sigma)
        y = rng.normal(mu + shift * sigma, sigma)
        rows.append({"origin": k % 2, **score_observation(draws, weights, y)})
        sigmas.append(sigma)
    return pd.DataFrame(rows), np.array(sigmas)


def test_a_calibrated_forecast_scores_as_calibrated():
    table, sigmas = _forecasts(shift=0.0)
    n = len(table)
    # 3 binomial standard errors plus 0.02 for the Monte Carlo error of the sample quantiles
    tolerance = 3 * np.sqrt(0.9 * 0.1 / n) + 0.02
    assert table["inside_90"].mean() == pytest.approx(0.9, abs=tolerance)
    assert table["inside_50"].mean() == pytest.approx(0.5, abs=3 * np.sqrt(0.25 / n) + 0.02)
    counts = pit_histogram_counts(table["quantile"], bins=10)
    assert counts.sum() == n
    assert stats.chisquare(counts).pvalue > 0.001  # roughly uniform
    # E CRPS of a calibrated normal forecast is sigma / sqrt(pi); 0.1 is about 4 standard errors
    assert np.mean(table["crps"] / sigmas) == pytest.approx(1 / np.sqrt(np.pi), abs=0.1)


def test_a_forecast_off_by_three_sd_scores_as_bad():
    good, _ = _forecasts(shift=0.0)
    bad, sigmas = _forecasts(shift=3.0)
    n = len(bad)
    # an observation 3 sd off in expectation lands in the 90 % band with probability
    # P(-1.645 < Z + 3 < 1.645) = 0.088: near 0, not 0, since the observation varies too
    expected = stats.norm.cdf(-3 + 1.645) - stats.norm.cdf(-3 - 1.645)
    assert bad["inside_90"].mean() == pytest.approx(
        expected, abs=3 * np.sqrt(0.09 * 0.91 / n) + 0.02
    )
    assert bad["inside_50"].mean() < 0.03
    counts = pit_histogram_counts(bad["quantile"], bins=10)
    assert counts[-1] / n > 0.85  # P(PIT > 0.9) = P(Z > -1.72) = 0.96
    # E CRPS: E|X - Y| - sigma / sqrt(pi) with X - Y ~ N(3 sigma, 2 sigma²): 2.45 sigma
    assert np.mean(bad["crps"] / sigmas) == pytest.approx(2.453, abs=0.2)
    assert bad["crps"].mean() > 3 * good["crps"].mean()


def test_coverage_summary_by_origin_and_overall():
    table = pd.DataFrame(
        {
            "origin": [2015, 2015, 2015, 2020],
            "variable": ["A", "B", "A", "A"],
            "inside_50": [True, False, False, True],
            "inside_90": [True, True, False, True],
            "crps": [1.0, 2.0, 3.0, 10.0],
            "crps_relative": [0.1, np.nan, 0.3, 0.2],
        }
    )
    summary = coverage_summary(table)
    assert list(summary.columns) == ["origin", *COVERAGE_COLUMNS]
    assert list(summary["origin"]) == [2015, 2020, OVERALL]
    first, last = summary.iloc[0], summary.iloc[-1]
    assert (first["n_scored"], first["n_inside_50"], first["n_inside_90"]) == (3, 1, 2)
    assert first["share_inside_90"] == pytest.approx(2 / 3)
    assert first["mean_crps"] == pytest.approx(2.0)
    assert first["mean_crps_relative"] == pytest.approx(0.2)  # the NaN is left out
    assert (last["n_scored"], last["n_inside_90"], last["mean_crps"]) == (4, 3, 4.0)
    by_variable = coverage_summary(table, "variable")
    assert list(by_variable["variable"]) == ["A", "B", OVERALL]
    assert by_variable.iloc[1]["mean_crps_relative"] != by_variable.iloc[1]["mean_crps_relative"]
    empty = coverage_summary(table.iloc[:0])
    assert list(empty["origin"]) == [OVERALL] and empty.iloc[0]["n_scored"] == 0


def test_pit_histogram_counts():
    counts = pit_histogram_counts([0.0, 0.05, 0.1, 0.95, 1.0, 0.5], bins=10)
    assert list(counts) == [2, 1, 0, 0, 0, 1, 0, 0, 0, 2]
    assert list(pit_histogram_counts([], bins=4)) == [0, 0, 0, 0]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        pit_histogram_counts([1.2])
    with pytest.raises(ValueError, match="bins"):
        pit_histogram_counts([0.5], bins=0)
