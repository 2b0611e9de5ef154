"""sim.scenario: the scenario schema, inheritance and errors that name file, line and field."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
import yaml

from sim.errors import ScenarioError
from sim.paths import DEFAULT_SCENARIO_PATH, REPO_ROOT, SCENARIO_DIR
from sim.scenario import (
    DISTRIBUTIONS,
    MonteCarlo,
    Target,
    load_scenario,
    load_targets,
    scenario_digest,
    scenario_schema,
)
from sim.testing import BadScenario, bad_scenarios
from sim.vensim.catalogue import model_info

VARIABLES = ["High Tech Enterprises", "RD Intensity", "HTE Exits"]

GOOD_TARGET = """\
  - name: hte_2025
    variable: High Tech Enterprises
    year: 2025
    direction: at_least
    threshold: 300
    label: {zh: 高新技术企业, en: High-tech enterprises}
    unit: {zh: 家, en: firms}
    source: "test"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        load_targets(path, variables=VARIABLES)
    assert str(path) in str(caught.value)
    return caught.value


def test_fixture_targets(tiny_targets: Path, tiny_model: Path) -> None:
    targets = load_targets(tiny_targets, model=tiny_model)
    assert [t.name for t in targets] == ["hte_2025", "rd_intensity_2025", "exits_2025"]
    rd = targets[1]
    assert rd.scale == 100
    assert rd.display(0.012) == pytest.approx(1.2)
    assert rd.label.text("zh") == "R&D经费投入强度"
    assert targets[0].scale == 1


def test_is_met() -> None:
    target = load_scenario(DEFAULT_SCENARIO_PATH).targets[0]
    assert target.is_met(300) and target.is_met(301) and not target.is_met(299.9)
    assert not target.is_met(math.nan)
    at_most = target.model_copy(update={"direction": "at_most"})
    assert at_most.is_met(299) and not at_most.is_met(301)
    assert at_most.symbol == "≤" and target.symbol == "≥"


def test_baseline_targets_match_the_plan() -> None:
    scenario = load_scenario(DEFAULT_SCENARIO_PATH)
    by_variable = {t.variable: t for t in scenario.targets}
    expected = {
        "High Tech Enterprises": 300,
        "Technology Contract Turnover": 50,
        "RD Intensity": 0.01152,
        "Effective Invention Patents": 1000,
        "Tech SMEs": 1000,
        "Innovative Leading Enterprises": 10,
        "Engineering Technology Research Centers": 40,
        "Provincial Key Laboratories": 4,
        "Innovation Carriers": 100,
        "New HTE Certifications": 50,
        "City Platforms Added In Plan Period": 150,
        "Talents Added In Plan Period": 300,
        "Government Innovation Share Of Expenditure": 0.0319,
    }
    assert {v: t.threshold for v, t in by_variable.items()} == expected
    assert all(t.year == 2025 and t.direction == "at_least" for t in scenario.targets)
    assert by_variable["RD Intensity"].scale == 100
    assert by_variable["Government Innovation Share Of Expenditure"].scale == 100
    assert all(t.source.startswith("Plan ") for t in scenario.targets)


def test_baseline_variables_exist_in_the_model(real_model: Path) -> None:
    written = _declared_targets(DEFAULT_SCENARIO_PATH)
    assert [t.name for t in load_targets(DEFAULT_SCENARIO_PATH, model=real_model)] == written


def test_unknown_variable_suggests_a_close_match(tmp_path: Path) -> None:
    text = "targets:\n" + GOOD_TARGET.replace("High Tech Enterprises", "High Tech Enterprise")
    error = _error(_write(tmp_path, text))
    assert error.field == "targets.0.variable"
    assert error.line == 3
    assert "did you mean 'High Tech Enterprises'" in str(error)


def test_bad_direction(tmp_path: Path) -> None:
    text = (
        "targets:\n"
        + GOOD_TARGET
        + GOOD_TARGET.replace("hte_2025", "b").replace("at_least", "above")
    )
    error = _error(_write(tmp_path, text))
    assert error.field == "targets.1.direction"
    assert error.line == 13
    assert "'at_least' or 'at_most'" in str(error)
    assert "'above'" in str(error)


def test_missing_field(tmp_path: Path) -> None:
    text = "targets:\n" + GOOD_TARGET.replace('    source: "test"\n', "")
    error = _error(_write(tmp_path, text))
    assert error.field == "targets.0.source"
    assert error.line == 2  # the target that lacks it
    assert "required" in str(error)


def test_unknown_field(tmp_path: Path) -> None:
    text = "targets:\n" + GOOD_TARGET + "    colour: red\n"
    error = _error(_write(tmp_path, text))
    assert error.field == "targets.0.colour"
    assert error.line == 10


def test_missing_label_language(tmp_path: Path) -> None:
    text = "targets:\n" + GOOD_TARGET.replace("{zh: 家, en: firms}", "{zh: 家}")
    error = _error(_write(tmp_path, text))
    assert error.field == "targets.0.unit.en"
    assert error.line == 8


def test_duplicate_names_and_keys(tmp_path: Path) -> None:
    error = _error(_write(tmp_path, "targets:\n" + GOOD_TARGET + GOOD_TARGET))
    assert error.field == "targets.1.name"
    assert error.line == 10
    error = _error(_write(tmp_path, "targets:\n" + GOOD_TARGET + "    year: 2030\n"))
    assert error.field == "targets.0.year"
    assert "duplicate key" in str(error)


def test_yaml_syntax_error(tmp_path: Path) -> None:
    text = "targets:\n" + GOOD_TARGET.replace("{zh: 家, en: firms}", "{zh: 家, en: firms")
    error = _error(_write(tmp_path, text))
    assert error.line is not None and 8 <= error.line <= 9
    assert "invalid YAML" in str(error)


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "targets: []\n"])
def test_wrong_shape(tmp_path: Path, text: str) -> None:
    error = _error(_write(tmp_path, text))
    assert "targets" in str(error)


def test_missing_file(tmp_path: Path) -> None:
    error = _error(tmp_path / "absent.yaml")
    assert "not found" in str(error)


def test_target_is_immutable() -> None:
    target = load_scenario(DEFAULT_SCENARIO_PATH).targets[0]
    assert isinstance(target, Target)
    with pytest.raises(ValueError, match="frozen"):
        target.threshold = 1  # type: ignore[misc]


# --- the full schema -----------------------------------------------------------------------

VARIANTS = sorted(SCENARIO_DIR.glob("*.yaml"))


def _declared_targets(path: Path) -> list[str]:
    """The target ids written in ``path`` and the files it extends, read from the YAML itself
    (a child's target of a parent's id replaces it in place, a new one comes last)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    parent = data.get("extends")
    names = _declared_targets((path.parent / parent).resolve()) if parent else []
    for target in data.get("targets") or []:
        if target["name"] not in names:
            names.append(target["name"])
    return names


def check_scenario_file(path: Path, model: Path) -> None:
    """What every file in scenarios/ must be, whatever it contains: it loads against the model
    with a title and a description, its targets are the ones its files declare, each on an
    output of the model within the model's horizon, and its constraints hold."""
    scenario = load_scenario(path, model=model)
    info = model_info(model)
    assert scenario.title is not None and scenario.description is not None
    assert scenario.chain[-1] == path
    assert [t.name for t in scenario.targets] == _declared_targets(path)
    for target in scenario.targets:
        assert info.kind(target.variable) not in ("lookup", "control"), target.name
        assert info.initial_time <= target.year <= info.final_time, target.name
    for constraint in scenario.constraints:
        total = sum(
            scenario.levers[n].value if n in scenario.levers else info.defaults[n]
            for n in constraint.sum
        )
        assert total == pytest.approx(constraint.equals, abs=constraint.tolerance)


@pytest.mark.parametrize("path", VARIANTS, ids=lambda p: p.name)
def test_every_scenario_loads(path: Path, real_model: Path) -> None:
    check_scenario_file(path, real_model)


def test_a_scenario_of_ones_own_with_another_target_passes_the_checks(
    tmp_path: Path, real_model: Path
) -> None:
    # scenarios/README.md: a file of one's own beside the others, here with one more target
    # than the baseline; the checks of every scenario file must hold for it too
    own = tmp_path / "scenarios" / "my_city_variant.yaml"
    own.parent.mkdir()
    own.write_text(
        f"extends: {DEFAULT_SCENARIO_PATH}\n"
        "title: {zh: 我的情景, en: My variant}\n"
        "description: {zh: 多一个目标, en: One more target}\n"
        "levers:\n  Fiscal Innovation Share Floor: {value: 3%, source: test}\n"
        "targets:\n" + GOOD_TARGET.replace("hte_2025", "hte_2024").replace("2025", "2024"),
        encoding="utf-8",
    )
    for path in [*VARIANTS, own]:
        check_scenario_file(path, real_model)
    baseline = load_scenario(DEFAULT_SCENARIO_PATH, model=real_model)
    mine = load_scenario(own, model=real_model)
    assert len(mine.targets) == len(baseline.targets) + 1
    assert mine.levers["Fiscal Innovation Share Floor"].value == 0.03


def test_baseline_contents(real_model: Path) -> None:
    scenario = load_scenario(DEFAULT_SCENARIO_PATH, model=real_model)
    info = model_info(real_model)
    assert scenario.levers["Fiscal Innovation Share Floor"].value == 0.02
    assert scenario.levers["Initial Fund Size"].value == 10
    assert scenario.levers["Transfer Subsidy Rate"].value == 0.05
    assert scenario.levers["RD Subsidy Rate"].value == 0.1
    vc_reward = scenario.other_instruments["vc_reward"]
    assert vc_reward.effect == "negligible" and "VC Reward Rate" in vc_reward.constants
    assert {i.effect for i in scenario.other_instruments.values()} == {
        "negligible",
        "not_modelled",
        "national_setting",
    }
    assert scenario.monte_carlo == MonteCarlo(draws=10000, seed=20220421, sampler="lhs")
    assert scenario.history == (REPO_ROOT / "data/observed/changzhi_2015_2020.csv").resolve()
    assert {c.name for c in scenario.constraints} == {"allocation_shares", "platform_budget_shares"}
    # every constant the model marks as assumed or calibrated with a range is set or drawn
    marked = [
        name
        for name, doc in info.docs.items()
        if doc.kind == "constant" and re.search(r"range \d|range in scenarios", doc.source)
    ]
    covered = set(scenario.uncertainties) | set(scenario.levers) | set(scenario.exogenous())
    assert marked and all(n in covered for n in marked)
    for name, dist in scenario.uncertainties.items():
        low, high = dist.support()
        assert low <= info.defaults[name] <= high, name  # the default lies inside the range
        assert dist.source or dist.reasoning


def test_constraints_hold(real_model: Path) -> None:
    info = model_info(real_model)
    shares = [n for n in info.docs if n.endswith("Allocation Share")]
    baseline = load_scenario(DEFAULT_SCENARIO_PATH, model=real_model)
    assert sorted(baseline.constraints[0].sum) == sorted(shares) and len(shares) == 8


def test_variants_inherit_and_override(real_model: Path) -> None:
    base = load_scenario(DEFAULT_SCENARIO_PATH, model=real_model)
    fiscal = load_scenario(SCENARIO_DIR / "fiscal_floor_9pct.yaml", model=real_model)
    assert fiscal.levers["Fiscal Innovation Share Floor"].value == 0.09
    assert fiscal.chain == (DEFAULT_SCENARIO_PATH, SCENARIO_DIR / "fiscal_floor_9pct.yaml")
    assert fiscal.uncertainties == base.uncertainties and fiscal.targets == base.targets
    assert fiscal.monte_carlo == base.monte_carlo and fiscal.history == base.history
    assert fiscal.title != base.title  # titles describe one file, they are not inherited

    low = load_scenario(SCENARIO_DIR / "fund_leverage_low.yaml", model=real_model)
    high = load_scenario(SCENARIO_DIR / "fund_leverage_high.yaml", model=real_model)
    name = "Fund Leverage Ratio"
    assert low.uncertainties[name].mean() < base.uncertainties[name].mean()
    assert high.uncertainties[name].mean() > base.uncertainties[name].mean()
    assert {n: d for n, d in low.uncertainties.items() if n != name} == {
        n: d for n, d in base.uncertainties.items() if n != name
    }

    doubled = load_scenario(SCENARIO_DIR / "cultivation_doubled.yaml", model=real_model)
    assert doubled.levers["Cultivation Allocation Share"].value == pytest.approx(
        2 * base.levers["Cultivation Allocation Share"].value
    )
    assert doubled.levers["RD Subsidy Allocation Share"].value == pytest.approx(0.02)
    changed = {n for n in base.levers if doubled.levers[n] != base.levers[n]}
    assert changed == {"Cultivation Allocation Share", "RD Subsidy Allocation Share"}


def _child(tmp_path: Path, text: str, name: str = "child.yaml") -> Path:
    path = tmp_path / name
    path.write_text(f"extends: {DEFAULT_SCENARIO_PATH}\n" + text, encoding="utf-8")
    return path


def test_lever_replaces_inherited_uncertainty_and_its_correlation(
    tmp_path: Path, real_model: Path
) -> None:
    path = _child(
        tmp_path,
        "levers:\n  Initial Tech SMEs: {value: 130, source: t}\n"
        "uncertainties:\n  Initial Fund Size:\n    distribution: uniform\n"
        "    min: 8\n    max: 12\n    source: t\n"
        "monte_carlo: {draws: 64}\noutputs: [GDP, Tech SMEs]\n",
    )
    scenario = load_scenario(path, model=real_model)
    assert "Initial Tech SMEs" not in scenario.uncertainties
    assert scenario.levers["Initial Tech SMEs"].value == 130
    assert "Initial Fund Size" not in scenario.levers
    assert "Initial Fund Size" in scenario.uncertainties
    pairs = [c.pair for c in scenario.correlations]
    assert frozenset({"Initial Tech SMEs", "Base Tech SME Formation"}) not in pairs
    assert len(pairs) == len(load_scenario(DEFAULT_SCENARIO_PATH).correlations) - 1
    assert scenario.monte_carlo == MonteCarlo(draws=64, seed=20220421, sampler="lhs")
    assert scenario.outputs.count("GDP") == 1 and scenario.outputs[-1] == "Tech SMEs"
    assert scenario.saved_variables()[0] == "High Tech Enterprises"


def test_path_lever(tmp_path: Path, real_model: Path) -> None:
    path = _child(
        tmp_path,
        "levers:\n  Fiscal Innovation Share Floor:\n"
        "    path: {2025: 0.03, 2021: 0.02}\n    source: t\n",
    )
    lever = load_scenario(path, model=real_model).levers["Fiscal Innovation Share Floor"]
    years, values = lever.points()
    assert list(years) == [2021, 2025] and list(values) == [0.02, 0.03]
    assert list(lever.at([2015, 2021, 2023, 2030])) == pytest.approx([0.02, 0.02, 0.025, 0.03])


def test_path_lever_on_constrained_share_is_checked_at_each_point(
    tmp_path: Path, real_model: Path
) -> None:
    good = _child(
        tmp_path,
        "levers:\n"
        "  Cultivation Allocation Share: {path: {2020: 0.04, 2025: 0.08}, source: t}\n"
        "  RD Subsidy Allocation Share: {path: {2020: 0.06, 2025: 0.02}, source: t}\n",
    )
    load_scenario(good, model=real_model)
    bad = _child(
        tmp_path,
        "levers:\n"
        "  Cultivation Allocation Share: {path: {2020: 0.04, 2025: 0.08}, source: t}\n"
        "  RD Subsidy Allocation Share: {path: {2020: 0.06, 2024: 0.02}, source: t}\n",
        "bad.yaml",
    )
    with pytest.raises(ScenarioError, match="broken in 2024"):
        load_scenario(bad, model=real_model)


def test_digest_follows_the_parent(tmp_path: Path) -> None:
    parent = tmp_path / "parent.yaml"
    parent.write_text("targets:\n" + GOOD_TARGET, encoding="utf-8")
    child = tmp_path / "child.yaml"
    child.write_text("extends: parent.yaml\nmonte_carlo: {seed: 3}\n", encoding="utf-8")
    first = scenario_digest(child)
    assert first == scenario_digest(load_scenario(child, check_model=False))
    assert len(first) == 64 and first != scenario_digest(parent)
    parent.write_text("targets:\n" + GOOD_TARGET.replace("300", "301"), encoding="utf-8")
    assert scenario_digest(child) != first
    assert scenario_digest(DEFAULT_SCENARIO_PATH) == scenario_digest(DEFAULT_SCENARIO_PATH)


def test_schema_is_json_schema() -> None:
    schema = scenario_schema()
    json.dumps(schema)
    assert set(schema["properties"]) >= {"levers", "uncertainties", "monte_carlo", "extends"}
    assert schema["additionalProperties"] is False
    text = json.dumps(schema)
    assert all(kind in text for kind in DISTRIBUTIONS) and '"lambda"' in text


# --- the corpus of bad files ---------------------------------------------------------------

CORPUS = bad_scenarios()


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 25
    assert all(case.line is not None for case in CORPUS if case.path.stat().st_size)


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.path.stem)
def test_bad_scenario(case: BadScenario, real_model: Path) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(case.path, model=real_model)
    message = str(caught.value)
    assert case.path.name in message
    assert case.expect in message
    if case.line is not None:
        assert caught.value.line == case.line
        assert f":{case.line}: " in message


def test_missing_scenario_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(ScenarioError, match="file not found") as caught:
        load_scenario(path)
    assert str(path) in str(caught.value)
