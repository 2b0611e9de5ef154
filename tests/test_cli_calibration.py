"""``innosim calibrate`` and ``innosim assess`` (sim.cli.data_commands,
sim.cli.assessment_commands): outputs, languages, executors, bad input (exit 2, naming the file,
line, field or flag; nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
import xarray as xr
from typer.testing import CliRunner

from sim.cli import assessment_commands, data_commands
from sim.report.columns import csv_header
from sim.scenario import load_scenario
from sim.workflows.assess import ASSESS_COLUMNS
from sim.workflows.calibrate import synthetic_observations

FIXTURE = Path(__file__).parent / "fixtures" / "calibration_small.yaml"
OBSERVED = ["Innovation Carriers", "Technology Contract Turnover", "Effective Invention Patents"]

app = typer.Typer()
data_commands.register(app)
assessment_commands.register(app)
runner = CliRunner()


@pytest.fixture(scope="module")
def observed(real_model, tmp_path_factory) -> Path:
    """Synthetic observations of the test scenario, 2018-2022, written as a CSV."""
    scenario = load_scenario(FIXTURE)
    data = synthetic_observations(scenario, {}, OBSERVED, [2018, 2020, 2022], 0.1, seed=1)
    path = tmp_path_factory.mktemp("observed") / "synthetic.csv"
    data.to_csv(path, index=False)
    return path


def test_calibrate_writes_every_output(observed, tmp_path):
    out = tmp_path / "cal"
    args = [
        "calibrate",
        str(FIXTURE),
        "--observed",
        str(observed),
        "--draws",
        "300",
        "--seed",
        "2",
        "--out",
        str(out),
        "--lang",
        "en",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "effective sample size" in result.stdout
    posterior = xr.load_dataset(out / "posterior.nc")
    assert posterior.sizes["draw"] == 300 and posterior.sizes["observation"] == 9
    assert posterior.attrs["observed_sha256"] and posterior.attrs["scenario_sha256"]
    assert posterior["prior_weight"].sum() == pytest.approx(1.0)
    parameters = pd.read_csv(out / "parameters.csv")
    assert len(parameters) == 4 and parameters["hellinger"].is_monotonic_decreasing
    targets = pd.read_csv(out / "targets.csv")
    assert {"prior_probability [fraction]", "calibrated_probability [fraction]"} <= set(
        targets.columns
    )
    assert len(list(out.glob("fit_*.png"))) == 3 and (out / "parameters.png").is_file()
    assert {path.name for path in out.iterdir() if not path.name.startswith("fit_")} == {
        "posterior.nc",
        "parameters.csv",
        "parameters.png",
        "targets.csv",
        "pairs.csv",
        "misfits.csv",
        "calibrate.xlsx",
        "calibrate.html",
        "provenance.json",
    }
    record = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
    assert record["command"] == "innosim calibrate" and record["draws"] == 300
    assert record["observed_file"] == observed.name and record["method"] in (
        "importance",
        "tempering",
    )
    assert posterior.attrs["command"] == "innosim calibrate"  # the provenance, in the file too
    assert not list(tmp_path.glob(".*.tmp"))


def test_calibrate_on_two_worker_processes_is_identical_to_serial(tmp_path):
    """Sharp observations (3 %, three years): tempering, every run split between two
    processes; the posterior, tables and charts are the serial run's."""
    scenario = load_scenario(FIXTURE)
    data = synthetic_observations(scenario, {}, OBSERVED, [2018, 2020, 2022], 0.03, seed=1)
    path = tmp_path / "sharp.csv"
    data.to_csv(path, index=False)
    outputs = {}
    for name, executor in (("serial", []), ("processes", ["--executor", "processes"])):
        out = tmp_path / name
        args = ["calibrate", str(FIXTURE), "--observed", str(path), "--draws", "200"]
        args += ["--seed", "3", "--out", str(out), "--lang", "en", *executor]
        if executor:
            args += ["--workers", "2"]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "sequential Monte Carlo" in result.stdout
        outputs[name] = out
    serial, processes = outputs["serial"], outputs["processes"]
    first, second = (
        xr.load_dataset(serial / "posterior.nc"),
        xr.load_dataset(processes / "posterior.nc"),
    )
    xr.testing.assert_equal(first, second)
    assert first.attrs["stages"] == second.attrs["stages"]
    for name in ("parameters.csv", "targets.csv", "pairs.csv", "misfits.csv"):
        assert (serial / name).read_bytes() == (processes / name).read_bytes(), name


def test_executor_flags_that_do_not_go_together_exit_2(observed, tmp_path):
    out = tmp_path / "o"
    args = ["calibrate", str(FIXTURE), "--observed", str(observed), "--out", str(out)]
    result = runner.invoke(app, [*args, "--workers", "2"])
    assert result.exit_code == 2 and "--workers" in result.output
    result = runner.invoke(app, [*args, "--scheduler", "tcp://127.0.0.1:1"])
    assert result.exit_code == 2 and "--scheduler" in result.output
    assert not out.exists()


def test_assess_writes_every_output(observed, tmp_path):
    out = tmp_path / "assess"
    args = [
        "assess",
        str(FIXTURE),
        "--observed",
        str(observed),
        "--as-of",
        "2022",
        "--draws",
        "300",
        "--out",
        str(out),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "进度" in result.stdout  # Chinese headers by default
    table = pd.read_csv(out / "assess.csv")
    assert list(table.columns) == csv_header(ASSESS_COLUMNS) and len(table) == 2
    assert set(table["status"]) <= {"on_track", "at_risk", "off_track", "no_data"}
    assert table["probability [fraction]"].between(0, 1).all()
    html = (out / "assess.html").read_text(encoding="utf-8")
    assert 'lang="zh-CN"' in html and "data:image/png;base64," in html and "SYNTHETIC" in html
    assert len(list(out.glob("assess_*.png"))) == 2
    names = {path.name for path in out.iterdir()}
    assert {"assess.csv", "assess.xlsx", "assess.html", "misfits.csv", "provenance.json"} <= names
    assert len(names) == 7  # and the two charts
    record = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
    assert record["command"] == "innosim assess" and record["observed"] == observed.name
    assert record["draws"] == 300 and record["as_of"] == 2022 and record["scenario_sha256"]
    assert record["lever"] == "Fiscal Innovation Share Floor"
    searched = table[table["lever_status"].notna()]
    assert set(searched["lever_status"]) <= {"already", "found", "unreachable"}
    for _, row in searched.iterrows():
        if row["lever_status"] == "unreachable":
            assert pd.isna(row["lever_value"])
        else:
            probability = row["lever_probability [fraction]"]
            assert probability >= 0.8
            assert (
                row["lever_prob_low [fraction]"] <= probability <= row["lever_prob_high [fraction]"]
            )


def _bad_csv(tmp_path: Path, row: str) -> Path:
    path = tmp_path / "bad.csv"
    path.write_text(
        "variable,year,value,sd,source\nInnovation Carriers,2020,39,1.2,x\n" + row,
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("command", ["calibrate", "assess"])
@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("Innovation Carriers,2021,40,0,x\n", "sd"),
        ("Innovation Carrier,2021,40,1,x\n", "variable"),
        ("Innovation Carriers,2021,forty,1,x\n", "value"),
    ],
)
def test_bad_observed_file(real_model, tmp_path, command, row, field):
    path = _bad_csv(tmp_path, row)
    out = tmp_path / "o"
    result = runner.invoke(app, [command, str(FIXTURE), "--observed", str(path), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert f"{path}:3: field '{field}'" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--draws", "0"], "--draws"),
        (["--lever", "nonsense"], "--lever"),
        (["--lever", "Fiscal Innovation Share Flor=0.02:0.1"], "did you mean"),
        (["--lever", "Fiscal Innovation Share Floor=0.02:2"], "outside the plausible policy range"),
        (["--lever", "Fiscal Innovation Share Floor=0.02:0.02"], "is empty"),
        (["--lever", "Public Cost Per Carrier=100:200"], "is an uncertainty of scenario"),
        (["--lever", "High Tech Enterprises"], "is a stock"),
        (["--workers", "2"], "--executor processes or dask"),
        (["--as-of", "1990"], "--as-of"),
        (["--lang", "fr"], "--lang"),
    ],
)
def test_assess_bad_flags(observed, tmp_path, args, fragment):
    out = tmp_path / "o"
    result = runner.invoke(
        app,
        [
            "assess",
            str(FIXTURE),
            "--observed",
            str(observed),
            "--draws",
            "50",
            "--out",
            str(out),
            *args,
        ],
    )
    assert result.exit_code == 2, result.output
    assert fragment in " ".join(result.stderr.replace("│", " ").split())  # unwrapped
    assert not out.exists()


def test_calibrate_needs_observations_and_reports_impossible_ones(observed, tmp_path):
    out = tmp_path / "o"
    result = runner.invoke(app, ["calibrate", str(FIXTURE), "--out", str(out)])
    assert result.exit_code == 2 and "--observed" in result.stderr
    impossible = pd.read_csv(observed)
    impossible.loc[0, "value"] = 1e5
    path = tmp_path / "impossible.csv"
    impossible.to_csv(path, index=False)
    args = ["calibrate", str(FIXTURE), "--observed", str(path), "--draws", "400", "--out", str(out)]
    result = runner.invoke(app, [*args, "--strict"])
    assert result.exit_code == 2, result.output
    assert "does not reproduce" in result.stderr and not out.exists()
    # without --strict the run completes and reports the observation
    result = runner.invoke(app, [*args, "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "not reproduced within 3 sd" in result.stdout
    misfits = pd.read_csv(out / "misfits.csv")
    row = impossible.iloc[0]
    assert list(zip(misfits["variable"], misfits["year"], strict=True)) == [
        (row["variable"], row["year"])
    ]
    assert misfits.loc[0, "suspect_structure"]
    out = tmp_path / "o2"
    missing = tmp_path / "missing.csv"
    result = runner.invoke(
        app, ["assess", str(FIXTURE), "--observed", str(missing), "--out", str(out)]
    )
    assert result.exit_code == 2 and "missing.csv" in result.stderr and not out.exists()
