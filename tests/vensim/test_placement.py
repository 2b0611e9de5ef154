"""Placement of Vensim's standalone functions (sim.vensim.placement)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.errors import ModelError
from sim.vensim import DEFAULT_MODEL_PATH, abstract_model
from sim.vensim.placement import (
    STANDALONE_FUNCTIONS,
    check_placement,
    equation_placement,
    placement_problems,
)

FIXTURES = Path(__file__).parent / "fixtures" / "placement"

VIOLATIONS = [
    ("initial_nested.mdl", "knowledge effect", "INITIAL", "nested"),
    ("initial_followed.mdl", "doubled start", "INITIAL", "followed"),
    ("initial_in_integ.mdl", "Knowledge", "INITIAL", "nested"),
    ("integ_nested.mdl", "total patents", "INTEG", "nested"),
    ("integ_followed.mdl", "Granted", "INTEG", "followed"),
    ("active_initial_followed.mdl", "target patents", "ACTIVE INITIAL", "followed"),
    ("delay_fixed_nested.mdl", "late grants", "DELAY FIXED", "nested"),
    ("delay_n_nested.mdl", "late grants", "DELAY N", "nested"),
    ("smooth_n_nested.mdl", "perceived grants", "SMOOTH N", "nested"),
    ("sample_if_true_nested.mdl", "grants at review", "SAMPLE IF TRUE", "nested"),
]


@pytest.mark.parametrize(
    ("fixture", "variable", "function", "rule"), VIOLATIONS, ids=[v[0] for v in VIOLATIONS]
)
def test_violation_is_reported(fixture: str, variable: str, function: str, rule: str) -> None:
    issues = check_placement(FIXTURES / fixture)
    assert [(i.variable, i.function, i.rule) for i in issues] == [(variable, function, rule)]
    (issue,) = issues
    what = "is nested inside an expression" if rule == "nested" else "is followed by more terms"
    assert issue.message == (
        f"{variable}: {function} {what}; Vensim requires {function}(...) to be the whole "
        "right-hand side (lift it into a variable of its own)"
    )
    assert str(issue) == issue.message
    assert placement_problems(FIXTURES / fixture) == [issue.message]


def test_conforming_model_has_no_problem() -> None:
    assert check_placement(FIXTURES / "conforming.mdl") == []


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("*.mdl")))
def test_fixtures_are_valid_vensim(fixture: str) -> None:
    # PySD's parser reads every fixture whole (it accepts the misplaced calls).
    assert abstract_model(FIXTURES / fixture).sections[0].elements


def test_real_model_has_no_placement_problem() -> None:
    assert placement_problems(DEFAULT_MODEL_PATH) == []


@pytest.mark.parametrize(
    ("rhs", "expected"),
    [
        ("INITIAL(x)", []),
        ("  initial ( x )  ", []),
        ("INTEG (a - b, MAX(c, INITIAL TIME))", []),
        ("(INITIAL(x))", [("INITIAL", "nested")]),
        ("-INITIAL(x)", [("INITIAL", "nested")]),
        ("INITIAL(x) {comment} + 1", [("INITIAL", "followed")]),
        ("INITIAL(INITIAL(x))", [("INITIAL", "nested")]),
        ("a * Initial_Stock(x) + DELAY_FIXED(a, 1, 0)", [("DELAY FIXED", "nested")]),
        (
            "INTEG(r, 0) + ACTIVE INITIAL(a, b)",
            [("INTEG", "followed"), ("ACTIVE INITIAL", "nested")],
        ),
        ("x + REINITIAL(y)", [("REINITIAL", "nested")]),
        ("NET PRESENT VALUE(s, r, 1, 0, 0) * 2", [("NET PRESENT VALUE", "followed")]),
        ('"INITIAL(x)" * 2 + "weird ) name"', []),
        ("x {INITIAL(y) was here} * 2", []),
        ("GET XLS DATA('INITIAL(x).xlsx', 'a', '1', 'B2') * 2", []),
        ("Initial Firms * 2 + initial effect(x) + Delay Fixed Share", []),
        ("SMOOTH(x, 2) * TREND(x, 1, 0) + NPV(x, r, 0, 1) + DELAY3(x, 3)", []),
    ],
)
def test_equation_placement(rhs: str, expected: list[tuple[str, str]]) -> None:
    issues = equation_placement("v", rhs)
    assert [(i.function, i.rule) for i in issues] == expected


def test_standalone_functions_name_their_source() -> None:
    assert {"INTEG", "INITIAL", "ACTIVE INITIAL", "DELAY FIXED", "SAMPLE IF TRUE"} <= set(
        STANDALONE_FUNCTIONS
    )
    for name, rule in STANDALONE_FUNCTIONS.items():
        assert rule.function == name
        assert rule.source.startswith("https://vensim.com/documentation/")
    nestable = {"SMOOTH", "SMOOTHI", "SMOOTH3", "DELAY1", "DELAY3", "TREND", "FORECAST", "NPV"}
    assert not nestable & set(STANDALONE_FUNCTIONS)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        check_placement(tmp_path / "missing.mdl")


def test_subscripted_equations_report_once(tmp_path: Path) -> None:
    text = (FIXTURES / "initial_nested.mdl").read_text(encoding="utf-8")
    extra = (
        "Region:\n\tnorth, south\n\t~\t\n\t~\t\n\t|\n\n"
        "scaled[north]=\n\tINITIAL(Patents) * 2\n\t~\tPatent\n\t~\t\n\t|\n\n"
        "scaled[south]=\n\tINITIAL(Patents) * 3\n\t~\tPatent\n\t~\t\n\t|\n\n"
        "kept=\n\t3 ~\tPatent\n\t~\t\n\t|\n\n"
    )
    model = tmp_path / "subscripted.mdl"
    model.write_text(text.replace("{UTF-8}\n", "{UTF-8}\n" + extra, 1), encoding="utf-8")
    assert [(i.variable, i.rule) for i in check_placement(model)] == [
        ("scaled", "followed"),
        ("knowledge effect", "nested"),
    ]


def test_innosim_check_reports_placement(tmp_path: Path) -> None:
    model = tmp_path / "initial_nested.mdl"
    shutil.copyfile(FIXTURES / "initial_nested.mdl", model)
    result = CliRunner().invoke(app, ["check", "--model", str(model)])
    assert result.exit_code == 1
    assert (
        f"{model}: knowledge effect: INITIAL is nested inside an expression; Vensim requires "
        "INITIAL(...) to be the whole right-hand side" in result.stderr
    )
