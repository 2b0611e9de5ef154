"""The mid-term assessment report (``innosim assess``): table, charts and HTML, zh or en."""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import jinja2
import markupsafe
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from sim.analysis.importance_weighting import weighted_quantiles
from sim.analysis.plan_tracking import AT_RISK_MARGIN, plan_path
from sim.atomic import staged_output_dir
from sim.report.calibration_outputs import MISFITS_FILE
from sim.report.figures import figure_png
from sim.report.fonts import use_cjk_font
from sim.report.html import REPORT_STYLE, format_number, format_percent
from sim.results import variable
from sim.scenario import Language, Target

ASSESS_CSV = "assess.csv"
ASSESS_HTML = "assess.html"

TEXT = {
    "zh": {
        "lang": "zh-CN",
        "title": "规划中期评估（截至{as_of}年）：{scenario}",
        "indicator": "指标",
        "target": "目标",
        "last": "最新观测",
        "path": "规划路径值",
        "status": "进度",
        "prior": "先验达成概率",
        "economy": "仅据经济数据的达成概率",
        "probability": "基于观测的达成概率",
        "growth": "剩余年份所需年增长",
        "lever": "使概率 ≥ {goal} 的 {lever}",
        "on_track": "按计划推进",
        "at_risk": "存在风险",
        "off_track": "明显滞后",
        "no_data": "无观测",
        "already": "已达到",
        "unreachable": "在 {high} 以内无法达到",
        "found": "≥ {value}（概率 {probability}）",
        "found_down": "≤ {value}（概率 {probability}）",
        "figures": "观测值、规划路径与校准后区间",
        "observations": "所用观测数据",
        "variable": "变量",
        "year": "年份",
        "value": "数值",
        "sd": "标准差",
        "source": "来源",
        "method": "方法说明",
        "rules": (
            "规划路径：从{start}年值（观测值；规划期累计指标为 0；无观测时取模型估计）"
            "到目标年目标值，按固定增长率（几何插值）推进；比重类指标和从 0 起步的累计指标"
            "按线性插值。进度判定：最新观测值达到当年路径值为“按计划推进”，低于路径值但"
            "差距不超过路径值的{margin}为“存在风险”，差距更大为“明显滞后”。"
            "所需年增长 = (目标值 ÷ 最新值)^(1/剩余年数) − 1。"
        ),
        "conditioning": (
            "达成概率：模型不确定参数的先验分布以截至{as_of}年的全部观测值（高斯似然，标准差见数据表）为条件"
            "进行更新（方法：{method}；有效样本量 {ess:.0f}，抽样 {draws} 次，随机种子 {seed}）；"
            "区间为按有效样本量计算的 Wilson 95% 区间，只反映蒙特卡洛误差。"
            "似然的标准差包括测量误差和情景设定的模型偏差。"
            "“仅据经济数据”一栏只用经济部门的观测值（地区生产总值、财政收入等）对先验抽样加权："
            "它与先验之差是经济所解释的部分，它与全部数据下概率之差是创新系统本身的表现。"
        ),
        "lever_rule": (
            "政策杠杆：对概率低于 {goal} 的目标，在 {low}–{high} 范围内用二分法寻找 "
            "{lever} 的最小调整值（自{after}年起生效，此前保持现值），使基于观测的概率"
            "达到 {goal}（同一组抽样，公共随机数）。"
        ),
        "importance": "重要性加权",
        "tempering": "逐年似然退火序贯蒙特卡洛",
        "provenance": "运行信息",
        "synthetic": "注意：部分观测数据为合成数据（SYNTHETIC），仅供演示，不是真实统计。",
        "band": "校准后 5–95% 区间",
        "prior_band": "先验 5–95% 区间",
        "plan": "规划路径",
        "observed": "观测值 ±2 标准差",
        "as_of": "评估年份",
        "target_marker": "{year}年目标",
    },
    "en": {
        "lang": "en",
        "title": "Mid-term assessment as of {as_of}: {scenario}",
        "indicator": "Indicator",
        "target": "Target",
        "last": "Last observed",
        "path": "Plan path",
        "status": "Status",
        "prior": "Prior probability",
        "economy": "Given the economy only",
        "probability": "Probability given the data",
        "growth": "Growth needed per year",
        "lever": "{lever} for P ≥ {goal}",
        "on_track": "on track",
        "at_risk": "at risk",
        "off_track": "off track",
        "no_data": "no data",
        "already": "already",
        "unreachable": "not within {high}",
        "found": "≥ {value} (P {probability})",
        "found_down": "≤ {value} (P {probability})",
        "figures": "Observed values, plan path and calibrated band",
        "observations": "Observations used",
        "variable": "Variable",
        "year": "Year",
        "value": "Value",
        "sd": "sd",
        "source": "Source",
        "method": "Method",
        "rules": (
            "Plan path: from the value in {start} (observed; 0 for the plan-period counters; the "
            "model's estimate when not observed) to the target in the target year at a constant "
            "growth rate (geometric interpolation); linear for shares and for counters starting "
            "at 0. Status: on track when the last observation meets the path in its year, at "
            "risk when it falls short by at most {margin} of the path value, off track beyond. "
            "Growth needed = (target / last)^(1 / years left) − 1."
        ),
        "conditioning": (
            "Probabilities: the model's uncertain parameters conditioned on all observations up "
            "to {as_of} (Gaussian likelihood with the stated sd; method: {method}; effective "
            "sample size {ess:.0f} of {draws} draws, seed {seed}); intervals are Wilson 95 % "
            "intervals with the effective sample size, Monte Carlo error only. The likelihood's "
            "sd is the measurement error and the scenario's model discrepancy. The column "
            "'given the economy only' weights the prior draws by the observations of the "
            "economy sector alone (GDP, revenue, …): its difference from the prior is what the "
            "economy explains, the difference from the all-data probability what the "
            "innovation system did."
        ),
        "lever_rule": (
            "Lever: for each target below {goal}, bisection over {low}–{high} for the smallest "
            "change of {lever} (from {after} on, unchanged before) that brings the probability "
            "given the data to {goal} (same draws at every value: common random numbers)."
        ),
        "importance": "importance weighting",
        "tempering": "sequential Monte Carlo through the observed years (likelihood tempering)",
        "provenance": "Provenance",
        "synthetic": "Note: some observations are SYNTHETIC (made up for a demonstration), "
        "not statistics.",
        "band": "calibrated 5–95 % band",
        "prior_band": "prior 5–95 % band",
        "plan": "plan path",
        "observed": "observed ±2 sd",
        "as_of": "as of",
        "target_marker": "Target {year}",
    },
}

STATUS_COLOURS = {
    "on_track": "#1a7f37",
    "at_risk": "#b35900",
    "off_track": "#c62828",
    "no_data": "#666",
}


def assessment_chart(
    target: Target,
    record: Mapping[str, object],
    prior: xr.Dataset,
    posterior: xr.Dataset,
    weights: np.ndarray,
    observations: pd.DataFrame,
    as_of: int,
    plan_start: int,
    lang: Language,
) -> Figure:
    """One target: prior and calibrated 5–95 % bands up to the target year, the observations
    (±2 sd), the plan's path from its start value and the target."""
    use_cjk_font()
    text = TEXT[lang]
    scale = target.scale
    before, after = variable(prior, target.variable), variable(posterior, target.variable)
    times = before["time"].to_numpy()
    shown = times <= target.year
    n = prior.sizes["draw"]
    low, high = weighted_quantiles(before.to_numpy()[:, shown], np.ones(n), [0.05, 0.95])
    q05, q95 = weighted_quantiles(after.to_numpy()[:, shown], weights, [0.05, 0.95])
    figure = Figure(figsize=(6.4, 4.0), layout="constrained")
    axes = figure.subplots()
    axes.fill_between(
        times[shown],
        low * scale,
        high * scale,
        color="0.6",
        alpha=0.3,
        linewidth=0,
        label=text["prior_band"],
    )
    axes.fill_between(
        times[shown],
        q05 * scale,
        q95 * scale,
        color="tab:blue",
        alpha=0.35,
        linewidth=0,
        label=text["band"],
    )
    start = float(record["start_value"])
    years = np.linspace(plan_start, target.year, 41)
    rule = str(record["path_rule"])
    path = [plan_path(start, plan_start, target, y, rule) for y in years]  # type: ignore[arg-type]
    axes.plot(years, np.asarray(path) * scale, color="tab:red", linestyle="--", label=text["plan"])
    axes.plot(
        [target.year],
        [target.threshold * scale],
        marker="*",
        markersize=14,
        linestyle="none",
        color="tab:red",
        label=text["target_marker"].format(year=target.year),
    )
    rows = observations[observations["variable"] == target.variable]
    if not rows.empty:
        axes.errorbar(
            rows["year"],
            rows["value"] * scale,
            yerr=2 * rows["sd"] * scale,
            fmt="o",
            color="black",
            capsize=3,
            label=text["observed"],
        )
    axes.axvline(as_of, color="0.3", linestyle=":", linewidth=1, label=text["as_of"])
    axes.set_title(f"{target.label.text(lang)} ({target.unit.text(lang)})")
    axes.set_xlabel(text["year"])
    axes.grid(alpha=0.3)
    axes.legend(fontsize="x-small", loc="upper left")
    return figure


def _display(value: float, target: Target) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return format_number(float(value) * target.scale)


def lever_text(record: Mapping[str, object], lang: Language) -> str:
    """The lever column of a row: already / ≥ value (P …) / not within high / —."""
    text = TEXT[lang]
    status = record.get("lever_status") or ""
    if status == "already":
        return text["already"]
    if status == "unreachable":
        return text["unreachable"].format(high=f"{record.get('lever_high', ''):g}")
    if status == "found":
        key = (
            "found" if float(record["lever_value"]) >= float(record["lever_from"]) else "found_down"
        )
        return text[key].format(
            value=f"{float(record['lever_value']):.4g}",
            probability=format_percent(float(record["lever_probability"])),
        )
    return "—"


def assessment_rows(
    table: pd.DataFrame, targets: Sequence[Target], lang: Language, lever_high: float | None
) -> list[dict[str, str]]:
    """The assessment table as display text (scaled values, percentages, status words)."""
    text = TEXT[lang]
    by_name = {target.name: target for target in targets}
    rows = []
    for record in table.to_dict("records"):
        target = by_name[record["target"]]
        unit = target.unit.text(lang)
        last = (
            f"{_display(record['last_value'], target)} ({int(record['last_year'])})"
            if not math.isnan(record["last_year"])
            else "—"
        )
        growth = record["growth_needed"]
        rows.append(
            {
                "indicator": target.label.text(lang),
                "target": (
                    f"{target.symbol} {format_number(target.threshold * target.scale)} {unit} "
                    f"({target.year})"
                ),
                "last": last,
                "path": _display(record["path_value"], target),
                "status": text[record["status"]],
                "status_key": record["status"],
                "prior": f"{format_percent(record['prior_probability'])}",
                "economy": f"{format_percent(record['economy_probability'])}",
                "probability": f"{format_percent(record['probability'])} "
                f"({format_percent(record['prob_low'])}–{format_percent(record['prob_high'])})",
                "growth": "—" if math.isnan(growth) else f"{growth * 100:+.1f}%",
                "lever": lever_text(record | {"lever_high": lever_high or math.nan}, lang),
            }
        )
    return rows


def console_rows(
    table: pd.DataFrame,
    targets: Sequence[Target],
    lang: Language,
    lever: str,
    goal: float,
    lever_high: float | None,
) -> pd.DataFrame:
    """The assessment table for the terminal, headers in ``lang``."""
    text = TEXT[lang]
    rows = pd.DataFrame(assessment_rows(table, targets, lang, lever_high))
    headers = {
        "indicator": text["indicator"],
        "target": text["target"],
        "last": text["last"],
        "path": text["path"],
        "status": text["status"],
        "prior": text["prior"],
        "economy": text["economy"],
        "probability": text["probability"],
        "growth": text["growth"],
        "lever": text["lever"].format(lever=lever, goal=format_percent(goal)) if lever else "—",
    }
    return rows.drop(columns=["status_key"]).rename(columns=headers)


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
<table>
<tr><th>{{ t.indicator }}</th><th>{{ t.target }}</th><th>{{ t.last }}</th><th>{{ t.path }}</th>
<th>{{ t.status }}</th><th>{{ t.prior }}</th><th>{{ t.economy }}</th><th>{{ t.probability }}</th>
<th>{{ t.growth }}</th>
<th>{{ lever_header }}</th></tr>
{% for row in rows %}
<tr><td>{{ row.indicator }}</td><td>{{ row.target }}</td><td class="num">{{ row.last }}</td>
<td class="num">{{ row.path }}</td>
<td style="color: {{ colours[row.status_key] }}; font-weight: bold">{{ row.status }}</td>
<td class="num">{{ row.prior }}</td><td class="num">{{ row.economy }}</td>
<td class="num">{{ row.probability }}</td>
<td class="num">{{ row.growth }}</td><td>{{ row.lever }}</td></tr>
{% endfor %}
</table>
<h2>{{ t.method }}</h2>
<p class="note">{{ rules }}</p>
<p class="note">{{ conditioning }}</p>
<p class="note">{{ track_record }}</p>
{% if lever_rule %}<p class="note">{{ lever_rule }}</p>{% endif %}
<h2>{{ t.figures }}</h2>
<div class="fans">
{% for name, data in images %}<img alt="{{ name }}" src="data:image/png;base64,{{ data }}">
{% endfor %}
</div>
<h2>{{ t.observations }}</h2>
<table><tr><th>{{ t.variable }}</th><th>{{ t.year }}</th><th>{{ t.value }}</th><th>{{ t.sd }}</th>
<th>{{ t.source }}</th></tr>
{% for row in observations %}<tr><td>{{ row.variable }}</td><td class="num">{{ row.year }}</td>
<td class="num">{{ row.value }}</td><td class="num">{{ row.sd }}</td><td>{{ row.source }}</td></tr>
{% endfor %}</table>
<h2>{{ t.provenance }}</h2>
<table>
{% for key, value in provenance %}<tr><th>{{ key }}</th><td>{{ value }}</td></tr>
{% endfor %}
</table>
</body>
</html>
"""
)


def render_assessment(
    table: pd.DataFrame,
    targets: Sequence[Target],
    observations: pd.DataFrame,
    images: Mapping[str, bytes],
    lang: Language,
    title_context: Mapping[str, object],
    provenance: Mapping[str, object],
) -> str:
    """The HTML text of the assessment (self-contained: figures embedded).

    ``title_context`` has ``scenario``, ``as_of``, ``plan_start``, ``method``, ``ess``,
    ``draws``, ``seed``, ``goal``, ``track_record`` (the sentence on the model's backtest) and
    (if a lever was searched) ``lever``, ``low``, ``high``.
    """
    t = TEXT[lang]
    c = dict(title_context)
    lever = c.get("lever") or ""
    goal = format_percent(float(c["goal"]))
    return _TEMPLATE.render(
        style=markupsafe.Markup(REPORT_STYLE),
        t=t,
        title=t["title"].format(as_of=c["as_of"], scenario=c["scenario"]),
        synthetic=observations["source"].astype(str).str.contains("SYNTHETIC").any(),
        rows=assessment_rows(table, targets, lang, c.get("high")),
        colours=STATUS_COLOURS,
        lever_header=t["lever"].format(lever=lever, goal=goal) if lever else "—",
        rules=t["rules"].format(start=c["plan_start"], margin=format_percent(AT_RISK_MARGIN)),
        conditioning=t["conditioning"].format(
            as_of=c["as_of"],
            method=t[str(c["method"])],
            ess=float(c["ess"]),
            draws=c["draws"],
            seed=c["seed"],
        ),
        lever_rule=t["lever_rule"].format(
            goal=goal,
            low=c.get("low"),
            high=c.get("high"),
            lever=lever,
            after=int(c["as_of"]) + 1,
        )
        if lever
        else "",
        track_record=str(c.get("track_record", "")),
        images=[(name, base64.b64encode(data).decode("ascii")) for name, data in images.items()],
        observations=[
            {
                "variable": row.variable,
                "year": row.year,
                "value": f"{row.value:.6g}",
                "sd": f"{row.sd:.3g}",
                "source": row.source,
            }
            for row in observations.itertuples(index=False)
        ],
        provenance=list(provenance.items()),
    )


def chart_file(target: Target) -> str:
    """File name of a target's assessment chart."""
    return f"assess_{target.name}.png"


def write_assessment_outputs(
    out_dir: Path,
    table: pd.DataFrame,
    charts: Mapping[str, Figure],
    html_for: Callable[[Mapping[str, bytes]], str],
    misfits: pd.DataFrame,
) -> list[Path]:
    """Write ``assess.csv``, ``misfits.csv`` (the observations not reproduced; header only
    when none), one chart per target and ``assess.html`` (staged, all or nothing). ``html_for``
    is called with ``{file name: PNG bytes}`` and returns the HTML."""
    with staged_output_dir(out_dir) as stage:
        table.to_csv(stage / ASSESS_CSV, index=False)
        misfits.to_csv(stage / MISFITS_FILE, index=False)
        images = {}
        for name, figure in charts.items():
            png = figure_png(figure)
            (stage / name).write_bytes(png)
            images[name] = png
        (stage / ASSESS_HTML).write_text(html_for(images), encoding="utf-8")
        names = sorted(path.name for path in stage.iterdir())
    return [Path(out_dir) / name for name in names]
