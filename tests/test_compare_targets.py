"""``innosim compare`` with scenarios whose targets differ: a target only some scenarios define
is reported where it is defined and as "not in the scenario" elsewhere, never dropped
(sim.workflows.compare)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from sim.report.columns import read_table
from sim.workflows.compare import run_compare

FIXTURE = Path(__file__).parent / "fixtures" / "calibration_small.yaml"
ADDED = "contracts_2025"
VARIANT = f"""extends: first.yaml
title: {{zh: 加一个目标, en: One target more}}
targets:
  - name: {ADDED}
    variable: Technology Contract Turnover
    year: 2025
    direction: at_least
    threshold: 20
    label: {{zh: 技术合同成交额, en: Contract turnover}}
    unit: {{zh: 亿元, en: CNY 100M}}
    source: "test"
"""


@pytest.fixture
def scenarios(tmp_path: Path, real_model: Path) -> tuple[Path, Path]:
    """A small scenario and a variant that ``extends`` it and adds a target."""
    first = tmp_path / "first.yaml"
    shutil.copyfile(FIXTURE, first)
    second = tmp_path / "second.yaml"
    second.write_text(VARIANT, encoding="utf-8")
    return first, second


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_target_the_second_scenario_adds_is_reported_not_dropped(
    scenarios: tuple[Path, Path], tmp_path: Path, lang: str
) -> None:
    first, second = scenarios
    out = tmp_path / "out"
    report = run_compare([first, second], out, draws=32, seed=4, lang=lang)
    table = read_table(out / "compare.csv")
    added = table[table["target"] == ADDED].set_index("scenario")
    assert list(added.index) == ["first", "second"]
    assert math.isnan(added.loc["first", "probability"])  # not in the reference
    assert 0 <= added.loc["second", "probability"] <= 1  # judged where it is defined
    assert added["difference"].isna().all()  # no paired difference without the reference
    shared = table[table["target"] != ADDED]
    assert shared["probability"].notna().all()
    meta = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    assert ADDED in meta["targets"]["second"] and ADDED not in meta["targets"]["first"]
    assert ADDED not in meta["all_targets_counts"]
    label = "Contract turnover" if lang == "en" else "技术合同成交额"
    missing = "not in the scenario" if lang == "en" else "情景未设此目标"
    assert label in report.text and missing in report.text
    html = (out / "compare.html").read_text(encoding="utf-8")
    assert label in html and missing in html
    assert f"{added.loc['second', 'probability'] * 100:.1f}%" in html


def test_a_target_the_reference_adds_has_no_difference_where_it_is_missing(
    scenarios: tuple[Path, Path], tmp_path: Path
) -> None:
    first, second = scenarios
    out = tmp_path / "out"
    run_compare([second, first], out, draws=32, seed=4, lang="en")
    table = read_table(out / "compare.csv")
    added = table[table["target"] == ADDED].set_index("scenario")
    assert added.loc["second", "difference"] == 0
    assert added.loc["first", ["probability", "difference"]].isna().all()
    # "all targets met together" counts only the targets both define
    every = table[table["target"] == "all"]
    assert len(every) == 2 and every["probability"].notna().all()


def test_a_scenario_given_twice_is_refused(scenarios: tuple[Path, Path], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sim.cli import app

    reference, _ = scenarios
    out = tmp_path / "twice"
    same = reference.parent / ".." / reference.parent.name / reference.name  # another spelling
    result = CliRunner().invoke(
        app, ["compare", str(reference), str(same), "--draws", "20", "--out", str(out)]
    )
    assert result.exit_code == 2, result.output
    assert "is given twice" in result.output and "SCENARIOS" in result.output
    assert not out.exists()
