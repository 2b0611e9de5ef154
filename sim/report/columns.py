"""The column catalogue: what each column of the commands' tables is called in Chinese and
English and which unit its values are in; the CSV header that says it.

Files keep the model's units (shares and probabilities as fractions, money in ``CNY100M``
…). Their headers say which, one rule for every table (``csv_table``):

- a column whose values share one unit names it in brackets: ``probability [fraction]``,
  ``growth_needed [fraction/Year]``, a model variable's column ``High Tech Enterprises
  [Firm]`` (its Vensim units, as in ``simulate.csv``);
- columns whose rows differ in unit (a target's threshold: firms, 亿元/年 or a fraction) keep
  their bare name and sit beside a ``units`` column with each row's Vensim units, taken from
  the row's ``variable`` or ``parameter`` (``lever_units`` from its ``lever``); a table that
  already has its units column (``solve.csv``: ``units``, ``money_units``) keeps it;
- names, labels, years, counts, booleans and dimensionless indices (Sobol' indices, rank
  correlations, p-values) have no unit and keep their bare name.

The labels are the catalogue section ``columns`` (``translations/columns.yaml``); words of the
units that are not Vensim units (``fraction``, ``prior sd``) the section ``column_units``.
``COLUMN_UNITS`` gives the unit of each column name, ``TABLE_UNITS`` where one table's
column of that name differs. ``read_table`` reads a written CSV back with the bare names.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.report.i18n import text
from sim.report.quantities import is_dimensionless, unit_text
from sim.scenario import Language

#: Probabilities and shares: fractions (``0.0115``), shown as percentages (``1.15 %``).
FRACTION = "fraction"
#: A yearly rate of growth, as a fraction a year.
FRACTION_PER_YEAR = "fraction/Year"
#: Standard deviations of the prior (a standardised shift).
PRIOR_SD = "prior sd"
#: Standard deviations of an observation (a standardised residual).
SD = "sd"
#: Units of a column given row by row: ``"@<column>"`` names the column holding them.
ROW_UNITS = "@units"
ROW_LEVER_UNITS = "@lever_units"
ROW_MONEY_UNITS = "@money_units"

#: Unit of every column name the commands write (``None``: no unit, the bare name).
COLUMN_UNITS: dict[str, str | None] = {
    # names, labels, years and counts
    "target": None,
    "variable": None,
    "parameter": None,
    "other": None,
    "scenario": None,
    "lever": None,
    "share": None,
    "label_zh": None,
    "objective": None,
    "observation": None,
    "output": None,
    "direction": None,
    "status": None,
    "lever_status": None,
    "start_source": None,
    "path_rule": None,
    "plausible": None,
    "sampler": None,
    "seed": None,
    "money_variable": None,
    "money_years": None,
    "year": None,
    "last_year": None,
    "origin": None,
    "box": None,
    "draws": None,
    "n": None,
    "k": None,
    "restricted": None,
    "n_scored": None,
    "n_inside_50": None,
    "n_inside_90": None,
    "inside_50": None,
    "inside_90": None,
    "chosen": None,
    "suspect_structure": None,
    "units": None,
    "lever_units": None,
    "money_units": None,
    # effective sample sizes (draws)
    "ess": None,
    "economy_ess": None,
    "calibrated_ess": None,
    # dimensionless indices: not shares
    "S1": None,
    "S1_conf": None,
    "ST": None,
    "ST_conf": None,
    "mu": None,
    "mu_star": None,
    "mu_star_conf": None,
    "sigma": None,
    "hellinger": None,
    "prior_spearman": None,
    "posterior_spearman": None,
    "change": None,
    "qp_lower": None,
    "qp_upper": None,
    # probabilities, their intervals and differences, shares
    "probability": FRACTION,
    "prob_low": FRACTION,
    "prob_high": FRACTION,
    "difference": FRACTION,
    "diff_low": FRACTION,
    "diff_high": FRACTION,
    "level": FRACTION,
    "best_probability": FRACTION,
    "prior_probability": FRACTION,
    "prior_low": FRACTION,
    "prior_high": FRACTION,
    "prior_prob_low": FRACTION,
    "prior_prob_high": FRACTION,
    "calibrated_probability": FRACTION,
    "calibrated_prob_low": FRACTION,
    "calibrated_prob_high": FRACTION,
    "economy_probability": FRACTION,
    "economy_low": FRACTION,
    "economy_high": FRACTION,
    "lever_probability": FRACTION,
    "lever_prob_low": FRACTION,
    "lever_prob_high": FRACTION,
    "baseline": FRACTION,
    "baseline_low": FRACTION,
    "baseline_high": FRACTION,
    "best": FRACTION,
    "best_low": FRACTION,
    "best_high": FRACTION,
    "quantile": FRACTION,
    "share_inside_50": FRACTION,
    "share_inside_90": FRACTION,
    "crps_relative": FRACTION,
    "mean_crps_relative": FRACTION,
    "shortfall": FRACTION,
    "contraction": FRACTION,
    "coverage": FRACTION,
    "density": FRACTION,
    "mass": FRACTION,
    "lower_norm": FRACTION,
    "upper_norm": FRACTION,
    "growth_needed": FRACTION_PER_YEAR,
    "shift": PRIOR_SD,
    "closest_residual": SD,
    # values in the unit of the row's variable or parameter
    "threshold": ROW_UNITS,
    "median": ROW_UNITS,
    "p05": ROW_UNITS,
    "p95": ROW_UNITS,
    "last_value": ROW_UNITS,
    "start_value": ROW_UNITS,
    "path_value": ROW_UNITS,
    "observed": ROW_UNITS,
    "sd": ROW_UNITS,
    "predictive_sd": ROW_UNITS,
    "crps": ROW_UNITS,
    "mean_crps": ROW_UNITS,
    "value": ROW_UNITS,
    "measurement_sd": ROW_UNITS,
    "discrepancy_sd": ROW_UNITS,
    "closest_value": ROW_UNITS,
    "widened_sd": ROW_UNITS,
    "suggested_value": ROW_UNITS,
    "prior_mean": ROW_UNITS,
    "prior_p05": ROW_UNITS,
    "prior_p95": ROW_UNITS,
    "posterior_mean": ROW_UNITS,
    "posterior_p05": ROW_UNITS,
    "posterior_p95": ROW_UNITS,
    "lower": ROW_UNITS,
    "upper": ROW_UNITS,
    "sample_min": ROW_UNITS,
    "sample_max": ROW_UNITS,
    # solve.csv: the lever's values in its ``units`` column, money in ``money_units``
    "range_low": ROW_UNITS,
    "range_high": ROW_UNITS,
    "low": ROW_UNITS,
    "high": ROW_UNITS,
    "value_low": ROW_UNITS,
    "value_high": ROW_UNITS,
    "best_value": ROW_UNITS,
    "current_value": ROW_UNITS,
    "money_at": ROW_UNITS,  # the lever value the money is for (its amount, for a money lever)
    "money_per_year": ROW_MONEY_UNITS,
    "money_current_per_year": ROW_MONEY_UNITS,
    # assess.csv: the lever's values in the unit of its lever
    "lever_from": ROW_LEVER_UNITS,
    "lever_value": ROW_LEVER_UNITS,
    "lever_value_low": ROW_LEVER_UNITS,
    "lever_value_high": ROW_LEVER_UNITS,
}

#: Columns of one table (by file name pattern) whose unit differs from ``COLUMN_UNITS``.
TABLE_UNITS: dict[str, dict[str, str | None]] = {
    # shares of the innovation budget
    "budget.csv": {"lower": FRACTION, "upper": FRACTION},
}

#: The column holding a row's units, and the columns naming the row's model variable.
UNITS_SOURCES: dict[str, tuple[str, ...]] = {
    "units": ("variable", "parameter"),
    "lever_units": ("lever",),
}

_HEADER = re.compile(r"^(?P<name>.*?) \[(?P<unit>[^\[\]]*)\]$")


@dataclass(frozen=True)
class Column:
    """One column of a written table.

    Attributes:
        name: its name in the program (``probability``, ``High Tech Enterprises``).
        header: its CSV header (``probability [fraction]``).
        unit: ``None`` (no unit), a fixed unit (``fraction``, a Vensim unit string), or
            ``"@<column>"``: each row's unit is in that column.
        known: the catalogue labels it (or it is a model variable with a label).
        variable: it is a model variable's column (its ``unit`` the Vensim units).
    """

    name: str
    header: str
    unit: str | None
    known: bool
    variable: bool = False

    def label(self, lang: Language, labels: Mapping[str, str] | None = None) -> str:
        """The column's label in ``lang`` (the catalogue's, a model variable's Chinese label
        from ``labels``, or the name itself)."""
        if self.variable:
            return (labels or {}).get(self.name, self.name) if lang == "zh" else self.name
        return text(lang, "columns").get(self.name, self.name)


def column_unit(name: str, table: str = "") -> str | None:
    """The unit of column ``name`` in the table written as ``table`` (file name)."""
    for pattern, units in TABLE_UNITS.items():
        if fnmatch.fnmatchcase(table, pattern) and name in units:
            return units[name]
    return COLUMN_UNITS.get(name)


def is_catalogued(name: str) -> bool:
    """Whether column ``name`` has a label in the catalogue and a unit in ``COLUMN_UNITS``."""
    return name in COLUMN_UNITS and name in text("en", "columns")


def describe_columns(
    columns: Sequence[str], table: str = "", variable_units: Mapping[str, str] | None = None
) -> list[Column]:
    """The columns of a table written as ``table``, with their CSV headers. A name that is
    not catalogued but a model variable (``variable_units``: Vensim name → units) is the
    variable's column, its Vensim units in the header."""
    units = variable_units or {}
    described = []
    for name in columns:
        if is_catalogued(name):
            unit = column_unit(name, table)
            header = name if unit is None or unit.startswith("@") else f"{name} [{unit}]"
            described.append(Column(name, header, unit, known=True))
        elif name in units:
            unit = units[name]
            header = f"{name} [{unit}]" if unit else name
            described.append(Column(name, header, unit or None, known=True, variable=True))
        else:
            described.append(Column(name, name, None, known=False))
    return described


def with_row_units(
    table: pd.DataFrame, name: str = "", variable_units: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """``table`` with the units columns its per-row columns need (``units`` after the
    ``variable``/``parameter`` column, ``lever_units`` after ``lever``), each row the Vensim
    units of its variable (``""`` where unknown); a units column it has is kept."""
    units = variable_units or {}
    needed = {
        unit[1:]
        for column in table.columns
        if (unit := column_unit(str(column), name)) is not None and unit.startswith("@")
    }
    added = table
    for units_column in sorted(needed):
        if units_column in added.columns:
            continue
        source = next((c for c in UNITS_SOURCES.get(units_column, ()) if c in added.columns), None)
        if source is None:
            continue
        if added is table:
            added = table.copy()
        values = [units.get(str(value), "") for value in added[source]]
        added.insert(added.columns.get_loc(source) + 1, units_column, values)
    return added


def csv_table(
    table: pd.DataFrame, name: str = "", variable_units: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """``table`` as written to the CSV file ``name``: units columns added, each header saying
    its unit (the module's rule). The values are not changed."""
    added = with_row_units(table, name, variable_units)
    columns = describe_columns([str(c) for c in added.columns], name, variable_units)
    return added.set_axis([column.header for column in columns], axis=1)


def csv_header(columns: Sequence[str], name: str = "") -> list[str]:
    """The CSV header of a table with ``columns`` (catalogued names) written as ``name``,
    units columns included: ``csv_header(TARGET_COLUMNS)`` is ``targets.csv``'s header."""
    empty = pd.DataFrame(columns=list(columns))
    return [str(header) for header in csv_table(empty, name).columns]


def bare_name(header: str) -> str:
    """A CSV header without its unit (``probability [fraction]`` → ``probability``)."""
    match = _HEADER.match(header)
    return match.group("name") if match else header


def read_table(path: str | Path) -> pd.DataFrame:
    """A CSV file a command wrote, its columns named as in the program (units dropped from the
    headers; the units columns are kept)."""
    table = pd.read_csv(path)
    return table.rename(columns={header: bare_name(str(header)) for header in table.columns})


def unit_label(unit: str | None, lang: Language, *, percent: bool = False) -> str:
    """A column's or a row's unit as a person reads it in ``lang`` (``""`` for none):
    fractions as ``%``, Vensim units through ``sim.report.quantities.unit_text``."""
    if unit is None or unit.startswith("@"):
        return ""
    words = text(lang, "column_units")
    if unit == FRACTION or (percent and is_dimensionless(unit)):
        return words["percent"]
    if unit == FRACTION_PER_YEAR:
        return words["percent_per_year"]
    if unit == PRIOR_SD:
        return words["prior_sd"]
    if unit == SD:
        return words["sd"]
    return unit_text(unit, lang)
