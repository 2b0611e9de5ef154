"""sim.scenario: reading targets, with errors that name file, line and field."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sim.errors import ScenarioError
from sim.paths import DEFAULT_SCENARIO_PATH
from sim.scenario import Target, load_scenario, load_targets

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
    target = load_scenario(DEFAULT_SCENARIO_PATH)[0].targets[0]
    assert target.is_met(300) and target.is_met(301) and not target.is_met(299.9)
    assert not target.is_met(math.nan)
    at_most = target.model_copy(update={"direction": "at_most"})
    assert at_most.is_met(299) and not at_most.is_met(301)
    assert at_most.symbol == "≤" and target.symbol == "≥"


def test_baseline_targets_match_the_plan() -> None:
    scenario, _ = load_scenario(DEFAULT_SCENARIO_PATH)
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
    assert len(load_targets(DEFAULT_SCENARIO_PATH, model=real_model)) == 13


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
    target = load_scenario(DEFAULT_SCENARIO_PATH)[0].targets[0]
    assert isinstance(target, Target)
    with pytest.raises(ValueError, match="frozen"):
        target.threshold = 1  # type: ignore[misc]
