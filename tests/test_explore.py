"""Compare, sweep and solve on the real model with few draws: CRN, validation, consistency."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.analysis.compare import ALL_TARGETS, compare_table
from sim.analysis.targets import met
from sim.ensemble import run_ensemble
from sim.explore import (
    ExploreError,
    Explorer,
    LeverRange,
    ObjectiveError,
    compare_scenarios,
    load_objective,
    solve_budget,
    solve_lever,
    sweep_levers,
)
from sim.paths import DEFAULT_SCENARIO_PATH, SCENARIO_DIR
from sim.results import at_year
from sim.scenario import load_scenario

FLOOR = "Fiscal Innovation Share Floor"
HTE = "high_tech_enterprises_2025"


@pytest.fixture(scope="module")
def baseline(real_model):
    return load_scenario(DEFAULT_SCENARIO_PATH)


@pytest.fixture(scope="module")
def fiscal_3pct(real_model):
    return load_scenario(SCENARIO_DIR / "fiscal_share_3pct.yaml")


def test_explorer_reproduces_the_ensemble_runner(baseline, fiscal_3pct) -> None:
    """Stacked settings give exactly the runs of the scenarios that set those levers."""
    explorer = Explorer(baseline, draws=64, seed=5)
    values = explorer.values({FLOOR: np.array([0.02, 0.03])})
    for row, scenario in enumerate((baseline, fiscal_3pct)):
        results = run_ensemble(scenario, draws=64, seed=5)
        for target in baseline.targets:
            expected = at_year(results, target.variable, target.year)
            np.testing.assert_allclose(values[target.name][row], expected, rtol=1e-12)
    hits = explorer.hits({FLOOR: np.array([0.02])})
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


def test_compare_pairs_the_draws(baseline, fiscal_3pct) -> None:
    comparison = compare_scenarios([baseline, fiscal_3pct], draws=128, seed=3)
    assert comparison.settings.draws == 128 and comparison.settings.seed == 3
    first, second = comparison.results
    for name in baseline.uncertainties:  # common random numbers: the same draws
        np.testing.assert_array_equal(first[_slug(name)].values, second[_slug(name)].values)
    table = compare_table(comparison.results, ["base", "3pct"], comparison.targets)
    labs = table[(table["target"] == "provincial_key_laboratories_2025")].iloc[1]
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
    two = sweep_levers(
        baseline,
        [LeverRange(FLOOR, 0.01, 0.05, 3), LeverRange("Cultivation Allocation Share", 0.1, 0.2, 2)],
        ["RD Subsidy Allocation Share"],
        draws=32,
        seed=1,
    )
    assert two.hits[HTE].shape == (6, 32)
    np.testing.assert_allclose(two.settings[FLOOR], [0.01, 0.01, 0.03, 0.03, 0.05, 0.05])
    total = (
        two.settings["Cultivation Allocation Share"] + two.settings["RD Subsidy Allocation Share"]
    )
    np.testing.assert_allclose(total, 0.35)  # the two shares keep their sum: 0.15 + 0.20


def test_sweep_is_monotone_where_the_model_is(baseline) -> None:
    """With common random numbers, the hits at a higher floor include those at a lower one
    for the key-laboratory target (more budget, more laboratories in every draw)."""
    result = sweep_levers(baseline, [LeverRange(FLOOR, 0.02, 0.05, 4)], draws=64, seed=2)
    hits = result.hits["provincial_key_laboratories_2025"]
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
    with pytest.raises(ExploreError, match=message):
        sweep_levers(baseline, [LeverRange(lever, 0.1, 0.2, 3)], draws=8)


def test_ranges_must_lie_inside_the_vensim_limits(baseline) -> None:
    with pytest.raises(ExploreError, match=r"outside the Vensim limits \[0, 1\]"):
        sweep_levers(baseline, [LeverRange(FLOOR, 0.5, 1.5, 3)], draws=8)
    with pytest.raises(ExploreError, match="START < STOP"):
        sweep_levers(baseline, [LeverRange(FLOOR, 0.5, 0.1, 3)], draws=8)


def test_constrained_lever_needs_a_rebalance_rule(baseline) -> None:
    lever = [LeverRange("Fund Allocation Share", 0.1, 0.3, 3)]
    with pytest.raises(ExploreError, match="constraint 'allocation_shares'.*--rebalance"):
        sweep_levers(baseline, lever, draws=8)
    with pytest.raises(ExploreError, match="Talent Allocation Share would be"):
        sweep_levers(baseline, [LeverRange("Fund Allocation Share", 0.1, 0.5, 3)],
                     ["Talent Allocation Share"], draws=8)  # fmt: skip
    with pytest.raises(ExploreError, match="nothing to rebalance"):
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
        explorer = Explorer(baseline, draws=128, seed=11)
        return float(explorer.hits({FLOOR: np.array([floor])})[target.name].mean())

    assert probability(solution.value) >= 0.8
    if solution.status == "reached":
        assert probability(solution.value - 2e-4) < 0.8
    else:
        assert solution.value == 0.0  # the whole range [0, 1] of the floor reaches it
    again = solve_lever(baseline, FLOOR, HTE, 0.8, draws=128, seed=11).solution
    assert (again.status, again.value) == (solution.status, solution.value)


def test_solve_reports_unreachable_targets(baseline) -> None:
    answer = solve_lever(baseline, FLOOR, "tech_smes_2025", 0.5, 0.0, 0.1, draws=32, seed=1)
    assert answer.solution.status == "not_reachable" and answer.solution.value is None
    assert 0 <= answer.solution.best_probability < 0.5


def test_solve_checks_its_inputs(baseline) -> None:
    with pytest.raises(ExploreError, match="--prob"):
        solve_lever(baseline, FLOOR, HTE, 1.5, draws=8)
    with pytest.raises(ExploreError, match="did you mean 'high_tech_enterprises_2025'"):
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
    with pytest.raises(ExploreError, match="--min-share"):
        solve_budget(baseline, lower=0.2, draws=8, search_draws=16, maxiter=1)
    with pytest.raises(ExploreError, match="did you mean 'Fund Allocation Share'"):
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
