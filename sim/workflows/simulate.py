"""One deterministic run of the model with its default parameters, read against the targets:
the workflow of ``innosim simulate`` (``deterministic_run``)."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sim.engine import TimePath
from sim.provenance import provenance
from sim.report.console import display_width
from sim.report.fonts import use_cjk_font
from sim.report.i18n import translations
from sim.scenario import Language, Target
from sim.vensim import run_yearly

#: Length of a Five-Year Plan: the table starts at the plan's base year (target year - 5).
PLAN_PERIOD_YEARS = 5

PNG_NAME = "simulate.png"
CSV_NAME = "simulate.csv"
#: Resolution of ``simulate.png`` (dots per inch).
PNG_DPI = 110

TEXT = translations("simulate")


def target_variables(targets: Sequence[Target]) -> list[str]:
    """The distinct model variables the targets refer to, in order of first use."""
    return list(dict.fromkeys(target.variable for target in targets))


def run_default(
    targets: Sequence[Target],
    model: str | Path | None = None,
    exogenous: Mapping[str, TimePath] | None = None,
) -> pd.DataFrame:
    """Run the model once with its default parameters (PySD).

    Args:
        targets: the targets whose variables are reported.
        model: the ``.mdl`` file (default: the project's model).
        exogenous: yearly series replacing constants, e.g. a scenario's drivers and paths on
            their central values (``sim.engine.ensemble.central_exogenous``).

    Returns:
        Yearly values (index ``year``) of every target variable (columns, Vensim names), in
        the model's units, for the whole simulated horizon.
    """
    params = {
        name: pd.Series(list(path.values), index=list(path.times))
        for name, path in (exogenous or {}).items()
    }
    return run_yearly(target_variables(targets), path=model, params=params)


def table_years(targets: Sequence[Target]) -> list[int]:
    """Years shown in the indicator table: the plan's base year to the last target year."""
    last = max(target.year for target in targets)
    return list(range(last - PLAN_PERIOD_YEARS, last + 1))


def row_decimals(threshold: float) -> int:
    """Decimals for one indicator's row, chosen from its (display) threshold.

    Thresholds of 100 or more show whole numbers, 10 to 100 one decimal, smaller ones as
    many decimals as the threshold itself needs (at least two, at most three).
    """
    magnitude = abs(threshold)
    if magnitude >= 100:
        return 0
    if magnitude >= 10:
        return 1
    written = f"{magnitude:.3f}".rstrip("0")
    return max(2, len(written.split(".")[1]))


def format_number(value: float, decimals: int) -> str:
    """``value`` with ``decimals`` decimals and thousands separators; NaN as ``–``."""
    if math.isnan(value):
        return "–"
    return f"{value:,.{decimals}f}"


def _value(results: pd.DataFrame, variable: str, year: int) -> float:
    if year in results.index:
        return float(results.at[year, variable])
    return math.nan


def indicator_table(
    results: pd.DataFrame,
    targets: Sequence[Target],
    lang: Language,
    years: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Each target's variable by year beside its target, in display units and words.

    Args:
        results: yearly values from ``run_default``.
        targets: the targets, one table row each.
        lang: language of labels and words (``"zh"`` or ``"en"``).
        years: columns to show (default ``table_years(targets)``); years outside the run
            show ``–``.

    Returns:
        A DataFrame of strings: indicator, unit, one column per year, the target
        (e.g. ``≥ 300``) and whether the run's value in the target year meets it.
    """
    text = TEXT[lang]
    years = list(years) if years is not None else table_years(targets)
    last = max(target.year for target in targets)
    rows = []
    for target in targets:
        row = {text["indicator"]: target.label.text(lang), text["unit"]: target.unit.text(lang)}
        decimals = row_decimals(target.display(target.threshold))
        for year in years:
            value = target.display(_value(results, target.variable, year))
            row[str(year)] = format_number(value, decimals)
        threshold = format_number(target.display(target.threshold), decimals)
        met = target.is_met(_value(results, target.variable, target.year))
        year_note = "" if target.year == last else f" ({target.year})"
        row[text["target"].format(year=last)] = f"{target.symbol} {threshold}{year_note}"
        row[text["met"].format(year=last)] = text["yes"] if met else text["no"]
        rows.append(row)
    return pd.DataFrame(rows)


def _panel_title(target: Target, lang: Language, max_width: int = 40) -> str:
    """``label (unit)``; the unit goes on its own line when the title is too wide."""
    label, unit = target.label.text(lang), target.unit.text(lang)
    one_line = f"{label} ({unit})"
    if display_width(one_line) <= max_width:
        return one_line
    if lang == "en":
        label = textwrap.fill(label, max_width)
    return f"{label}\n({unit})"


def plot_targets(
    results: pd.DataFrame, targets: Sequence[Target], lang: Language, title: str
) -> Figure:
    """Small multiples: one panel per target, the run as a line, the target as a marker."""
    use_cjk_font()
    text = TEXT[lang]
    ncols = min(4, len(targets))
    nrows = math.ceil(len(targets) / ncols)
    figure = Figure(figsize=(4.2 * ncols, 3.0 * nrows + 0.8), layout="constrained")
    axes = figure.subplots(nrows, ncols, squeeze=False).ravel()
    years = results.index.to_numpy()
    for axis, target in zip(axes, targets, strict=False):
        values = results[target.variable].to_numpy() * target.scale
        axis.plot(years, values, color="tab:blue", label=text["run"])
        axis.plot(
            [target.year],
            [target.display(target.threshold)],
            marker="*",
            markersize=12,
            linestyle="none",
            color="tab:red",
            label=text["target"].format(year=target.year),
        )
        axis.set_title(_panel_title(target, lang), fontsize=9)
        axis.set_xlabel(text["year"], fontsize=8)
        axis.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        axis.tick_params(labelsize=8)
        axis.grid(alpha=0.3)
    for axis in axes[len(targets) :]:
        axis.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=9)
    figure.suptitle(title, fontsize=12)
    return figure


def simulation_csv(results: pd.DataFrame) -> str:
    """``simulate.csv``: one row per year (column ``year``), one column per target variable,
    values in model units to six significant digits."""
    return results.to_csv(float_format="%.6g")


@dataclass(frozen=True)
class DeterministicRunReport:
    """What ``deterministic_run`` computed and wrote.

    Attributes:
        results: yearly values of the target variables (``run_default``).
        table: the indicator table (``indicator_table``).
        console: the indicator table as text.
        written: the files written, sorted by name.
    """

    results: pd.DataFrame
    table: pd.DataFrame
    console: str
    written: list[Path]


def deterministic_run(
    scenario: Path,
    out_dir: Path,
    *,
    lang: Language = "zh",
    model: str | Path | None = None,
) -> DeterministicRunReport:
    """``innosim simulate``: run the model once with its defaults, the scenario's drivers as
    observed and its paths on their central values (``run_default``), and write
    ``simulate.csv`` (``simulation_csv``), ``simulate.png`` (``plot_targets``) and
    ``provenance.json`` into ``out_dir`` (``sim.report.writer.write_outputs``).

    Raises ``InnosimError`` for a bad scenario or model (nothing is written then).
    """
    from sim.engine import compile_model
    from sim.engine.ensemble import central_exogenous
    from sim.report.console import format_table
    from sim.report.figures import figure_png
    from sim.report.writer import write_outputs
    from sim.scenario import load_scenario
    from sim.vensim import default_model_path, model_sha256

    resolved = load_scenario(scenario, model=model)
    targets = resolved.targets
    exogenous = central_exogenous(resolved, compile_model(model)) if resolved.exogenous() else {}
    results = run_default(targets, model=model, exogenous=exogenous)
    table = indicator_table(results, targets, lang)
    figure = plot_targets(
        results, targets, lang, TEXT[lang]["title"].format(scenario=scenario.stem)
    )
    files = {CSV_NAME: simulation_csv(results), PNG_NAME: figure_png(figure, dpi=PNG_DPI)}
    record = provenance(
        "simulate",
        scenario=resolved,
        model=Path(model) if model is not None else default_model_path(),
        model_sha256=model_sha256(model),
    )
    written = write_outputs(out_dir, files, record, lang=lang, model=model)
    return DeterministicRunReport(results, table, format_table(table), written)
