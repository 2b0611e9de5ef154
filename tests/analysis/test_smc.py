"""sim.analysis.smc: the sequential Monte Carlo sampler against linear-Gaussian problems whose
posterior is known in closed form; its contract with ``simulate``; its refusals."""

from __future__ import annotations

import numpy as np
import pytest

from sim.analysis import smc
from sim.analysis.smc import (
    StateLayout,
    TemperingError,
    replicate_ess,
    sequential_monte_carlo,
)


def _linear_problem(design: np.ndarray, values: np.ndarray, sd: np.ndarray):
    """``simulate`` of observations ``design @ state`` (rows of the years up to the one asked)."""

    def residuals(states: np.ndarray, rows: np.ndarray) -> np.ndarray:
        model = states @ design[rows].T  # (m, n_obs)
        return ((model - values[rows]) / sd[rows]).T

    return residuals


def _gaussian_posterior(prior_cov, design, values, sd):
    """Mean and covariance of ``N(0, prior_cov)`` given ``values ~ N(design @ x, diag(sd²))``."""
    precision = np.linalg.inv(prior_cov) + design.T @ np.diag(sd**-2) @ design
    cov = np.linalg.inv(precision)
    return cov @ design.T @ (values / sd**2), cov


def _sample(start, layout, years, correlation, design, values, sd, seed=3, calls=None):
    residuals = _linear_problem(design, values, sd)

    def simulate(states: np.ndarray, through: int) -> np.ndarray:
        if calls is not None:
            calls.append((len(states), through))
        return residuals(states, years <= through)

    result = sequential_monte_carlo(
        start,
        residuals(start, np.ones(len(years), dtype=bool)),
        layout,
        years,
        correlation,
        seed,
        simulate,
    )
    return result


def _check_moments(states, mean, cov):
    """Sample mean within 0.2 posterior sd and covariance within 15 % of the largest posterior
    variance (over 30 seeds the errors stay below 0.12 sd and 11 %)."""
    sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(states.mean(axis=0) - mean) <= 0.2 * sd), (states.mean(axis=0), mean)
    np.testing.assert_allclose(np.cov(states, rowvar=False), cov, atol=0.15 * sd.max() ** 2)


def test_correlated_scores_conditioned_year_by_year_reach_the_gaussian_posterior():
    # x ~ N(0, R), r = 0.6; 2015: x0 = 1.5 ± 0.3; 2016: x0 + x1 = -0.5 ± 0.2 (sharp: tempered)
    correlation = np.array([[1.0, 0.6], [0.6, 1.0]])
    design = np.array([[1.0, 0.0], [1.0, 1.0]])
    values, sd = np.array([1.5, -0.5]), np.array([0.3, 0.2])
    years = np.array([2015, 2016])
    n = 4000
    start = np.random.default_rng(0).standard_normal((n, 2)) @ np.linalg.cholesky(correlation).T
    result = _sample(start, StateLayout(2), years, correlation, design, values, sd)
    mean, cov = _gaussian_posterior(correlation, design, values, sd)
    assert result.states.shape == (n, 2) and result.residuals.shape == (2, n)
    assert result.ess > 100 and {stage.year for stage in result.stages} == {2015, 2016}
    _check_moments(result.states, mean, cov)
    # the residuals are those of the states returned, and the ancestors rows of start
    np.testing.assert_allclose(
        result.residuals, ((result.states @ design.T - values) / sd).T, rtol=1e-12
    )
    assert result.ancestors.min() >= 0 and result.ancestors.max() < n


def test_path_shocks_are_conditioned_up_to_the_last_observed_year_and_prior_after_it():
    # one score θ and a path with shocks in 2015-2017; observed: θ + e2015, θ + e2016
    layout = StateLayout(1, (("path", np.array([2015, 2016, 2017])),))
    design = np.array([[1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 1.0, 0.0]])
    values, sd = np.array([2.0, 1.0]), np.array([0.2, 0.2])
    years = np.array([2015, 2016])
    n = 4000
    start = np.random.default_rng(1).standard_normal((n, layout.columns))
    calls: list[tuple[int, int]] = []
    result = _sample(start, layout, years, np.eye(1), design, values, sd, calls=calls)
    mean, cov = _gaussian_posterior(np.eye(4), design, values, sd)
    _check_moments(result.states[:, :3], mean[:3], cov[:3, :3])
    # after the last observed year each row keeps the prior draw of its number's shock
    np.testing.assert_array_equal(result.states[:, 3], start[:, 3])
    np.testing.assert_array_equal(layout.shocks(result.states)["path"], result.states[:, 1:])
    # simulate is asked for every population at once, only through observed years
    assert {through for _, through in calls} == {2015, 2016}
    assert {size for size, _ in calls} == {n}


def test_the_sampler_is_deterministic_given_its_seed():
    correlation = np.eye(1)
    design, values, sd = np.array([[1.0]]), np.array([2.0]), np.array([0.1])
    years = np.array([2020])
    start = np.random.default_rng(2).standard_normal((400, 1))
    first = _sample(start, StateLayout(1), years, correlation, design, values, sd, seed=7)
    again = _sample(start, StateLayout(1), years, correlation, design, values, sd, seed=7)
    other = _sample(start, StateLayout(1), years, correlation, design, values, sd, seed=8)
    np.testing.assert_array_equal(first.states, again.states)
    assert first.stages == again.stages
    assert not np.array_equal(first.states, other.states)


def test_few_draws_make_one_population():
    start = np.random.default_rng(3).standard_normal((6, 1))
    design, values, sd = np.array([[1.0]]), np.array([0.5]), np.array([0.5])
    result = _sample(start, StateLayout(1), np.array([2020]), np.eye(1), design, values, sd)
    assert result.ess == np.unique(result.ancestors).size


def test_tempering_that_does_not_converge_is_refused(monkeypatch):
    monkeypatch.setattr(smc, "MAX_STAGES", 1)
    start = np.random.default_rng(4).standard_normal((400, 1))
    design, values, sd = np.array([[1.0]]), np.array([3.0]), np.array([0.01])
    with pytest.raises(TemperingError, match="did not reach the posterior in 1 steps"):
        _sample(start, StateLayout(1), np.array([2020]), np.eye(1), design, values, sd)


def test_replicate_ess_from_the_spread_of_population_means():
    rng = np.random.default_rng(5)
    independent = [rng.standard_normal((2000, 3)) for _ in range(4)]
    # independent draws: the spread of the means is that of 2000-draw means (ESS ≈ 8000)
    assert 2000 < replicate_ess(independent) <= 8000
    # copies of one population: every mean equal, the ESS capped at the number of draws
    copies = [independent[0]] * 4
    assert replicate_ess(copies) == 8000.0
    # populations stuck on different values: little more than one draw per population
    stuck = [np.full((2000, 1), float(k)) + 1e-3 * rng.standard_normal((2000, 1)) for k in range(4)]
    assert replicate_ess(stuck) < 5
    assert replicate_ess([independent[0]]) == 2000.0
