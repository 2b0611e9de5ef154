"""``innosim run`` and ``innosim schema``: outputs, languages and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from sim.analysis import TARGET_COLUMNS
from sim.cli import app

runner = CliRunner()


def test_run_writes_every_output(tmp_path: Path, real_model: Path) -> None:
    out = tmp_path / "baseline"
    result = runner.invoke(app, ["run", "--draws", "40", "--seed", "3", "--out", str(out),
                                 "--lang", "en"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "High-tech enterprises" in result.stdout
    table = pd.read_csv(out / "targets.csv")
    assert list(table.columns) == TARGET_COLUMNS
    assert table["probability"].between(0, 1).all()
    assert (table["prob_low"] <= table["probability"]).all()
    assert (table["probability"] <= table["prob_high"]).all()
    assert (out / "ensemble.nc").is_file()
    assert len(list(out.glob("fan_*.png"))) == len(table)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "data:image/png;base64," in html
    assert not list(tmp_path.glob(".*.tmp")), "staging directory left behind"


def test_run_in_chinese(tmp_path: Path, real_model: Path) -> None:
    result = runner.invoke(app, ["run", "--draws", "16", "--out", str(tmp_path / "zh")])
    assert result.exit_code == 0, result.output
    assert "高新技术企业" in result.stdout and "达成概率" in result.stdout
    html = (tmp_path / "zh" / "report.html").read_text(encoding="utf-8")
    assert 'lang="zh-CN"' in html and "高新技术企业" in html


def test_bad_flags_exit_2_and_write_nothing(tmp_path: Path, real_model: Path) -> None:
    for args in (["--draws", "0"], ["--draws", "x"], ["--seed", "-1"], ["--lang", "fr"]):
        result = runner.invoke(app, ["run", *args, "--out", str(tmp_path / "o")])
        assert result.exit_code == 2, (args, result.output)
        assert args[0] in result.stderr
        assert not (tmp_path / "o").exists()


def test_missing_scenario(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = runner.invoke(app, ["run", str(missing), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "nope.yaml" in result.stderr
    assert not (tmp_path / "o").exists()


def test_schema(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert {"levers", "uncertainties", "targets", "monte_carlo"} <= set(schema["properties"])
    assert runner.invoke(app, ["schema", "--out", str(tmp_path / "s.json")]).exit_code == 0
    assert json.loads((tmp_path / "s.json").read_text("utf-8")) == schema
