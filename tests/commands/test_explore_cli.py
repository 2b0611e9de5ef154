"""``innosim compare | sweep | solve``: outputs, languages and bad input (exit 2, no output)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from sim.analysis.paired_difference import COMPARE_COLUMNS
from sim.cli.policy_commands import register
from sim.paths import DEFAULT_SCENARIO_PATH, SCENARIO_DIR
from sim.report.columns import csv_header
from sim.scenario import load_scenario
from sim.workflows.solve import NOT_WITHIN_PLAUSIBLE, NOT_WITHIN_SEARCHED, WITHIN_PLAUSIBLE

app = typer.Typer()
register(app)
runner = CliRunner()

BASELINE = str(DEFAULT_SCENARIO_PATH)
FLOOR = "Fiscal Innovation Share Floor"


def _invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def _staging_left(directory: Path) -> list[Path]:
    return list(directory.glob(".*.tmp"))


def _plain(text: str) -> str:
    """Console text without the error box's borders and line breaks."""
    return " ".join(text.replace("│", " ").split())


def test_compare_writes_table_chart_and_settings(tmp_path: Path, real_model: Path) -> None:
    out = tmp_path / "cmp"
    result = _invoke("compare", BASELINE, SCENARIO_DIR / "fiscal_floor_9pct.yaml",
                     "--draws", 48, "--seed", 4, "--out", out, "--lang", "en")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "High-tech enterprises" in result.stdout and "fiscal_floor_9pct" in result.stdout
    table = pd.read_csv(out / "compare.csv")
    assert list(table.columns) == csv_header(COMPARE_COLUMNS)
    assert set(table["scenario"]) == {"baseline", "fiscal_floor_9pct"}
    assert (table["draws"] == 48).all()
    assert (out / "compare.png").read_bytes().startswith(b"\x89PNG")
    assert '"seed": 4' in (out / "compare.json").read_text("utf-8")
    assert not _staging_left(tmp_path)


def test_compare_a_scenario_with_itself_in_chinese(tmp_path: Path, real_model: Path) -> None:
    out = tmp_path / "same"
    copy = tmp_path / "copy.yaml"
    copy.write_text(f"extends: {BASELINE}\n", encoding="utf-8")
    result = _invoke("compare", BASELINE, copy, "--draws", 32, "--out", out)
    assert result.exit_code == 0, result.output
    assert "高新技术企业" in result.stdout and "全部目标同时达成" in result.stdout
    assert (pd.read_csv(out / "compare.csv")["difference [fraction]"] == 0).all()


def test_sweep_one_lever(tmp_path: Path, real_model: Path) -> None:
    out = tmp_path / "sweep"
    result = _invoke("sweep", BASELINE, "--lever", f"{FLOOR}=0.01:0.05:3", "--draws", 32,
                     "--out", out, "--lang", "en",
                     "--target", "high_tech_enterprises_2025")  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "sweep.csv")
    assert list(table.columns[:2]) == [f"{FLOOR} [Dmnl]", "target"]
    assert len(table) == 3 * 14
    assert table["probability [fraction]"].between(0, 1).all()
    assert (out / "sweep.png").is_file()


def test_sweep_two_levers_with_rebalancing(tmp_path: Path, real_model: Path) -> None:
    out = tmp_path / "sweep2"
    result = _invoke("sweep", "--lever", f"{FLOOR}=0.01:0.05:3",
                     "--lever", "Carrier Allocation Share=0.05:0.1:2",
                     "--rebalance", "Public Research Allocation Share", "--draws", 16,
                     "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "sweep.csv")
    shares = (
        table["Carrier Allocation Share [Dmnl]"] + table["Public Research Allocation Share [Dmnl]"]
    )
    levers = load_scenario(DEFAULT_SCENARIO_PATH).levers
    members = ("Carrier Allocation Share", "Public Research Allocation Share")
    kept = sum(levers[name].value for name in members)
    assert shares.round(12).eq(round(kept, 12)).all()
    assert (out / "sweep.png").is_file()


def test_solve_a_lever(tmp_path: Path, real_model: Path) -> None:
    out = tmp_path / "solve"
    result = _invoke("solve", "--target", "provincial_key_laboratories_2025", "--prob", 0.2,
                     "--lever", f"{FLOOR}=0:0.1", "--draws", 64, "--out", out,
                     "--lang", "en")  # fmt: skip
    assert result.exit_code == 0, result.output
    record = pd.read_csv(out / "solve.csv").iloc[0]
    assert record["status"] in ("reached", "at_bound", "not_reachable")
    assert record["lever"] == FLOOR and record["draws"] == 64
    assert (record["range_low"], record["range_high"]) == (0, 0.1)  # the plausible range
    assert "plausible policy range of Fiscal Innovation Share Floor" in result.stdout
    if record["status"] == "reached":
        assert record["plausible"] == WITHIN_PLAUSIBLE
        assert record["probability [fraction]"] >= 0.2
        assert record["value_low"] <= record["value"] <= record["value_high"]
        assert "least Fiscal Innovation Share Floor" in result.stdout
        assert record["money_at"] == record["value"]
    assert record["money_variable"] == "Fiscal Innovation Input"
    assert record["money_units"] == "CNY100M/Year" and record["money_years"] == "2021-2025"
    assert record["money_per_year"] > 0 and record["money_current_per_year"] > 0
    assert "in money: at Fiscal Innovation Share Floor" in result.stdout
    curve = pd.read_csv(out / "solve_curve.csv")
    assert curve["value"].is_monotonic_increasing and len(curve) >= 11
    assert (out / "solve.png").is_file()
    html = (out / "solve.html").read_text("utf-8")
    assert "Plausible policy range (stated in the model)" in html and "亿元" in html


def test_solve_not_reachable_is_an_answer(tmp_path: Path, real_model: Path) -> None:
    result = _invoke("solve", "--target", "tech_smes_2025", "--prob", 0.9, "--lever",
                     f"{FLOOR}=0:0.05", "--draws", 16, "--out", tmp_path / "nr")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "在搜索范围 [0 %, 5 %] 内无法达到" in result.stdout
    record = pd.read_csv(tmp_path / "nr" / "solve.csv").iloc[0]
    assert record["status"] == "not_reachable" and record["plausible"] == NOT_WITHIN_SEARCHED


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("en", "not reachable within the plausible policy range [0 %, 10 %]: best probability"),
        ("zh", "在合理政策范围 [0 %, 10 %] 内无法达到：最高达成概率"),
    ],
)
def test_solve_not_reachable_within_the_plausible_policy_range(
    tmp_path: Path, real_model: Path, lang: str, said: str
) -> None:
    """95 % for the laboratories is out of reach anywhere in the floor's plausible policy
    range [0, 0.1] (the default range): said plainly, with the best probability and where,
    and the money there."""
    out = tmp_path / "nr"
    result = _invoke("solve", "--target", "provincial_key_laboratories_2025", "--prob", 0.95,
                     "--lever", FLOOR, "--draws", 48, "--out", out, "--lang", lang)  # fmt: skip
    assert result.exit_code == 0, result.output
    record = pd.read_csv(out / "solve.csv").iloc[0]
    assert record["status"] == "not_reachable" and record["plausible"] == NOT_WITHIN_PLAUSIBLE
    assert (record["low"], record["high"]) == (0, 0.1)
    assert 0 < record["best_probability [fraction]"] < 0.95 and 0 <= record["best_value"] <= 0.1
    assert pd.isna(record["value"])
    assert said in result.stdout
    best = f"{record['best_probability [fraction]'] * 100:.1f}%"
    assert best in result.stdout
    assert record["money_at"] == record["best_value"] and record["money_per_year"] > 0
    money_line = "in money: at" if lang == "en" else "折合金额"
    assert money_line in result.stdout
    html = (out / "solve.html").read_text("utf-8")
    assert said.split(":")[0].split("：")[0] in html


def test_solve_a_lever_that_is_money(tmp_path: Path, real_model: Path) -> None:
    """A lever in 亿元 (the fund's size) is its own money: said so, no flow simulated."""
    out = tmp_path / "fund"
    result = _invoke("solve", "--target", "high_tech_enterprises_2025", "--prob", 0.5,
                     "--lever", "Initial Fund Size", "--draws", 16, "--out", out,
                     "--lang", "en")  # fmt: skip
    assert result.exit_code == 0, result.output
    record = pd.read_csv(out / "solve.csv").iloc[0]
    assert (record["range_low"], record["range_high"]) == (0, 50)
    assert record["money_variable"] == "Initial Fund Size" and record["money_units"] == "CNY100M"
    assert pd.isna(record["money_per_year"]) and pd.isna(record["money_years"])
    assert "Initial Fund Size is itself money" in result.stdout and "亿元" in result.stdout


def test_solve_refuses_a_range_outside_the_plausible_policy_range(
    tmp_path: Path, real_model: Path
) -> None:
    out = tmp_path / "o"
    result = _invoke("solve", "--target", "high_tech_enterprises_2025", "--prob", 0.8,
                     "--lever", f"{FLOOR}=0.02:0.3", "--draws", 8, "--out", out)  # fmt: skip
    assert result.exit_code == 2, result.output
    message = _plain(result.stderr)
    assert "--lever" in message
    assert "0.3 is outside the plausible policy range [0, 0.1]" in message
    assert "stated in the model" in message and "widen that range in the model file" in message
    assert not out.exists() and not _staging_left(tmp_path)


def test_solve_budget(tmp_path: Path, real_model: Path) -> None:
    out = tmp_path / "budget"
    result = _invoke("solve", "--budget", "--min-share", 0.02, "--max-share",
                     "Carrier Allocation Share=0.3", "--search-draws", 16, "--maxiter", 2,
                     "--draws", 32, "--out", out, "--lang", "en")  # fmt: skip
    assert result.exit_code == 0, result.output
    shares = pd.read_csv(out / "budget.csv")
    assert shares["best [fraction]"].sum() == pytest.approx(1.0, abs=1e-9)
    assert (shares["best [fraction]"] >= 0.02 - 1e-12).all()
    carrier = shares.set_index("share").loc["Carrier Allocation Share", "best [fraction]"]
    assert carrier <= 0.3 + 1e-12
    targets = pd.read_csv(out / "budget_targets.csv")
    assert "all" in set(targets["target"])
    assert (out / "budget.png").is_file()


def test_solve_budget_with_an_objective_file(tmp_path: Path, real_model: Path) -> None:
    weights = tmp_path / "weights.yaml"
    weights.write_text("weights:\n  high_tech_enterprises_2025: 1\n  innovation_carriers_2025: 1\n",
                       encoding="utf-8")  # fmt: skip
    result = _invoke("solve", "--budget", "--objective", weights, "--search-draws", 16,
                     "--maxiter", 1, "--draws", 16, "--out", tmp_path / "w")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "加权平均达成概率" in result.stdout


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["sweep", "--lever", "Fiscal Innovation Share Flor=0:0.1:3"], "did you mean"),
        (["sweep", "--lever", f"{FLOOR}=0:1.5:3"], "outside the plausible policy range"),
        (["sweep", "--lever", f"{FLOOR}=0:0.1"], "NAME=START:STOP:N"),
        (["sweep", "--lever", f"{FLOOR}=0:0.1:1"], "between 2 and 1001"),
        (["sweep", "--lever", "Fund Allocation Share=0:0.3:3"], "--rebalance"),
        (
            ["sweep", "--lever", "Projected Non Resource Real Growth Rate=0.03:0.05:3"],
            "uncertainty",
        ),
        (["sweep"], "--lever"),
        (["solve", "--target", "high_tech_enterprises_2025", "--prob", "1.5", "--lever", FLOOR],
         "--prob"),
        (["solve", "--target", "high_tech_enterprises_2025", "--prob", "0.8", "--lever",
          "Fiscal Innovation Share Flor"], "did you mean"),
        (["solve", "--target", "hte", "--prob", "0.8", "--lever", FLOOR], "--target"),
        (["solve", "--target", "high_tech_enterprises_2025", "--prob", "0.8", "--lever",
          f"{FLOOR}=0.5:2"], "outside the plausible policy range"),
        (["solve", "--prob", "0.8", "--lever", FLOOR], "--target"),
        (["solve", "--budget", "--lever", FLOOR], "--lever"),
        (["solve", "--budget", "--min-share", "0.2"], "--min-share"),
        (["solve", "--target", "all", "--prob", "0.8", "--lever", FLOOR, "--min-share", "0.1"],
         "--min-share"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_naming_it_and_writes_nothing(
    tmp_path: Path, real_model: Path, args: list[str], named: str
) -> None:
    out = tmp_path / "o"
    result = _invoke(*args, "--draws", 8, "--out", out)
    assert result.exit_code == 2, result.output
    assert named in _plain(result.stderr), result.stderr
    assert not out.exists() and not _staging_left(tmp_path)


def test_compare_needs_two_scenarios_and_readable_files(tmp_path: Path, real_model: Path) -> None:
    out = tmp_path / "o"
    result = _invoke("compare", BASELINE, "--out", out)
    assert result.exit_code == 2 and "two scenario" in result.stderr
    missing = tmp_path / "nope.yaml"
    result = _invoke("compare", BASELINE, missing, "--out", out)
    assert result.exit_code == 2 and "nope.yaml" in result.stderr
    assert not out.exists()


def test_bad_objective_file(tmp_path: Path, real_model: Path) -> None:
    weights = tmp_path / "weights.yaml"
    weights.write_text("weights:\n  high_tech_enterprise_2025: 1\n", encoding="utf-8")
    out = tmp_path / "o"
    result = _invoke("solve", "--budget", "--objective", weights, "--out", out)
    assert result.exit_code == 2
    assert "weights.yaml:2" in result.stderr and "did you mean" in result.stderr
    assert not out.exists()
