"""sim.analysis.plan_tracking: the rules of the mid-term assessment on hand-made cases (its lever
search: tests/analysis/test_threshold_search.py)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sim.analysis.plan_tracking import (
    AT_RISK,
    NO_DATA,
    OFF_TRACK,
    ON_TRACK,
    growth_needed,
    path_rule,
    plan_path,
    track_status,
    track_target,
)
from sim.scenario import Target

LABEL = {"zh": "指标", "en": "indicator"}


def _target(threshold: float = 300, direction: str = "at_least") -> Target:
    return Target(
        name="t",
        variable="High Tech Enterprises",
        year=2025,
        direction=direction,
        threshold=threshold,
        label=LABEL,
        unit=LABEL,
        source="test",
    )


def test_path_rules():
    assert path_rule(178, "Firm") == "geometric"
    assert path_rule(0.0096, "Dmnl") == "linear"
    assert path_rule(0, "Platform") == "linear"
    target = _target(300)
    assert plan_path(178, 2020, target, 2020, "geometric") == 178
    assert plan_path(178, 2020, target, 2025, "geometric") == pytest.approx(300)
    assert plan_path(178, 2020, target, 2023, "geometric") == pytest.approx(
        178 * (300 / 178) ** 0.6
    )
    assert plan_path(0, 2020, _target(150), 2022, "linear") == pytest.approx(60)
    assert plan_path(178, 2020, target, 2030, "geometric") == pytest.approx(300)


@pytest.mark.parametrize(
    ("observed", "path", "direction", "status"),
    [
        (250, 240, "at_least", ON_TRACK),
        (240, 240, "at_least", ON_TRACK),
        (220, 240, "at_least", AT_RISK),  # 8.3 % short
        (216, 240, "at_least", AT_RISK),  # exactly 10 % short
        (215, 240, "at_least", OFF_TRACK),
        (9, 10, "at_most", ON_TRACK),
        (10.5, 10, "at_most", AT_RISK),
        (12, 10, "at_most", OFF_TRACK),
        (math.nan, 10, "at_least", NO_DATA),
        (1, 0, "at_least", ON_TRACK),
    ],
)
def test_status(observed, path, direction, status):
    assert track_status(observed, path, direction) == status


def test_growth_needed():
    assert growth_needed(200, 300, 2023, 2025) == pytest.approx((1.5) ** 0.5 - 1)
    assert growth_needed(300, 300, 2023, 2025) == 0
    assert math.isnan(growth_needed(200, 300, 2025, 2025))
    assert math.isnan(growth_needed(0, 300, 2023, 2025))


def test_track_target():
    data = pd.DataFrame(
        {
            "variable": ["High Tech Enterprises"] * 3 + ["Tech SMEs"],
            "year": [2020, 2022, 2024, 2022],
            "value": [178.0, 230.0, 999.0, 1.0],
            "sd": [5.0, 5.0, 5.0, 1.0],
            "source": ["x"] * 4,
        }
    )
    row = track_target(_target(), data, 2023, 2020, model_start=150.0, units="Firm")
    assert (row["last_year"], row["last_value"]) == (2022, 230.0)  # 2024 is after as-of
    assert row["start_source"] == "observed" and row["path_rule"] == "geometric"
    assert row["path_value"] == pytest.approx(178 * (300 / 178) ** 0.4)
    assert row["status"] == ON_TRACK
    assert row["growth_needed"] == pytest.approx((300 / 230) ** (1 / 3) - 1)
    unobserved = track_target(_target(), data[data["year"] == 2020], 2023, 2020, 150.0, "Firm")
    assert unobserved["status"] == NO_DATA  # nothing observed since the plan start
    counter = Target(
        name="c",
        variable="City Platforms Added In Plan Period",
        year=2025,
        direction="at_least",
        threshold=150,
        label=LABEL,
        unit=LABEL,
        source="test",
    )
    counted = pd.DataFrame(
        {
            "variable": [counter.variable],
            "year": [2022],
            "value": [55.0],
            "sd": [5.0],
            "source": ["x"],
        }
    )
    row = track_target(counter, counted, 2023, 2020, model_start=0.0, units="Platform")
    assert row["start_source"] == "zero" and row["path_rule"] == "linear"
    assert row["path_value"] == pytest.approx(60) and row["status"] == AT_RISK
