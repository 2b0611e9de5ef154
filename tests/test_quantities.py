"""Quantities as a person reads them (``sim.report.quantities``): units in both languages,
shares as percentages, changes with a sign."""

from __future__ import annotations

import math

import pytest

from sim.report.quantities import format_number, format_quantity, unit_text


@pytest.mark.parametrize(
    ("units", "zh", "en"),
    [
        ("CNY100M/Year", "亿元/年", "CNY 100M/yr"),
        ("CNY10K/(Firm*Year)", "万元/(家·年)", "CNY 10k/(firms·yr)"),
        ("Dmnl", "", ""),
        ("Widget", "Widget", "Widget"),
    ],
)
def test_unit_text(units: str, zh: str, en: str) -> None:
    assert unit_text(units, "zh") == zh
    assert unit_text(units, "en") == en


@pytest.mark.parametrize(
    ("value", "units", "kwargs", "expected"),
    [
        (0.02, "Dmnl", {}, "2 %"),
        (0.001, "Dmnl", {}, "0.1 %"),
        (0.02375, "Dmnl", {}, "2.38 %"),
        (0.005, "Dmnl", {"change": True}, "+0.5 pp"),
        (-0.005, "Dmnl", {"change": True}, "-0.5 pp"),
        (0.08, "Dmnl", {"percent": False}, "0.080"),
        (10, "CNY100M", {}, "10.0 CNY 100M"),
        (1369.2, "Firm", {}, "1,369 firms"),
        (math.nan, "Firm", {}, "–"),
        (0.0, "CNY100M", {}, "0 CNY 100M"),
        (0.001, "1/Year", {}, "0.1 %/yr"),
        (0.001, "1/Year", {"change": True}, "+0.1 pp/yr"),
        (2020.0, "Year", {}, "2020"),
        (8.0, "Year", {}, "8.00 yr"),
    ],
)
def test_format_quantity(value: float, units: str, kwargs: dict, expected: str) -> None:
    assert format_quantity(value, units, "en", **kwargs) == expected


def test_format_quantity_in_chinese() -> None:
    assert format_quantity(0.005, "Dmnl", "zh", change=True) == "+0.5 个百分点"
    assert format_quantity(3.5, "CNY100M/Year", "zh") == "3.50 亿元/年"


def test_format_number_keeps_small_values_readable() -> None:
    assert format_number(0.0045) == "0.0045"
    assert format_number(31.42) == "31.4"
    assert format_number(-1234.5) == "-1,234"
    assert format_number(0.0) == "0"
