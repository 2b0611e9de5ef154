from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from sim.report.console import display_width, format_table
from sim.scenario import load_targets
from sim.workflows import simulate as sm


@pytest.fixture
def targets(tiny_targets: Path, tiny_model: Path) -> list:
    return load_targets(tiny_targets, model=tiny_model)


@pytest.fixture
def results(targets: list, tiny_model: Path) -> pd.DataFrame:
    return sm.run_default(targets, model=tiny_model)


def test_run_default(results: pd.DataFrame) -> None:
    assert list(results.columns) == ["High Tech Enterprises", "RD Intensity", "HTE Exits"]
    assert results.index.min() == 2015 and results.index.max() == 2035


def test_indicator_table(results: pd.DataFrame, targets: list) -> None:
    table = sm.indicator_table(results, targets, "en")
    assert list(table.columns) == [
        "Indicator", "Unit", "2020", "2021", "2022", "2023", "2024", "2025", "Target 2025",
        "Met 2025",
    ]  # fmt: skip
    hte, rd, exits = table.to_dict("records")
    assert hte["Indicator"] == "High-tech enterprises" and hte["Target 2025"] == "≥ 300"
    assert hte["Met 2025"] == "yes"  # 395 firms in 2025
    assert rd["2020"] == "0.96" and rd["Target 2025"] == "≥ 1.20" and rd["Met 2025"] == "no"
    assert exits["Target 2025"] == "≤ 20.0" and exits["Met 2025"] == "no"

    zh = sm.indicator_table(results, targets, "zh")
    assert zh.columns[0] == "指标" and zh.iloc[0, 0] == "高新技术企业"
    assert set(zh["2025年达标"]) == {"是", "否"}


def test_format_table_aligns_wide_characters() -> None:
    table = pd.DataFrame(
        [{"指标": "高新技术企业", "单位": "家", "x": "1"}, {"指标": "ab", "单位": "%", "x": "100"}]
    )
    lines = format_table(table).splitlines()
    assert len(lines) == 4
    assert len({display_width(line) for line in lines}) == 1  # right edges line up


def test_numbers() -> None:
    assert sm.row_decimals(300) == 0 and sm.row_decimals(50) == 1
    assert sm.row_decimals(1.152) == 3 and sm.row_decimals(3.19) == 2 and sm.row_decimals(4) == 2
    assert sm.format_number(1234.5, 0) == "1,234" or sm.format_number(1234.5, 0) == "1,235"
    assert sm.format_number(math.nan, 2) == "–"


def test_write_outputs_leaves_nothing_half_written(
    results: pd.DataFrame, targets: list, tmp_path: Path
) -> None:
    figure = sm.plot_targets(results, targets, "zh", "标题")
    out = tmp_path / "out"
    written = sm.write_outputs(results, figure, out)
    assert {p.name for p in written} == {"simulate.png", "simulate.csv"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]

    class Boom(RuntimeError):
        pass

    class BadFigure:
        def savefig(self, *args: object, **kwargs: object) -> None:
            raise Boom

    fresh = tmp_path / "fresh"
    with pytest.raises(Boom):
        sm.write_outputs(results, BadFigure(), fresh)  # type: ignore[arg-type]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
