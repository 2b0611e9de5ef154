"""``sim.workflows.assess.derive_ratios``: R&D intensity derived from observed R&D expenditure and
GDP where only the parts are observed, with its error propagated."""

from __future__ import annotations

import math

import pandas as pd

from sim.workflows.assess import DERIVED_SOURCE, derive_ratios

VARIABLES = ["RD Intensity", "RD Expenditure", "GDP"]


def _frame(rows: list[tuple[str, int, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(v, y, x, s, f"src {v} {y}") for v, y, x, s in rows],
        columns=["variable", "year", "value", "sd", "source"],
    )


def test_ratio_is_derived_where_only_its_parts_are_observed() -> None:
    data = _frame(
        [
            ("RD Expenditure", 2021, 20.0, 1.0),
            ("GDP", 2021, 2000.0, 40.0),
            ("RD Expenditure", 2022, 24.0, 1.2),
            ("GDP", 2022, 2100.0, 42.0),
            ("RD Intensity", 2022, 0.0115, 0.0005),  # observed: kept, not derived
            ("RD Expenditure", 2023, 26.0, 1.3),  # no GDP that year
        ]
    )
    derived, notes = derive_ratios(data, VARIABLES)
    assert list(derived.columns) == ["variable", "year", "value", "sd", "source"]
    assert derived[["variable", "year"]].values.tolist() == [["RD Intensity", 2021]]
    row = derived.iloc[0]
    assert row["value"] == 0.01
    assert math.isclose(row["sd"], 0.01 * math.hypot(1.0 / 20.0, 40.0 / 2000.0))
    assert row["source"].startswith(f"{DERIVED_SOURCE}: RD Expenditure / GDP (src RD Exp")
    assert len(notes) == 1 and "2021" in notes[0] and "not conditioned on" in notes[0]
    assert derived["year"].dtype == "int64"


def test_nothing_is_derived_for_a_model_without_the_variables() -> None:
    data = _frame([("RD Expenditure", 2021, 20.0, 1.0), ("GDP", 2021, 2000.0, 40.0)])
    derived, notes = derive_ratios(data, ["RD Expenditure", "GDP"])
    assert derived.empty and notes == []
    derived, notes = derive_ratios(data.iloc[:1], VARIABLES)
    assert derived.empty and notes == []
