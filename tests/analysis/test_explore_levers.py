"""Threshold search and budget splits on toy problems with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.analysis.threshold_search import (
    check_share_bounds,
    normalised_margins,
    optimise_shares,
    project_shares,
    smoothed_objective,
    solve_threshold,
)

#: Common random numbers of the toy problems: draw i meets the target when u_i < f(lever).
U = np.random.default_rng(42).random(512)


def rising(values: np.ndarray) -> np.ndarray:
    """P(x) = share of u below x: the empirical CDF of U (increasing in x)."""
    return U[None, :] < values[:, None]


def falling(values: np.ndarray) -> np.ndarray:
    """P(x) = share of u above x (decreasing in x)."""
    return U[None, :] > values[:, None]


def test_least_value_of_a_rising_probability() -> None:
    solution = solve_threshold(rising, 0.0, 1.0, 0.8, xtol=1e-6)
    # the least x with mean(U < x) >= 0.8 lies just above the ceil(0.8 n)-th smallest u
    exact = np.sort(U)[math.ceil(0.8 * U.size) - 1]
    assert solution.status == "reached" and solution.direction == "increasing"
    assert exact < solution.value <= exact + 2e-6
    assert solution.probability >= 0.8
    assert rising(np.array([solution.value - 2e-6])).mean() < 0.8
    assert solution.value_low <= solution.value <= solution.value_high
    assert solution.prob_low <= solution.probability <= solution.prob_high
    # the interval: where the Wilson bounds of P cross 0.8 (about ±0.035 in P here)
    assert rising(np.array([solution.value_low])).mean() < 0.8
    assert rising(np.array([solution.value_high])).mean() > 0.8
    assert solution.value_high - solution.value_low < 0.15


def test_greatest_value_of_a_falling_probability() -> None:
    solution = solve_threshold(falling, 0.0, 1.0, 0.8, xtol=1e-6)
    exact = np.sort(U)[U.size - math.ceil(0.8 * U.size)]  # the greatest x with mean(U > x) >= 0.8
    assert solution.status == "reached" and solution.direction == "decreasing"
    assert exact - 2e-6 <= solution.value < exact
    assert solution.probability >= 0.8
    assert solution.value_low <= solution.value <= solution.value_high


def test_already_met_at_the_end_of_the_range() -> None:
    solution = solve_threshold(rising, 0.9, 1.0, 0.8)
    assert solution.status == "at_bound"
    assert solution.value == 0.9
    assert solution.probability >= 0.8


def test_not_reachable_reports_the_best_found() -> None:
    solution = solve_threshold(rising, 0.0, 0.5, 0.8)
    assert solution.status == "not_reachable"
    assert solution.value is None and math.isnan(solution.probability)
    assert solution.best_value == 0.5
    assert solution.best_probability == pytest.approx(rising(np.array([0.5])).mean())


def test_flat_probability() -> None:
    solution = solve_threshold(lambda v: np.zeros((v.size, 10), bool), 0.0, 1.0, 0.5)
    assert solution.direction == "flat" and solution.status == "not_reachable"


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        solve_threshold(rising, 0.0, 1.0, 1.5)
    with pytest.raises(ValueError, match="low < high"):
        solve_threshold(rising, 1.0, 1.0, 0.5)
    with pytest.raises(ValueError, match="shape"):
        solve_threshold(lambda v: np.zeros(3, bool), 0.0, 1.0, 0.5)


def test_projection_onto_bounded_shares() -> None:
    lower = np.array([0.0, 0.1, 0.0, 0.2])
    upper = np.array([0.5, 0.5, 0.1, 1.0])
    candidates = np.random.default_rng(3).uniform(-1, 2, size=(50, 4))
    shares = project_shares(candidates, lower, upper)
    assert shares.shape == candidates.shape
    np.testing.assert_allclose(shares.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(shares >= lower - 1e-15) and np.all(shares <= upper + 1e-15)
    np.testing.assert_allclose(project_shares(shares, lower, upper), shares, atol=1e-12)


def test_share_bounds_must_admit_the_total() -> None:
    with pytest.raises(ValueError, match="more than"):
        check_share_bounds(np.array([0.6, 0.6]), np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match="less than"):
        check_share_bounds(np.array([0.0, 0.0]), np.array([0.3, 0.3]))


def test_optimiser_finds_a_known_split() -> None:
    best = np.array([0.1, 0.5, 0.3, 0.1])

    def objective(splits: np.ndarray) -> np.ndarray:
        return -np.sum((splits - best) ** 2, axis=1)

    lower, upper = np.zeros(4), np.ones(4)
    result = optimise_shares(objective, lower, upper, start=np.full(4, 0.25), seed=1, maxiter=60)
    np.testing.assert_allclose(result.shares, best, atol=0.03)
    assert result.shares.sum() == pytest.approx(1.0)
    again = optimise_shares(objective, lower, upper, start=np.full(4, 0.25), seed=1, maxiter=60)
    np.testing.assert_array_equal(result.shares, again.shares)


def test_optimiser_respects_bounds() -> None:
    def objective(splits: np.ndarray) -> np.ndarray:
        return splits[:, 0]  # wants everything in the first share

    lower = np.array([0.0, 0.2, 0.1])
    upper = np.array([0.6, 1.0, 1.0])
    result = optimise_shares(objective, lower, upper, seed=0, maxiter=30)
    assert result.shares[0] == pytest.approx(0.6, abs=0.02)
    assert np.all(result.shares >= lower - 1e-12) and np.all(result.shares <= upper + 1e-12)
    assert result.shares.sum() == pytest.approx(1.0)


def test_surrogate_tends_to_the_probability() -> None:
    values = np.array([[290.0, 310.0, 320.0, 280.0]])
    margins = {"a": normalised_margins(values, 300, True, 10.0)}
    cold = smoothed_objective(margins, {"a": 1.0}, temperature=1e-6)
    assert cold == pytest.approx([0.5])
    log_all = smoothed_objective(margins, None, temperature=1e-6)
    assert np.exp(log_all) == pytest.approx([0.5])
    warm = smoothed_objective({"a": margins["a"] + 0.5}, {"a": 1.0})
    assert warm[0] > smoothed_objective(margins, {"a": 1.0})[0]  # closer draws score higher


def test_margins_of_failed_draws_and_at_most_targets() -> None:
    margins = normalised_margins(np.array([np.nan, 5.0]), 10.0, False, 1.0)
    assert margins[0] < -1e5 and margins[1] == 5.0
