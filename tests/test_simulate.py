from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from sim.report.columns import read_table
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


def test_deterministic_run_writes_csv_png_and_provenance(
    targets: list, tiny_targets: Path, tiny_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    report = sm.deterministic_run(tiny_targets, out, lang="en", model=tiny_model)
    assert [p.name for p in report.written] == [
        "provenance.json",
        "simulate.csv",
        "simulate.png",
        "simulate.xlsx",
    ]
    assert sorted(p.name for p in out.iterdir()) == [p.name for p in report.written]
    assert report.console == format_table(report.table)
    assert list(report.table.columns)[:2] == ["Indicator", "Unit"]
    # simulate.csv: the year as the first column, six significant digits
    text = (out / "simulate.csv").read_text(encoding="utf-8")
    header = "year,High Tech Enterprises [Firm],RD Intensity [Dmnl],HTE Exits [Firm/Year]"
    written = report.results.to_csv(float_format="%.6g").splitlines()
    assert text.splitlines() == [header, *written[1:]]  # numbers as written, units in the header
    frame = read_table(out / "simulate.csv").set_index("year")
    assert list(frame.index) == list(range(2015, 2036))
    provenance = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
    assert provenance["command"] == "innosim simulate"
    assert provenance["scenario"] == tiny_targets.name
    assert provenance["model"] == tiny_model.name and len(provenance["model_sha256"]) == 64


def test_deterministic_run_leaves_nothing_half_written(
    tiny_targets: Path, tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Boom(RuntimeError):
        pass

    def broken(*args: object, **kwargs: object) -> None:
        raise Boom  # simulate.csv is staged, simulate.png fails

    monkeypatch.setattr(Path, "write_bytes", broken)
    with pytest.raises(Boom):
        sm.deterministic_run(tiny_targets, tmp_path / "fresh", model=tiny_model)
    assert list(tmp_path.iterdir()) == []
