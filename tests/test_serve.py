"""The planner page without a browser (``sim.serve``): sliders from the scenario and the model,
moves on common random numbers, the constraint kept, the language switch, the saved scenario
that ``innosim run`` reproduces, and ``innosim serve``'s refusals of bad input (exit 2).

The page in a real browser is tests/browser/test_planner_page.py.
"""

from __future__ import annotations

import math
import socket
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.paths import DEFAULT_SCENARIO_PATH, SCENARIO_DIR
from sim.report.quantities import format_percent
from sim.scenario import load_scenario
from sim.scenario.levers import lever_info
from sim.serve.page import PlannerPage, lever_text, page_characters
from sim.serve.planner import (
    LEVERS_GROUP,
    MoveRefused,
    PlannerEnsemble,
    PlannerError,
    saved_scenario,
    slider_levers,
    slider_step,
)
from sim.workflows.run import run_scenario

#: Draws of the page under test (few: the tests are about the page, not the statistics).
DRAWS = 60


@pytest.fixture(scope="module")
def ensemble() -> PlannerEnsemble:
    return PlannerEnsemble(DEFAULT_SCENARIO_PATH, draws=DRAWS)


def _moved_share(ensemble: PlannerEnsemble) -> str:
    """A member of the scenario's first constraint (the one the tests move)."""
    group = next(g for g in ensemble.groups() if g.startswith("constraint:"))
    return ensemble.groups()[group][0].name


@pytest.mark.parametrize("path", sorted(SCENARIO_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_sliders_come_from_the_scenario_and_the_model(path: Path) -> None:
    scenario = load_scenario(path)
    sliders = {slider.name: slider for slider in slider_levers(scenario)}
    for name, lever in scenario.levers.items():
        info = lever_info(scenario, name)
        settable = lever.path is None and None not in info.limits
        assert (name in sliders) == settable, name
    for slider in sliders.values():
        info = lever_info(scenario, slider.name)
        assert (slider.start, slider.end) == info.limits  # the plausible policy range
        assert slider.start <= slider.value <= slider.end
        assert 0 < slider.step <= (slider.end - slider.start) / 100
        negligible = {
            name
            for instrument in scenario.other_instruments.values()
            if instrument.effect == "negligible"
            for name in instrument.constants
        }
        assert slider.name in scenario.levers or slider.name in negligible
    for constraint in scenario.constraints:
        grouped = [s for s in sliders.values() if s.group == f"constraint:{constraint.name}"]
        if grouped:
            assert [s.name for s in grouped] == list(constraint.sum)
            assert math.isclose(sum(s.value for s in grouped), constraint.equals, abs_tol=1e-9)


def test_a_scenario_without_a_lever_to_set_is_refused(tiny_targets: Path, tiny_model: Path) -> None:
    with pytest.raises(PlannerError, match="no lever"):
        PlannerEnsemble(tiny_targets, draws=DRAWS, model=tiny_model)


def test_slider_steps_are_round() -> None:
    assert slider_step(0.0, 0.1) == pytest.approx(0.0005)
    assert slider_step(0.0, 50.0) == pytest.approx(0.5)
    assert slider_step(2020.0, 2025.0) == pytest.approx(0.05)
    assert slider_step(0.0, 1000.0) == pytest.approx(5.0)


def test_the_scenario_as_loaded_differs_by_nothing(ensemble: PlannerEnsemble) -> None:
    outcome = ensemble.outcome(ensemble.initial_values())
    assert outcome.table.equals(ensemble.baseline.table)
    for difference in ensemble.differences(outcome):
        assert difference.difference == 0
        assert difference.low <= 0 <= difference.high


def test_a_move_changes_the_probabilities_on_the_same_draws(ensemble: PlannerEnsemble) -> None:
    page = PlannerPage(ensemble, lang="en")
    lever = ensemble.sliders[0]
    before = page.outcome.table["median"].to_numpy()
    page.move(lever.name, lever.end)
    assert page.values[lever.name] == lever.end
    assert not np.array_equal(page.outcome.table["median"].to_numpy(), before)
    assert page.seconds > 0
    assert "1 lever(s) moved" in page.status.object
    # the table shows the outcome and the paired difference
    first = ensemble.targets[0].name
    probability = float(page.outcome.table.set_index("target").loc[first, "probability"])
    assert f'data-probability="{probability!r}"' in page.table.object
    assert format_percent(probability) in page.table.object
    page.reset_levers()
    assert page.values == ensemble.initial_values()
    assert page.outcome.table.equals(ensemble.baseline.table)


def test_a_share_moved_rescales_the_others(ensemble: PlannerEnsemble) -> None:
    page = PlannerPage(ensemble, lang="zh")
    name = _moved_share(ensemble)
    group = ensemble.by_name[name].group
    constraint = ensemble.constraint(group)
    members = [s.name for s in ensemble.groups()[group]]
    page.move(name, ensemble.by_name[name].value + 0.02)
    assert sum(page.values[m] for m in members) == pytest.approx(constraint.equals, abs=1e-12)
    assert all(page.sliders[m].value == page.values[m] for m in members)
    moved = [m for m in members if page.values[m] != ensemble.by_name[m].value]
    assert len(moved) > 1


def test_a_share_the_others_cannot_absorb_is_refused(ensemble: PlannerEnsemble) -> None:
    page = PlannerPage(ensemble, lang="en")
    group = next(g for g in ensemble.groups() if g.startswith("constraint:"))
    members = ensemble.groups()[group]
    refused = None
    for slider in members:  # each member in turn to the top of its range
        kept = dict(page.values)
        try:
            ensemble.rebalanced(page.values, slider.name, slider.end)
        except MoveRefused as refusal:
            refused = refusal
        page.move(slider.name, slider.end)
        if refused is not None:
            assert page.values == kept  # nothing applied
            assert "cannot absorb" in page.status.object
            assert refused.slider.info.label("en") in page.status.object
            break
    assert refused is not None, "a move beyond what the other shares absorb was not refused"
    total = sum(page.values[s.name] for s in members)
    assert total == pytest.approx(ensemble.constraint(group).equals, abs=1e-12)


def test_the_language_switch_relabels_the_page(ensemble: PlannerEnsemble) -> None:
    page = PlannerPage(ensemble, lang="zh")
    lever = next(s for s in ensemble.sliders if s.group == LEVERS_GROUP)
    title = ensemble.scenario.title
    assert page.sliders[lever.name].name == lever.info.label_zh
    assert title.zh in page.header.object
    assert "达成概率" in page.table.object
    assert "概率为达成目标" in page.table.object
    page.set_language("en")
    assert page.sliders[lever.name].name == lever.name
    assert title.en in page.header.object
    assert "Probability" in page.table.object
    assert "达成概率" not in page.table.object
    assert page.save.label == "Save as scenario"
    assert page.chart.object.xaxis.axis_label == "Year"
    labels = {t.label.en for t in ensemble.targets}
    assert set(page.chart_select.options) == labels
    # every text the page shows in Chinese is in the embedded font's subset
    characters = set(page_characters(ensemble))
    page.set_language("zh")
    shown = page.header.object + page.table.object + "".join(w.name for w in page.sliders.values())
    assert {c for c in shown if ord(c) > 0x2E80} <= characters


def test_lever_values_are_written_as_people_read_them(ensemble: PlannerEnsemble) -> None:
    by_units = {s.info.units: s for s in ensemble.sliders}
    share = next(s for s in ensemble.sliders if s.percent)
    assert lever_text(share, 0.025, "en") == "2.5 %"
    if "Year" in by_units:
        assert lever_text(by_units["Year"], 2021.0, "zh") == "2021"
    if "CNY100M" in by_units:
        assert lever_text(by_units["CNY100M"], 12.5, "zh") == "12.5 亿元"
    if "1/Year" in by_units:
        assert lever_text(by_units["1/Year"], 0.001, "zh") == "0.1 %/年"


def test_the_saved_scenario_gives_the_page_s_numbers(
    ensemble: PlannerEnsemble, tmp_path: Path
) -> None:
    page = PlannerPage(ensemble, lang="en")
    first = ensemble.sliders[0]
    page.move(first.name, first.start + 0.7 * (first.end - first.start))
    share = _moved_share(ensemble)
    page.move(share, ensemble.by_name[share].value * 1.5)
    text = page.saved_text()
    saved = tmp_path / "elsewhere" / "saved.yaml"  # away from the scenario's folder
    saved.parent.mkdir()
    saved.write_text(text, encoding="utf-8")
    scenario = load_scenario(saved)
    assert "saved from the planner page" in scenario.title.en
    assert scenario.monte_carlo == ensemble.settings
    for name, value in page.values.items():
        if name in ensemble.changed(page.values):
            assert scenario.levers[name].value == value
    report = run_scenario(saved, tmp_path / "run", lang="en")
    for column in ("target", "probability", "prob_low", "prob_high", "median", "p05", "p95"):
        assert report.table[column].tolist() == page.outcome.table[column].tolist(), column


def test_a_saved_page_without_moves_extends_the_scenario_as_it_is(
    ensemble: PlannerEnsemble,
) -> None:
    text = saved_scenario(ensemble, ensemble.initial_values())
    assert "levers:" not in text
    assert f"extends: {ensemble.path.resolve()}" in text


# --- innosim serve: bad input -------------------------------------------------------------


def _serve(*arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["serve", *arguments])
    return result.exit_code, result.output


def test_serve_refuses_an_unknown_scenario(tmp_path: Path) -> None:
    code, output = _serve(str(tmp_path / "missing.yaml"), "--port", "5006")
    assert code == 2
    assert "missing.yaml" in output and "file not found" in output


@pytest.mark.parametrize("port", ["0", "70000", "http"])
def test_serve_refuses_a_bad_port(port: str) -> None:
    code, output = _serve("--port", port)
    assert code == 2
    assert "--port" in output


def test_serve_refuses_a_port_in_use() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, output = _serve("--port", str(port))
    assert code == 2
    assert f"--port {port}" in output and "another --port" in output


@pytest.mark.parametrize(("draws", "expected"), [("0", "--draws"), ("3", "--draws 9 or more")])
def test_serve_refuses_bad_draws(draws: str, expected: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, output = _serve("--draws", draws, "--port", str(port))
    assert code == 2
    assert expected in output


def test_the_command_s_default_draws_are_the_page_s() -> None:
    # the command line keeps its own copy so that `innosim --help` does not import the page
    from sim.cli.serve_command import PAGE_DRAWS
    from sim.serve.planner import DEFAULT_DRAWS

    assert PAGE_DRAWS == DEFAULT_DRAWS
