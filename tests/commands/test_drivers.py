"""``innosim sensitivity`` and ``innosim discover``: outputs, languages and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from sim.analysis.prim_boxes import BOX_COLUMNS, TRAJECTORY_COLUMNS
from sim.analysis.sensitivity_indices import table_columns
from sim.cli.driver_commands import register
from sim.report.columns import csv_header
from sim.report.writer import PROVENANCE_FILE
from sim.workflows.sensitivity import SENSITIVITY_FILE

runner = CliRunner()
app = typer.Typer()
register(app)

# A small scenario on the real model: three uncertainties, the two headline targets and one
# that no run reaches (test data; the ranges are the baseline's).
SMALL = """
uncertainties:
  Contract Knowledge Elasticity:
    distribution: pert
    min: 0
    mode: 0.15
    max: 1.2
    reasoning: test
  HTE Recertification Share:
    distribution: uniform
    min: 0.5
    max: 0.9
    reasoning: test
  Base HTE Conversion Rate:
    distribution: triangular
    min: 0.158
    mode: 0.211
    max: 0.264
    reasoning: test
correlations:
  - between: [HTE Recertification Share, Base HTE Conversion Rate]
    rank: 0.3
    reasoning: test
monte_carlo: {draws: 400, seed: 11}
targets:
  - name: high_tech_enterprises_2025
    variable: High Tech Enterprises
    year: 2025
    direction: at_least
    threshold: 300
    label: {zh: 高新技术企业, en: High-tech enterprises}
    unit: {zh: 家, en: firms}
    source: test
  - name: technology_contract_turnover_2025
    variable: Technology Contract Turnover
    year: 2025
    direction: at_least
    threshold: 30
    label: {zh: 技术合同交易额, en: Technology-contract turnover}
    unit: {zh: 亿元/年, en: CNY 100M/yr}
    source: test
  - name: unreachable
    variable: Tech SMEs
    year: 2025
    direction: at_least
    threshold: 1000000
    label: {zh: 科技型中小企业, en: Tech SMEs}
    unit: {zh: 家, en: firms}
    source: test
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory, real_model: Path) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return path


def test_sensitivity_writes_table_and_charts(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "sens"
    args = ["sensitivity", str(small), "--samples", "64", "--out", str(out), "--lang", "en"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / SENSITIVITY_FILE)
    assert list(table.columns) == table_columns("sobol")
    assert len(table) == 3 * 2 * 3
    assert {p.name for p in out.iterdir()} == {
        SENSITIVITY_FILE,
        "sensitivity.xlsx",
        "sensitivity.html",
        PROVENANCE_FILE,
        "sensitivity_high_tech_enterprises_2025.png",
        "sensitivity_technology_contract_turnover_2025.png",
        "sensitivity_unreachable.png",
    }
    provenance = json.loads((out / PROVENANCE_FILE).read_text(encoding="utf-8"))
    assert provenance["command"] == "innosim sensitivity"
    assert provenance["scenario"] == "small.yaml" and provenance["model_sha256"]
    assert (provenance["method"], provenance["samples"], provenance["runs"]) == ("sobol", 64, 320)
    assert f"wrote {out / PROVENANCE_FILE}" in result.stdout
    assert (
        "High-tech enterprises" in result.stdout
        and "Contract Knowledge Elasticity" in result.stdout
    )
    assert "1 correlation(s) of the scenario ignored" in result.stderr
    unreachable = table[(table["target"] == "unreachable") & (table["output"] == "reached")]
    assert unreachable["ST"].isna().all()
    assert not list(tmp_path.glob(".*.tmp")), "staging directory left behind"


def test_sensitivity_morris_in_chinese(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "morris"
    result = runner.invoke(
        app, ["sensitivity", str(small), "--method", "morris", "--samples", "10", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert list(pd.read_csv(out / SENSITIVITY_FILE).columns) == table_columns("morris")
    assert "技术合同对知识存量的弹性" in result.stdout and "是否达标" in result.stdout


def test_discover_writes_trajectory_box_and_chart(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "disc"
    args = ["discover", str(small), "--target", "technology_contract_turnover_2025"]
    result = runner.invoke(app, [*args, "--out", str(out), "--lang", "en", "--threshold", "0.6"])
    assert result.exit_code == 0, result.output
    stem = out / "technology_contract_turnover_2025_reached"
    trajectory = pd.read_csv(f"{stem}_trajectory.csv")
    box = pd.read_csv(f"{stem}_box.csv")
    assert list(trajectory.columns) == csv_header(TRAJECTORY_COLUMNS)
    assert list(box.columns) == csv_header(BOX_COLUMNS)
    assert trajectory["chosen"].sum() == 1
    assert "Contract Knowledge Elasticity" in set(box["parameter"])
    assert Path(f"{stem}.png").is_file()
    assert "chosen box" in result.stdout

    provenance = json.loads((out / PROVENANCE_FILE).read_text(encoding="utf-8"))
    assert provenance["command"] == "innosim discover" and provenance["draws"] == 400
    assert (provenance["target"], provenance["cases"]) == (
        "technology_contract_turnover_2025",
        "reached",
    )

    missed = runner.invoke(app, [*args, "--missed", "--out", str(out), "--draws", "200"])
    assert missed.exit_code == 0, missed.output
    assert "所选框" in missed.stdout
    assert {p.name for p in out.iterdir()} == {
        PROVENANCE_FILE,
        "discover.xlsx",
        *(
            f"technology_contract_turnover_2025_{cases}{suffix}"
            for cases in ("reached", "missed")
            for suffix in ("_trajectory.csv", "_box.csv", ".png", ".html")
        ),
    }
    provenance = json.loads((out / PROVENANCE_FILE).read_text(encoding="utf-8"))
    assert (provenance["cases"], provenance["draws"]) == ("missed", 200)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["sensitivity", "--method", "fast"], "--method"),
        (["sensitivity", "--samples", "6"], "--samples"),
        (["sensitivity", "--samples", "1"], "--samples"),
        (["sensitivity", "--seed", "-1"], "--seed"),
        (["discover", "--target", "nope"], "--target"),
        (["discover", "--target", "unreachable", "--threshold", "0"], "--threshold"),
        (["discover", "--target", "unreachable", "--threshold", "1.5"], "--threshold"),
        (["discover", "--target", "unreachable", "--draws", "0"], "--draws"),
        (["discover"], "--target"),
    ],
)
def test_bad_input_exits_2_naming_it(small: Path, tmp_path: Path, args: list[str], named: str):
    out = tmp_path / "o"
    result = runner.invoke(app, [args[0], str(small), *args[1:], "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert named in result.stderr
    assert not out.exists()


def test_unknown_target_lists_the_known_ones(small: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["discover", str(small), "--target", "nope"])
    assert "high_tech_enterprises_2025" in result.stderr


def test_target_nobody_reaches_is_refused(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    args = ["discover", str(small), "--target", "unreachable", "--draws", "50"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "unreachable" in result.stderr and "none of the 50 draws" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("command", ["sensitivity", "discover"])
def test_missing_scenario_and_scenario_without_uncertainties(
    command: str, tmp_path: Path, tiny_model: Path, tiny_targets: Path
) -> None:
    out = tmp_path / "o"
    extra = ["--target", "hte_2025"] if command == "discover" else []
    missing = runner.invoke(app, [command, str(tmp_path / "nope.yaml"), *extra, "--out", str(out)])
    assert missing.exit_code == 2 and "nope.yaml" in missing.stderr
    bare = runner.invoke(
        app, [command, str(tiny_targets), *extra, "--model", str(tiny_model), "--out", str(out)]
    )
    assert bare.exit_code == 2, bare.output
    assert "no uncertainties" in bare.stderr
    assert not out.exists()
