"""Target probabilities on synthetic results with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from sim.analysis import TARGET_COLUMNS, target_table
from sim.analysis.probabilities import met, probability_interval, wilson_interval
from sim.results import OUTCOME, slug
from sim.scenario import Target


def make_target(**changes) -> Target:
    fields = {
        "name": "hte_2025",
        "variable": "High Tech Enterprises",
        "year": 2025,
        "direction": "at_least",
        "threshold": 50.0,
        "label": {"zh": "高新技术企业", "en": "High-tech enterprises"},
        "unit": {"zh": "家", "en": "firms"},
        "source": "test",
    }
    fields.update(changes)
    return Target(**fields)


def make_results(values_2025: np.ndarray) -> xr.Dataset:
    """Results whose variable grows linearly to ``values_2025`` (one value per draw)."""
    times = np.arange(2020.0, 2027.0)
    data = values_2025[:, None] * (times - 2019.0)[None, :] / 6.0
    array = xr.DataArray(
        data,
        dims=("draw", "time"),
        coords={"draw": np.arange(values_2025.size), "time": times},
        attrs={"long_name": "High Tech Enterprises", "units": "Firm", "role": OUTCOME},
    )
    return xr.Dataset({slug("High Tech Enterprises"): array})


def wilson(hits: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval written out from its formula (the known answer)."""
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def test_probability_and_interval_of_half_the_draws():
    table = target_table(make_results(np.arange(100.0)), [make_target()])
    assert list(table.columns) == TARGET_COLUMNS
    row = table.iloc[0]
    assert row["probability"] == 0.5
    low, high = wilson(50, 100)
    assert row["prob_low"] == pytest.approx(low, abs=1e-12)
    assert row["prob_high"] == pytest.approx(high, abs=1e-12)
    assert (row["prob_low"], row["prob_high"]) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    assert row["median"] == pytest.approx(49.5)
    assert row["p05"] == pytest.approx(4.95)
    assert row["p95"] == pytest.approx(94.05)


def test_at_most_direction_and_nan_never_meets():
    values = np.array([10.0, 20.0, np.nan, 40.0])
    target = make_target(direction="at_most", threshold=20.0)
    assert met(target, values).tolist() == [True, True, False, False]
    table = target_table(make_results(values), [target])
    assert table.loc[0, "probability"] == 0.5


def test_all_or_no_draws_meeting_keep_a_nonzero_interval():
    assert probability_interval(0, 1000)[0] == 0.0 < probability_interval(0, 1000)[1] < 0.004
    assert 0.996 < probability_interval(1000, 1000)[0] < probability_interval(1000, 1000)[1]


def test_target_year_not_saved_is_an_error():
    with pytest.raises(KeyError, match="year 2030"):
        target_table(make_results(np.arange(10.0)), [make_target(year=2030)])


def test_wilson_interval_takes_an_effective_sample_size():
    for hits, n in ((0, 20), (7, 20), (20, 20), (300, 1000)):
        np.testing.assert_allclose(wilson_interval(hits, n), probability_interval(hits, n))
    low, high = wilson_interval(0.5 * 10.5, 10.5)
    assert low < 0.5 < high
    with pytest.raises(ValueError):
        wilson_interval(0.5, 0)


def test_probability_interval_is_scipys_wilson_interval_bit_for_bit():
    from scipy import stats

    rng = np.random.default_rng(11)
    counts = [(k, n) for n in range(1, 41) for k in range(n + 1)]
    counts += [(int(rng.integers(0, n + 1)), n) for n in rng.integers(1, 10**7, size=300)]
    for confidence in (0.95, 0.9, 0.5):
        for hits, n in counts:
            ci = stats.binomtest(hits, n).proportion_ci(
                confidence_level=confidence, method="wilson"
            )
            assert probability_interval(hits, n, confidence) == (ci.low, ci.high)
    # wilson_interval's z: scipy.special.ndtri is stats.norm.ppf's, bit for bit
    from scipy import special

    for confidence in (0.95, 0.9, 0.5, 0.99):
        q = 0.5 + confidence / 2
        assert special.ndtri(q).tobytes() == np.float64(stats.norm.ppf(q)).tobytes()


@pytest.mark.parametrize(("hits", "draws"), [(-1, 10), (11, 10), (0, 0)])
def test_probability_interval_refuses_impossible_counts(hits, draws):
    with pytest.raises(ValueError):
        probability_interval(hits, draws)
