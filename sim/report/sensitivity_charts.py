"""Ranked charts of sensitivity indices (``innosim sensitivity``), in Chinese or English."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.analysis.sensitivity_indices import (
    CONSTANT,
    MEASURABLE,
    OUTPUT_KINDS,
    ranked,
    ranking_quality,
)
from sim.report.fonts import use_cjk_font
from sim.report.i18n import translations
from sim.report.quantities import format_percent
from sim.scenario import Language, Target

#: Parameters shown per panel by default.
DEFAULT_TOP = 10

TEXT = translations("sensitivity_chart")


def parameter_label(name: str, lang: Language, labels_zh: Mapping[str, str]) -> str:
    """Display name of a parameter: its Chinese label for ``zh``, its Vensim name for ``en``."""
    return labels_zh.get(name, name) if lang == "zh" else name


def unmeasurable_text(
    quality: str, kind: str, reached: float | None, lang: Language, section: str = "sensitivity"
) -> str:
    """Why an output's drivers cannot be ranked (``ranking_quality`` is not ``MEASURABLE``),
    in words from catalogue ``section`` (``sensitivity`` for the console and the page,
    ``sensitivity_chart`` for a chart panel): no variation, reached in every run or none,
    reached too rarely (or too often) to rank, or noise."""
    text = translations(section)[lang]
    if quality == CONSTANT and kind == "reached" and reached in (0.0, 1.0):
        return text["always" if reached == 1.0 else "never"]
    share = format_percent(reached) if reached is not None else "–"
    return text[quality].format(share=share)


def _panel(
    axes: Axes,
    rows: pd.DataFrame,
    method: str,
    lang: Language,
    labels_zh: Mapping[str, str],
    unmeasurable: str,
) -> None:
    """Bars of the ranked ``rows``, or the text ``unmeasurable`` (why no ranking) instead."""
    text = TEXT[lang]
    if unmeasurable:
        axes.text(0.5, 0.5, unmeasurable, ha="center", va="center", transform=axes.transAxes)
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
    and σ (Morris); rows of ``table`` for other targets are ignored. A panel whose indices
    cannot rank drivers (``sim.analysis.sensitivity_indices.ranking_quality``: no variation,
    a target reached almost always or almost never, indices smaller than their intervals)
    says so in words instead of drawing noise as bars; ``reached`` is the share of runs
    reaching the target (``None``: unknown)."""
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
        rows = mine[mine["output"] == kind]
        share = reached if kind == "reached" else None
        quality = ranking_quality(rows, method, share)
        unmeasurable = (
            ""
            if quality == MEASURABLE
            else unmeasurable_text(quality, kind, share, lang, "sensitivity_chart")
        )
        _panel(axes, ranked(rows, method, top), method, lang, labels_zh, unmeasurable)
        axes.set_title(titles[kind], fontsize="medium")
    heading = text[method].format(runs=runs, samples=samples)
    figure.suptitle(text["title"].format(label=target.label.text(lang), heading=heading))
    figure.supxlabel(text["note"], fontsize="x-small")
    return figure
