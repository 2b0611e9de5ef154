"""Fan charts of ensemble results against the plan's targets.

A fan chart reads its variable a group of save times and a block of draws at a time
(``fan_quantiles``: at most about ``2 * FAN_CHART_BYTES`` held, whatever the number of draws),
its quantiles ``np.nanquantile``'s bit for bit. Its margins are measured once from the text it
holds (``_fit_margins``) instead of by a layout engine, which would draw the figure twice.
``FanCharts`` draws the charts of several targets on one figure, the same PNG files faster.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import matplotlib
import matplotlib.image
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Bbox

from sim.report.fonts import use_cjk_font
from sim.report.i18n import translations
from sim.results import variable
from sim.scenario import Language, Target

#: Quantiles drawn as bands: (low, high) pairs, outermost first, plus the median.
BANDS = ((0.05, 0.95), (0.25, 0.75))
MEDIAN = 0.5
#: Bytes of values a fan chart holds at a time (a group of save times across every draw).
FAN_CHART_BYTES = 32 * 2**20
#: Size (inches) and resolution (dots per inch) of a fan chart.
FAN_CHART_SIZE = (6.4, 4.0)
FAN_CHART_DPI = 120
#: zlib level of PNG files: 1 compresses a chart in about 70 % of the time of the default 6,
#: the file about 7 % larger (the 13 charts of a run: 0.09 s, 687 kB); the pixels are the same.
PNG_COMPRESS_LEVEL = 1
#: Space (points) between a figure's edge and the text nearest it.
EDGE_PAD = 3.0

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


def fan_quantiles(
    data: xr.DataArray,
    scale: float,
    quantiles: Sequence[Sequence[float] | float],
    max_bytes: int = FAN_CHART_BYTES,
) -> list[np.ndarray]:
    """Quantiles over the draws of ``data`` (dims ``draw, time``) times ``scale``, at each time:
    for each entry of ``quantiles`` (a probability, or a list of them) what
    ``np.nanquantile(data * scale, entry, axis=0)`` gives, bit for bit (NaN ignored).

    ``data`` may be read lazily from a file. It is read a group of times at a time (as many as
    ``max_bytes`` holds across every draw, at least one), each group a block of draws at a
    time, so at most about twice ``max_bytes`` (and a time's values) is held at once.
    """
    data = data.transpose("draw", "time")
    n_draws, n_times = data.shape
    dtype = np.result_type(data.dtype, scale)
    per_group = max(1, min(n_times, max_bytes // max(1, dtype.itemsize * n_draws)))
    out = [np.full((np.size(q), n_times), np.nan) for q in quantiles]
    for first in range(0, n_times, per_group):
        last = min(first + per_group, n_times)
        group = np.empty((last - first, n_draws), dtype=dtype)  # a row per time
        per_block = max(1, max_bytes // (dtype.itemsize * (last - first)))
        for start in range(0, n_draws, per_block):
            stop = min(start + per_block, n_draws)
            block = data[start:stop, first:last].to_numpy()
            np.multiply(block.T, scale, out=group[:, start:stop])  # data * scale, element-wise
            del block
        for j, column in enumerate(group):
            for values, q in zip(out, quantiles, strict=True):
                values[:, first + j] = np.nanquantile(column, q)
        del group
    return [values if np.ndim(q) else values[0] for values, q in zip(out, quantiles, strict=True)]


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
    figure = Figure(figsize=FAN_CHART_SIZE, dpi=FAN_CHART_DPI)
    _draw_fan_chart(figure, figure.subplots(), results, target, lang, history)
    return figure


class FanCharts:
    """Fan charts drawn one after another on one figure, as PNG: the files of
    ``figure_png(fan_chart(...))``, byte for byte, faster: the axes, their ticks and the
    measures of their text are kept from one chart to the next (only the data, title and
    legend change), and ``pngs`` compresses each chart on a thread while drawing the next.
    """

    def __init__(self) -> None:
        self.figure = Figure(figsize=FAN_CHART_SIZE, dpi=FAN_CHART_DPI)
        self._axes = self.figure.subplots()
        self._drawn = False

    def _draw(
        self, results: xr.Dataset, target: Target, lang: Language, history: pd.DataFrame | None
    ) -> None:
        """Draw the chart of ``target`` on the figure, in place of the one before."""
        axes = self._axes
        if self._drawn:  # back to empty axes with no data limits
            for artist in [*axes.collections, *axes.lines]:
                artist.remove()
            if axes.get_legend() is not None:
                axes.get_legend().remove()
            axes.dataLim.set_points(Bbox.null().get_points())
            axes.ignore_existing_data_limits = True
            axes.set_autoscale_on(True)
        self._drawn = True
        _draw_fan_chart(self.figure, axes, results, target, lang, history)

    def png(
        self,
        results: xr.Dataset,
        target: Target,
        lang: Language,
        history: pd.DataFrame | None = None,
    ) -> bytes:
        """``figure_png(fan_chart(results, target, lang, history))``."""
        self._draw(results, target, lang, history)
        return figure_png(self.figure, FAN_CHART_DPI)

    def pngs(
        self,
        results: xr.Dataset,
        targets: Sequence[Target],
        lang: Language,
        history: pd.DataFrame | None = None,
    ) -> dict[str, bytes]:
        """``png`` of every target, by target name; a chart's pixels are compressed on a
        thread (zlib does not hold the GIL) while the next one is drawn."""
        with ThreadPoolExecutor(max_workers=1) as encoder:
            encoded = {}
            for target in targets:
                self._draw(results, target, lang, history)
                canvas = self.figure.canvas  # an Agg canvas once drawn on
                canvas.draw()
                pixels = np.array(canvas.buffer_rgba())  # a copy: the next chart reuses it
                encoded[target.name] = encoder.submit(_png_bytes, pixels, FAN_CHART_DPI)
            return {name: future.result() for name, future in encoded.items()}


def _draw_fan_chart(
    figure: Figure,
    axes: Axes,
    results: xr.Dataset,
    target: Target,
    lang: Language,
    history: pd.DataFrame | None,
) -> None:
    """Draw the fan chart of ``target`` on empty ``axes`` of ``figure`` and fit the margins."""
    use_cjk_font()
    text = TEXT[lang]
    data = variable(results, target.variable)
    times = data["time"].to_numpy()
    *bands, median = fan_quantiles(data, target.scale, [*(list(band) for band in BANDS), MEDIAN])
    for alpha, (low, high), (lower, upper) in zip((0.25, 0.45), BANDS, bands, strict=True):
        axes.fill_between(
            times,
            lower,
            upper,
            color="tab:blue",
            alpha=alpha,
            linewidth=0,
            label=text["band"].format(low=low * 100, high=high * 100),
        )
    axes.plot(times, median, color="tab:blue", label=text["median"])
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
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # years, never 2017.5
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small", loc="upper left")
    _fit_margins(figure, axes)


def _points(renderer, pixels: float) -> float:
    """``pixels`` of ``renderer`` in points."""
    return pixels * 72 / renderer.dpi


@dataclass(frozen=True)
class _TickLabels:
    """The tick labels an axis will draw, measured in points.

    Attributes:
        widths: each label's width, in the order of the ticks.
        height: the height of a label.
        ends: where the first and the last label sit, as fractions of the axis from its
            start and from its end.
        offset: the height of the axis' offset text (``1e6``; 0 when there is none).
    """

    widths: list[float]
    height: float
    ends: tuple[float, float]
    offset: float


def _tick_labels(axis, renderer) -> _TickLabels:
    """Measure the tick labels ``axis`` will draw (no draw needed)."""
    low, high = sorted(axis.get_view_interval())
    locs = [loc for loc in axis.get_majorticklocs() if low <= loc <= high]
    formatter = axis.get_major_formatter()
    labels = formatter.format_ticks(locs)
    prop = axis.get_major_ticks()[0].label1.get_fontproperties()

    def size(text: str) -> tuple[float, float]:
        width, height, _ = renderer.get_text_width_height_descent(text, prop, ismath=False)
        return _points(renderer, width), _points(renderer, height)

    span = (high - low) or 1.0
    ends = ((locs[0] - low) / span, (high - locs[-1]) / span) if locs else (0.5, 0.5)
    offset = formatter.get_offset()
    return _TickLabels(
        widths=[size(label)[0] for label in labels],
        height=size("0123456789")[1],
        ends=ends,
        offset=size(offset)[1] if offset else 0.0,
    )


def _text_height(text, renderer) -> float:
    """Height (points) of a ``matplotlib.text.Text``; 0 when it is empty."""
    if not text.get_text():
        return 0.0
    return _points(renderer, text.get_window_extent(renderer).height)


def _fit_margins(figure: Figure, axes: Axes) -> None:
    """Place ``axes`` so that its title, axis labels and tick labels fit inside ``figure``
    with ``EDGE_PAD`` to spare: the margins are measured from the text once (a layout engine
    would draw the figure twice)."""
    canvas = figure.canvas
    if not isinstance(canvas, FigureCanvasAgg):
        canvas = FigureCanvasAgg(figure)
    renderer = canvas.get_renderer()
    width, height = (size * 72 for size in figure.get_size_inches())
    x_tick, y_tick = axes.xaxis.get_major_ticks()[0], axes.yaxis.get_major_ticks()[0]
    x_labels = _tick_labels(axes.xaxis, renderer)
    y_labels = _tick_labels(axes.yaxis, renderer)

    left = max(y_labels.widths, default=0.0) + max(y_tick.get_tick_padding(), 0.0)
    left += y_tick.get_pad()
    if axes.get_ylabel():
        left += _points(renderer, axes.yaxis.label.get_window_extent(renderer).width)
        left += axes.yaxis.labelpad
    bottom = x_labels.height + max(x_tick.get_tick_padding(), 0.0) + x_tick.get_pad()
    if axes.get_xlabel():
        bottom += _text_height(axes.xaxis.label, renderer) + axes.xaxis.labelpad
    bottom += x_labels.offset
    title = _text_height(axes.title, renderer)
    title += matplotlib.rcParams["axes.titlepad"] if title else 0.0
    top = max(title, y_labels.offset, y_labels.height / 2)

    # the first and last x tick labels stick out of the axes by half their width, less the
    # room between them and the axes' ends: (half - fraction * axes width) with the axes width
    # (width - left - right) depending on the margins themselves
    def overhang(half: float, fraction: float, other: float) -> float:
        if fraction >= 1:  # the label sits at the other end
            return 0.0
        return max(0.0, (half - fraction * (width - other)) / (1 - fraction))

    if x_labels.widths:
        right = overhang(x_labels.widths[-1] / 2, x_labels.ends[1], left + 2 * EDGE_PAD)
        left = max(left, overhang(x_labels.widths[0] / 2, x_labels.ends[0], right + 2 * EDGE_PAD))
    else:
        right = 0.0
    figure.subplots_adjust(
        left=(left + EDGE_PAD) / width,
        right=1 - (right + EDGE_PAD) / width,
        bottom=(bottom + EDGE_PAD) / height,
        top=1 - (top + EDGE_PAD) / height,
    )


def figure_png(figure: Figure, dpi: int = 120) -> bytes:
    """The figure as PNG bytes (zlib level ``PNG_COMPRESS_LEVEL``)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})
    return buffer.getvalue()


def _png_bytes(pixels: np.ndarray, dpi: float) -> bytes:
    """RGBA ``pixels`` (rows from the top) as the PNG file ``figure_png`` writes of them."""
    buffer = io.BytesIO()
    matplotlib.image.imsave(
        buffer,
        pixels,
        format="png",
        origin="upper",
        dpi=dpi,
        pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL},
    )
    return buffer.getvalue()
