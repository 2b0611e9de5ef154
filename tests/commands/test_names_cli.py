"""Names and units as planners write them (issue 12, part 5): ``innosim levers`` and ``innosim
targets`` list what ``--lever`` and ``--target`` accept; every command takes a target by id,
variable or label and a lever by Vensim name or Chinese label, refuses an ambiguous or unknown
one with exit 2 naming the flag (with the candidates or close matches), and takes shares as
``3%`` or ``0.03``. Expected values come from the scenario file and the model, not from code."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.paths import DEFAULT_SCENARIO_PATH
from sim.scenario import load_scenario
from sim.vensim.catalogue import model_info

runner = CliRunner()
BASELINE = str(DEFAULT_SCENARIO_PATH)
FLOOR = "Fiscal Innovation Share Floor"


def _invoke(*args: object):
    return runner.invoke(app, [str(arg) for arg in args])


def _plain(text: str) -> str:
    """Console text without the error box's borders and line breaks."""
    return " ".join(text.replace("│", " ").split())


def _refused(args: list[object], tmp_path: Path, flag: str, *fragments: str) -> str:
    out = tmp_path / "out"
    result = _invoke(*args, "--out", out)
    assert result.exit_code == 2, result.output
    message = _plain(result.stderr)
    assert flag in message, message
    for fragment in fragments:
        assert fragment in message, message
    assert "Traceback" not in result.output
    assert not out.exists()
    return message


# --- innosim levers / targets ---------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_levers_lists_the_scenarios_levers(lang: str, real_model: Path) -> None:
    result = _invoke("levers", "--lang", lang)
    assert result.exit_code == 0, result.output
    scenario = load_scenario(DEFAULT_SCENARIO_PATH)
    info = model_info()
    lines = result.stdout.splitlines()
    for name in scenario.levers:
        row = next(line for line in lines if line.startswith(name + " "))
        assert info.docs[name].label_zh in row
        constraints = [c.name for c in scenario.constraints if name in c.sum]
        assert all(c in row for c in constraints)
    floor = next(line for line in lines if line.startswith(FLOOR + " "))
    value = scenario.levers[FLOOR].value
    low, high = info.docs[FLOOR].limits
    assert f"{value * 100:g} %" in floor  # a share as a percentage
    assert f"{low * 100:g} – {high * 100:g} %" in floor  # the plausible range
    money = next(line for line in lines if line.startswith("Initial Fund Size "))
    assert ("亿元" if lang == "zh" else "CNY 100M") in money
    assert ("合理政策范围" if lang == "zh" else "plausible range") in result.stdout


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_targets_lists_ids_labels_and_thresholds(lang: str, real_model: Path) -> None:
    result = _invoke("targets", "--lang", lang)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    for target in load_scenario(DEFAULT_SCENARIO_PATH).targets:
        row = next(line for line in lines if line.startswith(target.name + " "))
        assert target.label.zh in row and target.label.en in row and target.variable in row
        assert f"{target.symbol} {target.threshold * target.scale:,.6g}" in row
        assert target.unit.text(lang) in row
        assert f"{target.name}: {target.source}" in result.stdout


def test_catalogues_as_csv_keep_model_units(tmp_path: Path, real_model: Path) -> None:
    scenario = load_scenario(DEFAULT_SCENARIO_PATH)
    levers = pd.read_csv(io.StringIO(_invoke("levers", "--format", "csv").stdout))
    assert list(levers["lever"]) == list(scenario.levers)
    assert levers.set_index("lever").loc[FLOOR, "value"] == scenario.levers[FLOOR].value
    assert levers.set_index("lever").loc[FLOOR, "units"] == model_info().docs[FLOOR].units
    targets = pd.read_csv(io.StringIO(_invoke("targets", "--format", "csv").stdout))
    assert list(targets["threshold"]) == [t.threshold for t in scenario.targets]
    assert "units" in targets.columns


def test_levers_of_a_bad_scenario_exits_2(tmp_path: Path, real_model: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("levers: [\n", encoding="utf-8")
    result = _invoke("levers", bad)
    assert result.exit_code == 2 and "bad.yaml" in result.stderr


# --- --target and --lever by the names people write -----------------------------------------


def test_sweep_takes_a_chinese_lever_label_with_percentages_and_a_target_label(
    tmp_path: Path, real_model: Path
) -> None:
    target = load_scenario(DEFAULT_SCENARIO_PATH).targets[1]
    label = model_info().docs[FLOOR].label_zh
    out = tmp_path / "sweep"
    result = _invoke("sweep", "--lever", f"{label}=1%:4%:3", "--target", target.label.zh,
                     "--draws", 16, "--out", out)  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "sweep.csv")
    (column,) = [c for c in table.columns if c.startswith(FLOOR)]  # header may carry units
    assert sorted(set(table[column])) == pytest.approx([0.01, 0.025, 0.04])


def test_a_percentage_and_a_fraction_sweep_the_same_values(
    tmp_path: Path, real_model: Path
) -> None:
    tables = []
    for spec in ("fiscal innovation share FLOOR=1%:4%:3", f"{FLOOR}=0.01:0.04:3"):
        out = tmp_path / str(len(tables))
        result = _invoke("sweep", "--lever", spec, "--draws", 16, "--out", out)
        assert result.exit_code == 0, result.output
        tables.append(pd.read_csv(out / "sweep.csv"))
    pd.testing.assert_frame_equal(tables[0], tables[1])


def test_an_unknown_lever_suggests_close_names(tmp_path: Path, real_model: Path) -> None:
    message = _refused(["solve", "--target", "all", "--prob", 0.8, "--lever", "fiscal share"],
                       tmp_path, "--lever")  # fmt: skip
    assert "did you mean 'Fiscal Innovation Share Annual Increase'" in message
    assert "'Fiscal Innovation Share Floor'" in message
    assert model_info().docs[FLOOR].label_zh in message  # the label shown with the name


def test_an_ambiguous_target_lists_the_candidates(tmp_path: Path, real_model: Path) -> None:
    first = load_scenario(DEFAULT_SCENARIO_PATH).targets[0]
    earlier = first.model_copy(update={"name": f"{first.name}_early", "year": first.year - 1})
    variant = tmp_path / "two_years.yaml"
    variant.write_text(
        f"extends: {BASELINE}\ntargets:\n  - "
        + ", ".join(
            f"{key}: {value}"
            for key, value in (
                ("name", earlier.name),
                ("variable", earlier.variable),
                ("year", earlier.year),
                ("direction", earlier.direction),
                ("threshold", earlier.threshold),
                ("label", f"{{zh: {earlier.label.zh}, en: {earlier.label.en}}}"),
                ("unit", f"{{zh: {earlier.unit.zh}, en: {earlier.unit.en}}}"),
                ("source", "test"),
            )
        ).join("{}")
        + "\n",
        encoding="utf-8",
    )
    for command in (["solve", "--prob", 0.8, "--lever", FLOOR], ["discover"]):
        message = _refused([*command, variant, "--target", first.variable], tmp_path, "--target")
        assert "is ambiguous" in message
        assert f"'{first.name}'" in message and f"'{earlier.name}'" in message
    # the id is never ambiguous
    result = _invoke("discover", variant, "--target", earlier.name, "--draws", 16,
                     "--out", tmp_path / "d")  # fmt: skip
    assert result.exit_code == 0, result.output


def test_a_target_by_its_english_label_in_discover(tmp_path: Path, real_model: Path) -> None:
    target = load_scenario(DEFAULT_SCENARIO_PATH).targets[0]
    out = tmp_path / "d"
    written = target.label.en.upper().replace(" ", "  ")  # any case and spacing
    result = _invoke("discover", "--target", written, "--draws", 32, "--out", out)
    assert result.exit_code == 0, result.output
    assert (out / f"{target.name}_reached_box.csv").is_file()


@pytest.mark.parametrize(
    ("args", "flag", "fragment"),
    [
        (
            ["sweep", "--lever", f"{FLOOR}=1%:4%:3", "--target", "技术合同"],
            "--target",
            "did you mean 'technology_contract_turnover_2025'",
        ),
        (["discover", "--target", "all"], "--target", "not a target of the scenario"),
        (["sweep", "--lever", "Initial Fund Size=5%:20%:3"], "--lever", "CNY100M"),
        (
            ["solve", "--target", "all", "--prob", 0.8, "--lever", "科技创新发展子基金规模=1%:2%"],
            "--lever",
            "not a share or a rate",
        ),
        (
            ["assess", "--observed", "missing.csv", "--lever", "Initial Fund Size=5%:20%"],
            "--lever",
            "without %",
        ),
        (["sweep", "--lever", f"{FLOOR}=1%%:4%:3"], "--lever", "a percentage"),
        (
            ["sweep", "--lever", f"{FLOOR}=0.01:0.04:3", "--rebalance", "no such share"],
            "--rebalance",
            "not a constant of the model",
        ),
    ],
)
def test_bad_names_and_percentages_exit_2_naming_the_flag(
    args: list[object], flag: str, fragment: str, tmp_path: Path, real_model: Path
) -> None:
    _refused(args, tmp_path, flag, fragment)
