"""Integration error: halving TIME STEP changes each named output in 2025 by less than 1 %."""

from __future__ import annotations

import pytest

NAMED_OUTPUTS = [
    "GDP",
    "General Budget Revenue",
    "Fiscal Innovation Input",
    "Government Innovation Share Of Expenditure",
    "Guidance Fund Capital",
    "Tech SMEs",
    "High Tech Enterprises",
    "New HTE Certifications",
    "Innovative Leading Enterprises",
    "RD Expenditure",
    "RD Intensity",
    "Technology Contract Turnover",
    "Effective Invention Patents",
    "Engineering Technology Research Centers",
    "Provincial Key Laboratories",
    "City Innovation Platforms",
    "City Platforms Added In Plan Period",
    "Innovation Talents",
    "Talents Added In Plan Period",
    "Innovation Carriers",
]


@pytest.fixture(scope="module")
def time_step(real_model) -> float:
    from sim.vensim import load_model

    return float(load_model(real_model).components.time_step())


def test_halving_time_step_changes_2025_outputs_by_less_than_one_percent(run_model, time_step):
    coarse = run_model(NAMED_OUTPUTS, time_step=time_step).loc[2025]
    fine = run_model(NAMED_OUTPUTS, time_step=time_step / 2).loc[2025]
    change = ((fine - coarse) / coarse).abs()
    too_sensitive = change[change >= 0.01]
    assert too_sensitive.empty, f"relative change in 2025 at TIME STEP/2:\n{too_sensitive}"
