"""Every command that writes tables writes ``<command>.xlsx`` beside its CSV files: one sheet
per CSV file, every column of every CSV file in the column catalogue (a new column cannot slip
through unlabelled), headers in the language with units, shares as percentages on the CSV's
values. The commands run once each on the project's model with few draws."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from sim.cli import app
from sim.paths import REPO_ROOT
from sim.report.columns import bare_name, describe_columns
from sim.report.track_record import find_track_record
from sim.report.workbook import PERCENT_FORMAT, sheet_names
from sim.scenario import load_scenario
from sim.vensim import model_variables
from sim.workflows.calibrate import synthetic_observations

BASELINE = REPO_ROOT / "scenarios" / "baseline.yaml"
VARIANT = REPO_ROOT / "scenarios" / "fiscal_floor_9pct.yaml"
SMALL = Path(__file__).parent / "fixtures" / "calibration_small.yaml"
FLOOR = "Fiscal Innovation Share Floor"
OBSERVED = ["Innovation Carriers", "Technology Contract Turnover", "Effective Invention Patents"]

#: Each command that writes tables (its workbook's name), with small settings.
COMMANDS: dict[str, list[str]] = {
    "run": ["run", str(BASELINE), "--draws", "16"],
    "compare": ["compare", str(BASELINE), str(VARIANT), "--draws", "16"],
    "sweep": ["sweep", str(BASELINE), "--lever", f"{FLOOR}=0.02:0.03:2", "--draws", "16"],
    "solve": ["solve", str(BASELINE), "--lever", FLOOR, "--target",
              "high_tech_enterprises_2025", "--prob", "0.5", "--draws", "16"],
    "budget": ["solve", str(BASELINE), "--budget", "--min-share", "0.02", "--search-draws", "16",
               "--maxiter", "1", "--draws", "16"],
    "sensitivity": ["sensitivity", str(BASELINE), "--samples", "8"],
    "discover": ["discover", str(BASELINE), "--target", "technology_contract_turnover_2025",
                 "--draws", "64"],
    "calibrate": ["calibrate", str(SMALL), "--observed", "OBSERVED", "--draws", "300"],
    "assess": ["assess", str(SMALL), "--observed", "OBSERVED", "--as-of", "2022",
               "--draws", "300"],
    "backtest": ["backtest", str(SMALL), "--observed", "OBSERVED", "--origin", "2020",
                 "--draws", "400"],
    "simulate": ["simulate"],
}  # fmt: skip
_CJK = re.compile(r"[\u4e00-\u9fff]")

runner = CliRunner()


def _workbook(out: Path) -> Path:
    [book] = out.glob("*.xlsx")
    return book


@pytest.fixture(scope="module")
def outputs(real_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The output directory of every command in ``COMMANDS`` (Chinese, the default)."""
    root = tmp_path_factory.mktemp("commands")
    scenario = load_scenario(SMALL)
    data = synthetic_observations(scenario, {}, OBSERVED, [2017, 2018, 2020, 2022], 0.1, seed=1)
    observed = root / "synthetic.csv"
    data.to_csv(observed, index=False)
    made = {}
    for name, args in COMMANDS.items():
        out = root / name
        args = [str(observed) if a == "OBSERVED" else a for a in args]
        result = runner.invoke(app, [*args, "--out", str(out)])
        assert result.exit_code == 0, (name, result.output)
        made[name] = out
    return made


@pytest.fixture(scope="module")
def variable_units(real_model: Path) -> dict[str, str]:
    return {variable.name: variable.units for variable in model_variables(real_model)}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_table_writing_command_writes_its_workbook(
    outputs: dict[str, Path], command: str
) -> None:
    out = outputs[command]
    book = _workbook(out)
    assert book.name == f"{COMMANDS[command][0]}.xlsx"
    csvs = sorted(path.name for path in out.glob("*.csv"))
    assert csvs, "the command writes tables"
    expected = sheet_names(csvs)
    assert sorted(load_workbook(book, read_only=True).sheetnames) == sorted(expected.values())


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_written_column_is_in_the_catalogue(
    outputs: dict[str, Path], variable_units: dict[str, str], command: str
) -> None:
    for path in sorted(outputs[command].glob("*.csv")):
        headers = [str(header) for header in pd.read_csv(path, nrows=0).columns]
        columns = describe_columns([bare_name(h) for h in headers], path.name, variable_units)
        unknown = [column.name for column in columns if not column.known]
        assert not unknown, f"{path.name}: no entry in sim/report/translations/columns.yaml"
        # the header the writer wrote is the catalogue's: the unit stated by one rule
        assert headers == [column.header for column in columns], path.name


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_workbook_shows_the_csv_values_with_units_and_percentages(
    outputs: dict[str, Path], command: str
) -> None:
    out = outputs[command]
    book = load_workbook(_workbook(out))
    names = sheet_names(sorted(path.name for path in out.glob("*.csv")))
    for file, sheet_name in names.items():
        csv = pd.read_csv(out / file, float_precision="round_trip")
        sheet = book[sheet_name]
        headers = [cell.value for cell in sheet[1]]
        assert len(headers) == len(csv.columns) and sheet.freeze_panes == "A2"
        for index, column in enumerate(csv.columns, start=1):
            cells = [sheet.cell(row=row, column=index) for row in range(2, len(csv) + 2)]
            if column.endswith("[fraction]"):  # a share or a probability: shown as a percentage
                assert headers[index - 1].endswith("（%）"), headers[index - 1]
                assert all(c.number_format == PERCENT_FORMAT for c in cells if c.value is not None)
            if column in ("units", "lever_units", "money_units"):
                continue  # written as a person reads the unit
            for cell, value in zip(cells, csv[column], strict=True):
                if isinstance(value, float) and math.isnan(value):
                    assert cell.value is None, (file, column)
                elif isinstance(value, str):
                    assert str(cell.value) == value, (file, column)
                else:  # an .xlsx file stores 16 significant digits (Excel shows 15)
                    assert cell.value == pytest.approx(value, rel=1e-15, abs=0), (file, column)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_workbook_headers_are_chinese_by_default(outputs: dict[str, Path], command: str) -> None:
    book = load_workbook(_workbook(outputs[command]), read_only=True)
    for sheet in book.worksheets:
        headers = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
        assert all(_CJK.search(str(header)) for header in headers), (sheet.title, headers)


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_workbook_headers_follow_lang_en(real_model: Path, tmp_path: Path, command: str) -> None:
    out = tmp_path / command
    result = runner.invoke(app, [*COMMANDS[command], "--out", str(out), "--lang", "en"])
    assert result.exit_code == 0, result.output
    book = load_workbook(_workbook(out), read_only=True)
    headers = [cell.value for cell in next(book.worksheets[0].iter_rows(max_row=1))]
    assert "Probability (%)" in headers and not any(_CJK.search(str(h)) for h in headers)


def test_the_track_record_reads_the_backtest_it_wrote(outputs: dict[str, Path]) -> None:
    """run's report reads backtest.csv back (sim.report.track_record): through the headers
    that now state units."""
    directory = outputs["backtest"]
    written = json.loads((directory / "provenance.json").read_text(encoding="utf-8"))
    record, reason = find_track_record(
        directory, written["model_sha256"], written["scenario_sha256"]
    )
    assert reason == "" and record is not None
    assert record.n_scored == len(pd.read_csv(directory / "backtest.csv"))
    assert 0 <= record.mean_crps_relative < 1
