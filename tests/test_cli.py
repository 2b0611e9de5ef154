"""``innosim simulate``: exit codes, outputs, languages."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.paths import DEFAULT_SCENARIO_PATH
from sim.scenario import load_scenario

runner = CliRunner()


def _simulate(*args: str):
    return runner.invoke(app, ["simulate", *args])


def test_simulate_zh_and_en(tmp_path: Path, tiny_model: Path, tiny_targets: Path) -> None:
    common = ["--model", str(tiny_model), "--scenario", str(tiny_targets)]
    zh = _simulate(*common, "--out", str(tmp_path / "zh"))
    assert zh.exit_code == 0, zh.output
    assert "高新技术企业" in zh.stdout and "2025年目标" in zh.stdout and "是" in zh.stdout
    assert (tmp_path / "zh" / "simulate.png").stat().st_size > 1000
    assert (tmp_path / "zh" / "simulate.csv").is_file()

    en = _simulate(*common, "--lang", "en", "--out", str(tmp_path / "en"))
    assert en.exit_code == 0, en.output
    assert "High-tech enterprises" in en.stdout and "Target 2025" in en.stdout
    assert "高新" not in en.stdout
    assert (tmp_path / "en" / "simulate.png").is_file()


def test_bad_language(tmp_path: Path) -> None:
    result = _simulate("--lang", "fr", "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "--lang" in result.stderr
    assert not (tmp_path / "o").exists()


def test_unreadable_scenario(tmp_path: Path, tiny_model: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("targets:\n  - name: [unclosed\n", encoding="utf-8")
    for scenario in (bad, tmp_path / "missing.yaml"):
        result = _simulate("--model", str(tiny_model), "--scenario", str(scenario),
                           "--out", str(tmp_path / "o"))  # fmt: skip
        assert result.exit_code == 2
        assert str(scenario) in result.stderr
        assert not (tmp_path / "o").exists()


def test_unknown_target_variable(tmp_path: Path, tiny_model: Path) -> None:
    result = _simulate("--model", str(tiny_model), "--out", str(tmp_path / "o"))
    # the baseline names variables the tiny model does not have
    assert result.exit_code == 2
    assert "baseline.yaml" in result.stderr and "not a variable of the model" in result.stderr


def test_simulate_real_model(tmp_path: Path, real_model: Path) -> None:
    result = _simulate("--lang", "en", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "R&D intensity" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.endswith(("yes", "no"))]
    assert len(rows) == len(load_scenario(DEFAULT_SCENARIO_PATH, check_model=False).targets)
    assert (tmp_path / "simulate.png").is_file()


def test_check_real_model(real_model: Path) -> None:
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    assert "units consistent" in result.stdout


def test_check_finds_units_error(tmp_path: Path, real_model: Path) -> None:
    copy = tmp_path / real_model.name
    text = real_model.read_text(encoding="utf-8")
    broken = text.replace(
        "Non Resource Real GDP*Non Resource Real Growth Rate\n\t~\tCNY100M/(Year*Year)",
        "Non Resource Real GDP*Non Resource Real Growth Rate\n\t~\tCNY100M/Year",
        1,
    )
    assert broken != text
    copy.write_text(broken, encoding="utf-8")
    (tmp_path / "README.md").write_text(
        (real_model.parent / "README.md").read_text("utf-8"), "utf-8"
    )
    result = runner.invoke(app, ["check", "--model", str(copy)])
    assert result.exit_code == 1
    assert "Non Resource Real GDP Increase" in result.stderr


def test_sketch_check_stale(tmp_path: Path, real_model: Path) -> None:
    copy = tmp_path / real_model.name
    text = real_model.read_text(encoding="utf-8")
    copy.write_text(
        text.replace(
            "Non Resource Real GDP*Non Resource Real Growth Rate\n",
            "Non Resource Real GDP*Non Resource Real Growth Rate*Non Resource Economy Index\n",
            1,
        ),
        "utf-8",
    )
    assert runner.invoke(app, ["sketch", "--check", "--model", str(copy)]).exit_code == 1
    assert runner.invoke(app, ["sketch", "--check", "--model", str(real_model)]).exit_code == 0


def test_simulate_real_model_is_the_central_run(tmp_path: Path) -> None:
    """On the baseline, the deterministic run takes the coal drivers on their central paths,
    the inputs the defaults were fitted with: it reproduces the 2020 figures."""
    result = _simulate("--lang", "en", "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(tmp_path / "o" / "simulate.csv", index_col="year")
    assert frame.loc[2020, "High Tech Enterprises [Firm]"] == pytest.approx(178, rel=0.01)
    assert frame.loc[2020, "RD Intensity [Dmnl]"] == pytest.approx(0.0096, rel=0.05)
