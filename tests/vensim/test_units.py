"""Units check of Vensim models (sim.vensim.units)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.errors import ModelError, UnitsError
from sim.vensim import units
from sim.vensim.units import UnitsIssue, assert_units_consistent, check_units

FIXTURES = Path(__file__).parent / "fixtures" / "units"


def test_consistent_model_has_no_issues() -> None:
    assert check_units(FIXTURES / "consistent.mdl") == []
    assert_units_consistent(FIXTURES / "consistent.mdl")


@pytest.mark.parametrize(
    ("fixture", "variable", "code", "expected", "found"),
    [
        ("add_stock_to_flow.mdl", "gross change", "mismatch", "Firm/Year", "Firm"),
        ("integ_rate_units.mdl", "Patents", "integ-rate", "Patent/Year", "Patent"),
        ("integ_init_units.mdl", "Funds", "integ-init", "CNY100M", "CNY100M/Year"),
        ("lookup_dimensioned_arg.mdl", "crowding", "lookup-argument", "Dmnl", "Firm"),
        ("exponent_with_units.mdl", "scale economy", "exponent", "Dmnl", "Year"),
        ("ln_dimensioned.mdl", "log firms", "argument", "Dmnl", "Firm"),
        ("unknown_function.mdl", "mystery", "unsupported", None, None),
        ("missing_units.mdl", "unitless", "missing-units", None, None),
        ("money_scale.mdl", "budget", "equation", "CNY100M", "CNY10K"),
        ("bad_units_string.mdl", "weird", "bad-units", None, None),
    ],
)
def test_inconsistent_model_is_caught(
    fixture: str, variable: str, code: str, expected: str | None, found: str | None
) -> None:
    issues = check_units(FIXTURES / fixture)
    assert len(issues) == 1, issues
    issue = issues[0]
    assert (issue.variable, issue.code, issue.expected, issue.found) == (
        variable,
        code,
        expected,
        found,
    )
    assert repr(variable) in issue.message
    assert str(issue) == issue.message


def test_issue_names_the_expression() -> None:
    (issue,) = check_units(FIXTURES / "unknown_function.mdl")
    assert issue.expression == "FROBNICATE(Firms / initial firms)"
    assert "FROBNICATE" in issue.message


def test_assert_units_consistent_lists_all_issues() -> None:
    with pytest.raises(UnitsError) as info:
        assert_units_consistent(FIXTURES / "add_stock_to_flow.mdl")
    assert "gross change" in str(info.value)
    assert [issue.variable for issue in info.value.issues] == ["gross change"]  # type: ignore[attr-defined]


def test_missing_file_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        check_units(tmp_path / "nothing.mdl")


def test_issue_is_frozen() -> None:
    issue = UnitsIssue("x", "x", None, None, "'x': no units declared", "missing-units")
    with pytest.raises(AttributeError):
        issue.variable = "y"  # type: ignore[misc]


def _model(tmp_path: Path, equations: str) -> Path:
    control = (FIXTURES / "missing_units.mdl").read_text(encoding="utf-8")
    control = control[control.index("****") :]
    path = tmp_path / "model.mdl"
    path.write_text("{UTF-8}\n" + equations + "\n" + control, encoding="utf-8")
    return path


_DECLS = """
stock= INTEG(flow, 10) ~ Firm ~ |
flow= 1 ~ Firm/Year ~ |
life= 5 ~ Year ~ |
share= 0.5 ~ Dmnl ~ |
effect( (0,0),(1,1)) ~ Dmnl ~ |
money= 3 ~ CNY10K ~ |
"""


@pytest.mark.parametrize(
    ("equation", "units_text", "code"),
    [
        ("MAX(0, flow) + MIN(flow, 3)", "Firm/Year", None),
        ("IF THEN ELSE(Time > 2025 :AND: share < 1, stock, 0)", "Firm", None),
        ("IF THEN ELSE(stock > life, 1, 0)", "Dmnl", "mismatch"),
        ("IF THEN ELSE(stock, 1, 0)", "Dmnl", "argument"),
        ("XIDZ(stock, life, 0)", "Firm/Year", None),
        ("XIDZ(stock, life, stock)", "Firm/Year", "argument"),
        ("ZIDZ(money, stock)", "CNY10K/Firm", None),
        ("stock ^ 2 / stock", "Firm", None),
        ("stock ^ share", "Firm", "exponent"),
        ("share ^ share + 2 ^ share", "Dmnl", None),
        ("POWER(stock, 1/2) * SQRT(stock)", "Firm", None),
        ("EXP(-share) + LN(stock / stock)", "Dmnl", None),
        ("EXP(life)", "Dmnl", "argument"),
        ("STEP(flow, 2025)", "Firm/Year", None),
        ("STEP(flow, share)", "Firm/Year", "argument"),
        ("PULSE(2025, life) * flow", "Firm/Year", None),
        ("PULSE(share, life)", "Dmnl", "argument"),
        ("RAMP(flow / life, 2025, 2030)", "Firm/Year", None),
        ("SMOOTH(flow, life)", "Firm/Year", None),
        ("SMOOTHI(flow, life, stock)", "Firm/Year", "mismatch"),
        ("SMOOTH3(flow, share)", "Firm/Year", "argument"),
        (
            "DELAY1I(flow, life, 0) + DELAY3(flow, 2) + DELAY FIXED(flow, life, flow)",
            "Firm/Year",
            None,
        ),
        ("DELAY N(flow, life, flow, 3)", "Firm/Year", None),
        ("TREND(stock, life, 0)", "1/Year", None),
        ("INITIAL(stock)", "Firm", None),
        ("effect(Time)", "Dmnl", None),
        ("effect(share) * effect(stock / stock)", "Dmnl", None),
        ("effect(Time - 2020)", "Dmnl", "lookup-argument"),
        ("WITH LOOKUP(stock, ((0,0),(1,1)))", "Dmnl", "lookup-argument"),
        ("MODULO(Time, life) + TIME STEP + SAVEPER", "Year", None),
        ("ABS(-stock) + INTEGER(stock)", "Firm", None),
        ("undefined thing * 2", "Firm", "undefined"),
        ("money / stock", "CNY100M/Firm", "equation"),
        ("stock", "Firms", None),
        ("money", "万元", None),
    ],
)
def test_rules(tmp_path: Path, equation: str, units_text: str, code: str | None) -> None:
    path = _model(tmp_path, _DECLS + f"result= {equation} ~ {units_text} ~ |\n")
    issues = check_units(path)
    if code is None:
        assert issues == []
    else:
        assert [issue.code for issue in issues] == [code], issues
        assert issues[0].variable == "result"


def test_control_variable_must_be_in_time_unit(tmp_path: Path) -> None:
    path = _model(tmp_path, _DECLS)
    text = path.read_text(encoding="utf-8").replace(
        "FINAL TIME  = 2035\n\t~\tYear", "FINAL TIME  = 2035\n\t~\tDmnl"
    )
    path.write_text(text, encoding="utf-8")
    assert [(i.variable, i.code) for i in check_units(path)] == [("FINAL TIME", "control")]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Dmnl", "Dmnl"),
        ("dmnl", "Dmnl"),
        ("1", "Dmnl"),
        ("Year", "Year"),
        ("Years", "Year"),
        ("1/Year", "1/Year"),
        ("CNY100M/Year", "CNY100M/Year"),
        ("CNY10K/(Firm*Year)", "CNY10K/(Firm*Year)"),
        ("CNY100M/(Year*Year)", "CNY100M/Year^2"),
        ("Person*Year/Firm", "(Person*Year)/Firm"),
        ("Year^-1", "1/Year"),
        ("Firm^(1/2)", "Firm^0.5"),
        ("亿元/Year", "CNY100M/Year"),
        ("Widget", "Widget"),
    ],
)
def test_unit_strings(text: str, shown: str) -> None:
    system = units._UnitSystem()
    assert system.format(system.parse(text)) == shown


@pytest.mark.parametrize("text", ["", "Firm/(Year", "Firm*", "2*Firm", "Firm^Year", "/Year"])
def test_bad_unit_strings(text: str) -> None:
    with pytest.raises(units._BadUnits):
        units._UnitSystem().parse(text)


def test_real_model_is_consistent(real_model: Path) -> None:
    issues = check_units(real_model)
    assert issues == [], "\n".join(issue.message for issue in issues)
