"""sim.analysis.driver_ranking: SRRC ranks the inputs that drive an outcome, with their
direction and the rank regression's R²."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.analysis.driver_ranking import DRIVER_COLUMNS, rank_drivers


def _inputs(draws: int = 4000, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.uniform(0, 1, draws) for name in ("strong", "weak", "none", "lowering")}


def test_drivers_are_ranked_by_the_spread_they_explain_with_their_direction() -> None:
    x = _inputs()
    noise = np.random.default_rng(2).normal(0, 0.05, x["strong"].size)
    outcome = np.exp(3 * x["strong"]) + 2 * x["weak"] - 3 * x["lowering"] + noise
    ranking = rank_drivers(x, {"y": outcome})["y"]
    assert list(ranking.table.columns) == DRIVER_COLUMNS
    assert list(ranking.table["input"][:3]) == ["strong", "lowering", "weak"]
    directions = dict(zip(ranking.table["input"], ranking.table["direction"], strict=True))
    assert directions["strong"] == 1 and directions["lowering"] == -1 and directions["weak"] == 1
    assert ranking.table.set_index("input").loc["none", "share"] < 0.001
    assert ranking.r2 > 0.9 and ranking.draws == x["strong"].size
    # independent inputs: the shares add up to the R²
    assert ranking.table["share"].sum() == pytest.approx(ranking.r2, abs=0.02)
    assert list(ranking.top(2)["input"]) == ["strong", "lowering"]


def test_a_response_the_ranks_cannot_explain_has_a_low_r2() -> None:
    x = _inputs()
    outcome = (x["strong"] - 0.5) ** 2  # not monotonic: no rank regression explains it
    ranking = rank_drivers(x, {"y": outcome})["y"]
    assert ranking.r2 < 0.05


def test_several_outcomes_at_once_match_one_at_a_time() -> None:
    x = _inputs(500)
    outcomes = {"a": x["strong"] + x["weak"], "b": x["lowering"] - x["none"] ** 3}
    together = rank_drivers(x, outcomes)
    for name, values in outcomes.items():
        alone = rank_drivers(x, {name: values})[name]
        assert together[name].r2 == pytest.approx(alone.r2)
        pd.testing.assert_frame_equal(together[name].table, alone.table)


def test_an_outcome_that_does_not_vary_has_no_drivers() -> None:
    x = _inputs(100) | {"fixed": np.full(100, 2.0)}
    ranking = rank_drivers(x, {"y": np.ones(100)})["y"]
    assert np.isnan(ranking.r2) and (ranking.table["share"] == 0).all()
    # an input that does not vary is kept, with no effect
    varying = rank_drivers(x, {"y": x["strong"]})["y"].table.set_index("input")
    assert varying.loc["fixed", "srrc"] == 0 and varying.loc["strong", "share"] == pytest.approx(1)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one input"):
        rank_drivers({}, {"y": np.ones(3)})
    with pytest.raises(ValueError, match="one value per draw"):
        rank_drivers({"a": np.ones(3)}, {"y": np.ones(4)})
    with pytest.raises(ValueError, match="finite"):
        rank_drivers({"a": np.arange(3.0)}, {"y": np.array([1.0, np.nan, 2.0])})


def test_ranks_are_scipy_s_average_ranks_with_ties() -> None:
    from scipy import stats

    from sim.analysis.driver_ranking import _ranks

    values = np.random.default_rng(7).integers(0, 6, size=(200, 4)).astype(float)  # many ties
    assert np.array_equal(_ranks(values), stats.rankdata(values, axis=0))
