"""Figures, tables and files of ``innosim backtest``, in Chinese or English.

* ``pit_chart``: histogram of the PIT values with the uniform count of a calibrated forecast
  and its 95 % binomial range.
* ``variable_chart``: one scored variable: the observations (±2 sd) and, per origin, the
  forecast median and 5-95 % band from the origin on.
* ``console_lines``, ``render_backtest``: the summary for the terminal and the HTML page.
* ``write_backtest_outputs``: ``backtest.csv``, ``coverage.csv``, ``backtest.json``, the
  figures and ``backtest.html``, written all or nothing.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
import markupsafe
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from sim.analysis.forecast_scores import COVERAGE_COLUMNS, OVERALL, pit_histogram_counts
from sim.atomic import staged_output_dir
from sim.report.console import format_table
from sim.report.figures import figure_png, plot_observations
from sim.report.fonts import use_cjk_font
from sim.report.html import REPORT_STYLE, format_number, format_percent
from sim.results import slug
from sim.scenario import Language

if TYPE_CHECKING:
    from sim.workflows.backtest import Backtest

BACKTEST_CSV = "backtest.csv"
COVERAGE_CSV = "coverage.csv"
BACKTEST_JSON = "backtest.json"
BACKTEST_HTML = "backtest.html"
PIT_FIGURE = "pit.png"
#: Bins of the PIT histogram.
PIT_BINS = 10

TEXT = {
    "zh": {
        "lang": "zh-CN",
        "title": "回测：{scenario}",
        "coverage": "{total} 个预留观测中有 {inside90} 个落在 90% 预测区间内，{inside50} 个落在 "
        "50% 区间内",
        "origin_line": "预测起点 {origin}：{method}，有效样本量 {ess:.0f}（共 {draws} 次抽样），"
        "以 {conditioned} 个观测为条件，评分 {scored} 个",
        "origin_failed": "预测起点 {origin} 失败：{error}",
        "importance": "重要性加权",
        "tempering": "逐年似然退火序贯蒙特卡洛",
        "prior": "先验（起点前无观测）",
        "failed": "失败",
        "origin": "预测起点",
        "variable": "变量",
        "year": "年份",
        "units": "单位",
        "observed": "观测值",
        "sd": "标准差",
        "median": "中位数",
        "band": "5–95% 区间",
        "pit": "PIT",
        "inside_50": "在 50% 区间内",
        "inside_90": "在 90% 区间内",
        "crps": "CRPS",
        "crps_relative": "相对 CRPS",
        "n_scored": "评分数",
        "mean_crps": "平均 CRPS",
        "mean_crps_relative": "平均相对 CRPS",
        "all": "全部",
        "yes": "是",
        "no": "否",
        "by_origin": "按预测起点汇总",
        "by_variable": "按变量汇总",
        "scores": "逐项评分",
        "figures": "图",
        "notes": "说明",
        "method": "方法说明",
        "method_text": (
            "对每个预测起点，用不晚于该年的观测对情景的不确定参数进行条件化（高斯似然，方法同"
            "“校准”），模拟条件化后的集合，并对起点之后的每个观测评分：加权中位数与 5–95% "
            "分位数；PIT 值（预测分布中低于观测值的加权比例，相等计一半；校准良好的预测下应"
            "近似均匀分布）；观测是否落在 25–75% 和 5–95% 区间内；CRPS（连续分级概率评分，"
            "E|X−y| − ½E|X−X′|，对加权样本精确计算，单位同变量，越小越好）及其相对于观测值"
            "的比值（可跨变量比较）。区间是模型值的区间，不含观测的测量误差（标准差列供参考）。"
            "驱动变量的观测在所给各年均作为数据代入，不评分。"
        ),
        "provenance": "运行信息",
        "synthetic": "注意：部分观测数据为合成数据（SYNTHETIC），仅供演示，不是真实统计。",
        "pit_title": "PIT 直方图（{n} 个预留观测）",
        "pit_x": "PIT（预测分布低于观测值的概率）",
        "pit_y": "观测个数",
        "uniform": "均匀分布（校准良好）",
        "uniform_range": "校准良好时的 95% 范围",
        "observed_points": "观测值 ±2 标准差",
        "forecast_median": "自 {origin} 年起的预测中位数",
        "forecast_band": "自 {origin} 年起的 5–95% 区间",
    },
    "en": {
        "lang": "en",
        "title": "Backtest: {scenario}",
        "coverage": "{inside90} of {total} held-out observations inside the 90 % band, "
        "{inside50} inside the 50 % band",
        "origin_line": "origin {origin}: {method}, effective sample size {ess:.0f} of {draws} "
        "draws, conditioned on {conditioned} observation(s), {scored} scored",
        "origin_failed": "origin {origin} failed: {error}",
        "importance": "importance weighting",
        "tempering": "sequential Monte Carlo through the observed years",
        "prior": "prior (nothing observed up to the origin)",
        "failed": "failed",
        "origin": "Origin",
        "variable": "Variable",
        "year": "Year",
        "units": "Units",
        "observed": "Observed",
        "sd": "sd",
        "median": "Median",
        "band": "5–95 % band",
        "pit": "PIT",
        "inside_50": "In 50 % band",
        "inside_90": "In 90 % band",
        "crps": "CRPS",
        "crps_relative": "Relative CRPS",
        "n_scored": "Scored",
        "mean_crps": "Mean CRPS",
        "mean_crps_relative": "Mean relative CRPS",
        "all": "all",
        "yes": "yes",
        "no": "no",
        "by_origin": "By origin",
        "by_variable": "By variable",
        "scores": "Scores",
        "figures": "Figures",
        "notes": "Notes",
        "method": "Method",
        "method_text": (
            "For each origin, the scenario's uncertain parameters are conditioned on the "
            "observations up to that year (Gaussian likelihood, as in calibrate), the "
            "conditioned ensemble is simulated and every later observation is scored: weighted "
            "median and 5–95 % quantiles; the PIT value (the forecast's weighted probability "
            "below the observation, ties half; uniform over many observations of a calibrated "
            "forecast); whether the observation lies in the 25–75 % and 5–95 % bands; the CRPS "
            "(continuous ranked probability score, E|X−y| − ½E|X−X′|, exact for the weighted "
            "sample, in the variable's units, smaller is better) and its ratio to the "
            "observation (comparable across variables). The bands are of the model value and "
            "leave out the observation's measurement error (the sd column, for reference). "
            "Observations of drivers are imposed as data in every year given, not scored."
        ),
        "provenance": "Provenance",
        "synthetic": "Note: some observations are SYNTHETIC (made up for a demonstration), "
        "not statistics.",
        "pit_title": "PIT histogram ({n} held-out observations)",
        "pit_x": "PIT (forecast probability below the observation)",
        "pit_y": "observations",
        "uniform": "uniform (calibrated)",
        "uniform_range": "95 % range if calibrated",
        "observed_points": "observed ±2 sd",
        "forecast_median": "forecast from {origin}: median",
        "forecast_band": "forecast from {origin}: 5–95 %",
    },
}


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
    lines = [*origin_lines(result, lang), coverage_line(result.table, lang), ""]
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


_TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!DOCTYPE html>
<html lang="{{ t.lang }}">
<head>
<meta charset="utf-8">
<title>{{ title }}</title>
<style>{{ style }}</style>
</head>
<body>
<h1>{{ title }}</h1>
{% if synthetic %}<p class="warning">{{ t.synthetic }}</p>{% endif %}
<p><strong>{{ coverage }}</strong></p>
<ul>{% for line in origins %}<li>{{ line }}</li>{% endfor %}</ul>
<h2>{{ t.by_origin }}</h2>
<table><tr><th>{{ t.origin }}</th><th>{{ t.n_scored }}</th><th>{{ t.inside_50 }}</th>
<th>{{ t.inside_90 }}</th><th>{{ t.mean_crps_relative }}</th></tr>
{% for row in by_origin %}<tr><td>{{ row.key }}</td><td class="num">{{ row.n }}</td>
<td class="num">{{ row.inside_50 }}</td><td class="num">{{ row.inside_90 }}</td>
<td class="num">{{ row.mean_crps_relative }}</td></tr>
{% endfor %}</table>
<h2>{{ t.by_variable }}</h2>
<table><tr><th>{{ t.variable }}</th><th>{{ t.units }}</th><th>{{ t.n_scored }}</th>
<th>{{ t.inside_50 }}</th><th>{{ t.inside_90 }}</th><th>{{ t.mean_crps }}</th>
<th>{{ t.mean_crps_relative }}</th></tr>
{% for row in by_variable %}<tr><td>{{ row.key }}</td><td>{{ row.units }}</td>
<td class="num">{{ row.n }}</td><td class="num">{{ row.inside_50 }}</td>
<td class="num">{{ row.inside_90 }}</td><td class="num">{{ row.mean_crps }}</td>
<td class="num">{{ row.mean_crps_relative }}</td></tr>
{% endfor %}</table>
<h2>{{ t.figures }}</h2>
<div class="fans">
{% for name, data in images %}<img alt="{{ name }}" src="data:image/png;base64,{{ data }}">
{% endfor %}
</div>
<h2>{{ t.scores }}</h2>
<table><tr><th>{{ t.origin }}</th><th>{{ t.variable }}</th><th>{{ t.year }}</th>
<th>{{ t.observed }}</th><th>{{ t.sd }}</th><th>{{ t.median }}</th><th>{{ t.band }}</th>
<th>{{ t.pit }}</th><th>{{ t.inside_50 }}</th><th>{{ t.inside_90 }}</th><th>{{ t.crps }}</th>
<th>{{ t.crps_relative }}</th></tr>
{% for row in scores %}<tr><td class="num">{{ row.origin }}</td><td>{{ row.variable }}</td>
<td class="num">{{ row.year }}</td><td class="num">{{ row.observed }}</td>
<td class="num">{{ row.sd }}</td><td class="num">{{ row.median }}</td>
<td class="num">{{ row.band }}</td><td class="num">{{ row.pit }}</td>
<td>{{ row.inside_50 }}</td><td>{{ row.inside_90 }}</td><td class="num">{{ row.crps }}</td>
<td class="num">{{ row.crps_relative }}</td></tr>
{% endfor %}</table>
<h2>{{ t.method }}</h2>
<p class="note">{{ t.method_text }}</p>
{% if notes %}<h2>{{ t.notes }}</h2>
<ul>{% for line in notes %}<li class="note">{{ line }}</li>{% endfor %}</ul>{% endif %}
<h2>{{ t.provenance }}</h2>
<table>
{% for key, value in provenance %}<tr><th>{{ key }}</th><td>{{ value }}</td></tr>
{% endfor %}
</table>
</body>
</html>
"""
)


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
    return _TEMPLATE.render(
        style=markupsafe.Markup(REPORT_STYLE),
        t=text,
        title=text["title"].format(scenario=scenario_title),
        synthetic=sources.astype(str).str.contains("SYNTHETIC").any(),
        coverage=coverage_line(result.table, lang),
        origins=origin_lines(result, lang),
        by_origin=_summary_rows(result.coverage, "origin", result, lang),
        by_variable=_summary_rows(result.by_variable, "variable", result, lang),
        images=[(name, base64.b64encode(data).decode("ascii")) for name, data in images.items()],
        scores=scores,
        notes=list(result.notes),
        provenance=provenance,
    )


def write_backtest_outputs(
    out_dir: Path,
    result: Backtest,
    figures: Mapping[str, Figure],
    html_for: Callable[[Mapping[str, bytes]], str],
) -> list[Path]:
    """Write ``backtest.csv``, ``coverage.csv``, ``backtest.json``, the figures and
    ``backtest.html`` into ``out_dir`` (staged: all or nothing). ``html_for`` is called with
    ``{file name: PNG bytes}`` and returns the HTML."""
    with staged_output_dir(out_dir) as stage:
        result.table.to_csv(stage / BACKTEST_CSV, index=False)
        coverage_table(result).to_csv(stage / COVERAGE_CSV, index=False)
        (stage / BACKTEST_JSON).write_text(
            json.dumps(result.provenance, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        images = {}
        for name, figure in figures.items():
            png = figure_png(figure)
            (stage / name).write_bytes(png)
            images[name] = png
        (stage / BACKTEST_HTML).write_text(html_for(images), encoding="utf-8")
        names = sorted(path.name for path in stage.iterdir())
    return [Path(out_dir) / name for name in names]
