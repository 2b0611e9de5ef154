"""Ranked charts of sensitivity indices (``innosim sensitivity``), in Chinese or English."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.analysis.sensitivity_indices import OUTPUT_KINDS, ranked
from sim.report.fonts import use_cjk_font
from sim.report.i18n import translations
from sim.scenario import Language, Target

#: Parameters shown per panel by default.
DEFAULT_TOP = 10

TEXT = translations("sensitivity_chart")


def parameter_label(name: str, lang: Language, labels_zh: Mapping[str, str]) -> str:
    """Display name of a parameter: its Chinese label for ``zh``, its Vensim name for ``en``."""
    return labels_zh.get(name, name) if lang == "zh" else name


def _panel(
    axes: Axes,
    rows: pd.DataFrame,
    method: str,
    lang: Language,
    labels_zh: Mapping[str, str],
    empty: str,
) -> None:
    text = TEXT[lang]
    if rows.empty or rows.iloc[:, 3:].isna().all().all():
        axes.text(0.5, 0.5, text[empty], ha="center", va="center", transform=axes.transAxes)
        axes.set_xticks([])
        axes.set_yticks([])
        return
    main, interval, second = (
        ("ST", "ST_conf", "S1") if method == "sobol" else ("mu_star", "mu_star_conf", "sigma")
    )
    positions = np.arange(len(rows))[::-1]
    labels = [parameter_label(name, lang, labels_zh) for name in rows["parameter"]]
    axes.barh(
        positions,
        rows[main],
        xerr=rows[interval],
        height=0.7,
        color="tab:blue",
        alpha=0.55,
        error_kw={"ecolor": "black", "capsize": 2, "linewidth": 0.8},
        label=text[main],
    )
    axes.plot(
        rows[second],
        positions,
        marker="D",
        linestyle="none",
        color="tab:orange",
        markersize=5,
        label=text[second],
    )
    axes.set_yticks(positions, labels, fontsize="small")
    axes.set_xlabel(text[f"{method}_axis"])
    axes.axvline(0, color="grey", linewidth=0.6)
    axes.grid(axis="x", alpha=0.3)
    axes.legend(fontsize="x-small", loc="lower right")


def sensitivity_chart(
    table: pd.DataFrame,
    target: Target,
    method: str,
    lang: Language,
    labels_zh: Mapping[str, str],
    runs: int,
    samples: int,
    top: int = DEFAULT_TOP,
    reached: float | None = None,
) -> Figure:
    """Two panels for ``target`` (its value, and reaching it): the ``top`` parameters ranked
    by the total-order index ST with its interval and S1 (Sobol'), or by μ* with its interval
    and σ (Morris); rows of ``table`` for other targets are ignored. ``reached`` (share of
    runs reaching the target) words the empty panel when every run or none reaches it."""
    use_cjk_font()
    text = TEXT[lang]
    figure = Figure(figsize=(12, 0.9 + 0.38 * top), layout="constrained")
    panels = figure.subplots(1, 2)
    mine = table[table["target"] == target.name]
    titles = {
        "value": text["value"].format(year=target.year),
        "reached": text["reached"].format(
            symbol=target.symbol,
            threshold=target.display(target.threshold),
            unit=target.unit.text(lang),
        ),
    }
    for axes, kind in zip(panels, OUTPUT_KINDS, strict=True):
        rows = ranked(mine[mine["output"] == kind], method, top)
        empty = "constant"
        if kind == "reached" and reached in (0.0, 1.0):
            empty = "always" if reached == 1.0 else "never"
        _panel(axes, rows, method, lang, labels_zh, empty)
        axes.set_title(titles[kind], fontsize="medium")
    heading = text[method].format(runs=runs, samples=samples)
    figure.suptitle(text["title"].format(label=target.label.text(lang), heading=heading))
    figure.supxlabel(text["note"], fontsize="x-small")
    return figure
