"""``innosim assess``: the lever search (``sim.analysis.threshold_search.solve_threshold`` on the
conditioned, weighted draws) and its executors (the same numbers serial and in processes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from sim.analysis.threshold_search import solve_threshold
from sim.cli import assessment_commands
from sim.engine.runner import Executor
from sim.scenario import load_scenario
from sim.scenario.levers import LeverError, LeverRange
from sim.scenario.observed import load_observed
from sim.workflows.assess import default_lever, lever_answer, lever_hits, lever_search_range
from sim.workflows.calibrate import condition, synthetic_observations

FIXTURE = Path(__file__).parent / "fixtures" / "calibration_small.yaml"
FLOOR = "Fiscal Innovation Share Floor"

app = typer.Typer()
app.callback()(lambda: None)  # a group, so that the command is named
assessment_commands.register(app)
runner = CliRunner()

#: Common random numbers of a toy lever: draw i meets the target when u_i < lever.
U = np.random.default_rng(3).random(300)
W = np.random.default_rng(4).gamma(2.0, size=U.size)


def rising(values: np.ndarray) -> np.ndarray:
    return U[None, :] < values[:, None]


def falling(values: np.ndarray) -> np.ndarray:
    return U[None, :] > values[:, None]


def _search(hits, start: float, stop: float, goal: float = 0.8):
    solution = solve_threshold(hits, min(start, stop), max(start, stop), goal, xtol=1e-6, weights=W)
    return solution, lever_answer(solution, start, stop, goal)


def test_lever_found_from_the_current_setting() -> None:
    solution, row = _search(rising, 0.2, 1.0)
    assert row["lever_status"] == "found" and row["lever_value"] == solution.value
    assert row["lever_probability"] >= 0.8
    assert row["lever_value_low"] <= row["lever_value"] <= row["lever_value_high"]
    assert row["lever_prob_low"] <= row["lever_probability"] <= row["lever_prob_high"]


def test_lever_already_and_unreachable() -> None:
    _, already = _search(rising, 0.95, 1.0)
    assert already["lever_status"] == "already" and already["lever_value"] == 0.95
    _, out_of_reach = _search(rising, 0.1, 0.5)
    assert out_of_reach["lever_status"] == "unreachable"
    assert np.isnan(out_of_reach["lever_value"])
    assert out_of_reach["lever_probability"] == pytest.approx(
        rising(np.array([0.5]))[0] @ W / W.sum()
    )


def test_a_lever_that_must_go_down() -> None:
    """From 0.9 down to 0: the greatest value (nearest the setting) that reaches the goal."""
    solution, row = _search(falling, 0.9, 0.0)
    assert solution.direction == "decreasing"
    assert row["lever_status"] == "found" and row["lever_value"] < 0.9
    assert (row["lever_value"] < U) @ W / W.sum() >= 0.8
    assert (row["lever_value"] + 2e-6 < U) @ W / W.sum() < 0.8
    _, wrong_way = _search(rising, 0.5, 0.0)  # going down only lowers it
    assert wrong_way["lever_status"] == "unreachable"


def test_default_lever_and_ranges(real_model) -> None:
    scenario = load_scenario(FIXTURE)
    lever = default_lever(scenario)
    assert lever.name == FLOOR and lever.stop == 0.1  # the upper end of its Vensim range
    assert lever.start == pytest.approx(0.02)  # the model's default floor
    down = lever_search_range(scenario, LeverRange(FLOOR, 0.05, 0.01))
    assert (down.start, down.stop) == (0.05, 0.01)
    with pytest.raises(LeverError, match="outside the plausible policy range"):
        lever_search_range(scenario, LeverRange(FLOOR, 0.05, 0.5))


@pytest.fixture(scope="module")
def observed(real_model, tmp_path_factory) -> Path:
    """Synthetic observations of the test scenario, 2018-2022 (below the plan's path, so that
    some targets need the lever)."""
    scenario = load_scenario(FIXTURE)
    names = ["Innovation Carriers", "Technology Contract Turnover", "Effective Invention Patents"]
    data = synthetic_observations(scenario, {}, names, [2018, 2020, 2022], 0.1, seed=1)
    path = tmp_path_factory.mktemp("observed") / "synthetic.csv"
    data.to_csv(path, index=False)
    return path


def test_assess_is_the_same_serial_and_in_processes(observed: Path, tmp_path: Path) -> None:
    args = ["assess", str(FIXTURE), "--observed", str(observed), "--as-of", "2020",
            "--draws", "120", "--seed", "5", "--lang", "en"]  # fmt: skip
    serial = runner.invoke(app, [*args, "--out", str(tmp_path / "serial")])
    assert serial.exit_code == 0, serial.output
    parallel = runner.invoke(
        app,
        [*args, "--executor", "processes", "--workers", "2", "--out", str(tmp_path / "p")],
    )
    assert parallel.exit_code == 0, parallel.output
    one = pd.read_csv(tmp_path / "serial" / "assess.csv")
    two = pd.read_csv(tmp_path / "p" / "assess.csv")
    pd.testing.assert_frame_equal(one, two, check_exact=True)
    assert one["lever_status"].notna().all()  # every target searched (as of 2020)
    assert (tmp_path / "serial" / "misfits.csv").read_text() == (
        tmp_path / "p" / "misfits.csv"
    ).read_text()


def test_lever_runs_are_the_same_serial_and_in_processes(observed: Path) -> None:
    """The lever's runs after the assessment year (one time path per value and draw), in
    chunks of 50 (value, draw) pairs on two worker processes, give the serial hits."""
    scenario = load_scenario(FIXTURE)
    data = load_observed(observed)
    conditioned = condition(scenario, data[data["year"] <= 2020], draws=120, seed=5)
    values = np.array([0.02, 0.05, 0.1])
    serial = lever_hits(scenario, conditioned, FLOOR, 2020)(values)
    parallel = lever_hits(
        scenario, conditioned, FLOOR, 2020, executor=Executor("processes", workers=2), chunk_size=50
    )(values)
    assert serial.keys() == parallel.keys()
    for name, hits in serial.items():
        assert hits.shape == (3, 120)
        np.testing.assert_array_equal(hits, parallel[name])
