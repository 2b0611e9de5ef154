"""Re-anchoring at the plan start: the anchors are the observed 2020 values of data/observed/,
and with the switch on every draw's projection starts from them."""

from __future__ import annotations

import pytest

from sim.paths import REPO_ROOT
from sim.scenario.observed import load_observed
from sim.vensim import model_variables

OBSERVED = REPO_ROOT / "data" / "observed" / "changzhi_2015_2020.csv"
SUFFIX = " At Plan Start"


@pytest.fixture(scope="module")
def anchors(real_model) -> list[str]:
    names = [doc.name for doc in model_variables(real_model) if doc.name.endswith(SUFFIX)]
    assert names, "the model has no anchor constants"
    return names


def test_anchors_equal_the_observed_2020_values(anchors, run_model):
    observed = load_observed(OBSERVED).set_index(["variable", "year"])["value"]
    defaults = run_model(anchors).iloc[0]
    for anchor in anchors:
        stock = anchor.removesuffix(SUFFIX)
        assert defaults[anchor] == pytest.approx(observed[(stock, 2020)]), anchor


def test_projection_starts_from_the_observed_state(anchors, run_model):
    stocks = [anchor.removesuffix(SUFFIX) for anchor in anchors]
    skewed = {"Base HTE Conversion Rate": 0.12, "Base Tech SME Formation": 160}
    step = 0.125
    times = [2020.0, 2020.0 + step]
    anchored = run_model(stocks, skewed, timestamps=times)
    free = run_model(stocks, skewed | {"History Anchoring Switch": 0}, timestamps=times)
    observed = load_observed(OBSERVED).set_index(["variable", "year"])["value"]
    for stock in ("High Tech Enterprises", "Tech SMEs"):
        assert free.loc[2020.0, stock] != pytest.approx(observed[(stock, 2020)], rel=0.05)
        # one Euler step after the anchor, the stock is within one step's flows of the data
        assert anchored.loc[2020.0 + step, stock] == pytest.approx(
            observed[(stock, 2020)], rel=0.05
        )
