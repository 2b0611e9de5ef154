"""Charts, the answer in words and the page of a PRIM scenario-discovery result
(``innosim discover``), in Chinese or English."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sim.analysis.prim_boxes import DiscoveryResult
from sim.report.fonts import use_cjk_font
from sim.report.i18n import translations
from sim.report.quantities import format_number, format_percent
from sim.report.sensitivity_charts import parameter_label
from sim.scenario import Language, Target

TEXT = translations("discovery_chart")
#: Relative tolerance within which a box limit counts as the sample's own end (no bound).
AT_SAMPLE_END = 1e-9


def restriction_text(row: object, lang: Language, labels_zh: Mapping[str, str]) -> str:
    """One restriction of a box in words: ``A between x and y``, ``A ≤ y`` or ``A ≥ x``
    (a limit at the sample's own end bounds nothing)."""
    text = translations("discover")[lang]
    name = parameter_label(row.parameter, lang, labels_zh)  # type: ignore[attr-defined]
    low, high = float(row.lower), float(row.upper)  # type: ignore[attr-defined]
    span = max(abs(row.sample_max - row.sample_min), 1.0)  # type: ignore[attr-defined]
    free_low = abs(low - row.sample_min) <= AT_SAMPLE_END * span  # type: ignore[attr-defined]
    free_high = abs(high - row.sample_max) <= AT_SAMPLE_END * span  # type: ignore[attr-defined]
    if free_low and not free_high:
        return text["at_most"].format(parameter=name, high=format_number(high))
    if free_high and not free_low:
        return text["at_least"].format(parameter=name, low=format_number(low))
    return text["between"].format(parameter=name, low=format_number(low), high=format_number(high))


def discovery_answer(
    result: DiscoveryResult,
    target: Target,
    missed: bool,
    lang: Language,
    labels_zh: Mapping[str, str],
) -> str:
    """The chosen box in a sentence: where the target is reached (or missed), the share of
    those draws that do so (density) against the share overall, and how much of the cases
    the box holds (coverage) and of all draws (mass)."""
    text = translations("discover")[lang]
    chosen = result.trajectory.loc[result.chosen]
    numbers = {
        "target": target.label.text(lang),
        "outcome": text["missed_word" if missed else "reached_word"],
        "density": format_percent(float(chosen["density"])),
        "base": format_percent(float(result.base_rate)),
        "coverage": format_percent(float(chosen["coverage"])),
        "mass": format_percent(float(chosen["mass"])),
    }
    if result.box.empty:
        return text["answer_none"].format(**numbers)
    restrictions = [
        restriction_text(row, lang, labels_zh) for row in result.box.itertuples(index=False)
    ]
    return text["answer"].format(where=text["and"].join(restrictions), **numbers)


def discovery_chart(
    result: DiscoveryResult,
    target: Target,
    missed: bool,
    lang: Language,
    labels_zh: Mapping[str, str],
) -> Figure:
    """Left: the peeling trajectory's coverage against density (colour: restricted
    parameters), the chosen box marked. Right: the chosen box's limits per parameter as a
    share of the parameter's range in the sample, with the limits in model units."""
    use_cjk_font()
    text = TEXT[lang]
    box = result.box
    figure = Figure(figsize=(13, max(4.5, 1.6 + 0.45 * len(box))), layout="constrained")
    tradeoff, limits = figure.subplots(1, 2, width_ratios=(1, 1.2))

    steps = result.trajectory
    points = tradeoff.scatter(
        steps["coverage"], steps["density"], c=steps["restricted"], cmap="viridis", s=18
    )
    bar = figure.colorbar(points, ax=tradeoff, label=text["restricted"])
    bar.locator = MaxNLocator(integer=True)
    bar.update_ticks()
    chosen = steps.loc[result.chosen]
    tradeoff.plot(
        [chosen["coverage"]],
        [chosen["density"]],
        marker="*",
        markersize=16,
        color="tab:red",
        linestyle="none",
        label=text["chosen"].format(
            box=result.chosen,
            coverage=chosen["coverage"],
            density=chosen["density"],
            mass=chosen["mass"],
        ),
    )
    tradeoff.axhline(
        result.threshold,
        color="grey",
        linestyle="--",
        linewidth=0.8,
        label=text["threshold"].format(threshold=result.threshold),
    )
    tradeoff.set_xlabel(text["coverage"])
    tradeoff.set_ylabel(text["density"])
    tradeoff.set_xlim(0, 1.02)
    tradeoff.set_ylim(0, 1.02)
    tradeoff.grid(alpha=0.3)
    tradeoff.legend(fontsize="x-small", loc="lower left")
    tradeoff.set_title(text["tradeoff"], fontsize="medium")

    if box.empty:
        limits.text(0.5, 0.5, text["none"], ha="center", va="center", transform=limits.transAxes)
        limits.set_xticks([])
        limits.set_yticks([])
    else:
        positions = np.arange(len(box))[::-1]
        limits.barh(positions, 1.0, color="lightgrey", height=0.6, label=text["range"])
        limits.barh(
            positions,
            box["upper_norm"] - box["lower_norm"],
            left=box["lower_norm"],
            color="tab:blue",
            height=0.6,
            label=text["box"],
        )
        for y, row in zip(positions, box.itertuples(index=False), strict=True):
            significance = min(
                row.qp_lower, row.qp_upper, key=lambda p: np.inf if np.isnan(p) else p
            )
            limits.text(
                1.02,
                y,
                f"{row.lower:.3g} – {row.upper:.3g}\n{text['qp']} {significance:.2g}",
                va="center",
                fontsize="x-small",
            )
        labels = [parameter_label(name, lang, labels_zh) for name in box["parameter"]]
        limits.set_yticks(positions, labels, fontsize="small")
        limits.set_xlim(0, 1.3)
        limits.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
        limits.legend(fontsize="x-small", loc="upper center", bbox_to_anchor=(0.4, -0.06), ncols=2)
    limits.set_title(text["limits"], fontsize="medium")
    heading = text["missed" if missed else "reached"].format(
        label=target.label.text(lang),
        symbol=target.symbol,
        threshold=target.display(target.threshold),
        unit=target.unit.text(lang),
    )
    figure.suptitle(heading)
    return figure
