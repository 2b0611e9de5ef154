"""Drivers (observed series imposed as data) and paths (yearly uncertain paths, one per draw):
the scenario syntax, the step paths, the processes, seeded reproducibility and common random
numbers, chunk invariance, and calibration keeping each draw's path up to the last observed
year and fresh shocks after it.

Everything runs on ``tests/fixtures/economy.mdl`` (a small economy driven by coal), not on the
project's model."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.engine import TimePath, compile_model
from sim.engine.ensemble import (
    STEP_OFFSET,
    exogenous_series,
    monte_carlo_settings,
    run_ensemble,
    scenario_inputs,
    simulate_inputs,
    step_path,
)
from sim.engine.runner import draw_rows, draw_take
from sim.errors import ScenarioError
from sim.results import slug
from sim.sampling import draw_path, path_shocks, sample
from sim.scenario import AR1, LogAR1, load_scenario, scenario_digest, scenario_schema
from sim.scenario.levers import LeverError, lever_info
from sim.scenario.observed import ObservedDataError, driver_series, load_observed
from sim.workflows.calibrate import condition, conditioned_ensembles
from sim.workflows.lever_runs import LeverRuns
from sim.workflows.sensitivity import target_values

FIXTURES = Path(__file__).parent / "fixtures"
MODEL = FIXTURES / "economy.mdl"
SCENARIO = FIXTURES / "economy_paths.yaml"
VARIANT = FIXTURES / "economy_paths_variant.yaml"
OBSERVED = FIXTURES / "economy_observed.csv"
COAL = "Coal Price Index"
SHOCK = "Growth Shock"
YEARS = np.arange(2015, 2031)


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(SCENARIO, model=MODEL)


@pytest.fixture(scope="module")
def variant():
    return load_scenario(VARIANT, model=MODEL)


@pytest.fixture(scope="module")
def compiled():
    return compile_model(MODEL)


@pytest.fixture(scope="module")
def results(scenario):
    return run_ensemble(scenario, draws=48, seed=3, model=MODEL)


def _copy_fixtures(tmp_path: Path) -> Path:
    for name in ("economy_paths.yaml", "economy_paths_variant.yaml", "economy_observed.csv"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    return tmp_path / "economy_paths.yaml"


def _scenario_text(body: str) -> str:
    """A scenario for economy.mdl with one target and ``body``."""
    return (
        "targets:\n"
        "  - {name: gdp_2025, variable: GDP, year: 2025, direction: at_least, threshold: 2000,\n"
        "     label: {zh: 生产总值, en: GDP}, unit: {zh: 亿元, en: CNY 100M}, source: test}\n"
        + body
    )


def _load_text(tmp_path: Path, body: str, name: str = "s.yaml"):
    shutil.copy(OBSERVED, tmp_path / "economy_observed.csv")
    path = tmp_path / name
    path.write_text(_scenario_text(body), encoding="utf-8")
    return load_scenario(path, model=MODEL)


# --- the scenario syntax ------------------------------------------------------------------


def test_fixture_scenario_resolves(scenario) -> None:
    assert scenario.drivers is not None
    assert scenario.drivers.files == (OBSERVED.resolve(),)
    assert scenario.drivers.variables == (COAL, "Coal Output")
    assert isinstance(scenario.paths[COAL], LogAR1) and isinstance(scenario.paths[SHOCK], AR1)
    assert scenario.paths[SHOCK].mean_ == 0.0 and scenario.paths[SHOCK].start == 2021
    assert scenario.exogenous() == [COAL, "Coal Output", SHOCK]
    assert scenario.paths[COAL].describe() == "log_ar1(persistence=0.55, volatility=0.22, trend=0)"


def test_schema_has_drivers_and_processes() -> None:
    text = str(scenario_schema())
    assert "drivers" in text and "log_ar1" in text and "persistence" in text


def test_extends_replaces_drivers_and_merges_paths(tmp_path: Path) -> None:
    _copy_fixtures(tmp_path)
    (tmp_path / "other.csv").write_text(
        "variable,year,value,sd,source\nCoal Output,2020,120,2,test\n", encoding="utf-8"
    )
    (tmp_path / "child.yaml").write_text(
        "extends: economy_paths.yaml\n"
        "drivers: {files: [other.csv], variables: [Coal Output]}\n"
        "levers:\n  Growth Shock: {value: 0.01, source: test}\n"
        "paths:\n"
        "  Coal Price Index: {process: ar1, persistence: 0.2, volatility: 0.05, min: 0,\n"
        "                     start: 2021, source: test}\n"
        "  Base GDP Growth: {process: ar1, persistence: 0.5, volatility: 0.005, min: 0,\n"
        "                    max: 0.2, start: 2022, source: test}\n",
        encoding="utf-8",
    )
    child = load_scenario(tmp_path / "child.yaml", model=MODEL)
    assert child.drivers.variables == ("Coal Output",)
    assert child.drivers.files == ((tmp_path / "other.csv").resolve(),)
    assert isinstance(child.paths[COAL], AR1)  # replaced by name
    assert SHOCK not in child.paths and child.levers[SHOCK].value == 0.01  # lever wins
    assert "Base GDP Growth" not in child.uncertainties  # a path removes the uncertainty
    assert child.exogenous() == ["Coal Output", COAL, "Base GDP Growth"]


def test_digest_follows_the_drivers_files_content(tmp_path: Path) -> None:
    path = _copy_fixtures(tmp_path)
    before = scenario_digest(load_scenario(path, model=MODEL))
    assert before == scenario_digest(load_scenario(path, model=MODEL))
    csv = tmp_path / "economy_observed.csv"
    csv.write_text(csv.read_text().replace("Coal Output,2019,110", "Coal Output,2019,111"))
    assert scenario_digest(load_scenario(path, model=MODEL)) != before


def test_digest_without_drivers_or_paths_is_unchanged(tmp_path: Path) -> None:
    # the new sections are left out of the canonical content when unused
    from sim.scenario import canonical_content

    plain = _load_text(tmp_path, "")
    content = canonical_content(plain)
    assert "drivers" not in content and "paths" not in content


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        (
            "drivers: {files: [economy_observed.csv], variables: [Coal Prize Index]}\n",
            "drivers.variables.0",
            "did you mean 'Coal Price Index'",
        ),
        (
            "drivers: {files: [economy_observed.csv], variables: [Base GDP Growth]}\n",
            "drivers.variables.0",
            "'Base GDP Growth' has no row in economy_observed.csv",
        ),
        (
            "drivers: {files: [economy_observed.csv], variables: [GDP]}\n",
            "drivers.variables.0",
            "'GDP' is a stock",
        ),
        (
            "uncertainties:\n  Coal Output: {distribution: uniform, min: 90, max: 110, "
            "source: t}\ndrivers: {files: [economy_observed.csv], variables: [Coal Output]}\n",
            "drivers.variables.0",
            "both a driver and an uncertainty",
        ),
        (
            "paths:\n  Growth Shock: {process: ar1, persistence: 0.3, volatility: 0.01, "
            "source: t}\n",
            "paths.Growth Shock.start",
            "'start' is required",
        ),
        (
            "paths:\n  Growth Shock: {process: log_ar1, persistence: 0.3, volatility: 0.01, "
            "start: 2021, source: t}\n",
            "paths.Growth Shock.process",
            "must be positive (use ar1",
        ),
        (
            "paths:\n  Coal Output: {process: ar1, persistence: 0.3, volatility: 5, start: 2021, "
            "source: t}\n",
            "paths.Coal Output.min",
            "below the Vensim limits [0, ?]",
        ),
        (
            "paths:\n  Base GDP Growth: {process: ar1, persistence: 0.3, volatility: 0.01, "
            "min: 0, start: 2021, source: t}\n",
            "paths.Base GDP Growth.max",
            "above the Vensim limits [0, 0.2]",
        ),
        (
            "paths:\n  Growth Shock: {process: ar1, persistence: 0.3, volatility: 0.01, "
            "start: 2014, source: t}\n",
            "paths.Growth Shock.start",
            "outside the model's horizon",
        ),
        (
            "paths:\n  Growth Shock: {process: ar1, persistence: 0.3, volatility: 0.01, "
            "start: 2021, sorce: t}\n",
            "paths.Growth Shock.sorce",
            "did you mean 'source'",
        ),
        (
            "paths:\n  Growth Shock: {persistence: 0.3, volatility: 0.01, start: 2021, "
            "source: t}\n",
            "paths.Growth Shock",
            "'process' is missing; expected one of log_ar1, ar1",
        ),
    ],
)
def test_bad_drivers_and_paths(tmp_path: Path, body: str, field: str, fragment: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        _load_text(tmp_path, body)
    error = caught.value
    assert error.field == field, str(error)
    assert fragment in str(error)
    assert "s.yaml" in str(error) and error.line is not None


def test_driver_rows_are_checked_in_their_file(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text(
        "variable,year,value,sd,source\nCoal Output,2016,-5,1,test\n", encoding="utf-8"
    )
    with pytest.raises(ObservedDataError, match=r"outside the Vensim limits \[0, \?\]") as caught:
        _load_text(tmp_path, "drivers: {files: [bad.csv], variables: [Coal Output]}\n")
    assert caught.value.line == 2 and caught.value.field == "value"
    assert "bad.csv" in str(caught.value)


def test_a_year_in_two_drivers_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "more.csv").write_text(
        "variable,year,value,sd,source\nCoal Output,2019,111,1,test\n", encoding="utf-8"
    )
    body = "drivers: {files: [economy_observed.csv, more.csv], variables: [Coal Output]}\n"
    with pytest.raises(ObservedDataError, match="also given in economy_observed.csv") as caught:
        _load_text(tmp_path, body)
    assert caught.value.line == 2 and "more.csv" in str(caught.value)


# --- observed files: rows before INITIAL TIME ----------------------------------------------


def test_history_skips_rows_before_initial_time_with_a_note() -> None:
    notes: list[str] = []
    frame = load_observed(OBSERVED, model=MODEL, note=notes.append)
    assert frame["year"].min() == 2015
    assert len(notes) == 1 and "4 row(s) before" in notes[0] and "lines 3-5, 16" in notes[0]
    kept = load_observed(OBSERVED, model=MODEL, early="keep")
    assert kept["year"].min() == 2012 and len(kept) == len(frame) + 4


def test_years_after_final_time_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    path.write_text("variable,year,value,sd,source\nGDP,2031,1,1,t\n", encoding="utf-8")
    with pytest.raises(ObservedDataError, match="after FINAL TIME") as caught:
        load_observed(path, model=MODEL, early="keep")
    assert caught.value.line == 2


def test_driver_series_keeps_early_years() -> None:
    series = driver_series([OBSERVED], [COAL, "Coal Output", "Nothing"])
    assert set(series) == {COAL, "Coal Output"}
    assert series[COAL].years.tolist() == list(range(2012, 2021))
    assert series[COAL].last_year == 2020 and series[COAL].last_value == 1.25
    assert series["Coal Output"].years.tolist() == [2015, 2016, 2018, 2019]


# --- step paths ----------------------------------------------------------------------------


def test_step_path_points() -> None:
    times, values = step_path([2020, 2021, 2022], np.array([1.0, 2.0, 4.0]))
    expected = [2019 + STEP_OFFSET, 2020, 2020 + STEP_OFFSET, 2021, 2021 + STEP_OFFSET, 2022]
    np.testing.assert_allclose(times, expected, rtol=0, atol=0)
    np.testing.assert_array_equal(values, [1, 1, 2, 2, 4, 4])
    path = TimePath(times, values)
    # year y's value over (y - 1, y]; the first value before, the last after
    assert path(2020.0) == 1 and path(2020.125) == 2 and path(2021.0) == 2
    assert path(2010.0) == 1 and path(2030.0) == 4
    _, rows = step_path([2020, 2021], np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_array_equal(rows, [[1, 1, 2, 2], [3, 3, 4, 4]])


def test_saved_values_are_the_yearly_figures(results) -> None:
    coal = results[slug(COAL)].values
    observed = [0.90, 0.85, 1.10, 1.20, 1.15, 1.25]  # 2015-2020; 2012-2014 only lead
    np.testing.assert_array_equal(coal[:, :6], np.tile(observed, (48, 1)))
    output = results[slug("Coal Output")].values
    # 2017 missing: interpolated; after the last observed year (2019) held there
    np.testing.assert_array_equal(output[0], [100, 96, 100, 104, 110] + [110] * 11)
    assert np.all(output == output[0])
    shock = results[slug(SHOCK)].values
    assert np.all(shock[:, :6] == 0.0)  # the model's value before the path starts
    assert np.unique(coal[:, 6]).size == 48 and np.unique(shock[:, 6]).size == 48


def test_paths_continue_from_the_last_observed_value(results) -> None:
    eps = path_shocks(COAL, 48, list(range(2021, 2031)), 3)
    coal = results[slug(COAL)].values
    # u_2020 = log(1.25 / level) = 0 with the default level; u_2021 = 0.22 eps_2021
    np.testing.assert_allclose(coal[:, 6], 1.25 * np.exp(0.22 * eps[:, 0]), rtol=1e-12)
    u = np.log(coal[:, 6:] / 1.25)
    np.testing.assert_allclose(u[:, 1:] - 0.55 * u[:, :-1], 0.22 * eps[:, 1:], atol=1e-12)
    shock = results[slug(SHOCK)].values
    eps = path_shocks(SHOCK, 48, list(range(2021, 2031)), 3)
    np.testing.assert_allclose(shock[:, 6], 0.01 * eps[:, 0], rtol=1e-12, atol=1e-15)


def test_later_start_holds_the_last_observed_value(tmp_path: Path, compiled) -> None:
    scenario = _load_text(
        tmp_path,
        "drivers: {files: [economy_observed.csv], variables: [Coal Price Index]}\n"
        "paths:\n  Coal Price Index: {process: log_ar1, persistence: 0.5, volatility: 0.1,\n"
        "                     level: 2.0, start: 2023, source: t}\n",
    )
    series = exogenous_series(scenario, 5, 1, compiled.constants, compiled.final_time)[COAL]
    assert series.first_drawn == 2023 and series.years.tolist() == list(range(2012, 2031))
    held = series.values[:, series.years.tolist().index(2021) : series.years.tolist().index(2023)]
    assert np.all(held == 1.25)
    eps = path_shocks(COAL, 5, [2023], 1)[:, 0]
    # t0 = 2022: u_t0 = log(1.25 / 2), L_2023 = 2
    expected = 2.0 * np.exp(0.5 * math.log(1.25 / 2.0) + 0.1 * eps)
    np.testing.assert_allclose(series.values[:, series.years.tolist().index(2023)], expected)


def test_driver_years_before_initial_time_lead_the_path(compiled, scenario) -> None:
    series = exogenous_series(scenario, 4, 0, compiled.constants, compiled.final_time)
    times, values = step_path(series[COAL].years, series[COAL].values)
    assert times[0] == 2011 + STEP_OFFSET and values[0, 0] == 1.30
    assert not series["Coal Output"].per_draw


# --- processes -----------------------------------------------------------------------------


def test_log_ar1_statistics() -> None:
    process = LogAR1(process="log_ar1", persistence=0.55, volatility=0.22, source="t")
    years = list(range(2001, 2121))
    x = draw_path("Coal Price Index", process, 1.0, years, 2000, 20220421)
    u = np.log(x)[:, 20:]  # log shocks (level 1); the first years are burn-in
    lag = np.corrcoef(u[:, 1:].ravel(), u[:, :-1].ravel())[0, 1]
    assert abs(lag - 0.55) < 0.01
    innovation = u[:, 1:] - 0.55 * u[:, :-1]
    assert abs(innovation.std() - 0.22) < 0.22 * 0.01
    assert abs(u.std() - 0.22 / math.sqrt(1 - 0.55**2)) < 0.005
    assert abs(np.median(x[:, -1]) - 1.0) < 0.02  # the level is the median


def test_log_ar1_level_and_trend() -> None:
    process = LogAR1(
        process="log_ar1", persistence=0.5, volatility=0.1, level=2.0, trend=0.03, source="t"
    )
    x = draw_path("p", process, 1.0, list(range(2021, 2031)), 20000, 5)
    k = np.arange(1, 11)
    expected = math.log(2.0) + 0.03 * k + 0.5**k * math.log(1.0 / 2.0)
    np.testing.assert_allclose(np.log(x).mean(axis=0), expected, atol=0.005)


def test_ar1_statistics_and_clipping() -> None:
    process = AR1(process="ar1", persistence=0.3, volatility=0.01, mean=0.02, reasoning="t")
    x = draw_path("Growth Shock", process, 0.0, list(range(2001, 2101)), 2000, 9)[:, 10:]
    lag = np.corrcoef(x[:, 1:].ravel() - 0.02, x[:, :-1].ravel() - 0.02)[0, 1]
    assert abs(lag - 0.3) < 0.01
    assert abs(x.mean() - 0.02) < 0.0005
    assert abs((x[:, 1:] - 0.02 - 0.3 * (x[:, :-1] - 0.02)).std() - 0.01) < 0.0002
    clipped = AR1(
        process="ar1", persistence=0.3, volatility=0.01, min=-0.005, max=0.01, reasoning="t"
    )
    y = draw_path("Growth Shock", clipped, 0.0, list(range(2001, 2101)), 2000, 9)
    assert y.min() == -0.005 and y.max() == 0.01
    # clipping changes the values, not the process: unclipped values agree where inside
    raw = draw_path("Growth Shock", clipped.model_copy(update={"min": None, "max": None}),
                    0.0, list(range(2001, 2101)), 2000, 9)  # fmt: skip
    inside = (raw > -0.005) & (raw < 0.01)
    np.testing.assert_array_equal(y[inside], raw[inside])


def test_default_mean_is_the_starting_value() -> None:
    process = AR1(process="ar1", persistence=0.5, volatility=1.0, reasoning="t")
    x = draw_path("q", process, 100.0, list(range(2021, 2041)), 4000, 2)
    assert abs(x[:, -1].mean() - 100.0) < 0.1


# --- seeds and common random numbers ----------------------------------------------------------


def test_shocks_are_seeded_per_name_and_year() -> None:
    a = path_shocks(COAL, 50, [2021, 2022, 2023], 7)
    np.testing.assert_array_equal(a, path_shocks(COAL, 50, [2021, 2022, 2023], 7))
    assert not np.array_equal(a, path_shocks(COAL, 50, [2021, 2022, 2023], 8))
    assert not np.array_equal(a, path_shocks(SHOCK, 50, [2021, 2022, 2023], 7))
    # a year's shocks do not depend on the path's first year, nor on the number of draws
    np.testing.assert_array_equal(a[:, 2], path_shocks(COAL, 50, [2023], 7)[:, 0])
    np.testing.assert_array_equal(a[:10], path_shocks(COAL, 10, [2021, 2022, 2023], 7))
    assert abs(a.mean()) < 0.3 and 0.7 < a.std() < 1.3


def test_same_seed_is_bit_identical_and_another_seed_differs(scenario, results) -> None:
    again = run_ensemble(scenario, draws=48, seed=3, model=MODEL)
    for key in results.data_vars:
        np.testing.assert_array_equal(results[key].values, again[key].values)
    other = run_ensemble(scenario, draws=48, seed=4, model=MODEL)
    assert not np.array_equal(results[slug(COAL)].values, other[slug(COAL)].values)


def test_common_random_numbers_under_a_lever_change(scenario, results) -> None:
    levered = scenario.model_copy(
        update={
            "levers": {"RD Share": scenario.levers["RD Share"].model_copy(update={"value": 0.02})}
        }
    )
    other = run_ensemble(levered, draws=48, seed=3, model=MODEL)
    for name in (COAL, SHOCK, "Base GDP Growth", "GDP"):
        np.testing.assert_array_equal(results[slug(name)].values, other[slug(name)].values)
    assert not np.array_equal(
        results[slug("RD Intensity")].values, other[slug("RD Intensity")].values
    )


def _shocks_of(coal: np.ndarray, persistence: float, volatility: float, level: float,
               trend: float, x0: float) -> np.ndarray:  # fmt: skip
    """The standard normal shocks behind drawn log_ar1 values (columns: drawn years)."""
    k = np.arange(1, coal.shape[1] + 1)
    u = np.log(coal) - np.log(level) - trend * k
    previous = np.column_stack([np.full(len(coal), math.log(x0 / level)), u[:, :-1]])
    return (u - persistence * previous) / volatility


def test_common_random_numbers_across_scenarios(results, variant) -> None:
    other = run_ensemble(variant, draws=48, seed=3, model=MODEL)
    mine = _shocks_of(results[slug(COAL)].values[:, 6:], 0.55, 0.22, 1.25, 0.0, 1.25)
    theirs = _shocks_of(other[slug(COAL)].values[:, 6:], 0.8, 0.1, 1.2, 0.02, 1.25)
    np.testing.assert_allclose(mine, theirs, atol=1e-9)
    np.testing.assert_allclose(mine, path_shocks(COAL, 48, list(range(2021, 2031)), 3),
                               atol=1e-9)  # fmt: skip
    np.testing.assert_array_equal(results[slug(SHOCK)].values, other[slug(SHOCK)].values)


def test_paths_leave_the_uncertainties_alone(scenario, results) -> None:
    settings = monte_carlo_settings(scenario, 48, 3)
    drawn = sample(scenario.uncertainties, 48, 3, settings.sampler, scenario.correlations)
    for name, column in drawn.items():
        np.testing.assert_array_equal(results[slug(name)].values, column)


# --- chunks and inputs ------------------------------------------------------------------------


def test_results_do_not_depend_on_the_chunk_size(scenario, results) -> None:
    for chunk in (1, 5, 17):
        chunked = run_ensemble(scenario, draws=48, seed=3, model=MODEL, chunk_size=chunk)
        for key in results.data_vars:
            np.testing.assert_array_equal(results[key].values, chunked[key].values)


def test_target_values_and_explorer_do_not_depend_on_the_chunk_size(
    scenario, compiled, results
) -> None:
    settings = monte_carlo_settings(scenario, 48, 3)
    inputs = scenario_inputs(scenario, settings, compiled)
    gdp = results[slug("GDP")].values[:, list(YEARS).index(2025)]
    for chunk in (7, 48):
        values = target_values(compiled, scenario.targets, inputs.fixed, inputs.per_draw, 48, chunk)
        np.testing.assert_array_equal(values["gdp_2025"], gdp)
    share = {"RD Share": np.array([0.012, 0.02])}
    wide = LeverRuns(scenario, draws=48, seed=3, model=MODEL).values(share)
    narrow = LeverRuns(scenario, draws=48, seed=3, model=MODEL, chunk_size=5).values(share)
    for name in wide:
        np.testing.assert_array_equal(wide[name], narrow[name])
    np.testing.assert_array_equal(wide["gdp_2025"][0], gdp)  # the scenario's own setting
    np.testing.assert_array_equal(wide["gdp_2025"][1], gdp)  # RD Share does not move GDP


def test_inputs_select_draws(scenario, compiled) -> None:
    settings = monte_carlo_settings(scenario, 10, 3)
    inputs = scenario_inputs(scenario, settings, compiled)
    assert set(inputs.paths) == {COAL, SHOCK} and "Coal Output" in inputs.fixed
    assert set(inputs.drawn) == set(scenario.uncertainties) and inputs.n_draws == 10
    index = np.array([3, 3, 0])
    shocks = {name: inputs.exogenous[name].prior_shocks(10, 3)[index] for name in inputs.paths}
    drawn = {n: c[index] for n, c in inputs.drawn.items()}
    picked = scenario_inputs(
        scenario, settings, compiled, uncertainty_draws=drawn, path_shocks=shocks
    )
    times, full = simulate_inputs(compiled, inputs, ["GDP", COAL])
    _, some = simulate_inputs(compiled, picked, ["GDP", COAL])
    for name in ("GDP", COAL):
        np.testing.assert_array_equal(some[name], full[name][index])
    moved = inputs.with_draws(drawn, shocks)
    _, again = simulate_inputs(compiled, moved, ["GDP"])
    np.testing.assert_array_equal(again["GDP"], full["GDP"][index])
    path = inputs.paths[COAL]
    np.testing.assert_array_equal(draw_rows(path, 2, 5).array, np.asarray(path.array)[2:5])
    np.testing.assert_array_equal(draw_take(path, index).array, np.asarray(path.array)[index])
    with pytest.raises(ValueError, match="give path_shocks"):
        inputs.with_draws({n: c[:3] for n, c in inputs.drawn.items()})
    with pytest.raises(ValueError, match="give path_shocks"):
        scenario_inputs(scenario, settings, compiled, uncertainty_draws=drawn)
    with pytest.raises(ValueError, match="path_shocks lacks"):
        scenario_inputs(
            scenario, settings, compiled, uncertainty_draws=drawn, path_shocks={COAL: shocks[COAL]}
        )
    with pytest.raises(ValueError, match="must have shape"):
        inputs.exogenous[COAL].with_shocks(shocks[COAL][:, 1:])


def test_results_carry_the_drivers_and_paths(results, scenario) -> None:
    coal = results[slug(COAL)]
    assert coal.attrs["role"] == "outcome" and coal.attrs["source"] == "test fixture"
    assert coal.attrs["exogenous"] == (
        "driver: economy_observed.csv (2012-2020); path from 2021: "
        "log_ar1(persistence=0.55, volatility=0.22, trend=0)"
    )
    assert results[slug("Coal Output")].attrs["exogenous"].startswith("driver: ")
    assert results[slug(SHOCK)].attrs["exogenous"].startswith("path from 2021: ar1(")
    import json

    drivers = json.loads(results.attrs["drivers"])
    assert drivers["variables"] == [COAL, "Coal Output"]
    assert len(drivers["files"]["economy_observed.csv"]) == 64
    paths = json.loads(results.attrs["paths"])
    assert paths[COAL]["persistence"] == 0.55 and paths[COAL]["first_drawn_year"] == 2021
    assert results.attrs["scenario_sha256"] == scenario_digest(scenario)


def test_a_driver_cannot_be_swept(scenario, compiled) -> None:
    with pytest.raises(LeverError, match="imposed as data"):
        lever_info(scenario, "Coal Output", MODEL)
    with pytest.raises(LeverError, match="imposed as data"):
        lever_info(scenario, SHOCK, MODEL)


# --- calibration conditions the paths year by year ---------------------------------------------


def test_calibration_particles_carry_conditioned_path_shocks(scenario) -> None:
    data = pd.DataFrame(
        {
            "variable": ["GDP", "GDP", "Coal Output"],
            "year": [2020, 2024, 2016],
            "value": [1900.0, 2300.0, 96.0],
            "sd": [20.0, 40.0, 1.0],
            "source": ["test"] * 3,
        }
    )
    notes: list[str] = []
    result = condition(scenario, data, draws=200, seed=2, model=MODEL, progress=notes.append)
    assert "Coal Output" in notes[0] and "not conditioned on" in notes[0]
    assert list(result.observations["variable"]) == ["GDP", "GDP"]
    assert result.method == "tempering"  # the 2024 observation depends on the paths
    assert {stage.year for stage in result.stages} == {2020, 2024}  # year by year
    assert any("year 2024" in note for note in notes)
    prior, posterior = conditioned_ensembles(scenario, result, model=MODEL)
    assert result.last_observed_year == 2024
    compiled = compile_model(MODEL)
    settings = monte_carlo_settings(scenario, 200, 2)
    inputs = scenario_inputs(scenario, settings, compiled)
    times = posterior["time"].values
    observed_years = times <= 2024
    for name in (COAL, SHOCK):
        series = inputs.exogenous[name]
        drawn_years = series.drawn_years
        own = series.prior_shocks(200, 2)
        # after the last observed year, each draw continues with the prior draw of its number's
        # shocks (common random numbers between assessments of different scenarios) ...
        after = drawn_years > 2024
        np.testing.assert_array_equal(result.shocks[name][:, after], own[:, after])
        # ... up to it, the shocks were moved and resampled year by year: more distinct paths
        # than distinct prior ancestors
        values = posterior[slug(name)].values[:, observed_years]
        distinct = np.unique(values[:, -1]).size
        assert distinct > np.unique(result.ancestors).size
    # the posterior ensemble is the particles' constants with the paths their shocks drive
    conditioned = scenario_inputs(
        scenario,
        settings,
        compiled,
        uncertainty_draws=result.draws,
        path_shocks=result.shocks,
        own_history=True,
    )
    _, values = simulate_inputs(compiled, conditioned, ["GDP"])
    np.testing.assert_array_equal(values["GDP"], posterior[slug("GDP")].values)
    gdp = posterior[slug("GDP")].values
    for year, observed in ((2020, 1900.0), (2024, 2300.0)):
        column = list(times).index(year)
        assert (
            abs(np.median(gdp[:, column]) - observed)
            < abs(np.median(prior[slug("GDP")].values[:, column]) - observed) + 1e-9
        )


def test_a_run_from_the_posterior_keeps_the_conditioned_paths(scenario, tmp_path) -> None:
    from sim.scenario.posterior import read_posterior
    from sim.workflows.calibrate import posterior_dataset

    data = pd.DataFrame(
        {
            "variable": ["GDP", "GDP"],
            "year": [2020, 2024],
            "value": [1900.0, 2300.0],
            "sd": [20.0, 40.0],
            "source": ["test"] * 2,
        }
    )
    result = condition(scenario, data, draws=200, seed=2, model=MODEL)
    _, posterior = conditioned_ensembles(scenario, result, model=MODEL)
    posterior_dataset(result, scenario, model=MODEL).to_netcdf(tmp_path / "posterior.nc")
    stored = read_posterior(tmp_path / "posterior.nc")
    assert set(stored.shocks) == {COAL, SHOCK}
    assert stored.shocks[COAL].years.max() == 2024 and stored.attrs["last_observed_year"] == 2024
    child = tmp_path / "child.yaml"
    child.write_text(f"extends: {SCENARIO}\nposterior: posterior.nc\n", encoding="utf-8")
    run = run_ensemble(load_scenario(child, model=MODEL), draws=100, seed=7, model=MODEL)
    # resampling 100 draws from a sample worth `ess`: intervals use fewer effective draws
    assert run.attrs["effective_draws"] == pytest.approx(1 / (1 / result.ess + 1 / 100))
    times = run["time"].values
    for name in (COAL, SHOCK):
        conditioned_part = {tuple(row) for row in posterior[slug(name)].values[:, times <= 2024]}
        rows = run[slug(name)].values
        # up to the last observed year every draw has a posterior draw's conditioned path ...
        assert all(tuple(row) in conditioned_part for row in rows[:, times <= 2024])
        # ... after it, its own shocks
        assert np.unique(rows[:, -1]).size > 0.9 * len(rows)


def test_shocks_drive_the_path_as_the_run_does(compiled, scenario):
    series = exogenous_series(scenario, 6, 4, compiled.constants, compiled.final_time)[SHOCK]
    assert series.per_draw and series.first_drawn <= 2024
    # the run's own shocks give the run's paths
    np.testing.assert_array_equal(
        series.with_shocks(series.prior_shocks(6, 4)).values, series.values
    )
    # one row per row of shocks; the years before the first drawn one are shared
    zeros = series.with_shocks(np.zeros((2, series.drawn_years.size)))
    first = int(np.flatnonzero(series.years == series.first_drawn)[0])
    np.testing.assert_array_equal(zeros.values[:, :first], series.values[:2, :first])
    # AR(1) about the starting value (mean 0 here): zero shocks stay there
    expected = series.process.values(float(series.values[0, first - 1]), np.zeros((1, 1)))[0, 0]
    assert zeros.values[0, first] == pytest.approx(expected)


# --- sensitivity and discovery ---------------------------------------------------------------


def test_sensitivity_treats_each_path_as_one_input(scenario) -> None:
    from sim.workflows.sensitivity import run_sensitivity

    run = run_sensitivity(scenario, "sobol", 32, model=MODEL)
    assert set(run.table["parameter"]) == {*scenario.uncertainties, *scenario.paths}
    gdp = run.table[(run.table["target"] == "gdp_2025") & (run.table["output"] == "value")]
    total = dict(zip(gdp["parameter"], gdp["ST"], strict=True))
    assert total[COAL] > 0.01 and total[SHOCK] > 0.001  # the paths matter for GDP
    again = run_sensitivity(scenario, "sobol", 32, model=MODEL, chunk_size=7)
    pd.testing.assert_frame_equal(run.table, again.table)
    assert run_sensitivity(scenario, "morris", 8, model=MODEL).runs == 8 * 5


def test_discovery_sees_each_paths_mean(scenario, results) -> None:
    from sim.workflows.discover import path_mean, run_discovery

    found = run_discovery(scenario, "gdp_2025", draws=48, seed=3, model=MODEL)
    column = f"{COAL} (mean 2021-2030)"
    assert found.labels_zh[column] == "煤炭价格指数（2021–2030年均值）"
    assert f"{SHOCK} (mean 2021-2030)" in found.labels_zh
    compiled = compile_model(MODEL)
    inputs = scenario_inputs(scenario, monte_carlo_settings(scenario, 48, 3), compiled)
    name, mean = path_mean(inputs.exogenous[COAL])
    assert name == column
    np.testing.assert_allclose(mean, results[slug(COAL)].values[:, 6:].mean(axis=1))


def test_a_driver_observed_late_bridges_from_the_model_value(tmp_path: Path, compiled) -> None:
    """First observed in 2018, after INITIAL TIME (2015): the series starts from the model's
    own value in 2015 and is interpolated to the first observation, not held back at it."""
    (tmp_path / "late.csv").write_text(
        "variable,year,value,sd,source\nCoal Output,2018,130,2,t\nCoal Output,2019,140,2,t\n",
        encoding="utf-8",
    )
    scenario = _load_text(tmp_path, "drivers: {files: [late.csv], variables: [Coal Output]}\n")
    series = exogenous_series(
        scenario, 2, 0, compiled.constants, compiled.final_time, compiled.initial_time
    )["Coal Output"]
    start = compiled.constants["Coal Output"]
    assert series.years.tolist() == [2015, 2016, 2017, 2018, 2019]
    np.testing.assert_allclose(
        series.values, [start, start + (130 - start) / 3, start + 2 * (130 - start) / 3, 130, 140]
    )
