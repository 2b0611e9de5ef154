"""Observed data (CSV) that a scenario's ``history`` points to, for calibration and plots.

Format: UTF-8 CSV with the header ``variable,year,value,sd,source``; lines starting with ``#``
and blank lines are comments. One row per observation:

* ``variable``: exact Vensim name of a model variable (not a lookup or control variable);
* ``year``: integer model year inside [INITIAL TIME, FINAL TIME] (year t = end of calendar
  year t, so a 2020 statistic has year 2020);
* ``value``: the observation, in the variable's model units;
* ``sd``: its 1-sigma measurement error, > 0, in the same units;
* ``source``: the public source of the value.

A (variable, year) pair may appear once. Quoted fields may contain commas, not line breaks.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import pandas as pd
from pydantic import BeforeValidator, Field, ValidationError

from sim.errors import ScenarioError
from sim.modelinfo import ModelInfo, model_info
from sim.scenario import (
    NonEmpty,
    Number,
    StrictModel,
    describe_error,
    read_input_text,
    reject_bool,
)

#: Columns of an observed-data file, in order.
COLUMNS: tuple[str, ...] = ("variable", "year", "value", "sd", "source")


class ObservedDataError(ScenarioError):
    """An observed-data CSV is unreadable or breaks the format (file, line, column, expected)."""


class Observation(StrictModel):
    """One row of an observed-data file (units: the model variable's)."""

    variable: NonEmpty
    year: Annotated[int, BeforeValidator(reject_bool)]
    value: Number
    sd: Annotated[Number, Field(gt=0)]
    source: NonEmpty


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, fields) of every non-comment, non-blank line."""
    # utf-8-sig: spreadsheets save CSV files with a byte-order mark
    text = read_input_text(path, "an observed-data CSV", ObservedDataError, "utf-8-sig")
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            fields = next(csv.reader([line], strict=True))
        except csv.Error as exc:
            raise ObservedDataError(path, f"invalid CSV: {exc}", line=number) from None
        rows.append((number, [field.strip() for field in fields]))
    return rows


def load_observed(
    path: str | Path,
    *,
    model: str | Path | None = None,
    info: ModelInfo | None = None,
    check_model: bool = True,
) -> pd.DataFrame:
    """Read and validate an observed-data CSV.

    Args:
        path: the CSV file.
        model: Vensim model to check variable names and years against (default: the
            project's); ``info`` (a ``ModelInfo``) may be given instead.
        check_model: ``False`` skips the checks against the model.

    Returns:
        DataFrame with columns ``variable`` (str), ``year`` (int), ``value``, ``sd`` (float,
        model units) and ``source`` (str), in file order.

    Raises:
        ObservedDataError: naming the file, the line, the column and what was expected.
    """
    path = Path(path)
    if check_model and info is None:
        info = model_info(model)
    rows = _rows(path)
    if not rows:
        raise ObservedDataError(path, f"no header; expected the columns {', '.join(COLUMNS)}")
    header_line, header = rows[0]
    for column in COLUMNS:
        if column not in header:
            raise ObservedDataError(
                path,
                f"missing column '{column}'; expected the columns {', '.join(COLUMNS)}",
                field=column,
                line=header_line,
            )
    extra = [column for column in header if column not in COLUMNS]
    if extra or len(set(header)) != len(header):
        raise ObservedDataError(
            path,
            f"unexpected or repeated column(s) {extra or header}; expected exactly "
            f"{', '.join(COLUMNS)}",
            line=header_line,
        )
    records = []
    seen: dict[tuple[str, int], int] = {}
    for number, fields in rows[1:]:
        if len(fields) != len(header):
            raise ObservedDataError(
                path,
                f"{len(fields)} fields; expected {len(header)} ({', '.join(header)})",
                line=number,
            )
        try:
            row = Observation.model_validate(dict(zip(header, fields, strict=True)))
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            raise ObservedDataError(
                path, describe_error(error), field=str(error["loc"][0]), line=number
            ) from None
        if info is not None:
            if row.variable not in info.docs:
                raise ObservedDataError(
                    path, info.unknown(row.variable), field="variable", line=number
                )
            if info.kind(row.variable) in ("lookup", "control"):
                raise ObservedDataError(
                    path,
                    f"'{row.variable}' is a {info.kind(row.variable)}, not a model output",
                    field="variable",
                    line=number,
                )
            if not info.initial_time <= row.year <= info.final_time:
                raise ObservedDataError(
                    path,
                    f"year {row.year} is outside the model's horizon "
                    f"[{info.initial_time:g}, {info.final_time:g}]",
                    field="year",
                    line=number,
                )
        key = (row.variable, row.year)
        if key in seen:
            raise ObservedDataError(
                path,
                f"duplicate observation of '{row.variable}' in {row.year} (first on line "
                f"{seen[key]}); one row per variable and year",
                field="year",
                line=number,
            )
        seen[key] = number
        records.append(row.model_dump())
    frame = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    return frame.astype({"year": "int64", "value": "float64", "sd": "float64"})
