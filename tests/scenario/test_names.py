"""sim.scenario.names and the percentages of sim.scenario.fields: one resolver for targets, one
for levers, and numbers written as ``3%``."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.paths import DEFAULT_SCENARIO_PATH
from sim.scenario import load_scenario, scenario_schema
from sim.scenario.fields import accepts_percent, percent_value
from sim.scenario.levers import LeverError, lever_info, parse_lever_range
from sim.scenario.names import resolve_lever, resolve_target
from sim.vensim.catalogue import UnresolvedName, close_names, model_info, name_key, resolve_name

FLOOR = "Fiscal Innovation Share Floor"


@pytest.fixture(scope="module")
def baseline():
    return load_scenario(DEFAULT_SCENARIO_PATH)


def test_a_target_by_id_variable_and_labels(baseline) -> None:
    for target in baseline.targets:
        written = [
            target.name,
            target.variable,
            target.variable.upper().replace(" ", "_"),
            target.label.zh,
            target.label.en,
            f"  {target.label.en.lower()} ",
        ]
        assert {resolve_target(baseline.targets, text) for text in written} == {target.name}
    assert resolve_target(baseline.targets, "all", extra=("all",)) == "all"


def test_a_target_that_is_not_one_suggests_close_ones(baseline) -> None:
    contract = next(t for t in baseline.targets if "合同" in t.label.zh)
    with pytest.raises(UnresolvedName, match=f"did you mean '{contract.name}'"):
        resolve_target(baseline.targets, "合同")
    with pytest.raises(UnresolvedName, match="not a target of the scenario") as caught:
        resolve_target(baseline.targets, "all")  # 'all' only where it is allowed
    assert not caught.value.ambiguous


def test_targets_sharing_a_variable_are_ambiguous_by_it(baseline) -> None:
    first = baseline.targets[0]
    earlier = first.model_copy(update={"name": "earlier", "year": first.year - 1})
    targets = [first, earlier]
    with pytest.raises(UnresolvedName, match="is ambiguous") as caught:
        resolve_target(targets, first.variable)
    assert caught.value.candidates == (first.name, "earlier") and caught.value.ambiguous
    assert resolve_target(targets, "earlier") == "earlier"


def test_a_lever_by_vensim_name_in_any_form_or_chinese_label(real_model: Path) -> None:
    info = model_info(real_model)
    label = info.docs[FLOOR].label_zh
    for text in (FLOOR, "fiscal_innovation_share_floor", "FISCAL  Innovation share floor", label):
        assert resolve_lever(text, info) == FLOOR
    assert lever_info(load_scenario(DEFAULT_SCENARIO_PATH), label).name == FLOOR


def test_a_lever_that_is_not_one_suggests_constants(real_model: Path) -> None:
    with pytest.raises(UnresolvedName) as caught:
        resolve_lever("fiscal share", real_model)
    assert FLOOR in caught.value.candidates
    assert all(model_info(real_model).kind(n) == "constant" for n in caught.value.candidates)
    # a variable that is no constant resolves, so lever_info can say why it is no lever
    with pytest.raises(LeverError, match="is a stock"):
        lever_info(load_scenario(DEFAULT_SCENARIO_PATH), "high tech enterprises")


def test_an_ambiguous_label_lists_the_candidates() -> None:
    aliases = {"A Share": ("比例",), "B Share": ("比例",), "C": ("丙",)}
    with pytest.raises(UnresolvedName, match=r"'A Share' \(比例\) or 'B Share' \(比例\)"):
        resolve_name("比例", aliases, what="x", accepted="y", describe=lambda n: aliases[n][0])
    # a canonical name wins over another entry's label
    assert resolve_name("c", {"C": (), "D": ("c",)}, what="x", accepted="y") == "C"
    assert close_names("share", aliases) == ["A Share", "B Share"]
    assert name_key("Technology-contract  turnover") == "technology_contract_turnover"
    assert name_key("ＡＢＣ") == "abc"  # full-width letters


@pytest.mark.parametrize(
    ("text", "value"),
    [("3%", 0.03), ("3 %", 0.03), ("3％", 0.03), ("1.152%", 0.01152), ("-0.5 %", -0.005)],
)
def test_percent_values(text: str, value: float) -> None:
    assert percent_value(text) == value


@pytest.mark.parametrize("text", ["3", "%", "3%%", "three %", "3% more", ""])
def test_not_percentages(text: str) -> None:
    assert percent_value(text) is None


def test_which_units_accept_a_percentage() -> None:
    assert all(accepts_percent(u) for u in ("Dmnl", "1/Year", "dmnl / year", ""))
    assert not any(accepts_percent(u) for u in ("CNY100M", "Firm", "Year", "Firm/Year"))


def test_lever_ranges_take_percentages_where_the_lever_is_a_share(real_model: Path) -> None:
    label = model_info(real_model).docs[FLOOR].label_zh
    percent = parse_lever_range(f"{label}=1%:4%:7", points=True, model=real_model)
    fraction = parse_lever_range(f"{FLOOR}=0.01:0.04:7", points=True, model=real_model)
    assert percent == fraction
    mixed = parse_lever_range(f"{FLOOR}=0.01:4%", model=real_model)
    assert (mixed.name, mixed.start, mixed.stop) == (FLOOR, 0.01, 0.04)
    with pytest.raises(LeverError, match="CNY100M"):
        parse_lever_range("Initial Fund Size=5%:20%", model=real_model)


def test_a_scenario_file_takes_percentages_for_shares(tmp_path: Path, real_model: Path) -> None:
    path = tmp_path / "percent.yaml"
    path.write_text(
        f"extends: {DEFAULT_SCENARIO_PATH}\n"
        "levers:\n"
        f"  {FLOOR}: {{value: 3%, source: t}}\n"
        "  Fiscal Innovation Share Annual Increase: {value: '0.1 %', source: t}\n"
        "  Transfer Subsidy Rate: {path: {2020: 5%, 2023: 8 %}, source: t}\n"
        "discrepancy:\n  default: {relative: 10%, reasoning: t}\n",
        encoding="utf-8",
    )
    scenario = load_scenario(path, model=real_model)
    assert scenario.levers[FLOOR].value == 0.03
    assert scenario.levers["Fiscal Innovation Share Annual Increase"].value == 0.001
    assert scenario.levers["Transfer Subsidy Rate"].path == {2020: 0.05, 2023: 0.08}
    assert scenario.discrepancy["default"].relative == 0.1


def test_the_json_schema_lets_editors_accept_percentages() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = scenario_schema()
    good = {"levers": {FLOOR: {"value": "3%", "source": "t"}}}
    jsonschema.validate(good, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"levers": {FLOOR: {"value": "3%%", "source": "t"}}}, schema)
