"""``innosim backtest`` (sim.workflows.backtest, sim.report.backtest_outputs): forecasts from
origins scored against the later observations, on synthetic data generated from the model with a
drawn truth; drivers imposed, not scored; bad origins refused; one run on the shipped data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from sim.cli.data_commands import register
from sim.engine.ensemble import run_ensemble
from sim.paths import REPO_ROOT
from sim.report.columns import csv_header
from sim.results import at_year
from sim.sampling import sample
from sim.scenario import load_scenario
from sim.workflows.backtest import BACKTEST_COLUMNS, PRIOR, backtest
from sim.workflows.calibrate import synthetic_observations

FIXTURE = Path(__file__).parent / "fixtures" / "calibration_small.yaml"
OBSERVED = ["Innovation Carriers", "Technology Contract Turnover", "Effective Invention Patents"]
YEARS = [2017, 2020, 2022, 2024]
DRAWS = "400"

app = typer.Typer()
register(app)
runner = CliRunner()


@pytest.fixture(scope="module")
def synthetic(real_model, tmp_path_factory) -> Path:
    """Observations of the test scenario generated from the model with a truth drawn from the
    prior, 5 % noise, in 2017, 2020, 2022 and 2024, as a CSV."""
    scenario = load_scenario(FIXTURE)
    drawn = sample(scenario.uncertainties, 1, 123, "random")
    truth = {name: float(values[0]) for name, values in drawn.items()}
    data = synthetic_observations(scenario, truth, OBSERVED, YEARS, 0.05, seed=1)
    path = tmp_path_factory.mktemp("synthetic") / "synthetic.csv"
    data.to_csv(path, index=False)
    return path


def _run(*args: str):
    return runner.invoke(app, ["backtest", *args])


@pytest.fixture(scope="module")
def single(synthetic, tmp_path_factory) -> Path:
    """The backtest at origin 2020 (English)."""
    out = tmp_path_factory.mktemp("bt") / "single"
    result = _run(
        str(FIXTURE), "--observed", str(synthetic), "--origin", "2020", "--draws", DRAWS,
        "--seed", "5", "--out", str(out), "--lang", "en",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "of 6 held-out observations inside the 90 % band" in result.stdout
    return out


def test_scores_only_the_rows_after_the_origin(single):
    table = pd.read_csv(single / "backtest.csv")
    assert list(table.columns) == csv_header(BACKTEST_COLUMNS)
    assert len(table) == len(OBSERVED) * 2  # 2022 and 2024
    assert (table["origin"] == 2020).all() and (table["year"] > 2020).all()
    numeric = table.drop(columns=["variable", "units", "inside_50", "inside_90"])
    assert np.isfinite(numeric.to_numpy(dtype=float)).all()
    assert table["quantile [fraction]"].between(0, 1).all() and (table["crps"] >= 0).all()
    assert (table["p05"] <= table["median"]).all() and (table["median"] <= table["p95"]).all()
    assert set(table["inside_50"]) <= {True, False} and set(table["inside_90"]) <= {True, False}
    # inside the 50 % band implies inside the 90 % band
    assert not (table["inside_50"] & ~table["inside_90"]).any()
    assert table["crps_relative [fraction]"].to_numpy() == pytest.approx(
        table["crps"].to_numpy() / table["observed"].abs().to_numpy()
    )


def test_writes_every_output(single):
    coverage = pd.read_csv(single / "coverage.csv")
    overall = coverage[(coverage["origin"] == "all") & (coverage["variable"] == "all")]
    assert len(overall) == 1 and int(overall["n_scored"].iloc[0]) == 6
    assert set(coverage["variable"]) == {*OBSERVED, "all"}
    provenance = json.loads((single / "backtest.json").read_text(encoding="utf-8"))
    assert provenance["draws"] == 400 and provenance["seed"] == 5
    assert provenance["observed"][0]["file"] == "synthetic.csv"
    assert len(provenance["observed"][0]["sha256"]) == 64
    [origin] = provenance["origins"]
    assert origin["origin"] == 2020 and origin["method"] in ("importance", "tempering")
    assert origin["conditioned"] == 6 and origin["scored"] == 6 and origin["ess"] > 0
    assert provenance["numpy_version"] and provenance["model_sha256"]
    assert provenance["command"] == "innosim backtest"
    # provenance.json records the same (written by sim.report.writer.write_outputs)
    assert json.loads((single / "provenance.json").read_text(encoding="utf-8")) == provenance
    assert {path.name for path in single.iterdir() if not path.name.startswith("backtest_")} == {
        "backtest.csv",
        "backtest.xlsx",
        "backtest.json",
        "backtest.html",
        "coverage.csv",
        "pit.png",
        "provenance.json",
    }
    assert (single / "pit.png").is_file()
    assert len(list(single.glob("backtest_*.png"))) == len(OBSERVED)
    html = (single / "backtest.html").read_text(encoding="utf-8")
    assert 'lang="en"' in html and "held-out observations inside the 90 % band" in html
    assert "SYNTHETIC" in html and html.count("data:image/png;base64,") == len(OBSERVED) + 1
    assert not list(single.parent.glob(".*.tmp"))


def test_a_second_origin_adds_its_rows(single, synthetic, tmp_path):
    out = tmp_path / "two"
    result = _run(
        str(FIXTURE), "--observed", str(synthetic), "--origin", "2020", "--origin", "2017",
        "--draws", DRAWS, "--seed", "5", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "预留观测" in result.stdout  # Chinese by default
    table = pd.read_csv(out / "backtest.csv")
    assert list(table["origin"].unique()) == [2017, 2020]
    assert len(table) == len(OBSERVED) * 3 + len(OBSERVED) * 2
    assert (table.loc[table["origin"] == 2017, "year"] > 2017).all()
    # the origin 2020 forecasts are those of the single-origin run (same seed and draws)
    again = table[table["origin"] == 2020].reset_index(drop=True)
    pd.testing.assert_frame_equal(again, pd.read_csv(single / "backtest.csv"))
    coverage = pd.read_csv(out / "coverage.csv")
    assert list(coverage.loc[coverage["variable"] == "all", "origin"]) == ["2017", "2020", "all"]


def test_two_worker_processes_give_the_serial_scores(single, synthetic, tmp_path):
    out = tmp_path / "processes"
    result = _run(
        str(FIXTURE), "--observed", str(synthetic), "--origin", "2020", "--draws", DRAWS,
        "--seed", "5", "--out", str(out), "--lang", "en", "--executor", "processes",
        "--workers", "2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in ("backtest.csv", "coverage.csv"):
        assert (out / name).read_bytes() == (single / name).read_bytes(), name


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        ("2024", "no observation after 2024 to score"),
        ("2050", "outside the model's horizon"),
        ("2010", "outside the model's horizon"),
        ("next", "integer"),
    ],
)
def test_bad_origin_exits_2_naming_the_option(synthetic, tmp_path, origin, expected):
    out = tmp_path / "o"
    result = _run(str(FIXTURE), "--observed", str(synthetic), "--origin", origin, "--out", str(out))
    assert result.exit_code == 2, result.output
    assert "--origin" in result.stderr and expected in result.stderr
    assert not out.exists()


def test_bad_observed_file_exits_2_naming_the_line(real_model, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "variable,year,value,sd,source\nInnovation Carriers,2020,39,1.2,x\n"
        "Innovation Carriers,2022,40,0,x\n",
        encoding="utf-8",
    )
    out = tmp_path / "o"
    result = _run(str(FIXTURE), "--observed", str(path), "--origin", "2020", "--out", str(out))
    assert result.exit_code == 2, result.output
    assert f"{path}:3: field 'sd'" in result.stderr
    assert not out.exists()


def test_a_failed_origin_is_reported_and_the_others_kept(synthetic, tmp_path):
    # 40 draws cannot give the 100 effective draws conditioning needs: the origins with data
    # to condition on fail; 2016 has none (the prior is the forecast) and goes through
    out = tmp_path / "o"
    args = [str(FIXTURE), "--observed", str(synthetic), "--draws", "40", "--lang", "en"]
    result = _run(*args, "--origin", "2016", "--origin", "2020", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "origin 2020 failed" in result.stdout and "the prior is the forecast" in result.stderr
    table = pd.read_csv(out / "backtest.csv")
    assert set(table["origin"]) == {2016} and len(table) == len(OBSERVED) * len(YEARS)
    provenance = json.loads((out / "backtest.json").read_text(encoding="utf-8"))
    methods = {item["origin"]: item["method"] for item in provenance["origins"]}
    assert methods == {2016: PRIOR, 2020: "failed"}
    assert "error" in provenance["origins"][1]
    # every origin failing is an error
    failed = tmp_path / "f"
    result = _run(*args, "--origin", "2020", "--out", str(failed))
    assert result.exit_code == 2, result.output
    assert "every origin failed" in result.stderr and not failed.exists()


def test_driver_rows_are_imposed_not_scored(synthetic, tmp_path):
    """A scenario imposing Coal Output and the Coal Price Index, drawing the growth shock:
    the given file's driver rows are imposed in every year given (the price's path then
    starts after them), the path's row is left out, the rest is scored."""
    base = tmp_path / "drivers.csv"
    base.write_text(
        "variable,year,value,sd,source\nCoal Output,2015,125,1,test\n"
        "Coal Price Index,2015,1.0,0.01,test\n",
        encoding="utf-8",
    )
    scenario_file = tmp_path / "with_drivers.yaml"
    scenario_file.write_text(
        FIXTURE.read_text(encoding="utf-8")
        + f"""
drivers:
  files: [{base.name}]
  variables: [Coal Output, Coal Price Index]
paths:
  Coal Output: {{process: log_ar1, persistence: 0.7, volatility: 0.06, source: test}}
  Coal Price Index:
    {{process: log_ar1, persistence: 0.6, volatility: 0.3, start: 2016, source: test}}
  Non Resource Growth Shock:
    process: ar1
    mean: 0
    persistence: 0.3
    volatility: 0.02
    min: -0.2
    max: 0.2
    start: 2021
    source: test
""",
        encoding="utf-8",
    )
    extra = tmp_path / "economy.csv"
    extra.write_text(
        "variable,year,value,sd,source\n"
        "Coal Output,2021,200,5,test\nCoal Output,2022,210,5,test\n"
        "Coal Price Index,2016,1.1,0.05,test\nCoal Price Index,2017,1.3,0.05,test\n"
        "Non Resource Growth Shock,2021,0.01,0.005,test\n",
        encoding="utf-8",
    )
    scenario = load_scenario(scenario_file)
    notes: list[str] = []
    result = backtest(scenario, [synthetic, extra], [2016], draws=64, seed=1, note=notes.append)
    assert set(result.table["variable"]) == set(OBSERVED)
    assert set(result.imposed["variable"]) == {"Coal Output", "Coal Price Index"}
    assert list(result.dropped["variable"]) == ["Non Resource Growth Shock"]
    assert result.origins[0].method == PRIOR
    assert result.scenario.drivers.files[-1] == extra.resolve()
    assert any("imposed as drivers" in line for line in notes)
    assert any("Non Resource Growth Shock neither scored" in line for line in notes)
    assert any("'Coal Price Index' now starts in 2018" in line for line in notes)
    ensemble = run_ensemble(result.scenario, draws=8, seed=2)
    assert at_year(ensemble, "Coal Output", 2022) == pytest.approx(np.full(8, 210.0))
    assert at_year(ensemble, "Coal Output", 2020) == pytest.approx(np.full(8, 125 + 75 * 5 / 6))
    assert at_year(ensemble, "Coal Price Index", 2017) == pytest.approx(np.full(8, 1.3))
    assert np.ptp(at_year(ensemble, "Coal Output", 2024)) > 0  # the path goes on after 2022
    # a file the scenario already lists is not added twice
    again = backtest(scenario, [base, synthetic], [2016], draws=64, seed=1)
    assert again.scenario.drivers.files == scenario.drivers.files


def test_shipped_data_at_origin_2015(real_model, tmp_path):
    """The baseline with the shipped 2015-2020 and 2021-2023 files, origin 2015."""
    files = [
        REPO_ROOT / "data" / "observed" / "changzhi_2015_2020.csv",
        REPO_ROOT / "data" / "observed" / "changzhi_economy_2021_2023.csv",
    ]
    out = tmp_path / "baseline"
    args = [str(REPO_ROOT / "scenarios" / "baseline.yaml")]
    for path in files:
        args += ["--observed", str(path)]
    result = _run(*args, "--origin", "2015", "--draws", DRAWS, "--out", str(out), "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "held-out observations inside the 90 % band" in result.stdout
    assert "Coal Output neither scored" in result.stderr  # a path of the baseline
    table = pd.read_csv(out / "backtest.csv")
    rows = pd.concat([pd.read_csv(path, comment="#") for path in files])
    expected = rows[(rows["year"] > 2015) & (rows["variable"] != "Coal Output")]
    assert len(table) == len(expected) and (table["year"] > 2015).all()
    numeric = table[["observed", "median", "p05", "p95", "quantile [fraction]", "crps"]]
    assert np.isfinite(numeric.to_numpy(dtype=float)).all()


def test_a_correct_model_covers_held_out_observations_at_about_the_nominal_rate(
    real_model, tmp_path
):
    """Truths drawn from the prior, observations from the model with 5 % noise: the forecasts
    of the observations (model value plus the observation noise) cover them near 90 %."""
    scenario = load_scenario(FIXTURE)
    inside = []
    for replication in range(6):
        drawn = sample(scenario.uncertainties, 1, 300 + replication, "random")
        truth = {name: float(values[0]) for name, values in drawn.items()}
        data = synthetic_observations(scenario, truth, OBSERVED, YEARS, 0.05, seed=replication)
        path = tmp_path / f"synthetic_{replication}.csv"
        data.to_csv(path, index=False)
        result = backtest(scenario, [path], [2020], draws=1000, seed=5)
        inside.extend(result.table["inside_90"])
    share = float(np.mean(inside))
    # 36 observations sharing draws within a replication: a wide, stated tolerance
    assert 0.75 <= share <= 1.0, share
