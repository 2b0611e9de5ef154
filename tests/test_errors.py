from __future__ import annotations

from pathlib import Path

from sim.errors import InnosimError, ModelError, ScenarioError, UnitsError


def test_hierarchy() -> None:
    assert issubclass(UnitsError, ModelError)
    assert issubclass(ModelError, ValueError)
    assert issubclass(ScenarioError, InnosimError)
    assert issubclass(ScenarioError, ValueError)


def test_scenario_error_names_file_line_field_and_expectation() -> None:
    error = ScenarioError(
        Path("scenarios/x.yaml"),
        "expected 'at_least' or 'at_most'",
        field="targets.2.direction",
        line=17,
    )
    text = str(error)
    assert text.startswith("scenarios/x.yaml:17:")
    assert "targets.2.direction" in text
    assert "expected 'at_least' or 'at_most'" in text
    assert error.line == 17 and error.field == "targets.2.direction"


def test_scenario_error_without_line_or_field() -> None:
    assert str(ScenarioError("a.yaml", "file not found")) == "a.yaml: file not found"
