"""Charts of a PRIM scenario-discovery result (``innosim discover``), in Chinese or English."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sim.analysis.prim_boxes import DiscoveryResult
from sim.report.fonts import use_cjk_font
from sim.report.i18n import translations
from sim.report.sensitivity_charts import parameter_label
from sim.scenario import Language, Target

TEXT = translations("discovery_chart")


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
