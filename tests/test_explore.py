"""Compare, sweep and solve (sim.workflows.compare, .sweep, .solve on sim.workflows.lever_runs)
on the real model with few draws: CRN, validation, consistency."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.analysis.paired_difference import ALL_TARGETS, compare_table
from sim.analysis.probabilities import met
from sim.engine import compile_model
from sim.engine.ensemble import run_ensemble
from sim.paths import DEFAULT_SCENARIO_PATH
from sim.results import at_year
from sim.scenario import load_scenario
from sim.scenario.levers import LeverError, LeverRange, nearest_money
from sim.vensim import ModelVariable, model_variables
from sim.workflows.compare import compare_scenarios
from sim.workflows.lever_runs import LeverRuns, PolicyQuestionError
from sim.workflows.solve import (
    NOT_WITHIN_PLAUSIBLE,
    NOT_WITHIN_SEARCHED,
    WITHIN_PLAUSIBLE,
    ObjectiveError,
    load_objective,
    plan_years,
    solve_budget,
    solve_lever,
)
from sim.workflows.sweep import sweep_levers

FLOOR = "Fiscal Innovation Share Floor"
HTE = "high_tech_enterprises_2025"
LABS = "provincial_key_laboratories_2025"
#: A floor above the pre-plan share of revenue (about 7 %), so that it binds.
HIGH_FLOOR = 0.09


@pytest.fixture(scope="module")
def baseline(real_model):
    return load_scenario(DEFAULT_SCENARIO_PATH)


def _floor_variant(directory: Path, floor: float):
    path = directory / f"floor_{floor:g}.yaml"
    path.write_text(
        f"extends: {DEFAULT_SCENARIO_PATH}\n"
        f"levers:\n  {FLOOR}: {{value: {floor!r}, source: test}}\n",
        encoding="utf-8",
    )
    return load_scenario(path)


@pytest.fixture(scope="module")
def high_floor(real_model, tmp_path_factory):
    return _floor_variant(tmp_path_factory.mktemp("variant"), HIGH_FLOOR)


def test_lever_runs_reproduce_the_ensemble_runner(baseline, high_floor) -> None:
    """Stacked settings give exactly the runs of the scenarios that set those levers."""
    runs = LeverRuns(baseline, draws=64, seed=5)
    values = runs.values({FLOOR: np.array([0.02, HIGH_FLOOR])})
    for row, scenario in enumerate((baseline, high_floor)):
        results = run_ensemble(scenario, draws=64, seed=5)
        for target in baseline.targets:
            expected = at_year(results, target.variable, target.year)
            np.testing.assert_allclose(values[target.name][row], expected, rtol=1e-12)
    hits = runs.hits({FLOOR: np.array([0.02])})
    results = run_ensemble(baseline, draws=64, seed=5)
    expected_all = np.logical_and.reduce(
        [met(t, at_year(results, t.variable, t.year)) for t in baseline.targets]
    )
    np.testing.assert_array_equal(hits[ALL_TARGETS][0], expected_all)


def test_a_scenario_compared_with_itself_differs_by_exactly_zero(baseline) -> None:
    comparison = compare_scenarios([baseline, baseline], draws=64, seed=3)
    table = compare_table(comparison.results, ["a", "b"], comparison.targets)
    assert (table["difference"] == 0).all()
    assert len(table) == 2 * (len(baseline.targets) + 1)


def test_compare_pairs_the_draws(baseline, high_floor) -> None:
    comparison = compare_scenarios([baseline, high_floor], draws=128, seed=3)
    assert comparison.settings.draws == 128 and comparison.settings.seed == 3
    first, second = comparison.results
    for name in baseline.uncertainties:  # common random numbers: the same draws
        np.testing.assert_array_equal(first[_slug(name)].values, second[_slug(name)].values)
    table = compare_table(comparison.results, ["base", "high"], comparison.targets)
    labs = table[(table["target"] == LABS)].iloc[1]
    assert labs["difference"] > 0 and labs["diff_low"] > 0  # a higher floor buys laboratories


def _slug(name: str) -> str:
    from sim.results import slug

    return slug(name)


def _variant(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(f"extends: {DEFAULT_SCENARIO_PATH}\n{body}", encoding="utf-8")
    return path


def test_sobol_falls_back_to_lhs_when_the_uncertainties_differ(tmp_path, real_model) -> None:
    sobol = "monte_carlo: {sampler: sobol, draws: 32}\n"
    a = load_scenario(_variant(tmp_path, "a.yaml", sobol))
    b = load_scenario(_variant(tmp_path, "b.yaml", sobol + "levers:\n  Fund Leverage Ratio: "
                                                  "{value: 2, source: test}\n"))  # fmt: skip
    comparison = compare_scenarios([a, b])
    assert comparison.settings.sampler == "lhs"
    assert any("sobol" in note for note in comparison.notes)
    same = compare_scenarios([a, a])
    assert same.settings.sampler == "sobol" and not same.notes


def test_sweep_shapes(baseline) -> None:
    one = sweep_levers(baseline, [LeverRange(FLOOR, 0.01, 0.05, 3)], draws=32, seed=1)
    table = one.table()
    assert len(table) == 3 * (len(baseline.targets) + 1)
    assert set(table["target"]) == {t.name for t in baseline.targets} | {ALL_TARGETS}
    assert one.hits[HTE].shape == (3, 32)
    cultivation = LeverRange("Cultivation Allocation Share", 0.02, 0.05, 2)
    two = sweep_levers(
        baseline,
        [LeverRange(FLOOR, 0.01, 0.05, 3), cultivation],
        ["RD Subsidy Allocation Share"],
        draws=32,
        seed=1,
    )
    assert two.hits[HTE].shape == (6, 32)
    np.testing.assert_allclose(two.settings[FLOOR], [0.01, 0.01, 0.03, 0.03, 0.05, 0.05])
    total = (
        two.settings["Cultivation Allocation Share"] + two.settings["RD Subsidy Allocation Share"]
    )
    shares = ("Cultivation Allocation Share", "RD Subsidy Allocation Share")
    np.testing.assert_allclose(total, sum(baseline.levers[n].value for n in shares))  # kept


def test_sweep_is_monotone_where_the_model_is(baseline) -> None:
    """With common random numbers, the hits at a higher floor include those at a lower one
    for the key-laboratory target (more budget, more laboratories in every draw)."""
    result = sweep_levers(baseline, [LeverRange(FLOOR, 0.02, 0.1, 5)], draws=64, seed=2)
    hits = result.hits[LABS]
    assert np.all(hits[1:] >= hits[:-1])


@pytest.mark.parametrize(
    ("lever", "message"),
    [
        ("Fiscal Innovation Share Flor", "did you mean 'Fiscal Innovation Share Floor'"),
        ("High Tech Enterprises", "is a stock"),
        ("Projected Non Resource Real Growth Rate", "is an uncertainty"),
    ],
)
def test_bad_lever_names(baseline, lever: str, message: str) -> None:
    with pytest.raises(LeverError, match=message):
        sweep_levers(baseline, [LeverRange(lever, 0.1, 0.2, 3)], draws=8)


def test_ranges_must_lie_inside_the_plausible_policy_range(baseline) -> None:
    """The model states each lever's plausible policy range as its Vensim range."""
    with pytest.raises(LeverError, match=r"outside the plausible policy range \[0, 0.1\]"):
        sweep_levers(baseline, [LeverRange(FLOOR, 0.05, 0.2, 3)], draws=8)
    with pytest.raises(LeverError, match=r"widen that range in the model file") as caught:
        solve_lever(baseline, LeverRange(FLOOR, 0.0, 0.2), HTE, 0.8, draws=8)
    assert caught.value.option == "--lever" and "0.2 is outside" in caught.value.message
    with pytest.raises(LeverError, match="START < STOP"):
        sweep_levers(baseline, [LeverRange(FLOOR, 0.5, 0.1, 3)], draws=8)


def test_constrained_lever_needs_a_rebalance_rule(baseline) -> None:
    lever = [LeverRange("Fund Allocation Share", 0.1, 0.3, 3)]
    with pytest.raises(LeverError, match="constraint 'allocation_shares'.*--rebalance"):
        sweep_levers(baseline, lever, draws=8)
    with pytest.raises(LeverError, match="Talent Allocation Share would be"):
        sweep_levers(baseline, [LeverRange("Fund Allocation Share", 0.1, 0.3, 3)],
                     ["Talent Allocation Share"], draws=8)  # fmt: skip
    with pytest.raises(LeverError, match="nothing to rebalance"):
        sweep_levers(baseline, [LeverRange(FLOOR, 0.01, 0.03, 3)], ["Talent Allocation Share"],
                     draws=8)  # fmt: skip
    result = sweep_levers(baseline, lever, ["proportional"], draws=16)
    members = next(c for c in baseline.constraints if c.name == "allocation_shares").sum
    np.testing.assert_allclose(sum(result.settings[m] for m in members), 1.0)


def test_solve_the_floor_for_high_tech_enterprises(baseline) -> None:
    """The least floor for P(HTEs >= 300 in 2025) >= 0.8 is an answer the runner confirms."""
    answer = solve_lever(baseline, FLOOR, HTE, 0.8, draws=128, seed=11)
    solution = answer.solution
    assert solution.status in ("reached", "at_bound")
    assert solution.direction in ("increasing", "flat")  # flat: every draw meets it
    target = next(t for t in baseline.targets if t.name == HTE)

    def probability(floor: float) -> float:
        runs = LeverRuns(baseline, draws=128, seed=11)
        return float(runs.hits({FLOOR: np.array([floor])})[target.name].mean())

    assert probability(solution.value) >= 0.8
    if solution.status == "reached":
        assert probability(solution.value - 2e-4) < 0.8
    else:
        assert solution.value == 0.0  # the lower end of the plausible range [0, 0.1]
    assert (solution.low, solution.high) == (0.0, 0.1)  # the plausible policy range
    record = answer.record()
    assert (record["range_low"], record["range_high"]) == (0.0, 0.1)
    assert record["plausible"] == WITHIN_PLAUSIBLE
    assert record["money_variable"] == "Fiscal Innovation Input"
    assert record["money_at"] == solution.value and record["money_per_year"] > 0
    again = solve_lever(baseline, FLOOR, HTE, 0.8, draws=128, seed=11).solution
    assert (again.status, again.value) == (solution.status, solution.value)


def test_solve_reports_unreachable_targets(baseline) -> None:
    lever = LeverRange(FLOOR, 0.0, 0.05)
    answer = solve_lever(baseline, lever, "tech_smes_2025", 0.5, draws=32, seed=1)
    assert answer.solution.status == "not_reachable" and answer.solution.value is None
    assert 0 <= answer.solution.best_probability < 0.5
    assert answer.plausible == NOT_WITHIN_SEARCHED  # [0, 0.05] is part of [0, 0.1]


def test_not_reachable_within_the_plausible_range_gives_the_best_and_its_money(
    baseline, tmp_path
) -> None:
    """95 % for the laboratories is out of reach on [0, 0.1]: the answer says so, with the
    best probability, where it is, and the money there, which the runner confirms."""
    answer = solve_lever(baseline, FLOOR, LABS, 0.95, draws=48, seed=7)
    solution, record = answer.solution, answer.record()
    assert solution.status == "not_reachable" and solution.value is None
    assert record["plausible"] == NOT_WITHIN_PLAUSIBLE
    assert (solution.low, solution.high) == (0.0, 0.1)
    assert 0 < solution.best_probability < 0.95 and 0 <= solution.best_value <= 0.1
    assert max(e.probability for e in solution.evaluations) == solution.best_probability
    money = answer.money
    assert money is not None and money.variable == "Fiscal Innovation Input"
    assert money.years == (2021.0, 2022.0, 2023.0, 2024.0, 2025.0)
    assert money.at == solution.best_value and record["money_years"] == "2021-2025"

    def money_at(scenario) -> float:
        results = run_ensemble(scenario, draws=48, seed=7, extra_outputs=[money.variable])
        yearly = [at_year(results, money.variable, year) for year in range(2021, 2026)]
        return float(np.median(np.mean(yearly, axis=0)))

    best = _floor_variant(tmp_path, solution.best_value)
    assert record["money_per_year"] == pytest.approx(money_at(best), rel=1e-12)
    assert record["money_current_per_year"] == pytest.approx(money_at(baseline), rel=1e-12)


@pytest.mark.parametrize(
    ("lever", "money"),
    [
        (FLOOR, ("Fiscal Innovation Input",)),  # through Fiscal Innovation Share
        ("Fiscal Innovation Share Annual Increase", ("Fiscal Innovation Input",)),
        ("Fund Allocation Share", ("Fund Budget",)),
        ("Initial Fund Size", ("Initial Fund Size",)),  # in 亿元 itself
        ("Transfer Subsidy Rate", ("Transfer Subsidy Claims",)),
    ],
)
def test_nearest_money_on_the_real_model(real_model, lever: str, money: tuple[str]) -> None:
    structure = model_variables(real_model)
    units = {doc.name: doc.units for doc in model_variables(real_model)}
    assert nearest_money(structure, units, lever) == money


def _variable(name: str, *references: str, inflows: tuple[str, ...] = ()) -> ModelVariable:
    return ModelVariable(
        name=name,
        key=name.lower(),
        sector="s",
        kind="stock" if inflows else "auxiliary",
        references=tuple(r.lower() for r in references),
        inflows=tuple(r.lower() for r in inflows),
    )


def test_nearest_money_walks_breadth_first_and_stops_at_money() -> None:
    structure = [
        _variable("Lever"),
        _variable("Share", "Lever"),
        _variable("Far", "Share", "Near"),
        _variable("Near", "Lever"),
        _variable("Stock", inflows=("Near",)),
        _variable("Other", "Lever"),
        _variable("Beyond", "Near"),
        _variable("Alone"),
    ]
    units = {
        "Lever": "Dmnl",
        "Share": "Dmnl",
        "Far": "CNY100M/Year",
        "Near": " CNY100M / Year ",  # whitespace does not matter
        "Stock": "CNY100M",
        "Other": "CNY100M/Year",
        "Beyond": "CNY100M/Year",
        "Alone": "Dmnl",
    }
    # Near and Other at one link (in file order); Far and Beyond are further away
    assert nearest_money(structure, units, "Lever") == ("Near", "Other")
    assert nearest_money(structure, units, "Share") == ("Far",)
    assert nearest_money(structure, units, "Stock") == ("Stock",)  # an amount: itself
    assert nearest_money(structure, units, "Alone") == ()
    assert nearest_money(structure, units, "Missing") == ()


def test_plan_years_come_from_the_model(baseline) -> None:
    compiled = compile_model()
    assert plan_years(baseline, compiled) == (2021.0, 2022.0, 2023.0, 2024.0, 2025.0)


def test_solve_checks_its_inputs(baseline) -> None:
    with pytest.raises(PolicyQuestionError, match="--prob"):
        solve_lever(baseline, FLOOR, HTE, 1.5, draws=8)
    with pytest.raises(PolicyQuestionError, match="did you mean 'high_tech_enterprises_2025'"):
        solve_lever(baseline, FLOOR, "high_tech_enterprise_2025", 0.8, draws=8)


def test_budget_shares_add_to_one_within_bounds(baseline) -> None:
    result = solve_budget(
        baseline,
        lower={"Fund Allocation Share": 0.1},
        upper=0.5,
        draws=64,
        search_draws=32,
        popsize=2,
        maxiter=3,
    )
    assert result.best_shares.sum() == pytest.approx(1.0, abs=1e-9)
    assert np.all(result.best_shares <= 0.5 + 1e-12)
    assert result.best_shares[result.members.index("Fund Allocation Share")] >= 0.1 - 1e-12
    assert result.baseline_shares.sum() == pytest.approx(1.0)
    assert 0 <= result.best.low <= result.best.value <= result.best.high <= 1
    assert set(result.targets_table()["target"]) == {t.name for t in baseline.targets} | {"all"}


def test_budget_bounds_are_checked(baseline) -> None:
    with pytest.raises(PolicyQuestionError, match="--min-share"):
        solve_budget(baseline, lower=0.2, draws=8, search_draws=16, maxiter=1)
    with pytest.raises(PolicyQuestionError, match="did you mean 'Fund Allocation Share'"):
        solve_budget(baseline, lower={"Fund Share": 0.1}, draws=8, search_draws=16, maxiter=1)


def test_objective_file(tmp_path, baseline) -> None:
    good = tmp_path / "w.yaml"
    good.write_text("weights:\n  high_tech_enterprises_2025: 2\n  tech_smes_2025: 1\n", "utf-8")
    assert load_objective(good, baseline.targets) == {HTE: 2.0, "tech_smes_2025": 1.0}
    bad = tmp_path / "bad.yaml"
    bad.write_text("weights:\n  high_tech_enterprises_2025: 2\n  tech_sme_2025: 1\n", "utf-8")
    with pytest.raises(ObjectiveError, match=r"bad.yaml:3: field 'weights.tech_sme_2025'"):
        load_objective(bad, baseline.targets)
    negative = tmp_path / "neg.yaml"
    negative.write_text("weights: {high_tech_enterprises_2025: -1}\n", "utf-8")
    with pytest.raises(ObjectiveError, match=">= 0"):
        load_objective(negative, baseline.targets)
    zero = tmp_path / "zero.yaml"
    zero.write_text("weights: {high_tech_enterprises_2025: 0}\n", "utf-8")
    with pytest.raises(ObjectiveError, match="positive"):
        load_objective(zero, baseline.targets)
    with pytest.raises(ObjectiveError, match="cannot be read"):
        load_objective(tmp_path / "missing.yaml", baseline.targets)
