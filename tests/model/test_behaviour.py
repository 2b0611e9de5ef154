"""Behaviour reproduction: from 2015, the default parameters reproduce the 2020 figures.

The figures are the plan's 2020 baseline (``../shared/plan/FIGURES.md``) and the public GDP,
real-growth and budget-revenue figures of the Changzhi government work report 2021. The run is
PySD's, with the baseline scenario's exogenous series on their central paths (drivers as
observed, every yearly shock zero): the coal price and output are inputs of the model, and the
defaults were fitted with them (``model/fit_defaults.py``). Only 2015 and 2020 are public for
the city's accounts before 2021 (``data/README.md``), so these are the points reproduced.
"""

from __future__ import annotations

import pytest

TOLERANCE = 0.05

FIGURES_2020 = {
    "High Tech Enterprises": 178,
    "RD Expenditure": 16.5,
    "RD Intensity": 0.0096,
    "Technology Contract Turnover": 20.97,
    "Effective Invention Patents": 729,
    "Tech SMEs": 241,
    "GDP": 1711.6,
    "Real GDP": 1599.3,
    "General Budget Revenue": 166.4,
}
FIGURES_2015 = {"GDP": 1195.1, "General Budget Revenue": 96.4}


@pytest.fixture(scope="module")
def history(real_model):
    from sim.engine import compile_model
    from sim.engine.ensemble import central_exogenous
    from sim.engine.reference import pysd_run
    from sim.paths import DEFAULT_SCENARIO_PATH
    from sim.scenario import load_scenario

    scenario = load_scenario(DEFAULT_SCENARIO_PATH, model=real_model)
    exogenous = central_exogenous(scenario, compile_model(real_model))
    variables = sorted(set(FIGURES_2020) | set(FIGURES_2015) | {"Technology Contract Turnover"})
    return pysd_run(real_model, exogenous, variables)


@pytest.mark.parametrize(("variable", "figure"), FIGURES_2020.items())
def test_reproduces_2020_figures(history, variable, figure):
    simulated = history.loc[2020, variable]
    assert simulated == pytest.approx(figure, rel=TOLERANCE), (
        f"{variable} in 2020: model {simulated:.4g}, figure {figure}"
    )


@pytest.mark.parametrize(("variable", "figure"), FIGURES_2015.items())
def test_starts_from_2015_figures(history, variable, figure):
    assert history.loc[2015, variable] == pytest.approx(figure, rel=0.01)


def test_contract_turnover_cumulated_over_2016_2020_exceeds_100(history):
    """专栏2 / 一、(一): more than 100 亿元 of technology contracts over 2016-2020."""
    cumulated = history.loc[2016:2020, "Technology Contract Turnover"].sum()
    assert cumulated >= 100 * (1 - TOLERANCE)


def test_high_tech_enterprises_grew_nearly_sixfold_since_2015(history):
    """一、(一): 比'十二五'末增长近6倍 — read as 'to' or 'by' nearly 6x (5.9 to 7.1)."""
    growth = history.loc[2020, "High Tech Enterprises"] / history.loc[2015, "High Tech Enterprises"]
    assert 5.0 <= growth <= 7.5
