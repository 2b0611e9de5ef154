"""Charts and console text of ``innosim compare | sweep | solve``, in Chinese or English.

Every function takes tables (pandas DataFrames as written to the commands' CSV files) and
labels, so the figures can be redrawn from the files.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.plotting import use_cjk_font
from sim.scenario import Language, Target

TEXT = {
    "zh": {
        "all": "全部目标同时达成",
        "probability": "达成概率",
        "indicator": "指标",
        "lowest": "最低概率 @ 取值",
        "highest": "最高概率 @ 取值",
        "reference": "（基准）",
        "compare_title": "情景比较：目标达成概率（95% 置信区间）",
        "compare_note": "括号内为与 {ref} 的配对差（百分点）及其 95% 区间（Newcombe 方法）",
        "draws": "{draws} 次抽样，{sampler}，随机种子 {seed}（各情景共用随机数）",
        "sweep_title": "达成概率随 {lever} 的变化（{draws} 次抽样，95% 区间）",
        "sweep2_title": "达成概率：{x} × {y}（{draws} 次抽样）",
        "solve_title": "{target}：达成概率 ≥ {level}",
        "required": "要求概率 {level}",
        "solution": "解 {value}",
        "interval": "区间",
        "budget_title": "财政科技投入分配：{objective}",
        "budget_subtitle": (
            "现行 {base}（{base_low}–{base_high}）→ 优化 {best}（{best_low}–{best_high}）"
        ),
        "baseline": "现行分配",
        "best": "优化分配",
        "share": "占比",
        "weighted": "加权平均达成概率",
        "reached": (
            "{lever} 的{extreme}值：{value}（区间 {low} – {high}），"
            "此时达成概率 {p}（{p_low}–{p_high}）"
        ),
        "least": "最小",
        "greatest": "最大",
        "at_bound_increasing": (
            "在搜索范围的下端 {bound} 已达到要求（达成概率 {p}）：所需的{lever}不高于 {bound}"
        ),
        "at_bound_decreasing": (
            "在搜索范围的上端 {bound} 仍达到要求（达成概率 {p}）：允许的{lever}不低于 {bound}"
        ),
        "not_reachable": "在 [{low}, {high}] 内无法达到：最高达成概率 {best}（{lever} = {at}）",
        "budget_result": (
            "{objective}：现行分配 {base}（{base_low}–{base_high}），"
            "优化分配 {best}（{best_low}–{best_high}），"
            "差 {diff} 个百分点（{diff_low} – {diff_high}）"
        ),
    },
    "en": {
        "all": "All targets met together",
        "probability": "Probability",
        "indicator": "Indicator",
        "lowest": "lowest @ value",
        "highest": "highest @ value",
        "reference": " (reference)",
        "compare_title": "Scenario comparison: probability of each target (95 % interval)",
        "compare_note": "In brackets: paired difference from {ref} (percentage points) with its "
        "95 % interval (Newcombe)",
        "draws": "{draws} draws, {sampler}, seed {seed} (common random numbers)",
        "sweep_title": "Probability along {lever} ({draws} draws, 95 % band)",
        "sweep2_title": "Probability over {x} × {y} ({draws} draws)",
        "solve_title": "{target}: probability ≥ {level}",
        "required": "required {level}",
        "solution": "solution {value}",
        "interval": "interval",
        "budget_title": "Split of fiscal innovation input: {objective}",
        "baseline": "current split",
        "best": "best split found",
        "share": "share",
        "weighted": "weighted mean probability",
        "reached": "{extreme} {lever}: {value} (interval {low} – {high}); probability there {p} "
        "({p_low}–{p_high})",
        "least": "least",
        "greatest": "greatest",
        "at_bound_increasing": "already reached at the lower end of the range, {bound} "
        "(probability {p}): the least {lever} needed is {bound} or below",
        "at_bound_decreasing": "still reached at the upper end of the range, {bound} "
        "(probability {p}): the greatest {lever} allowed is {bound} or above",
        "not_reachable": "not reachable within [{low}, {high}]: best probability {best} "
        "at {lever} = {at}",
        "budget_result": "{objective}: current split {base} ({base_low}–{base_high}), best split "
        "{best} ({best_low}–{best_high}), difference {diff} pp ({diff_low} to {diff_high})",
        "budget_subtitle": "current {base} ({base_low}–{base_high}) → best {best} "
        "({best_low}–{best_high})",
    },
}


def percent(value: float) -> str:
    """A probability as a percentage with one decimal (``62.3%``); ``nan`` as ``–``."""
    return "–" if value is None or math.isnan(value) else f"{value * 100:.1f}%"


def points(value: float) -> str:
    """A difference of probabilities in percentage points with a sign (``+4.1``)."""
    return "–" if math.isnan(value) else f"{value * 100:+.1f}"


def number(value: float | None) -> str:
    """A lever value with up to 4 significant digits; open ends as ``–``."""
    return "–" if value is None or math.isnan(value) else f"{value:.4g}"


def _float(value: object) -> float:
    """``value`` as a float; ``None`` as NaN."""
    return math.nan if value is None else float(value)  # type: ignore[arg-type]


def target_label(name: str, targets: Sequence[Target], lang: Language) -> str:
    """Display label of a target name (``all``: every target met together)."""
    for target in targets:
        if target.name == name:
            return target.label.text(lang)
    return TEXT[lang]["all"] if name == "all" else name


def _wrap(text: str, width: int = 28) -> str:
    if any(ord(char) > 0x2E80 for char in text):  # CJK: wrap by characters
        step = width * 2 // 3
        return "\n".join(text[i : i + step] for i in range(0, len(text), step))
    return "\n".join(textwrap.wrap(text, width)) or text


# --- compare --------------------------------------------------------------------------------


def compare_console(
    table: pd.DataFrame, targets: Sequence[Target], names: Sequence[str], lang: Language
) -> pd.DataFrame:
    """The comparison as display text: a row per target, a column per scenario with the
    probability and, after the first, the paired difference with its interval."""
    t = TEXT[lang]
    rows = []
    for key, group in table.groupby("target", sort=False):
        row = {t["indicator"]: target_label(str(key), targets, lang)}
        for index, record in enumerate(group.to_dict("records")):
            text = percent(record["probability"])
            if index:
                text += (
                    f" ({points(record['difference'])} [{points(record['diff_low'])}, "
                    f"{points(record['diff_high'])}])"
                )
            row[names[index] + (t["reference"] if index == 0 else "")] = text
        rows.append(row)
    return pd.DataFrame(rows)


def compare_chart(
    table: pd.DataFrame,
    targets: Sequence[Target],
    titles: Sequence[str],
    lang: Language,
    subtitle: str = "",
) -> Figure:
    """Probability of each target per scenario with its Wilson interval (a dot per scenario)."""
    use_cjk_font()
    t = TEXT[lang]
    keys = list(dict.fromkeys(table["target"]))
    scenarios = list(dict.fromkeys(table["scenario"]))
    figure = Figure(
        figsize=(9, 1.2 + 0.42 * len(keys) * max(1, len(scenarios) / 3)), layout="constrained"
    )
    axes = figure.subplots()
    offsets = np.linspace(0.3, -0.3, len(scenarios)) if len(scenarios) > 1 else np.zeros(1)
    positions = np.arange(len(keys))[::-1]
    for index, (scenario, title) in enumerate(zip(scenarios, titles, strict=True)):
        rows = table[table["scenario"] == scenario].set_index("target").loc[keys]
        p = rows["probability"].to_numpy()
        axes.errorbar(
            p * 100,
            positions + offsets[index],
            xerr=[
                (p - rows["prob_low"].to_numpy()) * 100,
                (rows["prob_high"].to_numpy() - p) * 100,
            ],
            fmt="o",
            markersize=4,
            capsize=2,
            label=title,
        )
    axes.set_yticks(positions, [_wrap(target_label(k, targets, lang), 34) for k in keys])
    axes.set_xlim(-2, 102)
    axes.set_xlabel(f"{t['probability']} (%)")
    axes.grid(axis="x", alpha=0.3)
    axes.set_title(t["compare_title"] + (f"\n{subtitle}" if subtitle else ""), fontsize="medium")
    figure.legend(fontsize="small", loc="outside lower center", ncols=min(len(scenarios), 2))
    return figure


# --- sweep ----------------------------------------------------------------------------------


def _panels(count: int) -> tuple[int, int]:
    columns = min(4, count)
    return math.ceil(count / columns), columns


def sweep_chart(
    table: pd.DataFrame,
    levers: Sequence[str],
    lever_labels: Sequence[str],
    targets: Sequence[Target],
    lang: Language,
    keys: Sequence[str] | None = None,
) -> Figure:
    """One panel per target: a curve with its 95 % band (one lever) or a heat map (two)."""
    use_cjk_font()
    t = TEXT[lang]
    keys = list(keys) if keys is not None else list(dict.fromkeys(table["target"]))
    rows, columns = _panels(len(keys))
    figure = Figure(figsize=(3.2 * columns + 0.8, 2.7 * rows + 0.8), layout="constrained")
    grid = figure.subplots(rows, columns, squeeze=False, sharex=True, sharey=True)
    draws = int(table["draws"].iloc[0])
    mesh = None
    for index, key in enumerate(keys):
        axes = grid[index // columns][index % columns]
        data = table[table["target"] == key]
        if len(levers) == 1:
            x = data[levers[0]].to_numpy()
            axes.fill_between(
                x, data["prob_low"] * 100, data["prob_high"] * 100, alpha=0.3, linewidth=0
            )
            axes.plot(x, data["probability"] * 100, marker=".", markersize=3)
            axes.set_ylim(-3, 103)
            axes.grid(alpha=0.3)
        else:
            pivot = data.pivot_table(index=levers[1], columns=levers[0], values="probability")
            mesh = axes.pcolormesh(
                pivot.columns.to_numpy(),
                pivot.index.to_numpy(),
                pivot.to_numpy() * 100,
                vmin=0,
                vmax=100,
                cmap="viridis",
                shading="nearest",
            )
        axes.set_title(_wrap(target_label(key, targets, lang), 30), fontsize="small")
    for index in range(len(keys), rows * columns):
        grid[index // columns][index % columns].set_visible(False)
    for axes in grid[-1]:
        axes.set_xlabel(_wrap(lever_labels[0], 36), fontsize="small")
    for axes in grid[:, 0]:
        axes.set_ylabel(
            f"{t['probability']} (%)" if len(levers) == 1 else _wrap(lever_labels[1], 30),
            fontsize="small",
        )
    if mesh is not None:
        figure.colorbar(mesh, ax=grid, label=f"{t['probability']} (%)", shrink=0.6)
        title = t["sweep2_title"].format(x=lever_labels[0], y=lever_labels[1], draws=draws)
    else:
        title = t["sweep_title"].format(lever=lever_labels[0], draws=draws)
    figure.suptitle(title)
    return figure


# --- solve ----------------------------------------------------------------------------------


def solve_text(
    record: Mapping[str, object], lever_label: str, target_text: str, lang: Language
) -> str:
    """The answer of ``solve`` in a sentence (reached, at the range's end or not reachable)."""
    t = TEXT[lang]
    status = record["status"]
    increasing = record["direction"] != "decreasing"
    if status == "not_reachable":
        body = t["not_reachable"].format(
            low=number(record["low"]),
            high=number(record["high"]),
            best=percent(record["best_probability"]),
            lever=lever_label,
            at=number(record["best_value"]),
        )
    elif status == "at_bound":
        body = t["at_bound_increasing" if increasing else "at_bound_decreasing"].format(
            bound=number(_float(record["value"])),
            p=percent(_float(record["probability"])),
            lever=lever_label,
        )
    else:
        body = t["reached"].format(
            extreme=t["least"] if increasing else t["greatest"],
            lever=lever_label,
            value=number(record["value"]),
            low=number(record["value_low"]),
            high=number(record["value_high"]),
            p=percent(record["probability"]),
            p_low=percent(record["prob_low"]),
            p_high=percent(record["prob_high"]),
        )
    title = t["solve_title"].format(target=target_text, level=percent(record["level"]))
    return f"{title}\n{body}"


def solve_chart(
    curve: pd.DataFrame,
    record: Mapping[str, object],
    lever_label: str,
    target_text: str,
    lang: Language,
) -> Figure:
    """Probability at every lever value evaluated (95 % band), the required level and the
    solution with its interval."""
    use_cjk_font()
    t = TEXT[lang]
    figure = Figure(figsize=(7, 4.2), layout="constrained")
    axes = figure.subplots()
    x = curve["value"].to_numpy()
    axes.fill_between(x, curve["prob_low"] * 100, curve["prob_high"] * 100, alpha=0.3, linewidth=0)
    axes.plot(x, curve["probability"] * 100, marker=".", markersize=4)
    level = _float(record["level"])
    axes.axhline(
        level * 100,
        color="tab:red",
        linestyle="--",
        label=t["required"].format(level=percent(level)),
    )
    value = _float(record["value"])
    if not math.isnan(value):
        low, high = _float(record["value_low"]), _float(record["value_high"])
        span_low = float(x.min()) if math.isnan(low) else low
        span_high = float(x.max()) if math.isnan(high) else high
        axes.axvspan(span_low, span_high, color="tab:green", alpha=0.15, label=t["interval"])
        axes.axvline(value, color="tab:green", label=t["solution"].format(value=number(value)))
    axes.set_ylim(-3, 103)
    axes.set_xlabel(lever_label)
    axes.set_ylabel(f"{t['probability']} (%)")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    axes.set_title(t["solve_title"].format(target=target_text, level=percent(level)))
    return figure


# --- budget ---------------------------------------------------------------------------------


def budget_chart(shares: pd.DataFrame, lang: Language, subtitle: str = "") -> Figure:
    """Current and best split of the budget, share by share (bars), with the bounds."""
    use_cjk_font()
    t = TEXT[lang]
    labels = [
        row.label_zh if lang == "zh" and row.label_zh else row.share
        for row in shares.itertuples(index=False)
    ]
    figure = Figure(figsize=(8, 1.2 + 0.45 * len(shares)), layout="constrained")
    axes = figure.subplots()
    y = np.arange(len(shares))[::-1]
    axes.barh(y + 0.2, shares["baseline"] * 100, height=0.4, label=t["baseline"])
    axes.barh(y - 0.2, shares["best"] * 100, height=0.4, label=t["best"])
    for position, low, high in zip(y, shares["lower"], shares["upper"], strict=True):
        for bound in [b for b in (low, high) if 0 < b < 1]:
            axes.plot([bound * 100] * 2, [position - 0.45, position + 0.45], color="grey")
    axes.set_yticks(y, [_wrap(label, 30) for label in labels])
    axes.set_xlabel(f"{t['share']} (%)")
    axes.grid(axis="x", alpha=0.3)
    axes.legend(fontsize="small")
    axes.set_title(subtitle, fontsize="medium")
    return figure
