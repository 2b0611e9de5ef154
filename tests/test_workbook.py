"""sim.report.columns and sim.report.workbook through sim.report.writer.write_outputs: CSV
headers that state their units, a ``units`` column where rows differ, and the command's Excel
workbook (sheets, headers in the language with units, percent formats, values of the CSV)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from sim.report.columns import (
    COLUMN_UNITS,
    FRACTION,
    bare_name,
    csv_header,
    describe_columns,
    read_table,
)
from sim.report.i18n import text
from sim.report.workbook import PERCENT_FORMAT, sheet_names
from sim.report.writer import PROVENANCE_FILE, write_outputs

RUN = {"command": "innosim run"}


def _targets() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "target": ["hte_2025", "rd_2025", "contracts_2025"],
            "variable": ["High Tech Enterprises", "RD Intensity", "Technology Contract Turnover"],
            "year": [2025, 2025, 2025],
            "threshold": [300.0, 0.01152, 50.0],
            "probability": [0.9375, 0.0115, 1.0],
            "prob_low": [0.8, 0.002, 0.95],
            "prob_high": [0.98, 0.06, 1.0],
            "median": [355.6, 0.0144, 31.8],
        }
    )


def _written(tmp_path: Path, lang: str | None = "zh", model: Path | None = None) -> Path:
    out = tmp_path / "out"
    curve = pd.DataFrame({"value": [0.0, 0.01], "probability": [0.5, 0.6], "draws": [32, 32]})
    write_outputs(
        out,
        {"targets.csv": _targets(), "note.txt": "x", "solve_curve.csv": curve},
        RUN,
        lang=lang,  # type: ignore[arg-type]
        model=model,
    )
    return out


def test_csv_headers_state_units_and_rows_get_their_units(tmp_path, real_model):
    out = _written(tmp_path, model=real_model)
    table = pd.read_csv(out / "targets.csv")
    assert list(table.columns) == [
        "target",
        "variable",
        "units",
        "year",
        "threshold",
        "probability [fraction]",
        "prob_low [fraction]",
        "prob_high [fraction]",
        "median",
    ]
    assert list(table.columns) == csv_header(list(_targets().columns))
    # each row in its variable's Vensim units; the values are the model's, unchanged
    assert list(table["units"]) == ["Firm", "Dmnl", "CNY100M/Year"]
    assert table["threshold"].tolist() == [300.0, 0.01152, 50.0]
    assert table["probability [fraction]"].tolist() == [0.9375, 0.0115, 1.0]
    pd.testing.assert_frame_equal(
        read_table(out / "targets.csv").drop(columns="units"), _targets(), check_dtype=False
    )


def test_a_model_variables_column_names_its_units(tmp_path, real_model):
    lever = "Fiscal Innovation Share Floor"
    sweep = pd.DataFrame({lever: [0.02, 0.03], "target": ["a", "a"], "probability": [0.1, 0.2]})
    out = tmp_path / "out"
    write_outputs(out, {"sweep.csv": sweep}, {"command": "innosim sweep"}, model=real_model)
    header = pd.read_csv(out / "sweep.csv").columns
    assert list(header) == [f"{lever} [Dmnl]", "target", "probability [fraction]"]
    book = load_workbook(out / "sweep.xlsx")
    cells = book["sweep"]
    assert cells["A1"].value == "财政创新投入占收入比重下限（%）"
    assert cells["A2"].number_format == PERCENT_FORMAT and cells["A2"].value == 0.02


@pytest.mark.parametrize(
    ("lang", "headers", "units"),
    [
        (
            "zh",
            ["目标", "模型变量", "单位", "年份", "目标值", "达成概率（%）"],
            ["家", "%", "亿元/年"],
        ),
        (
            "en",
            ["Target", "Model variable", "Units", "Year", "Threshold", "Probability (%)"],
            ["firms", "%", "CNY 100M/yr"],
        ),
    ],
)
def test_workbook_has_a_sheet_per_table_in_the_language(tmp_path, real_model, lang, headers, units):
    out = _written(tmp_path, lang, real_model)
    assert sorted(p.name for p in out.iterdir()) == [
        "note.txt",
        PROVENANCE_FILE,
        "run.xlsx",
        "solve_curve.csv",
        "targets.csv",
    ]
    book = load_workbook(out / "run.xlsx")
    assert book.sheetnames == ["targets", "solve_curve"]
    sheet = book["targets"]
    assert [cell.value for cell in sheet[1]][:6] == headers
    assert [sheet.cell(row=r, column=3).value for r in (2, 3, 4)] == units
    assert sheet.freeze_panes == "A2"


def test_workbook_shows_shares_as_percentages_on_the_unchanged_values(tmp_path, real_model):
    out = _written(tmp_path, "zh", real_model)
    sheet = load_workbook(out / "run.xlsx")["targets"]
    csv = pd.read_csv(out / "targets.csv")
    header = {cell.value: cell.column for cell in sheet[1]}
    probability = header["达成概率（%）"]
    for row in range(2, 5):
        cell = sheet.cell(row=row, column=probability)
        assert cell.number_format == PERCENT_FORMAT  # 0.0115 shown as 1.15%
        assert cell.value == csv["probability [fraction]"][row - 2]
    threshold = header["目标值"]
    # the R&D intensity's threshold is a share (Dmnl, 1.15 %), the others counts and money
    formats = [sheet.cell(row=r, column=threshold).number_format for r in (2, 3, 4)]
    assert formats[1] == PERCENT_FORMAT and PERCENT_FORMAT not in (formats[0], formats[2])
    assert formats[0] == "#,##0"  # 300 firms, with a thousands separator
    year = sheet.cell(row=2, column=header["年份"])
    assert year.value == 2025 and year.number_format == "0"


def test_workbook_cells_equal_the_csv(tmp_path, real_model):
    out = _written(tmp_path, "en", real_model)
    book = load_workbook(out / "run.xlsx")
    for name in ("targets", "solve_curve"):
        csv = pd.read_csv(out / f"{name}.csv", float_precision="round_trip")
        rows = list(book[name].iter_rows(min_row=2, values_only=True))
        assert len(rows) == len(csv)
        for index, column in enumerate(csv.columns):
            if column == "units":  # the units as a person reads them (Firm → firms)
                continue
            cells = [row[index] for row in rows]
            for cell, value in zip(cells, csv[column], strict=True):
                if isinstance(value, float) and math.isnan(value):
                    assert cell is None
                elif isinstance(value, str):
                    assert cell == value, (name, column)
                else:  # an .xlsx file stores 16 significant digits (Excel shows 15)
                    assert cell == pytest.approx(value, rel=1e-15, abs=0), (name, column)


def test_column_widths_fit_the_headers(tmp_path, real_model):
    out = _written(tmp_path, "zh", real_model)
    sheet = load_workbook(out / "run.xlsx")["targets"]
    for cell in sheet[1]:
        width = sheet.column_dimensions[cell.column_letter].width
        # a Chinese character takes two columns
        needed = sum(2 if ord(c) > 0x2E80 else 1 for c in str(cell.value))
        assert width >= needed, cell.value


def test_language_from_the_provenance_and_chinese_by_default(tmp_path):
    table = pd.DataFrame({"target": ["a"], "probability": [0.5]})
    write_outputs(tmp_path / "en", {"t.csv": table}, RUN | {"lang": "en"})
    write_outputs(tmp_path / "zh", {"t.csv": table}, RUN)
    assert load_workbook(tmp_path / "en" / "run.xlsx")["t"]["B1"].value == "Probability (%)"
    assert load_workbook(tmp_path / "zh" / "run.xlsx")["t"]["B1"].value == "达成概率（%）"


def test_no_workbook_without_tables_or_without_a_command(tmp_path):
    write_outputs(tmp_path / "a", {"x.txt": "x"}, RUN)
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [PROVENANCE_FILE, "x.txt"]
    table = pd.DataFrame({"target": ["a"]})
    write_outputs(tmp_path / "b", {"t.csv": table}, {})  # a part of a command: no workbook
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [PROVENANCE_FILE, "t.csv"]
    with pytest.raises(ValueError, match="run.xlsx is written by write_outputs itself"):
        write_outputs(tmp_path / "c", {"t.csv": table, "run.xlsx": b""}, RUN)


def test_a_csv_written_by_its_own_function_gets_the_headers_too(tmp_path):
    """run writes targets.csv by a function (after the ensemble is streamed); simulate as
    text: the writer states the units in their headers as well, keeping the values' text."""

    def own(path: Path) -> None:
        path.write_text("target,probability,median\na,0.5,1.23456\n", encoding="utf-8")

    write_outputs(tmp_path / "o", {"a.csv": own, "b.csv": "year,draws\n2025,32\n"}, RUN)
    written = (tmp_path / "o" / "a.csv").read_text(encoding="utf-8")
    assert written == "target,probability [fraction],median\na,0.5,1.23456\n"
    book = load_workbook(tmp_path / "o" / "run.xlsx")
    assert book.sheetnames == ["a", "b"] and book["a"]["B2"].value == 0.5
    assert book["b"]["A2"].value == 2025 and book["b"]["B2"].number_format == "#,##0"


def test_sheet_names_are_valid_and_unique():
    long = "technology_contract_turnover_2025_reached"
    names = sheet_names([f"{long}_box.csv", f"{long}_trajectory.csv", "a[1].csv", "A[1].csv"])
    assert len(set(names.values())) == 4
    assert all(len(name) <= 31 and not set(name) & set("[]:*?/\\") for name in names.values())
    assert names[f"{long}_box.csv"].endswith("reached_box")


def test_every_catalogued_column_has_labels_and_a_unit_rule():
    labels = set(text("en", "columns"))
    assert labels == set(COLUMN_UNITS), labels ^ set(COLUMN_UNITS)
    assert set(text("zh", "columns")) == labels
    described = describe_columns(sorted(COLUMN_UNITS))
    assert all(column.known for column in described)
    shares = [c.header for c in described if c.unit == FRACTION]
    assert "probability [fraction]" in shares and all(bare_name(h) in COLUMN_UNITS for h in shares)


def test_an_unknown_column_is_reported_not_labelled():
    [column] = describe_columns(["brand_new_column"])
    assert not column.known and column.header == "brand_new_column"


def test_workbook_failure_leaves_nothing(tmp_path, monkeypatch):
    import sim.report.workbook as workbook

    def broken(self, path):  # the workbook fails after the CSV files were staged
        Path(path).write_bytes(b"half")
        raise RuntimeError("the workbook could not be written")

    monkeypatch.setattr(workbook.Workbook, "save", broken)
    out = tmp_path / "out"
    table = pd.DataFrame({"target": ["a"], "probability": [np.float64(0.5)]})
    with pytest.raises(RuntimeError, match="the workbook could not be written"):
        write_outputs(out, {"t.csv": table}, RUN)
    assert not out.exists() and list(tmp_path.iterdir()) == []
