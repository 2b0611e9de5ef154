"""Observed data (CSV) that a scenario's ``history`` points to, for calibration and plots.

Format: UTF-8 CSV with the header ``variable,year,value,sd,source``; lines starting with ``#``
and blank lines are comments. One row per observation:

* ``variable``: exact Vensim name of a model variable (not a lookup or control variable);
* ``year``: integer model year up to FINAL TIME (year t = end of calendar year t, so a 2020
  statistic has year 2020). Rows before INITIAL TIME are skipped with a note where the data
  are observations to compare with the model (``history``, ``--observed``), and kept in a
  scenario's ``drivers`` files, where they lead the imposed series (``driver_series``);
* ``value``: the observation, in the variable's model units;
* ``sd``: its 1-sigma measurement error, > 0, in the same units;
* ``source``: the public source of the value.

A (variable, year) pair may appear once. Quoted fields may contain commas, not line breaks.
A file needs at least one data row (one at or after INITIAL TIME where early rows are skipped).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import BeforeValidator, Field, ValidationError

from sim.errors import ScenarioError
from sim.scenario import (
    NonEmpty,
    Number,
    StrictModel,
    describe_error,
    read_input_text,
    reject_bool,
)
from sim.vensim.catalogue import ModelInfo, model_info

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


#: What ``load_observed`` does with rows before INITIAL TIME: skip them (with a note) or keep.
Early = Literal["skip", "keep"]


def load_observed(
    path: str | Path,
    *,
    model: str | Path | None = None,
    info: ModelInfo | None = None,
    check_model: bool = True,
    early: Early = "skip",
    note: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Read and validate an observed-data CSV.

    Args:
        path: the CSV file.
        model: Vensim model to check variable names and years against (default: the
            project's); ``info`` (a ``ModelInfo``) may be given instead.
        check_model: ``False`` skips the checks against the model.
        early: rows before the model's INITIAL TIME are skipped (``"skip"``, for data the
            model is compared with) or kept (``"keep"``, for series imposed as data); rows
            after FINAL TIME are always refused.
        note: called with one line saying which rows were skipped, if any.

    Returns:
        DataFrame with columns ``variable`` (str), ``year`` (int), ``value``, ``sd`` (float,
        model units) and ``source`` (str), in file order.

    Raises:
        ObservedDataError: naming the file, the line, the column and what was expected.
    """
    frame, _ = _load(Path(path), model, info, check_model, early, note)
    return frame


def _load(
    path: Path,
    model: str | Path | None,
    info: ModelInfo | None,
    check_model: bool,
    early: Early,
    note: Callable[[str], None] | None,
) -> tuple[pd.DataFrame, list[int]]:
    """``load_observed``'s frame and the line number of each of its rows."""
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
    if len(rows) == 1:
        raise ObservedDataError(
            path,
            f"no data rows: the file has a header only; expected one row per observation "
            f"with the columns {', '.join(COLUMNS)} after the header",
            line=header_line,
        )
    records = []
    lines: list[int] = []
    skipped: list[int] = []
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
            if row.year > info.final_time:
                raise ObservedDataError(
                    path,
                    f"year {row.year} is outside the model's horizon "
                    f"[{info.initial_time:g}, {info.final_time:g}] (after FINAL TIME)",
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
        if early == "skip" and info is not None and row.year < info.initial_time:
            skipped.append(number)
            continue
        records.append(row.model_dump())
        lines.append(number)
    if not records:
        raise ObservedDataError(
            path,
            f"no data rows the model can be compared with: every row is before the model's "
            f"INITIAL TIME {info.initial_time:g} (lines {_ranges(skipped)}); expected "
            f"observations of the years {info.initial_time:g}-{info.final_time:g}",
            field="year",
            line=skipped[0],
        )
    if skipped and note is not None:
        note(
            f"{path.name}: {len(skipped)} row(s) before the model's INITIAL TIME "
            f"{info.initial_time:g} skipped (lines {_ranges(skipped)})"
        )
    frame = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    return frame.astype({"year": "int64", "value": "float64", "sd": "float64"}), lines


def _ranges(numbers: Sequence[int]) -> str:
    """``1-3, 7`` for ``[1, 2, 3, 7]``."""
    parts: list[str] = []
    start = previous = numbers[0]
    for number in [*numbers[1:], None]:
        if number is not None and number == previous + 1:
            previous = number
            continue
        parts.append(f"{start}" if start == previous else f"{start}-{previous}")
        if number is not None:
            start = previous = number
    return ", ".join(parts)


# --- drivers: observed series imposed as data ----------------------------------------------


@dataclass(frozen=True)
class DriverSeries:
    """The observed yearly values of one constant imposed as data (a scenario's ``drivers``).

    Attributes:
        variable: the constant's Vensim name.
        years: the observed years, increasing (years before INITIAL TIME included).
        values: the observations, model units.
        files: the files the rows come from.
    """

    variable: str
    years: np.ndarray = field(repr=False)
    values: np.ndarray = field(repr=False)
    files: tuple[Path, ...]

    @property
    def last_year(self) -> int:
        """The last observed year."""
        return int(self.years[-1])

    @property
    def last_value(self) -> float:
        """The value observed in the last year."""
        return float(self.values[-1])


def driver_series(
    files: Sequence[str | Path],
    variables: Iterable[str],
    *,
    info: ModelInfo | None = None,
) -> dict[str, DriverSeries]:
    """The rows of ``variables`` in the observed-data ``files``, as one series per variable.

    Every file is validated like any observed-data file (``load_observed``, against the model
    when ``info`` is given), keeping rows before INITIAL TIME; the rows of other variables are
    read and checked but not returned. With ``info``, each imposed value must lie inside the
    constant's Vensim limits. A variable without rows is absent from the result.

    Raises:
        ObservedDataError: a bad file, a (variable, year) given in two files, or a value
            outside the limits (naming the file, the line and the column).
    """
    wanted = set(variables)
    rows: dict[str, dict[int, tuple[float, Path, int]]] = {name: {} for name in wanted}
    for raw in files:
        path = Path(raw)
        frame, lines = _load(path, None, info, info is not None, "keep", None)
        for row, line in zip(frame.itertuples(index=False), lines, strict=True):
            if row.variable not in wanted:
                continue
            if info is not None:
                low, high = info.limits(row.variable)
                if (low is not None and row.value < low) or (high is not None and row.value > high):
                    raise ObservedDataError(
                        path,
                        f"{row.value:g} is outside the Vensim limits [{_fmt(low)}, {_fmt(high)}] "
                        f"of '{row.variable}'",
                        field="value",
                        line=line,
                    )
            earlier = rows[row.variable].get(int(row.year))
            if earlier is not None:
                raise ObservedDataError(
                    path,
                    f"'{row.variable}' in {row.year} is also given in {earlier[1].name} (line "
                    f"{earlier[2]}); one row per variable and year across the drivers files",
                    field="year",
                    line=line,
                )
            rows[row.variable][int(row.year)] = (float(row.value), path, line)
    out = {}
    for name, by_year in rows.items():
        if not by_year:
            continue
        years = sorted(by_year)
        out[name] = DriverSeries(
            variable=name,
            years=np.array(years, dtype=int),
            values=np.array([by_year[year][0] for year in years]),
            files=tuple(dict.fromkeys(by_year[year][1] for year in years)),
        )
    return out


def _fmt(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"
