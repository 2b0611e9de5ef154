"""Every command runs a scenario with drivers and paths (tests/fixtures/economy_paths.yaml on
tests/fixtures/economy.mdl): run, compare, sweep, solve, sensitivity, discover, calibrate and
assess."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from typer.testing import CliRunner

from sim.cli import app
from sim.results import slug

FIXTURES = Path(__file__).parents[1] / "fixtures"
MODEL = str(FIXTURES / "economy.mdl")
SCENARIO = str(FIXTURES / "economy_paths.yaml")
VARIANT = str(FIXTURES / "economy_paths_variant.yaml")
runner = CliRunner()


def _invoke(*args: object):
    result = runner.invoke(app, [str(a) for a in args] + ["--model", MODEL, "--lang", "en"])
    assert result.exit_code == 0, result.output
    return result


def test_run(tmp_path: Path) -> None:
    result = _invoke("run", SCENARIO, "--draws", 16, "--seed", 1, "--out", tmp_path)
    assert "4 row(s) before the model's INITIAL TIME 2015 skipped" in result.stderr
    results = xr.load_dataset(tmp_path / "ensemble.nc")
    coal = results[slug("Coal Price Index")]
    assert coal.attrs["exogenous"].startswith("driver: economy_observed.csv (2012-2020)")
    assert np.unique(coal.values[:, -1]).size == 16 and "paths" in results.attrs
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Exogenous series" in report and "path from 2021: ar1(" in report


def test_compare(tmp_path: Path) -> None:
    result = _invoke("compare", SCENARIO, VARIANT, "--draws", 16, "--out", tmp_path)
    assert "economy_paths_variant" in result.stdout
    table = pd.read_csv(tmp_path / "compare.csv")
    assert set(table["scenario"]) == {"economy_paths", "economy_paths_variant"}


def test_sweep(tmp_path: Path) -> None:
    _invoke("sweep", SCENARIO, "--lever", "RD Share=0.008:0.016:3", "--draws", 16,
            "--out", tmp_path)  # fmt: skip
    table = pd.read_csv(tmp_path / "sweep.csv")
    rd = table[table["target"] == "rd_intensity_2025"]
    assert rd["probability [fraction]"].tolist() == [0.0, 1.0, 1.0]


def test_solve(tmp_path: Path) -> None:
    # GDP in 2025 depends on the drawn coal price and growth shocks
    lever = "Coal Output Elasticity=0:0.2"
    _invoke("solve", SCENARIO, "--target", "gdp_2025", "--prob", 0.9, "--lever", lever,
            "--draws", 32, "--out", tmp_path)  # fmt: skip
    solved = pd.read_csv(tmp_path / "solve.csv").iloc[0]
    assert solved["status"] == "reached" and 0 < solved["value"] < 0.2
    assert solved["probability [fraction]"] >= 0.9


def test_sensitivity(tmp_path: Path) -> None:
    _invoke("sensitivity", SCENARIO, "--samples", 16, "--out", tmp_path)
    table = pd.read_csv(tmp_path / "sensitivity.csv")
    assert {"Coal Price Index", "Growth Shock", "Base GDP Growth"} <= set(table["parameter"])


def test_discover(tmp_path: Path) -> None:
    _invoke("discover", SCENARIO, "--target", "gdp_2025", "--draws", 64, "--out", tmp_path)
    box = pd.read_csv(tmp_path / "gdp_2025_reached_box.csv")
    assert not box.empty and (tmp_path / "gdp_2025_reached.png").is_file()


def test_calibrate(tmp_path: Path) -> None:
    result = _invoke("calibrate", SCENARIO, "--draws", 200, "--out", tmp_path)
    assert "observations of Coal Price Index, Coal Output not conditioned on" in result.stderr
    assert (tmp_path / "posterior.nc").is_file()
    observed = xr.load_dataset(tmp_path / "posterior.nc")["observed_variable"].values
    assert set(observed) == {"GDP"}


def test_assess(tmp_path: Path) -> None:
    new = tmp_path / "new.csv"
    new.write_text(
        "variable,year,value,sd,source\n"
        "GDP,2021,1990,40,test\nGDP,2022,2080,40,test\n"
        "RD Expenditure,2021,22,1,test\nRD Expenditure,2022,25,1,test\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = _invoke("assess", SCENARIO, "--observed", new, "--lever", "RD Share=0.012:0.05",
                     "--draws", 400, "--out", out)  # fmt: skip
    assert "'RD Intensity' derived as 'RD Expenditure' / 'GDP' for 2021, 2022" in result.stdout
    table = pd.read_csv(out / "assess.csv")
    rd = table[table["target"] == "rd_intensity_2025"].iloc[0]
    assert rd["last_year"] == 2022 and abs(rd["last_value"] - 25 / 2080) < 1e-12
    assert "derived: RD Expenditure / GDP" in (out / "assess.html").read_text(encoding="utf-8")
