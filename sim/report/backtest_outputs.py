"""Figures, tables and files of ``innosim backtest``, in Chinese or English.

* ``pit_chart``: histogram of the PIT values with the uniform count of a calibrated forecast
  and its 95 % binomial range.
* ``variable_chart``: one scored variable: the observations (±2 sd) and, per origin, the
  forecast median and 5-95 % band from the origin on.
* ``backtest_answer``: the verdict in a sentence (``coverage_verdict``: the 90 % band's
  coverage against the binomial range of a calibrated forecast).
* ``console_lines``, ``render_backtest``: the summary for the terminal and the HTML page,
  both opening with the verdict.
* ``backtest_files``: ``backtest.csv``, ``coverage.csv``, ``backtest.json``, the figures and
  ``backtest.html`` by name, for ``sim.report.writer.write_outputs``.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.forecast_scores import COVERAGE_COLUMNS, OVERALL, pit_histogram_counts
from sim.report.console import format_table
from sim.report.figures import figure_png, plot_observations
from sim.report.fonts import use_cjk_font
from sim.report.html import format_number, format_percent, render_page
from sim.report.i18n import translations
from sim.results import slug
from sim.scenario import Language

if TYPE_CHECKING:
    from sim.report.writer import Output
    from sim.workflows.backtest import Backtest

BACKTEST_CSV = "backtest.csv"
COVERAGE_CSV = "coverage.csv"
BACKTEST_JSON = "backtest.json"
BACKTEST_HTML = "backtest.html"
PIT_FIGURE = "pit.png"
#: Bins of the PIT histogram.
PIT_BINS = 10

TEXT = translations("backtest")


def variable_label(name: str, attributes: Mapping[str, Mapping[str, str]], lang: Language) -> str:
    """Display name of a variable: its Chinese label in ``zh`` (when known), else its name."""
    label_zh = attributes.get(name, {}).get("label_zh", "")
    return label_zh if lang == "zh" and label_zh else name


def variable_file(name: str) -> str:
    """File name of the chart of variable ``name``."""
    return f"backtest_{slug(name)}.png"


def coverage_line(table: pd.DataFrame, lang: Language) -> str:
    """ "n of m held-out observations inside the 90 % band, k inside the 50 % band"."""
    return TEXT[lang]["coverage"].format(
        inside90=int(table["inside_90"].sum()),
        inside50=int(table["inside_50"].sum()),
        total=len(table),
    )


#: The band whose coverage the verdict judges, and its nominal coverage.
VERDICT_BAND = 0.9
#: Two-sided probability of the binomial range a calibrated forecast's count falls in.
VERDICT_RANGE = 0.95


def coverage_verdict(
    inside: int, total: int, nominal: float = VERDICT_BAND
) -> tuple[str, int, int]:
    """Whether ``inside`` of ``total`` held-out observations inside the ``nominal`` band is
    what a calibrated forecast gives: ``calibrated`` when the count lies in the central
    ``VERDICT_RANGE`` binomial range of ``Binomial(total, nominal)``, ``too_narrow`` below it
    (the bands are overconfident), ``too_wide`` above it; with the range's ends."""
    from scipy import stats  # here: importing it costs a run that never gives a verdict

    tail = (1 - VERDICT_RANGE) / 2
    low, high = (int(v) for v in stats.binom.ppf([tail, 1 - tail], total, nominal))
    if inside < low:
        return "too_narrow", low, high
    if inside > high:
        return "too_wide", low, high
    return "calibrated", low, high


def backtest_answer(table: pd.DataFrame, lang: Language) -> str:
    """The backtest's verdict in a sentence: how many held-out observations fall inside the
    90 % band against the range a calibrated forecast gives (``coverage_verdict``)."""
    text = TEXT[lang]
    total = len(table)
    if total == 0:
        return text["verdict_none"]
    inside = int(table["inside_90"].sum())
    verdict, low, high = coverage_verdict(inside, total)
    return text["verdict"].format(
        inside=inside,
        total=total,
        share=format_percent(inside / total),
        low=low,
        high=high,
        verdict=text[f"verdict_{verdict}"],
    )


def origin_lines(result: Backtest, lang: Language) -> list[str]:
    """One line per origin: the method, ESS and counts, or why it failed."""
    text = TEXT[lang]
    lines = []
    for item in result.origins:
        if item.failed:
            lines.append(text["origin_failed"].format(origin=item.origin, error=item.error))
            continue
        lines.append(
            text["origin_line"].format(
                origin=item.origin,
                method=text[item.method],
                ess=item.ess,
                draws=result.settings.draws,
                conditioned=item.conditioned,
                scored=item.scored,
            )
        )
    return lines


# --- figures -----------------------------------------------------------------------------------


def pit_chart(
    quantiles: Sequence[float] | np.ndarray, lang: Language, bins: int = PIT_BINS
) -> Figure:
    """Histogram of the PIT values (counts in ``bins`` equal bins of [0, 1]) with the count a
    calibrated forecast gives, ``n / bins``, and its 95 % binomial range."""
    use_cjk_font()
    text = TEXT[lang]
    values = np.asarray(quantiles, dtype=float)
    counts = pit_histogram_counts(values, bins)
    n = int(values.size)
    edges = np.linspace(0.0, 1.0, bins + 1)
    figure = Figure(figsize=(6.0, 3.8), layout="constrained")
    axes = figure.subplots()
    from scipy import stats  # here: importing it costs a run that never draws this chart

    low, high = stats.binom.ppf([0.025, 0.975], n, 1.0 / bins)
    axes.axhspan(low, high, color="0.85", label=text["uniform_range"])
    axes.bar(
        edges[:-1], counts, width=1.0 / bins, align="edge", color="tab:blue", edgecolor="white"
    )
    axes.axhline(n / bins, color="black", linestyle="--", linewidth=1, label=text["uniform"])
    axes.set_xlim(0, 1)
    axes.set_xlabel(text["pit_x"])
    axes.set_ylabel(text["pit_y"])
    axes.set_title(text["pit_title"].format(n=n))
    axes.legend(fontsize="small", loc="best")
    axes.grid(alpha=0.3, axis="y")
    return figure


def variable_chart(
    name: str,
    observations: pd.DataFrame,
    bands: pd.DataFrame,
    attributes: Mapping[str, Mapping[str, str]],
    lang: Language,
) -> Figure:
    """The observations of ``name`` (±2 sd) and, for each origin, the forecast's median and
    5-95 % band from the origin to the last scored year (one colour per origin, a dotted line
    at the origin)."""
    use_cjk_font()
    text = TEXT[lang]
    figure = Figure(figsize=(6.4, 4.0), layout="constrained")
    axes = figure.subplots()
    mine = bands[bands["variable"] == name]
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]
    for index, (origin, part) in enumerate(mine.groupby("origin", sort=True)):
        colour = colours[index % len(colours)]
        axes.fill_between(
            part["year"],
            part["p05"],
            part["p95"],
            color=colour,
            alpha=0.25,
            linewidth=0,
            label=text["forecast_band"].format(origin=origin),
        )
        axes.plot(
            part["year"],
            part["median"],
            color=colour,
            label=text["forecast_median"].format(origin=origin),
        )
        axes.axvline(origin, color=colour, linestyle=":", linewidth=1)
    plot_observations(axes, observations, name, text["observed_points"])
    units = attributes.get(name, {}).get("units", "")
    title = variable_label(name, attributes, lang)
    axes.set_title(f"{title} ({units})" if units else title)
    axes.set_xlabel(text["year"])
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small", loc="best")
    return figure


def backtest_figures(result: Backtest, lang: Language) -> dict[str, Figure]:
    """The figures by file name: the PIT histogram and one chart per scored variable."""
    figures = {PIT_FIGURE: pit_chart(result.table["quantile"].to_numpy(), lang)}
    for name in dict.fromkeys(result.table["variable"]):
        figures[variable_file(name)] = variable_chart(
            name, result.observations, result.bands, result.attributes, lang
        )
    return figures


# --- tables and text -----------------------------------------------------------------------------


def coverage_table(result: Backtest) -> pd.DataFrame:
    """``coverage.csv``: one row per origin (``variable`` = ``all``), one per variable
    (``origin`` = ``all``) and the overall row (both ``all``)."""
    by_origin = result.coverage.assign(variable=OVERALL)
    by_variable = result.by_variable.assign(origin=OVERALL)
    parts = [
        by_origin[by_origin["origin"] != OVERALL],
        by_variable[by_variable["variable"] != OVERALL],
        by_origin[by_origin["origin"] == OVERALL],
    ]
    return pd.concat(parts, ignore_index=True)[["origin", "variable", *COVERAGE_COLUMNS]]


def _number(value: float | None) -> str:
    """A value for display: thousands whole, smaller ones to 3 significant digits."""
    if value is None or not math.isfinite(float(value)):
        return "—"
    value = float(value)
    return format_number(value) if abs(value) >= 100 else f"{value:.3g}"


def _summary_rows(summary: pd.DataFrame, key: str, result: Backtest, lang: Language) -> list[dict]:
    text = TEXT[lang]
    rows = []
    for record in summary.to_dict("records"):
        name = record[key]
        if name == OVERALL:
            shown = text["all"]
        elif key == "variable":
            shown = variable_label(str(name), result.attributes, lang)
        else:
            shown = str(name)
        units = result.attributes.get(str(name), {}).get("units", "") if key == "variable" else ""
        rows.append(
            {
                "key": shown,
                "units": units,
                "n": int(record["n_scored"]),
                "inside_50": f"{int(record['n_inside_50'])} "
                f"({format_percent(record['share_inside_50'])})",
                "inside_90": f"{int(record['n_inside_90'])} "
                f"({format_percent(record['share_inside_90'])})",
                "mean_crps": _number(record["mean_crps"]) if key == "variable" else "—",
                "mean_crps_relative": _number(record["mean_crps_relative"]),
            }
        )
    return rows


def console_lines(result: Backtest, lang: Language) -> list[str]:
    """The summary for the terminal: origins, the coverage line, tables by origin and by
    variable (mean CRPS in each variable's units)."""
    text = TEXT[lang]
    lines = [
        backtest_answer(result.table, lang),
        *origin_lines(result, lang),
        coverage_line(result.table, lang),
        "",
    ]
    headers = {
        "key": text["origin"],
        "n": text["n_scored"],
        "inside_50": text["inside_50"],
        "inside_90": text["inside_90"],
        "mean_crps_relative": text["mean_crps_relative"],
    }
    by_origin = pd.DataFrame(_summary_rows(result.coverage, "origin", result, lang))
    lines.append(format_table(by_origin[list(headers)].rename(columns=headers)))
    lines.append("")
    headers = {
        "key": text["variable"],
        "units": text["units"],
        "n": text["n_scored"],
        "inside_90": text["inside_90"],
        "mean_crps": text["mean_crps"],
        "mean_crps_relative": text["mean_crps_relative"],
    }
    by_variable = pd.DataFrame(_summary_rows(result.by_variable, "variable", result, lang))
    lines.append(format_table(by_variable[list(headers)].rename(columns=headers)))
    return lines


def render_backtest(
    result: Backtest, images: Mapping[str, bytes], lang: Language, scenario_title: str
) -> str:
    """The HTML text of the backtest (self-contained: figures embedded)."""
    text = TEXT[lang]
    yes, no = text["yes"], text["no"]
    scores = [
        {
            "origin": row.origin,
            "variable": variable_label(row.variable, result.attributes, lang),
            "year": row.year,
            "observed": _number(row.observed),
            "sd": _number(row.sd),
            "median": _number(row.median),
            "band": f"{_number(row.p05)}–{_number(row.p95)}",
            "pit": f"{row.quantile:.2f}",
            "inside_50": yes if row.inside_50 else no,
            "inside_90": yes if row.inside_90 else no,
            "crps": _number(row.crps),
            "crps_relative": _number(row.crps_relative),
        }
        for row in result.table.itertuples(index=False)
    ]
    provenance = [
        (key, json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else value)
        for key, value in result.provenance.items()
        if key != "notes"
    ]
    sources = pd.concat([result.observations["source"], result.imposed["source"]])
    return render_page(
        "backtest.html.j2",
        lang,
        t=text,
        title=text["title"].format(scenario=scenario_title),
        synthetic=sources.astype(str).str.contains("SYNTHETIC").any(),
        answer=backtest_answer(result.table, lang),
        coverage=coverage_line(result.table, lang),
        origins=origin_lines(result, lang),
        by_origin=_summary_rows(result.coverage, "origin", result, lang),
        by_variable=_summary_rows(result.by_variable, "variable", result, lang),
        images=[(name, base64.b64encode(data).decode("ascii")) for name, data in images.items()],
        scores=scores,
        notes=list(result.notes),
        provenance=provenance,
    )


def backtest_files(
    result: Backtest,
    figures: Mapping[str, Figure],
    html_for: Callable[[Mapping[str, bytes]], str],
) -> dict[str, Output]:
    """``backtest.csv``, ``coverage.csv``, ``backtest.json`` (``result.provenance``), the
    figures (as PNG) and ``backtest.html`` by name, for ``sim.report.writer.write_outputs``.
    ``html_for`` is called with ``{file name: PNG bytes}`` and returns the HTML."""
    images = {name: figure_png(figure) for name, figure in figures.items()}
    return {
        BACKTEST_CSV: result.table,
        COVERAGE_CSV: coverage_table(result),
        BACKTEST_JSON: dict(result.provenance),
        **images,
        BACKTEST_HTML: html_for(images),
    }
