"""Paired comparison of probabilities: Wilson and Newcombe intervals, the comparison table."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from sim.analysis.paired_difference import (
    ALL_TARGETS,
    COMPARE_COLUMNS,
    compare_table,
    paired_difference,
    paired_difference_counts,
    wilson_interval,
)
from sim.analysis.probabilities import probability_interval
from sim.scenario import Target


def _coverage(p_a: float, p_b: float, p_both: float, n: int, reps: int = 4000, seed: int = 1):
    """Share of ``reps`` simulated paired tables whose interval covers the true difference,
    for P(A) = p_a, P(B) = p_b, P(A and B) = p_both; also the Wald interval's coverage."""
    cells = [p_both, p_b - p_both, p_a - p_both, 1 - p_a - p_b + p_both]  # both, B, A, neither
    counts = np.random.default_rng(seed).multinomial(n, cells, size=reps)
    _, low, high = paired_difference_counts(*counts.T)
    truth = p_b - p_a
    newcombe = float(np.mean((low <= truth) & (truth <= high)))
    d = (counts[:, 1] - counts[:, 2]) / n  # Wald on the mean of d_i = met_B,i - met_A,i
    sd = np.sqrt(np.maximum((counts[:, 1] + counts[:, 2]) / n - d**2, 0) / (n - 1))
    wald = float(np.mean(np.abs(d - truth) <= 1.96 * sd))
    return newcombe, wald


def test_wilson_matches_the_single_probability_interval() -> None:
    for hits, draws in [(0, 10), (3, 10), (10, 10), (417, 1000), (9999, 10000)]:
        low, high = wilson_interval(hits, draws)
        assert (float(low), float(high)) == pytest.approx(probability_interval(hits, draws))


def test_wilson_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError, match="draw"):
        wilson_interval(1, 0)
    with pytest.raises(ValueError, match="between 0"):
        wilson_interval(11, 10)


def test_newcombe_covers_the_true_difference_at_the_nominal_rate() -> None:
    newcombe, _ = _coverage(0.50, 0.55, 0.45, n=256)
    assert 0.935 <= newcombe <= 0.97  # neither too narrow nor (with phi ignored) too wide


def test_newcombe_stays_valid_near_one_where_wald_fails() -> None:
    newcombe, wald = _coverage(0.99, 0.998, 0.989, n=200)
    assert newcombe >= 0.93
    assert wald < 0.9  # the case is hard: a normal interval on the mean of d undercovers


def test_newcombe_near_zero() -> None:
    newcombe, _ = _coverage(0.01, 0.03, 0.005, n=256)
    assert newcombe >= 0.93


def test_identical_samples_differ_by_exactly_zero() -> None:
    hits = np.random.default_rng(0).random(200) < 0.3
    pair = paired_difference(hits, hits)
    assert pair.difference == 0.0
    assert pair.low <= 0.0 <= pair.high
    assert pair.high - pair.low < 0.05
    assert pair.probability_a == pair.probability_b == pytest.approx(hits.mean())


def test_difference_and_interval_are_bounded() -> None:
    always = np.ones(50, dtype=bool)
    never = np.zeros(50, dtype=bool)
    pair = paired_difference(never, always)
    assert pair.difference == 1.0
    assert -1.0 <= pair.low <= pair.high <= 1.0
    assert pair.low > 0.85


def test_paired_samples_must_match() -> None:
    with pytest.raises(ValueError, match="equal length"):
        paired_difference(np.ones(3, bool), np.ones(4, bool))


def _results(values: np.ndarray) -> xr.Dataset:
    coords = {"draw": np.arange(values.size), "time": [2024, 2025, 2026]}
    data = xr.DataArray(values[:, None] * np.ones(3), dims=("draw", "time"), coords=coords)
    data.attrs["long_name"] = "High Tech Enterprises"
    return xr.Dataset({"high_tech_enterprises": data})


TARGET = Target(
    name="hte",
    variable="High Tech Enterprises",
    year=2025,
    direction="at_least",
    threshold=300,
    label={"zh": "高新技术企业", "en": "High-tech enterprises"},
    unit={"zh": "家", "en": "firms"},
    source="test",
)


def test_compare_table_pairs_draws_against_the_first() -> None:
    base = np.linspace(250, 349, 100)  # 50 of 100 draws reach 300
    better = base + 20  # the same draws, 20 firms more: 70 reach it
    table = compare_table([_results(base), _results(better)], ["a", "b"], [TARGET])
    assert list(table.columns) == COMPARE_COLUMNS
    assert list(table["target"]) == ["hte", "hte", ALL_TARGETS, ALL_TARGETS]
    row = table[(table["target"] == "hte") & (table["scenario"] == "b")].iloc[0]
    assert row["probability"] == pytest.approx(0.70)
    assert row["difference"] == pytest.approx(0.20)
    assert row["diff_low"] < 0.20 < row["diff_high"]
    assert row["diff_low"] > 0.1  # paired: only 20 discordant draws, all one way
    first = table[table["scenario"] == "a"]
    assert (first["difference"] == 0).all()


def test_compare_table_needs_the_same_draws() -> None:
    with pytest.raises(ValueError, match="same draws"):
        compare_table([_results(np.ones(5)), _results(np.ones(6))], ["a", "b"], [TARGET])
