"""Fan charts of ensemble results against the plan's targets."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from sim.report.fonts import use_cjk_font
from sim.report.i18n import translations
from sim.results import variable
from sim.scenario import Language, Target

#: Quantiles drawn as bands: (low, high) pairs, outermost first, plus the median.
BANDS = ((0.05, 0.95), (0.25, 0.75))
MEDIAN = 0.5

TEXT = translations("fan_chart")


def plot_observations(axes, observations: pd.DataFrame, name: str, label: str) -> None:
    """Draw the observations of variable ``name`` (columns ``variable, year, value, sd``) as
    black points with ±2 sd error bars on ``axes``, labelled ``label``."""
    rows = observations[observations["variable"] == name]
    if not rows.empty:
        axes.errorbar(
            rows["year"],
            rows["value"],
            yerr=2 * rows["sd"],
            fmt="o",
            color="black",
            capsize=3,
            label=label,
        )


def fan_chart(
    results: xr.Dataset,
    target: Target,
    lang: Language,
    history: pd.DataFrame | None = None,
) -> Figure:
    """Fan chart of the target's variable: 5/25/50/75/95 % bands over time, the target and
    the observed history (rows of ``history`` with columns ``variable, year, value``).

    Values are shown in display units (model units × ``target.scale``).
    """
    use_cjk_font()
    text = TEXT[lang]
    data = variable(results, target.variable)
    times = data["time"].to_numpy()
    scaled = data.to_numpy() * target.scale
    figure = Figure(figsize=(6.4, 4.0), layout="constrained")
    axes = figure.subplots()
    for alpha, (low, high) in zip((0.25, 0.45), BANDS, strict=True):
        lower, upper = np.nanquantile(scaled, [low, high], axis=0)
        axes.fill_between(
            times,
            lower,
            upper,
            color="tab:blue",
            alpha=alpha,
            linewidth=0,
            label=text["band"].format(low=low * 100, high=high * 100),
        )
    axes.plot(times, np.nanquantile(scaled, MEDIAN, axis=0), color="tab:blue", label=text["median"])
    axes.plot(
        [target.year],
        [target.threshold * target.scale],
        marker="*",
        markersize=14,
        linestyle="none",
        color="tab:red",
        label=text["target"].format(year=target.year),
    )
    if history is not None:
        observed = history[history["variable"] == target.variable]
        if not observed.empty:
            axes.plot(
                observed["year"],
                observed["value"] * target.scale,
                marker="o",
                linestyle="none",
                color="black",
                label=text["history"],
            )
    axes.set_title(f"{target.label.text(lang)} ({target.unit.text(lang)})")
    axes.set_xlabel(text["year"])
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small", loc="upper left")
    return figure


def figure_png(figure: Figure, dpi: int = 120) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
