"""sim.report.track_record: the backtest coverage that run's and assess's reports state."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from sim.report.backtest_outputs import BACKTEST_CSV, BACKTEST_JSON
from sim.report.track_record import default_backtest_dir, find_track_record, track_record_text

MODEL, SCENARIO = "a" * 64, "b" * 64


def _backtest(directory: Path, model: str = MODEL, scenario: str = SCENARIO) -> Path:
    directory.mkdir(parents=True)
    table = pd.DataFrame(
        {
            "origin": [2015, 2015, 2015, 2020],
            "variable": ["GDP", "GDP", "Tech SMEs", "GDP"],
            "inside_50": [True, False, False, True],
            "inside_90": [True, True, False, True],
            "crps_relative": [0.1, 0.2, 0.3, float("nan")],
        }
    )
    table.to_csv(directory / BACKTEST_CSV, index=False)
    meta = {"model_sha256": model, "scenario_sha256": scenario, "created_at": "2026-11-30T10:00"}
    (directory / BACKTEST_JSON).write_text(json.dumps(meta), encoding="utf-8")
    return directory


def test_a_current_backtest_is_the_track_record(tmp_path):
    directory = _backtest(tmp_path / "backtest")
    record, reason = find_track_record(directory, MODEL, SCENARIO)
    assert reason == "" and record is not None
    assert record.origins == (2015, 2020) and record.n_scored == 4
    assert (record.n_inside_90, record.n_inside_50) == (3, 2)
    assert math.isclose(record.mean_crps_relative, 0.2)
    english = track_record_text(record, reason, directory, "en")
    assert "3 of 4 held-out observations inside the 90 % band" in english
    assert "4 个留出观测值有 3 个落在90%区间内" in track_record_text(
        record, reason, directory, "zh"
    )


def test_no_or_stale_backtest_is_said_plainly(tmp_path):
    missing = tmp_path / "none"
    record, reason = find_track_record(missing, MODEL, SCENARIO)
    assert record is None and reason == "none"
    assert "No backtest has been run" in track_record_text(record, reason, missing, "en")
    assert "尚未做过回测" in track_record_text(record, reason, missing, "zh")
    other = _backtest(tmp_path / "other", model="c" * 64)
    record, reason = find_track_record(other, MODEL, SCENARIO)
    assert record is None and reason == "other_model"
    assert "another version of the model" in track_record_text(record, reason, other, "en")
    edited = _backtest(tmp_path / "edited", scenario="d" * 64)
    assert find_track_record(edited, MODEL, SCENARIO) == (None, "other_scenario")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / BACKTEST_CSV).write_text("origin\n2015\n", encoding="utf-8")
    (broken / BACKTEST_JSON).write_text("{not json", encoding="utf-8")
    assert find_track_record(broken, MODEL, SCENARIO) == (None, "unreadable")


def test_the_default_directory_is_where_backtest_writes():
    assert default_backtest_dir(Path("scenarios/baseline.yaml")) == Path("out/baseline/backtest")


def test_run_states_the_track_record(tmp_path, monkeypatch, real_model):
    from typer.testing import CliRunner

    from sim.cli import app
    from sim.engine import compile_model
    from sim.paths import default_out
    from sim.scenario import scenario_digest

    fixture = Path(__file__).parent / "fixtures" / "calibration_small.yaml"
    monkeypatch.chdir(tmp_path)
    assert default_backtest_dir(fixture) == default_out("backtest", fixture)
    args = ["run", str(fixture), "--draws", "20", "--lang", "en", "--out", "run"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "No backtest has been run" in result.stdout
    _backtest(default_backtest_dir(fixture), compile_model().sha256, scenario_digest(fixture))
    result = CliRunner().invoke(app, [*args[:-1], "run2"])
    assert result.exit_code == 0, result.output
    assert "3 of 4 held-out observations" in (tmp_path / "run2" / "report.html").read_text("utf-8")


def test_history_consistency_is_said_for_prior_and_posterior_runs():
    from sim.report.track_record import history_consistency_text

    prior = history_consistency_text(38, 100, (2015, 2020), False, "en")
    assert prior.startswith("38 of 100 draws (38%) reproduce the observed history of 2015–2020")
    assert "innosim calibrate" in prior
    posterior = history_consistency_text(99, 100, (2015, 2020), True, "zh")
    assert "后验" in posterior and "99 次（99%）" in posterior
    assert "2020 年" in history_consistency_text(1, 2, (2020, 2020), True, "zh")


def test_run_says_how_many_draws_reproduce_the_history(tmp_path, monkeypatch, real_model):
    from typer.testing import CliRunner

    from sim.cli import app
    from sim.paths import REPO_ROOT

    fixture = Path(__file__).parent / "fixtures" / "calibration_small.yaml"
    history = REPO_ROOT / "data" / "observed" / "changzhi_2015_2020.csv"
    child = tmp_path / "with_history.yaml"
    child.write_text(f"extends: {fixture}\nhistory: {history}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["run", str(child), "--draws", "40", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "of 40 draws" in result.stdout
    assert "reproduce the observed history of 2015–2020" in result.stdout
    report = (tmp_path / "out" / "with_history" / "report.html").read_text("utf-8")
    assert "reproduce the observed history" in report
