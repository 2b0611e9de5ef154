"""``innosim calibrate`` and ``innosim assess`` (sim.cli.data_commands,
sim.cli.assessment_commands): outputs, languages, bad input (exit 2, naming the file, line, field or
flag; nothing written)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import typer
import xarray as xr
from typer.testing import CliRunner

from sim.cli import assessment_commands, data_commands
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
    assert {"prior_probability", "calibrated_probability"} <= set(targets.columns)
    assert len(list(out.glob("fit_*.png"))) == 3 and (out / "parameters.png").is_file()
    assert not list(tmp_path.glob(".*.tmp"))


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
    assert list(table.columns) == ASSESS_COLUMNS and len(table) == 2
    assert set(table["status"]) <= {"on_track", "at_risk", "off_track", "no_data"}
    assert table["probability"].between(0, 1).all()
    html = (out / "assess.html").read_text(encoding="utf-8")
    assert 'lang="zh-CN"' in html and "data:image/png;base64," in html and "SYNTHETIC" in html
    assert len(list(out.glob("assess_*.png"))) == 2


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
        (["--lever", "Fiscal Innovation Share Floor=0.02:2"], "outside the Vensim limits"),
        (["--lever", "Public Cost Per Carrier=100:200"], "uncertain in the scenario"),
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
    assert fragment in result.stderr
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
