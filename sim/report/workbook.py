"""A command's tables as one Excel workbook (``<command>.xlsx``, ``sim.report.writer``).

One sheet per table (named after its CSV file), in the order they were written. The header row
is in the report's language with each column's unit (``达成概率（%）``, ``Threshold``, the unit
of a per-row column in its units column: ``家``, ``亿元/年``); it is frozen, filtered, and the
columns are as wide as their contents. The cells hold the values of the CSV file unchanged
(to the 16 significant digits an ``.xlsx`` file stores; Excel shows 15), shown as a person
reads them through Excel number formats: probabilities and shares as percentages (``0.0115``
shown as ``1.15%``), dimensionless variables and levers of a row too, counts with thousands
separators, other numbers with 3 to 4 significant digits, years as years. Labels come from
the column catalogue (``sim.report.columns``).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from sim.report.columns import (
    FRACTION,
    FRACTION_PER_YEAR,
    UNITS_SOURCES,
    Column,
    describe_columns,
    unit_label,
)
from sim.report.i18n import text
from sim.report.quantities import is_dimensionless
from sim.scenario import Language

PERCENT_FORMAT = "0.00%"
COUNT_FORMAT = "#,##0"
YEAR_FORMAT = "0"
#: Columns of calendar years and identifiers written as plain integers (no separators).
PLAIN_INTEGERS = frozenset({"year", "last_year", "origin", "seed", "box"})
#: Row sources whose dimensionless values are shares (a model variable, a lever): shown as
#: percentages. A dimensionless parameter may be an elasticity, so it is not.
PERCENT_ROW_SOURCES = frozenset({"variable", "lever"})
#: The columns holding each row's Vensim units.
UNITS_COLUMNS = frozenset({*UNITS_SOURCES, "money_units"})
MAX_SHEET_NAME = 31  # Excel's limit
MAX_WIDTH = 60
_BAD_SHEET_CHARACTERS = re.compile(r"[\[\]:*?/\\]")


def number_format(value: float) -> str:
    """The Excel number format of a number with 3 to 4 significant digits and thousands
    separators (as ``sim.report.quantities.format_number``)."""
    magnitude = abs(value)
    if magnitude >= 100 or magnitude == 0:
        return "#,##0"
    if magnitude >= 10:
        return "#,##0.0"
    if magnitude >= 1:
        return "0.00"
    if magnitude >= 0.01:
        return "0.000"
    return "0.00E+00"


def sheet_names(files: list[str]) -> dict[str, str]:
    """A valid, unique Excel sheet name for each table file (its stem, shortened to 31
    characters by keeping its start and its end)."""
    names: dict[str, str] = {}
    for file in files:
        stem = _BAD_SHEET_CHARACTERS.sub("_", Path(file).stem) or "table"
        if len(stem) > MAX_SHEET_NAME:
            stem = f"{stem[:12]}…{stem[-(MAX_SHEET_NAME - 13) :]}"
        name, number = stem, 2
        while name.lower() in {taken.lower() for taken in names.values()}:
            suffix = f"~{number}"
            name, number = stem[: MAX_SHEET_NAME - len(suffix)] + suffix, number + 1
        names[file] = name
    return names


def _display_width(shown: str) -> int:
    """Width of text in Excel's character units (a CJK character takes two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in shown)


def _cell(value: Any) -> Any:
    """A value as Excel stores it: numpy scalars as Python ones, NaN and None as empty."""
    if value is None or (isinstance(value, float | np.floating) and not math.isfinite(value)):
        return None
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _shown(value: Any, fmt: str) -> str:
    """Roughly what Excel shows for ``value`` in format ``fmt`` (for the column width)."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if fmt == PERCENT_FORMAT:
        return f"{value * 100:,.2f}%"
    if fmt == "0.00E+00":
        return f"{value:.2e}"
    decimals = fmt.rsplit(".", 1)[1].count("0") if "." in fmt else 0
    return f"{value:,.{decimals}f}"


def _header(column: Column, lang: Language, labels: Mapping[str, str]) -> str:
    label = column.label(lang, labels)
    unit = unit_label(column.unit, lang, percent=column.variable)
    if not unit:
        return label
    return text(lang, "column_units")["header"].format(label=label, unit=unit)


def _units_are_shares(table: pd.DataFrame, units_column: str) -> bool:
    """Whether the dimensionless rows of ``units_column`` are shares: units of a model
    variable or a lever (``solve.csv``'s ``units`` are its lever's), not of a parameter (which
    may be an elasticity) nor of money."""
    sources = [c for c in UNITS_SOURCES.get(units_column, ()) if c in table.columns]
    if not sources and units_column == "units" and "lever" in table.columns:
        sources = ["lever"]
    return bool(sources) and sources[0] in PERCENT_ROW_SOURCES


def _row_percent(table: pd.DataFrame, units_column: str) -> list[bool]:
    """Per row: whether the value of a column in ``units_column``'s units is a share."""
    if units_column not in table.columns or not _units_are_shares(table, units_column):
        return [False] * len(table)
    return [
        isinstance(u, str) and bool(u.strip()) and is_dimensionless(u) for u in table[units_column]
    ]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _formats(table: pd.DataFrame, column: Column, values: list[Any]) -> list[str | None]:
    """The number format of each cell of one column (``None``: text, booleans, empty): one
    format for a column in one unit (its digits from the typical magnitude), each row's own
    where the rows differ in unit."""
    numbers = [abs(v) for v in values if _is_number(v)]
    if column.unit in (FRACTION, FRACTION_PER_YEAR) or (
        column.variable and column.unit is not None and is_dimensionless(column.unit)
    ):
        return [PERCENT_FORMAT if _is_number(v) else None for v in values]
    if column.unit is not None and column.unit.startswith("@"):
        shares = _row_percent(table, column.unit[1:])
        return [
            (PERCENT_FORMAT if share else number_format(v)) if _is_number(v) else None
            for v, share in zip(values, shares, strict=True)
        ]
    if column.name in PLAIN_INTEGERS:
        shared = YEAR_FORMAT
    elif all(isinstance(v, int) for v in values if _is_number(v)):
        shared = COUNT_FORMAT
    else:
        shared = number_format(float(np.median(numbers))) if numbers else COUNT_FORMAT
    return [shared if _is_number(v) else None for v in values]


def _units_cells(table: pd.DataFrame, units_column: str, lang: Language) -> list[Any]:
    """A units column as a person reads it: ``Firm`` → ``家``; a share's ``Dmnl`` → ``%``."""
    shares = _units_are_shares(table, units_column)
    return [
        unit_label(units, lang, percent=shares)
        if isinstance(units, str) and units.strip()
        else None
        for units in table[units_column]
    ]


def write_workbook(
    path: Path,
    tables: Mapping[str, pd.DataFrame],
    lang: Language,
    variable_units: Mapping[str, str] | None = None,
    variable_labels: Mapping[str, str] | None = None,
) -> None:
    """Write ``tables`` (CSV file name → the table as written, units columns included) as
    one workbook at ``path``, one sheet each, headers in ``lang``.

    Args:
        variable_units: Vensim units of the model's variables (columns named after one).
        variable_labels: their Chinese labels.
    """
    book = Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    wrapped = Alignment(wrap_text=True, vertical="top")
    for file, sheet in sheet_names(list(tables)).items():
        table = tables[file]
        sheet_page = book.create_sheet(sheet)
        columns = describe_columns([str(c) for c in table.columns], file, variable_units)
        headers = [_header(column, lang, variable_labels or {}) for column in columns]
        sheet_page.append(headers)
        cells: list[list[Any]] = []
        formats: list[list[str | None]] = []
        for column, name in zip(columns, table.columns, strict=True):
            if column.name in UNITS_COLUMNS:
                values = _units_cells(table, column.name, lang)
            else:
                values = [_cell(v) for v in table[name].tolist()]
            cells.append(values)
            formats.append(_formats(table, column, values))
        for row in zip(*cells, strict=True):
            sheet_page.append(list(row))
        for index, (header, values, fmts) in enumerate(
            zip(headers, cells, formats, strict=True), start=1
        ):
            letter = get_column_letter(index)
            top = sheet_page.cell(row=1, column=index)
            top.font, top.alignment = bold, wrapped
            width = _display_width(header)
            for row, (value, fmt) in enumerate(zip(values, fmts, strict=True), start=2):
                if fmt is not None:
                    sheet_page.cell(row=row, column=index).number_format = fmt
                width = max(width, _display_width(_shown(value, fmt or "")))
            sheet_page.column_dimensions[letter].width = min(width + 2, MAX_WIDTH)
        sheet_page.freeze_panes = "A2"
        if len(table):
            sheet_page.auto_filter.ref = sheet_page.dimensions
    book.save(path)
