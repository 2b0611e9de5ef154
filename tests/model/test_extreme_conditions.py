"""Extreme-condition tests (Sterman ch. 21): the model stays physical when a lever or the
economy is pushed to its limit.

For each case: no stock goes negative, nothing becomes NaN or infinite over 2015-2035, R&D
intensity stays below a physical bound, and the named outputs move in the stated direction
against the default run. The runs switch the re-anchoring to observed 2020 values off, so that
the model's own dynamics are tested. The economy's cases (coal-price collapse and boom, a
one-year GDP shock either way, no budget revenue) run at the default and at half the TIME STEP.

Yearly inputs are step paths: year y's value holds over model time (y-1, y] (model/README.md,
"Conventions"), given to PySD as a pandas Series.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.vensim import model_variables

LOWER, HIGHER, ZERO, NOT_LOWER = "lower", "higher", "zero", "not lower"
FREE_RUN = {"History Anchoring Switch": 0}
SHOCK_YEARS = range(2021, 2026)
#: R&D intensity is R&D over GDP; above 10 % no economy has ever been (Israel, the highest
#: country, is near 6 %): a run beyond it has lost touch with what R&D is.
RD_INTENSITY_BOUND = 0.10

CASES = {
    "fiscal input 0": (
        {
            "Observed Government Innovation Share 2020": 0,
            "Fiscal Innovation Share Floor": 0,
            "Fiscal Innovation Share Annual Increase": 0,
        },
        {
            "Fiscal Innovation Input": ZERO,
            "High Tech Enterprises": LOWER,
            "RD Expenditure": LOWER,
            "Engineering Technology Research Centers": LOWER,
            "Innovation Carriers": LOWER,
            "Innovation Talents": LOWER,
            "Guidance Fund Capital": LOWER,
        },
    ),
    "conversion 0": (
        {"Base HTE Conversion Rate": 0},
        {
            "New HTE Certifications": ZERO,
            "High Tech Enterprises": LOWER,
            "Tech SMEs": HIGHER,
            "RD Expenditure": LOWER,
        },
    ),
    "leverage 0": (
        {"Fund Leverage Ratio": 0},
        {
            "Social Capital Co Investment": ZERO,
            "Fund Led Investment": LOWER,
            "High Tech Enterprises": LOWER,
            "New HTE Certifications": LOWER,
        },
    ),
    "budget x10": (
        {
            "Observed Government Innovation Share 2020": 0.319,
            "Fiscal Innovation Share Floor": 0.8,
            "Fiscal Innovation Share Annual Increase": 0.01,
        },
        {
            "Fiscal Innovation Input": HIGHER,
            "High Tech Enterprises": HIGHER,
            "RD Expenditure": HIGHER,
            "Engineering Technology Research Centers": HIGHER,
            "Innovation Carriers": HIGHER,
            "Technology Contract Turnover": HIGHER,
        },
    ),
    "certificate renewal 0": (
        {"HTE Recertification Share": 0},
        {
            "High Tech Enterprises": LOWER,
            "HTE Certificate Lapses": HIGHER,
            "RD Expenditure": LOWER,
        },
    ),
}


#: the eight budget lines and an output that must rise when the line takes the whole budget (the
#: R&D subsidy only its budget: claims, not the budget, limit what it pays, and the other lines'
#: loss shrinks the pipeline that claims; the transfer subsidy likewise only "not lower";
#: cultivation its effect, which saturates, while the pipeline shrinks without the others)
BUDGET_LINES = {
    "Fund Allocation Share": {"Guidance Fund Capital": HIGHER},
    "Cultivation Allocation Share": {"Effect Of Cultivation On Conversion": HIGHER},
    "RD Subsidy Allocation Share": {"RD Subsidy Budget": HIGHER},
    "Platform Allocation Share": {"Engineering Technology Research Centers": HIGHER},
    "Transfer Subsidy Allocation Share": {"Transfer Subsidy Payments": NOT_LOWER},
    "Talent Allocation Share": {"Innovation Talents": HIGHER},
    "Carrier Allocation Share": {"Innovation Carriers": HIGHER},
    "Public Research Allocation Share": {"Public RD": HIGHER},
}
CASES["every budget line 0"] = (
    dict.fromkeys(BUDGET_LINES, 0.0),
    {
        "RD Subsidy Payments": ZERO,
        "Public RD": ZERO,
        "High Tech Enterprises": LOWER,
        "Innovation Carriers": LOWER,
    },
)
for _line, _bought in BUDGET_LINES.items():
    CASES[f"{_line} takes the whole budget"] = (
        {name: float(name == _line) for name in BUDGET_LINES},
        _bought,
    )
CASES["fund 0"] = (
    {"Initial Fund Size": 0, "Fund Allocation Share": 0},
    {"Guidance Fund Capital": ZERO, "Fund Led Investment": ZERO, "New HTE Certifications": LOWER},
)
CASES["fund x10"] = (
    {"Initial Fund Size": 100},
    {
        "Guidance Fund Capital": HIGHER,
        "Fund Led Investment": HIGHER,
        "High Tech Enterprises": HIGHER,
    },
)


def yearly_steps(values: dict[int, float], default: float) -> pd.Series:
    """A step path over 2015-2035: ``values[y]`` over (y-1, y], ``default`` elsewhere."""
    times, levels = [], []
    for year in range(2016, 2036):
        level = values.get(year, default)
        times += [year - 1 + 1e-6, float(year)]
        levels += [level, level]
    return pd.Series([default, *levels], index=[2015.0, *times])


def coal_price(multiplier: float) -> pd.Series:
    return yearly_steps(dict.fromkeys(SHOCK_YEARS, multiplier), 1.0)


def one_year_gdp_shock(factor: float) -> dict[str, pd.Series]:
    """Nominal GDP times ``factor`` in 2022 only: non-resource growth falls (rises) by ln(factor)
    over 2022 and recovers over 2023; the coal price moves by the same factor in 2022."""
    step = float(np.log(factor))
    return {
        "Non Resource Growth Shock": yearly_steps({2022: step, 2023: -step}, 0.0),
        "Coal Price Index": yearly_steps({2022: factor}, 1.0),
    }


ECONOMY_CASES = {
    "coal price x0.3 for five years": (
        {"Coal Price Index": coal_price(0.3)},
        {
            "GDP": LOWER,
            "General Budget Revenue": LOWER,
            "Fiscal Innovation Input": LOWER,
            "Resource Sector Share Of GDP": LOWER,
            "RD Intensity": HIGHER,
            # less revenue, less fiscal innovation input, fewer HTEs: loop R1 slows the rest
            "Non Resource Real GDP": LOWER,
        },
    ),
    "coal price x3 for five years": (
        {"Coal Price Index": coal_price(3.0)},
        {
            "GDP": HIGHER,
            "General Budget Revenue": HIGHER,
            "Fiscal Innovation Input": HIGHER,
            "Resource Sector Share Of GDP": HIGHER,
            "RD Intensity": LOWER,
            "Engineering Technology Research Centers": HIGHER,
        },
    ),
    "nominal GDP -30 % for one year": (
        one_year_gdp_shock(0.7),
        {
            "Non Resource Real GDP": LOWER,
            "General Budget Revenue": LOWER,
            "High Tech Enterprises": LOWER,
        },
    ),
    "nominal GDP +40 % for one year": (
        one_year_gdp_shock(1.4),
        {"Non Resource Real GDP": HIGHER, "Fiscal Innovation Input": NOT_LOWER},
    ),
    "budget revenue 0": (
        {"Non Resource Revenue Share": 0, "Resource Revenue Share": 0},
        {
            "General Budget Revenue": ZERO,
            "Fiscal Innovation Input": ZERO,
            "High Tech Enterprises": LOWER,
            "Innovation Carriers": LOWER,
        },
    ),
}


@pytest.fixture(scope="module")
def stocks(real_model) -> list[str]:
    return [doc.name for doc in model_variables(real_model) if doc.kind == "stock"]


def check_extreme(case, extreme, default, stocks, expectations, year) -> None:
    """Finite, no negative stock, R&D intensity bounded, each output moved as stated in ``year``."""
    values = extreme.to_numpy()
    assert np.isfinite(values).all(), (
        f"{case}: NaN or inf in {extreme.columns[~np.isfinite(values).all(axis=0)].tolist()}"
    )
    negative = [name for name in stocks if (extreme[name] < -1e-9).any()]
    assert not negative, f"{case}: negative stocks {negative}"
    assert extreme["RD Intensity"].max() < RD_INTENSITY_BOUND, (
        f"{case}: R&D intensity reaches {extreme['RD Intensity'].max():.3f}"
    )
    for variable, direction in expectations.items():
        moved, base = extreme.loc[year, variable], default.loc[year, variable]
        if direction == ZERO:
            assert np.allclose(extreme[variable], 0), f"{case}: {variable} is not 0"
        elif direction == LOWER:
            assert moved < base, f"{case}: {variable} {moved:.4g} not below {base:.4g} ({year})"
        elif direction == HIGHER:
            assert moved > base, f"{case}: {variable} {moved:.4g} not above {base:.4g} ({year})"
        else:
            assert moved >= base * (1 - 1e-9), f"{case}: {variable} fell to {moved:.4g}"


@pytest.mark.parametrize("case", CASES)
def test_extreme_condition(case, run_model, stocks):
    params, expectations = CASES[case]
    watched = sorted(set(stocks) | set(expectations) | {"RD Intensity"})
    extreme = run_model(watched, FREE_RUN | params)
    default = run_model(watched, FREE_RUN)
    check_extreme(case, extreme, default, stocks, expectations, 2025)


@pytest.fixture(scope="module")
def time_step(real_model) -> float:
    from sim.vensim import load_model

    return float(load_model(real_model).components.time_step())


@pytest.mark.parametrize("halved", [False, True], ids=["TIME STEP", "TIME STEP/2"])
@pytest.mark.parametrize("case", ECONOMY_CASES)
def test_extreme_economy(case, halved, run_model, stocks, time_step):
    params, expectations = ECONOMY_CASES[case]
    step = time_step / 2 if halved else time_step
    watched = sorted(set(stocks) | set(expectations) | {"RD Intensity", "GDP"})
    extreme = run_model(watched, FREE_RUN | params, time_step=step)
    default = run_model(watched, FREE_RUN, time_step=step)
    year = 2025 if "five years" in case or "revenue" in case else 2022
    check_extreme(case, extreme, default, stocks, expectations, year)


def test_no_conversion_means_high_tech_enterprises_only_decline(run_model):
    result = run_model(["High Tech Enterprises"], FREE_RUN | {"Base HTE Conversion Rate": 0})
    assert (np.diff(result["High Tech Enterprises"].to_numpy()) <= 0).all()


@pytest.mark.parametrize("case", ECONOMY_CASES)
def test_extreme_economy_integration_step(case, run_model, time_step):
    """Halving TIME STEP changes GDP, revenue, HTEs and R&D in 2025 by less than 2 %.

    Looser than the 1 % of the default run (test_integration_step.py) for a stated reason: a
    yearly path switches at the start of the first Euler step after y-1, so each year's flows
    use the previous year's value for one TIME STEP; under a one-year 30-40 % shock that lag
    alone moves R&D in 2025 by about 1 % when TIME STEP is halved.
    """
    params, _ = ECONOMY_CASES[case]
    outputs = ["GDP", "General Budget Revenue", "High Tech Enterprises", "RD Expenditure"]
    coarse = run_model(outputs, FREE_RUN | params, time_step=time_step).loc[2025]
    fine = run_model(outputs, FREE_RUN | params, time_step=time_step / 2).loc[2025]
    change = ((fine - coarse) / coarse.where(coarse != 0, 1)).abs()
    assert (change < 0.02).all(), f"{case}: relative change at TIME STEP/2:\n{change}"
