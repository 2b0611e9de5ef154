"""``solve_threshold`` on weighted draws (importance weights, ``innosim assess``): seeded toy
problems with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from sim.analysis.importance_weighting import kish_ess
from sim.analysis.probabilities import wilson_interval
from sim.analysis.threshold_search import solve_threshold

#: Common random numbers: draw i meets the target at lever value x when u_i < x.
U = np.random.default_rng(7).random(400)
#: Importance weights of the draws (seeded, unequal, none zero).
W = np.random.default_rng(8).gamma(2.0, size=U.size)


def rising(values: np.ndarray, u: np.ndarray = U) -> np.ndarray:
    """P(x) = (weighted) share of u below x: increasing in x."""
    return u[None, :] < values[:, None]


def falling(values: np.ndarray) -> np.ndarray:
    """P(x) = (weighted) share of u above x: decreasing in x."""
    return U[None, :] > values[:, None]


def weighted_share(x: float, hits=rising) -> float:
    return float(hits(np.array([x]))[0] @ W / W.sum())


def test_least_value_of_a_weighted_rising_probability() -> None:
    """The answer is the ``u`` at which the weighted empirical CDF first reaches 0.8."""
    solution = solve_threshold(rising, 0.0, 1.0, 0.8, xtol=1e-6, weights=W)
    order = np.argsort(U)
    cumulative = np.cumsum(W[order]) / W.sum()
    exact = U[order][np.argmax(cumulative >= 0.8)]
    assert solution.status == "reached" and solution.direction == "increasing"
    assert exact < solution.value <= exact + 2e-6
    assert solution.probability == pytest.approx(weighted_share(solution.value), abs=1e-15)
    assert solution.probability >= 0.8 > weighted_share(solution.value - 2e-6)
    assert solution.value_low <= solution.value <= solution.value_high
    assert solution.prob_low <= solution.probability <= solution.prob_high
    # the interval is Wilson's on Kish's effective sample size
    ess = kish_ess(W)
    low, high = wilson_interval(solution.probability * ess, ess)
    assert (solution.prob_low, solution.prob_high) == pytest.approx((float(low), float(high)))
    assert all(e.effective_draws == pytest.approx(ess) for e in solution.evaluations)
    assert all(e.draws == U.size for e in solution.evaluations)
    # where the Wilson bounds on the ESS cross 0.8
    assert weighted_share(solution.value_low) < 0.8 < weighted_share(solution.value_high)


def test_greatest_value_of_a_weighted_falling_probability() -> None:
    solution = solve_threshold(falling, 0.0, 1.0, 0.8, xtol=1e-6, weights=W)
    order = np.argsort(U)[::-1]
    cumulative = np.cumsum(W[order]) / W.sum()
    exact = U[order][np.argmax(cumulative >= 0.8)]  # the greatest x with P_w(u > x) >= 0.8
    assert solution.status == "reached" and solution.direction == "decreasing"
    assert exact - 2e-6 <= solution.value < exact
    assert solution.probability >= 0.8 > weighted_share(solution.value + 2e-6, falling)


def test_integer_weights_are_repeated_draws() -> None:
    """A draw of weight k counts as k draws: the answer is that of the repeated sample."""
    counts = np.random.default_rng(9).integers(1, 4, size=U.size)
    weighted = solve_threshold(rising, 0.0, 1.0, 0.7, xtol=1e-6, weights=counts)
    repeated = np.repeat(U, counts)
    plain = solve_threshold(lambda v: rising(v, repeated), 0.0, 1.0, 0.7, xtol=1e-6)
    assert weighted.value == plain.value and weighted.probability == plain.probability
    # the interval is on the effective sample size, not on the repeated draws
    assert kish_ess(counts) < repeated.size
    assert weighted.prob_high - weighted.prob_low > plain.prob_high - plain.prob_low


def test_zero_weights_drop_draws() -> None:
    half = np.where(np.arange(U.size) < U.size // 2, 1.0, 0.0)
    weighted = solve_threshold(rising, 0.0, 1.0, 0.8, xtol=1e-6, weights=half)
    first = U[: U.size // 2]
    plain = solve_threshold(lambda v: rising(v, first), 0.0, 1.0, 0.8, xtol=1e-6)
    assert (weighted.status, weighted.value) == (plain.status, plain.value)
    assert weighted.probability == pytest.approx(plain.probability, abs=1e-15)
    assert (weighted.prob_low, weighted.prob_high) == pytest.approx(
        (plain.prob_low, plain.prob_high)
    )
    assert (weighted.value_low, weighted.value_high) == (plain.value_low, plain.value_high)


def test_equal_weights_are_the_unweighted_search() -> None:
    weighted = solve_threshold(rising, 0.0, 1.0, 0.8, xtol=1e-6, weights=np.full(U.size, 2.5))
    plain = solve_threshold(rising, 0.0, 1.0, 0.8, xtol=1e-6)
    assert weighted.value == plain.value and weighted.probability == plain.probability
    assert weighted.prob_low == pytest.approx(plain.prob_low)
    assert weighted.prob_high == pytest.approx(plain.prob_high)


def test_a_smaller_effective_sample_widens_the_interval() -> None:
    kish = solve_threshold(rising, 0.0, 1.0, 0.8, weights=W)
    tempered = solve_threshold(rising, 0.0, 1.0, 0.8, weights=W, effective_draws=50.0)
    assert tempered.value == kish.value  # the answer does not depend on the interval's size
    assert all(e.effective_draws == 50.0 for e in tempered.evaluations)
    assert tempered.prob_high - tempered.prob_low > kish.prob_high - kish.prob_low
    assert tempered.value_high - tempered.value_low > kish.value_high - kish.value_low


def test_already_reached_and_not_reachable_with_weights() -> None:
    already = solve_threshold(rising, 0.95, 1.0, 0.8, weights=W)
    assert already.status == "at_bound" and already.value == 0.95
    out_of_reach = solve_threshold(rising, 0.0, 0.5, 0.8, weights=W)
    assert out_of_reach.status == "not_reachable" and out_of_reach.value is None
    assert out_of_reach.best_value == 0.5
    assert out_of_reach.best_probability == pytest.approx(weighted_share(0.5), abs=1e-15)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (-W, "finite number >= 0"),
        (np.zeros(U.size), "positive"),
        (W[:10], "one weight per draw"),
        (np.full(U.size, np.nan), "finite number >= 0"),
    ],
)
def test_bad_weights(weights: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        solve_threshold(rising, 0.0, 1.0, 0.8, weights=weights)
    with pytest.raises(ValueError, match="effective_draws"):
        solve_threshold(rising, 0.0, 1.0, 0.8, weights=W, effective_draws=0.0)
