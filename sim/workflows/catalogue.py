"""What a scenario offers, as planners write it: the workflows of ``innosim levers``
(``lever_catalogue``) and ``innosim targets`` (``target_catalogue``).

Each lists the names ``--lever`` and ``--target`` accept (``sim.scenario.names``), with the
Chinese and English labels, units in the chosen language, current values (shares as
percentages, ``sim.report.quantities``) and, for a lever, its plausible policy range (its Vensim
range, ``sim.scenario.levers.LeverInfo``) and the constraint it belongs to. Nothing is run and
nothing is written; ``table`` keeps the model's units (the column ``units`` says which) for
``--format csv``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sim.report.console import format_table
from sim.report.i18n import translations
from sim.report.quantities import format_quantity, shown_as_percent, unit_text
from sim.scenario import Language, Scenario, load_scenario
from sim.scenario.levers import LeverInfo, current_value, lever_info
from sim.vensim.catalogue import ModelInfo, model_info

TEXT = translations("catalogue")


@dataclass(frozen=True)
class CatalogueReport:
    """What ``innosim levers`` or ``innosim targets`` prints.

    Attributes:
        text: the table in the chosen language, with the notes on the names accepted.
        table: one row per lever or target, values in model units (``units`` column).
        written: files written (none: the commands only print).
    """

    text: str
    table: pd.DataFrame
    written: list[Path] = field(default_factory=list)


def lever_quantity(value: float, units: str, lang: Language) -> str:
    """A lever's value as a person reads it: a share as a percentage, a rate per year as
    ``%/年``, a date as a year, anything else with its units (``format_quantity``)."""
    if value is None or not math.isfinite(value):
        return TEXT[lang]["open"]
    return format_quantity(value, units, lang)


def _units_text(units: str, lang: Language) -> str:
    return TEXT[lang]["dimensionless"] if shown_as_percent(units) else unit_text(units, lang)


def _lever(scenario: Scenario, name: str, info: ModelInfo) -> LeverInfo:
    """The lever's description (``lever_info``); a lever that replaces an auxiliary (not a
    constant, so no ``--lever``) is described from the model alone."""
    doc = info.docs[name]
    if doc.kind == "constant":
        return lever_info(scenario, name, info.path)
    return LeverInfo(
        name=name,
        value=current_value(scenario, name, info.path) if name in info.defaults else math.nan,
        limits=doc.limits,
        units=doc.units,
        label_zh=doc.label_zh,
        model_file=info.path.name,
    )


def _value_text(scenario: Scenario, lever: LeverInfo, lang: Language) -> str:
    setting = scenario.levers[lever.name]
    if setting.path is None:
        return lever_quantity(lever.value, lever.units, lang)
    points = ", ".join(
        f"{year}: {lever_quantity(value, lever.units, lang)}"
        for year, value in sorted(setting.path.items())
    )
    return TEXT[lang]["path"].format(points=points)


def _range_text(lever: LeverInfo, lang: Language) -> str:
    """``0 – 10 %``: the plausible policy range, the unit written once when both ends share it."""
    low, high = (
        lever_quantity(math.nan if v is None else v, lever.units, lang) for v in lever.limits
    )
    low_parts, high_parts = low.split(maxsplit=1), high.split(maxsplit=1)
    if len(low_parts) == 2 and low_parts[1:] == high_parts[1:]:
        low = low_parts[0]
    return f"{low} – {high}"


def _constraints(scenario: Scenario, name: str) -> list[str]:
    return [c.name for c in scenario.constraints if name in c.sum]


def lever_catalogue(
    path: str | Path, *, lang: Language = "zh", model: str | Path | None = None
) -> CatalogueReport:
    """``innosim levers``: the scenario's levers (``scenario.levers``, in the file's order)
    with their labels, units, current values, plausible policy ranges and constraints.

    Raises:
        ScenarioError: a bad scenario file; ModelError: an unreadable model.
    """
    scenario = load_scenario(path, model=model)
    info = model_info(model)
    words = TEXT[lang]
    levers = [_lever(scenario, name, info) for name in scenario.levers]
    shown = pd.DataFrame(
        {
            words["lever"]: [lever.name for lever in levers],
            words["label_zh"]: [lever.label_zh or words["none"] for lever in levers],
            words["value"]: [_value_text(scenario, lever, lang) for lever in levers],
            words["plausible_range"]: [_range_text(lever, lang) for lever in levers],
            words["units"]: [_units_text(lever.units, lang) or words["none"] for lever in levers],
            words["constraint"]: [
                ", ".join(_constraints(scenario, lever.name)) or words["none"] for lever in levers
            ],
        }
    )
    table = pd.DataFrame(
        {
            "lever": [lever.name for lever in levers],
            "label_zh": [lever.label_zh for lever in levers],
            "units": [lever.units for lever in levers],
            "value": [lever.value for lever in levers],
            "plausible_min": [lever.limits[0] for lever in levers],
            "plausible_max": [lever.limits[1] for lever in levers],
            "constraint": [" ".join(_constraints(scenario, lever.name)) for lever in levers],
        }
    )
    title = words["levers_title"].format(scenario=scenario.path.name, count=len(levers))
    text = "\n".join([title, "", format_table(shown), "", words["names_note"]])
    return CatalogueReport(text=text, table=table)


def _threshold_text(value: float, scale: float, unit: str, symbol: str) -> str:
    shown = value * scale
    number = f"{shown:,.0f}" if float(shown).is_integer() else f"{shown:,.6g}"
    return f"{symbol} {number} {unit}".rstrip()


def target_catalogue(
    path: str | Path, *, lang: Language = "zh", model: str | Path | None = None
) -> CatalogueReport:
    """``innosim targets``: the scenario's targets with their ids, Chinese and English
    labels, model variables, years, thresholds (in the target's display unit and scale) and
    sources.

    Raises:
        ScenarioError: a bad scenario file; ModelError: an unreadable model.
    """
    scenario = load_scenario(path, model=model)
    info = model_info(model)
    words = TEXT[lang]
    targets = scenario.targets
    shown = pd.DataFrame(
        {
            words["target"]: [t.name for t in targets],
            words["label_zh"]: [t.label.zh for t in targets],
            words["label_en"]: [t.label.en for t in targets],
            words["variable"]: [t.variable for t in targets],
            words["year"]: [str(t.year) for t in targets],
            words["threshold"]: [
                _threshold_text(t.threshold, t.scale, t.unit.text(lang), t.symbol) for t in targets
            ],
        }
    )
    table = pd.DataFrame(
        {
            "target": [t.name for t in targets],
            "label_zh": [t.label.zh for t in targets],
            "label_en": [t.label.en for t in targets],
            "variable": [t.variable for t in targets],
            "units": [info.docs[t.variable].units for t in targets],
            "year": [t.year for t in targets],
            "direction": [t.direction for t in targets],
            "threshold": [t.threshold for t in targets],
            "source": [t.source for t in targets],
        }
    )
    title = words["targets_title"].format(scenario=scenario.path.name, count=len(targets))
    sources = [words["sources"], *(f"  {t.name}: {t.source}" for t in targets)]
    lines = [title, "", format_table(shown), "", *sources, "", words["targets_note"]]
    return CatalogueReport(text="\n".join(lines), table=table)


def catalogue_csv(report: CatalogueReport) -> str:
    """The report's table as CSV (model units; the ``units`` column names them)."""
    return report.table.to_csv(index=False)
