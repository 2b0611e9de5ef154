"""Self-contained HTML report of a scenario's Monte Carlo run (figures embedded)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence

import jinja2
import markupsafe
import pandas as pd
import xarray as xr

from sim.results import UNCERTAINTY
from sim.scenario import Language, Target

TEXT = {
    "zh": {
        "lang": "zh-CN",
        "run": "蒙特卡洛模拟：{draws} 次抽样（{sampler}，随机种子 {seed}）",
        "targets": "目标达成概率",
        "indicator": "指标",
        "year": "年份",
        "target": "目标",
        "probability": "达成概率",
        "interval": "95% 置信区间",
        "median": "中位数",
        "band": "5–95% 区间",
        "fans": "扇形图",
        "uncertainties": "不确定参数",
        "parameter": "参数",
        "distribution": "分布",
        "source": "来源与依据",
        "levers": "政策杠杆",
        "exogenous": "外生序列（观测数据与逐年不确定路径）",
        "series": "序列",
        "value": "取值",
        "provenance": "运行信息",
        "method": (
            "达成概率为满足目标的抽样比例；置信区间（Wilson 方法）只反映蒙特卡洛抽样误差，"
            "不反映模型结构的不确定性。数值为模型单位乘以显示系数。"
        ),
    },
    "en": {
        "lang": "en",
        "run": "Monte Carlo: {draws} draws ({sampler}, seed {seed})",
        "targets": "Probability of reaching each target",
        "indicator": "Indicator",
        "year": "Year",
        "target": "Target",
        "probability": "Probability",
        "interval": "95 % interval",
        "median": "Median",
        "band": "5–95 % band",
        "fans": "Fan charts",
        "uncertainties": "Uncertain parameters",
        "parameter": "Parameter",
        "distribution": "Distribution",
        "source": "Source and reasoning",
        "levers": "Policy levers",
        "exogenous": "Exogenous series (observed data and yearly uncertain paths)",
        "series": "Series",
        "value": "Value",
        "provenance": "Provenance",
        "method": (
            "The probability is the share of draws that meet the target; its interval (Wilson) "
            "covers the Monte Carlo sampling error only, not the uncertainty of the model's "
            "structure. Values are in display units."
        ),
    },
}

#: The stylesheet shared by the HTML reports (fonts with CJK coverage first).
REPORT_STYLE = """
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
       "Hiragino Sans GB", "WenQuanYi Micro Hei", sans-serif; margin: 2em auto; max-width: 1200px;
       color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.92em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3em 0.6em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.fans { display: flex; flex-wrap: wrap; gap: 1em; }
.fans img { width: 520px; max-width: 100%; }
.note { color: #555; font-size: 0.9em; }
.warning { color: #c62828; font-weight: bold; }
"""

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
{% if description %}<p>{{ description }}</p>{% endif %}
<p>{{ run }}</p>
<p class="note">{{ track_record }}</p>
<h2>{{ t.targets }}</h2>
<table>
<tr><th>{{ t.indicator }}</th><th>{{ t.year }}</th><th>{{ t.target }}</th>
<th>{{ t.probability }}</th><th>{{ t.interval }}</th><th>{{ t.median }}</th>
<th>{{ t.band }}</th></tr>
{% for row in rows %}
<tr><td>{{ row.label }}</td><td class="num">{{ row.year }}</td><td class="num">{{ row.target }}</td>
<td class="num">{{ row.probability }}</td><td class="num">{{ row.interval }}</td>
<td class="num">{{ row.median }}</td><td class="num">{{ row.band }}</td></tr>
{% endfor %}
</table>
<p class="note">{{ t.method }}</p>
<h2>{{ t.fans }}</h2>
<div class="fans">
{% for name, data in images %}<img alt="{{ name }}" src="data:image/png;base64,{{ data }}">
{% endfor %}
</div>
{% if levers %}
<h2>{{ t.levers }}</h2>
<table><tr><th>{{ t.parameter }}</th><th>{{ t.value }}</th><th>{{ t.source }}</th></tr>
{% for lever in levers %}<tr><td>{{ lever.name }}</td><td>{{ lever.value }}</td>
<td>{{ lever.source }}</td></tr>
{% endfor %}</table>
{% endif %}
{% if exogenous %}
<h2>{{ t.exogenous }}</h2>
<table><tr><th>{{ t.parameter }}</th><th>{{ t.series }}</th><th>{{ t.source }}</th></tr>
{% for item in exogenous %}<tr><td>{{ item.name }}</td><td>{{ item.series }}</td>
<td>{{ item.source }}</td></tr>
{% endfor %}</table>
{% endif %}
{% if uncertainties %}
<h2>{{ t.uncertainties }}</h2>
<table><tr><th>{{ t.parameter }}</th><th>{{ t.distribution }}</th><th>{{ t.source }}</th></tr>
{% for item in uncertainties %}<tr><td>{{ item.name }}</td><td>{{ item.distribution }}</td>
<td>{{ item.source }}</td></tr>
{% endfor %}</table>
{% endif %}
<h2>{{ t.provenance }}</h2>
<table>
{% for key, value in provenance %}<tr><th>{{ key }}</th><td>{{ value }}</td></tr>
{% endfor %}
</table>
</body>
</html>
"""
)


def format_number(value: float) -> str:
    magnitude = abs(value)
    decimals = 0 if magnitude >= 100 else 1 if magnitude >= 10 else 2 if magnitude >= 1 else 3
    return f"{value:,.{decimals}f}"


def format_percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def target_rows(table: pd.DataFrame, targets: Sequence[Target], lang: Language) -> list[dict]:
    """Rows of the target table as display text (labels, scaled values, percentages)."""
    by_name = {target.name: target for target in targets}
    rows = []
    for record in table.to_dict("records"):
        target = by_name[record["target"]]
        unit = target.unit.text(lang)
        symbol = "≥" if target.direction == "at_least" else "≤"
        scale = target.scale
        rows.append(
            {
                "label": target.label.text(lang),
                "year": target.year,
                "target": f"{symbol} {format_number(target.threshold * scale)} {unit}",
                "probability": format_percent(record["probability"]),
                "interval": (
                    f"{format_percent(record['prob_low'])}–{format_percent(record['prob_high'])}"
                ),
                "median": format_number(record["median"] * scale),
                "band": (
                    f"{format_number(record['p05'] * scale)}–{format_number(record['p95'] * scale)}"
                ),
            }
        )
    return rows


def _label(attrs: Mapping, lang: Language) -> str:
    name = str(attrs.get("long_name", ""))
    label_zh = attrs.get("label_zh")
    return f"{label_zh}（{name}）" if lang == "zh" and label_zh else name


def render_report(
    results: xr.Dataset,
    table: pd.DataFrame,
    targets: Sequence[Target],
    lang: Language,
    images: Mapping[str, bytes],
    title: str,
    description: str = "",
    track_record: str = "",
) -> str:
    """The HTML text of the report: target table, the model's track record (a sentence,
    ``sim.report.track_record``), fan charts (PNG bytes by target name, embedded), levers, drivers
    and paths, uncertainties and the run's provenance from ``results.attrs``."""
    t = TEXT[lang]
    attrs = results.attrs
    uncertainties = [
        {
            "name": _label(data.attrs, lang),
            "distribution": data.attrs.get("distribution", ""),
            "source": data.attrs.get("source", ""),
        }
        for data in results.data_vars.values()
        if data.attrs.get("role") == UNCERTAINTY
    ]
    exogenous = [
        {
            "name": _label(data.attrs, lang),
            "series": data.attrs["exogenous"],
            "source": data.attrs.get("source", ""),
        }
        for data in results.data_vars.values()
        if data.attrs.get("exogenous")
    ]
    levers = [
        {"name": name, "value": lever.get("value", ""), "source": lever.get("source", "")}
        for name, lever in json.loads(attrs.get("levers", "{}")).items()
    ]
    provenance = [
        (key, attrs[key])
        for key in sorted(attrs)
        if key not in ("levers", "title", "description") and not key.startswith("_")
    ]
    return _TEMPLATE.render(
        style=markupsafe.Markup(REPORT_STYLE),
        t=t,
        title=title,
        description=description,
        track_record=track_record,
        run=t["run"].format(
            draws=results.sizes.get("draw", 0),
            sampler=attrs.get("sampler", "?"),
            seed=attrs.get("seed", "?"),
        ),
        rows=target_rows(table, targets, lang),
        images=[(name, base64.b64encode(data).decode("ascii")) for name, data in images.items()],
        levers=levers,
        exogenous=exogenous,
        uncertainties=uncertainties,
        provenance=provenance,
    )
