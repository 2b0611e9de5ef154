"""Extreme-condition tests: the model stays physical when a lever is pushed to its limit.

For each case: no stock goes negative, nothing becomes NaN or infinite over 2015-2035, and the
named outputs move in the stated direction against the default run (in 2025). The runs switch
the re-anchoring to observed 2020 values off, so that the model's own dynamics are tested.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.vensim import model_documentation

LOWER, HIGHER, ZERO = "lower", "higher", "zero"
FREE_RUN = {"History Anchoring Switch": 0}

CASES = {
    "fiscal input 0": (
        {
            "Historical Fiscal Innovation Share": 0,
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
            "Historical Fiscal Innovation Share": 0.15,
            "Fiscal Innovation Share Floor": 0.2,
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


@pytest.fixture(scope="module")
def stocks(real_model) -> list[str]:
    return [doc.name for doc in model_documentation(real_model) if doc.kind == "stock"]


@pytest.mark.parametrize("case", CASES)
def test_extreme_condition(case, run_model, stocks):
    params, expectations = CASES[case]
    watched = sorted(set(stocks) | set(expectations))
    extreme = run_model(watched, FREE_RUN | params)
    default = run_model(watched, FREE_RUN)

    values = extreme.to_numpy()
    assert np.isfinite(values).all(), (
        f"{case}: NaN or inf in {extreme.columns[~np.isfinite(values).all(axis=0)].tolist()}"
    )
    negative = [name for name in stocks if (extreme[name] < -1e-9).any()]
    assert not negative, f"{case}: negative stocks {negative}"

    for variable, direction in expectations.items():
        moved, base = extreme.loc[2025, variable], default.loc[2025, variable]
        if direction == ZERO:
            assert np.allclose(extreme[variable], 0), f"{case}: {variable} is not 0"
        elif direction == LOWER:
            assert moved < base, f"{case}: {variable} {moved:.4g} not below default {base:.4g}"
        else:
            assert moved > base, f"{case}: {variable} {moved:.4g} not above default {base:.4g}"


def test_no_conversion_means_high_tech_enterprises_only_decline(run_model):
    result = run_model(["High Tech Enterprises"], FREE_RUN | {"Base HTE Conversion Rate": 0})
    assert (np.diff(result["High Tech Enterprises"].to_numpy()) <= 0).all()
