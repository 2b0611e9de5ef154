"""``innosim compare | sweep | solve``: outputs, languages and bad input (exit 2, no output)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from sim.analysis.compare import COMPARE_COLUMNS
from sim.commands.explore import register
from sim.paths import DEFAULT_SCENARIO_PATH, SCENARIO_DIR

app = typer.Typer()
register(app)
runner = CliRunner()

BASELINE = str(DEFAULT_SCENARIO_PATH)
FLOOR = "Fiscal Innovation Share Floor"


def _invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def _staging_left(directory: Path) -> list[Path]:
    return list(directory.glob(".*.tmp"))


def test_compare_writes_table_chart_and_settings(tmp_path: Path, real_model: Path) -> None:
    out = tmp_path / "cmp"
    result = _invoke("compare", BASELINE, SCENARIO_DIR / "fiscal_share_3pct.yaml",
                     "--draws", 48, "--seed", 4, "--out", out, "--lang", "en")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "High-tech enterprises" in result.stdout and "fiscal_share_3pct" in result.stdout
    table = pd.read_csv(out / "compare.csv")
    assert list(table.columns) == COMPARE_COLUMNS
    assert set(table["scenario"]) == {"baseline", "fiscal_share_3pct"}
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
    assert (pd.read_csv(out / "compare.csv")["difference"] == 0).all()


def test_sweep_one_lever(tmp_path: Path, real_model: Path) -> None:
    out = tmp_path / "sweep"
    result = _invoke("sweep", BASELINE, "--lever", f"{FLOOR}=0.01:0.05:3", "--draws", 32,
                     "--out", out, "--lang", "en",
                     "--target", "high_tech_enterprises_2025")  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "sweep.csv")
    assert list(table.columns[:2]) == [FLOOR, "target"]
    assert len(table) == 3 * 14
    assert table["probability"].between(0, 1).all()
    assert (out / "sweep.png").is_file()


def test_sweep_two_levers_with_rebalancing(tmp_path: Path, real_model: Path) -> None:
    out = tmp_path / "sweep2"
    result = _invoke("sweep", "--lever", f"{FLOOR}=0.01:0.05:3",
                     "--lever", "Carrier Allocation Share=0.05:0.1:2",
                     "--rebalance", "Public Research Allocation Share", "--draws", 16,
                     "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "sweep.csv")
    shares = table["Carrier Allocation Share"] + table["Public Research Allocation Share"]
    assert shares.round(12).eq(0.15).all()
    assert (out / "sweep.png").is_file()


def test_solve_a_lever(tmp_path: Path, real_model: Path) -> None:
    out = tmp_path / "solve"
    result = _invoke("solve", "--target", "provincial_key_laboratories_2025", "--prob", 0.8,
                     "--lever", f"{FLOOR}=0:0.1", "--draws", 64, "--out", out,
                     "--lang", "en")  # fmt: skip
    assert result.exit_code == 0, result.output
    record = pd.read_csv(out / "solve.csv").iloc[0]
    assert record["status"] in ("reached", "at_bound", "not_reachable")
    assert record["lever"] == FLOOR and record["draws"] == 64
    if record["status"] == "reached":
        assert record["probability"] >= 0.8
        assert record["value_low"] <= record["value"] <= record["value_high"]
        assert "least Fiscal Innovation Share Floor" in result.stdout
    curve = pd.read_csv(out / "solve_curve.csv")
    assert curve["value"].is_monotonic_increasing and len(curve) >= 11
    assert (out / "solve.png").is_file()


def test_solve_not_reachable_is_an_answer(tmp_path: Path, real_model: Path) -> None:
    result = _invoke("solve", "--target", "tech_smes_2025", "--prob", 0.9, "--lever",
                     f"{FLOOR}=0:0.05", "--draws", 16, "--out", tmp_path / "nr")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "无法达到" in result.stdout
    assert pd.read_csv(tmp_path / "nr" / "solve.csv")["status"].iloc[0] == "not_reachable"


def test_solve_budget(tmp_path: Path, real_model: Path) -> None:
    out = tmp_path / "budget"
    result = _invoke("solve", "--budget", "--min-share", 0.02, "--max-share",
                     "Carrier Allocation Share=0.3", "--search-draws", 16, "--maxiter", 2,
                     "--draws", 32, "--out", out, "--lang", "en")  # fmt: skip
    assert result.exit_code == 0, result.output
    shares = pd.read_csv(out / "budget.csv")
    assert shares["best"].sum() == pytest.approx(1.0, abs=1e-9)
    assert (shares["best"] >= 0.02 - 1e-12).all()
    carrier = shares.set_index("share").loc["Carrier Allocation Share", "best"]
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
        (["sweep", "--lever", f"{FLOOR}=0:1.5:3"], "outside the Vensim limits"),
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
          f"{FLOOR}=0.5:2"], "outside the Vensim limits"),
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
    assert named in " ".join(result.stderr.split()), result.stderr
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
