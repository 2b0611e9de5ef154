"""The planner page: Panel widgets over ``sim.serve.planner`` and the server of ``innosim serve``.

A ``PlannerPage`` is one view of a shared ``PlannerEnsemble`` (one per browser session, or one
in a notebook). A slider's label follows it as it moves (its value written by
``sim.report.quantities``); a release of the slider (``value_throttled``: the end of a drag, a
key press) applies the move (a member of a constraint rescales the others), and the page
re-runs the draws on common random numbers. Moves that arrive while a run is under way are
coalesced: the next run starts from the latest setting, so a fast series of key presses does
not queue a run each. The run updates the target table (probability, 95 % interval, paired
difference from the scenario as loaded), the fan chart (Bokeh, through its data source), and
the status line with the time the update took. The language switch relabels everything; "Save
as scenario" downloads the YAML that reproduces the page (``sim.serve.planner.saved_scenario``).
"""

from __future__ import annotations

import html
import io
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import panel as pn
from bokeh.models import ColumnDataSource, CustomJSTickFormatter, Legend, LegendItem
from bokeh.plotting import figure

from sim.analysis.paired_difference import ALL_TARGETS
from sim.engine.runner import SERIAL, Executor
from sim.errors import InnosimError
from sim.paths import DEFAULT_SCENARIO_PATH
from sim.report.figures import BANDS, MEDIAN
from sim.report.fonts import EMBEDDED_FAMILY, font_face_css
from sim.report.i18n import LANGUAGES, text
from sim.report.quantities import (
    format_number,
    format_percent,
    format_quantity,
    per_time,
    unit_text,
)
from sim.scenario import Language
from sim.scenario.levers import units_key
from sim.serve.planner import (
    DEFAULT_DRAWS,
    LEVERS_GROUP,
    MoveRefused,
    Outcome,
    PlannerEnsemble,
    SliderLever,
    saved_scenario,
)

#: The language switch's options: the name of each language in itself.
LANGUAGE_NAMES = {"中文": "zh", "English": "en"}
#: Colours of the fan chart (the report's matplotlib ``tab:blue`` / ``tab:red``).
BAND_COLOUR, TARGET_COLOUR, HISTORY_COLOUR = "#1f77b4", "#d62728", "#000000"
#: Sidebar width (pixels).
SIDEBAR_WIDTH = 380
#: Columns of the target table (keys of the catalogue's ``serve`` section).
TABLE_COLUMNS = (
    "indicator",
    "target",
    "probability",
    "interval",
    "difference",
    "difference_interval",
    "median",
)
#: The page's own styles (inside the HTML pane's shadow root).
TABLE_STYLE = """
table.innosim-targets { border-collapse: collapse; width: 100%; font-size: 14px; }
table.innosim-targets th, table.innosim-targets td { padding: 4px 8px;
  border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; }
table.innosim-targets th:first-child, table.innosim-targets td:first-child { text-align: left;
  white-space: normal; }
table.innosim-targets tr.all td { font-weight: bold; border-top: 2px solid #999; }
td.up { color: #1a7f37; } td.down { color: #c62828; } td.flat { color: #666; }
"""


class ServeError(InnosimError, ValueError):
    """``innosim serve`` cannot start (the port is taken or out of range)."""


def lever_text(slider: SliderLever, value: float, lang: Language) -> str:
    """A lever's value as a person reads it: a share as a percentage, a money amount in 亿元,
    a point in time (units ``Year``) as the year it is."""
    return format_quantity(value, slider.info.units, lang, percent=slider.percent)


#: A lever's value in the browser as ``lever_text`` writes it in Python (``format_quantity``:
#: a share as a percentage with 3 significant digits, other numbers with 3 to 4, a date as
#: the year), so the slider's label follows a drag without a round trip to the server.
SLIDER_FORMAT_JS = """
const fixed = (v, d) => v.toLocaleString("en-US",
    {minimumFractionDigits: d, maximumFractionDigits: d});
const join = (t) => unit ? t + " " + unit : t;
if (percent) {
  const scaled = tick * 100;
  const t = Math.abs(scaled) < 1000 ? String(Number(scaled.toPrecision(3))) : fixed(scaled, 0);
  return t + " %" + per;
}
const m = Math.abs(tick);
if (year && m >= 1000) { return String(Math.round(tick * 1e6) / 1e6); }
if (m === 0) { return join("0"); }
if (m < 0.01) { return join(String(Number(tick.toPrecision(3)))); }
return join(fixed(tick, m >= 100 ? 0 : m >= 10 ? 1 : m >= 1 ? 2 : 3));
"""
#: The page's fonts: the embedded CJK subset first (a reader without CJK fonts sees Chinese).
FONT_STACK = f'"{EMBEDDED_FAMILY}", "Helvetica Neue", Helvetica, Arial, sans-serif'


def slider_format(slider: SliderLever, lang: Language) -> CustomJSTickFormatter:
    """The slider's value formatter in ``lang`` (``SLIDER_FORMAT_JS``)."""
    units = slider.info.units
    return CustomJSTickFormatter(
        code=SLIDER_FORMAT_JS,
        args={
            "percent": slider.percent,
            "per": f"/{unit_text(per_time(units), lang)}" if per_time(units) else "",
            "year": units_key(units) == "Year",  # a date (2020) when ≥ 1000: is_date
            "unit": "" if slider.percent else unit_text(units, lang),
        },
    )


def page_characters(ensemble: PlannerEnsemble) -> str:
    """Every text the page can show, in both languages (for the embedded font subset)."""
    scenario = ensemble.scenario
    texts = [*LANGUAGE_NAMES]
    for lang in LANGUAGES:
        for section in ("serve", "fan_chart", "units"):
            texts += text(lang, section).values()  # type: ignore[arg-type]
    texts += [s.info.label_zh for s in ensemble.sliders]
    localized = [scenario.title, scenario.description]
    localized += [field for t in ensemble.targets for field in (t.label, t.unit)]
    for instrument in scenario.other_instruments.values():
        localized += [instrument.label, instrument.reason]
    texts += [getattr(item, lang) for item in localized if item is not None for lang in LANGUAGES]
    return "".join(texts)


def page_css(ensemble: PlannerEnsemble) -> str:
    """The document's CSS: the CJK font subset of the page's texts, used first everywhere
    (Panel's components read ``--bokeh-base-font`` inside their shadow roots)."""
    return (
        font_face_css(page_characters(ensemble))
        + f" :root {{ --bokeh-base-font: {FONT_STACK}; }} body {{ font-family: {FONT_STACK}; }}"
    )


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower())


class PlannerPage:
    """The planner page of a ``PlannerEnsemble`` (one per browser session or notebook).

    Args:
        ensemble: the scenario's draws and baseline (shared between pages).
        lang: the first language of the labels.

    Attributes:
        layout: the Panel layout (what a notebook or the server shows).
        values: the levers' values as set (model units).
        outcome: the ensemble at ``values``.
        seconds: how long the last update took (re-run, statistics, widgets), in seconds.
    """

    def __init__(self, ensemble: PlannerEnsemble, lang: Language = "zh") -> None:
        self.ensemble = ensemble
        self.lang: Language = lang
        self.values = ensemble.initial_values()
        self.outcome: Outcome = ensemble.baseline
        self.seconds = 0.0
        self._syncing = False
        self._scheduled = False
        self._problem = ""
        first = ensemble.targets[0].name
        self._chart_target = first
        self.sliders = {s.name: self._slider(s) for s in ensemble.sliders}
        self.cards = {
            group: pn.Card(
                *(self.sliders[s.name] for s in members),
                title="",
                collapsed=group.startswith("instrument:"),
                sizing_mode="stretch_width",
                css_classes=[f"group-{_slug(group)}"],
            )
            for group, members in ensemble.groups().items()
        }
        self.notes = {
            group: pn.pane.HTML("", sizing_mode="stretch_width")
            for group in self.cards
            if group.startswith("instrument:")
        }
        for group, note in self.notes.items():
            self.cards[group].append(note)
        self.language = pn.widgets.RadioButtonGroup(
            options=LANGUAGE_NAMES, value=lang, css_classes=["language"]
        )
        self.language.param.watch(lambda event: self.set_language(event.new), "value")
        self.save = pn.widgets.FileDownload(
            callback=self._saved_file,
            filename=f"{ensemble.path.stem}_planner.yaml",
            color="primary",
            css_classes=["save-scenario"],
        )
        self.reset = pn.widgets.Button(css_classes=["reset"])
        self.reset.on_click(lambda _: self.reset_levers())
        self.header = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["header"])
        self.status = pn.pane.HTML("", css_classes=["status"])
        self.table = pn.pane.HTML(
            "", sizing_mode="stretch_width", css_classes=["targets"], stylesheets=[TABLE_STYLE]
        )
        self.chart_select = pn.widgets.Select(css_classes=["chart-target"], width=420)
        self.chart_select.param.watch(lambda event: self._show_chart(event.new), "value")
        self.bands = ColumnDataSource(data=self._band_data())
        self.target_point = ColumnDataSource(data={"x": [], "y": []})
        self.history = ColumnDataSource(data={"x": [], "y": []})
        self.chart = pn.pane.Bokeh(self._figure(), sizing_mode="stretch_width")
        self.layout = pn.Row(
            pn.Column(*self.cards.values(), width=SIDEBAR_WIDTH, scroll=True, height=900),
            pn.Column(
                self.header,
                pn.Row(self.language, self.save, self.reset, self.status),
                self.table,
                self.chart_select,
                self.chart,
                sizing_mode="stretch_width",
            ),
            sizing_mode="stretch_width",
        )
        self.set_language(lang)

    # --- Panel's protocol: the page shows as its layout --------------------------------------

    def __panel__(self) -> pn.viewable.Viewable:
        return self.layout

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        return self.layout._repr_mimebundle_(include, exclude)

    # --- sliders ------------------------------------------------------------------------------

    def _slider(self, slider: SliderLever) -> pn.widgets.FloatSlider:
        widget = pn.widgets.FloatSlider(
            start=slider.start,
            end=slider.end,
            step=slider.step,
            value=slider.value,
            format=slider_format(slider, self.lang),
            sizing_mode="stretch_width",
            css_classes=["lever", f"lever-{_slug(slider.name)}"],
        )
        widget.param.watch(lambda event: self._moved(slider.name, event.new), "value_throttled")
        return widget

    def _label(self, slider: SliderLever) -> None:
        widget = self.sliders[slider.name]
        widget.name = slider.info.label(self.lang)
        widget.format = slider_format(slider, self.lang)

    def _sync_sliders(self) -> None:
        """Put every slider at ``values`` (without treating it as a move)."""
        self._syncing = True
        try:
            for name, widget in self.sliders.items():
                if widget.value != self.values[name]:
                    widget.value = self.values[name]
        finally:
            self._syncing = False

    def _moved(self, name: str, value: float) -> None:
        if self._syncing or value is None:
            return
        self.move(name, float(value), wait=False)

    def move(self, name: str, value: float, *, wait: bool = True) -> None:
        """Set lever ``name`` to ``value`` (model units) as a slider move does: a member of a
        constraint rescales the others; a move the constraint cannot absorb is refused (the
        slider goes back, the status says why). Then the page updates: at once when ``wait``,
        else scheduled on the server's event loop (moves arriving meanwhile are coalesced)."""
        slider = self.ensemble.by_name[name]
        value = min(max(value, slider.start), slider.end)
        try:
            self.values = self.ensemble.rebalanced(self.values, name, value)
            self._problem = ""
        except MoveRefused as refusal:
            self._problem = text(self.lang, "serve")["refused_share"].format(
                member=refusal.slider.info.label(self.lang),
                value=lever_text(refusal.slider, refusal.value, self.lang),
                low=lever_text(refusal.slider, refusal.slider.start, self.lang),
                high=lever_text(refusal.slider, refusal.slider.end, self.lang),
            )
        self._sync_sliders()
        if wait:
            self.update()
        elif not self._scheduled:
            self._scheduled = True
            pn.state.execute(self.update, schedule=True)

    def reset_levers(self) -> None:
        """Put every lever back at the scenario's value and update."""
        self.values = self.ensemble.initial_values()
        self._problem = ""
        self._sync_sliders()
        self.update()

    # --- the update ---------------------------------------------------------------------------

    def update(self) -> None:
        """Re-run the draws at ``values`` and update the table, the chart and the status."""
        self._scheduled = False
        start = time.perf_counter()
        self.outcome = self.ensemble.outcome(self.values)
        self._render_table()
        self.bands.data = self._band_data()  # the rest of the chart stays as it is
        self.seconds = time.perf_counter() - start
        self._render_status()

    def _render_status(self) -> None:
        words = text(self.lang, "serve")
        draws = f"{self.ensemble.runs.draws:,}"
        parts = [
            words["updated"].format(seconds=self.seconds, draws=draws)
            if self.seconds
            else words["baseline_shown"].format(draws=draws),
            words["changed_levers"].format(count=len(self.ensemble.changed(self.values))),
        ]
        if self._problem:
            parts.append(words["refused"].format(problem=self._problem))
        body = " · ".join(html.escape(p) for p in parts)
        self.status.object = (
            f'<span class="status-text" data-seconds="{self.seconds}">{body}</span>'
        )

    def _render_table(self) -> None:
        lang, ensemble, outcome = self.lang, self.ensemble, self.outcome
        words = text(lang, "serve")
        differences = {d.target: d for d in ensemble.differences(outcome)}
        head = "".join(f"<th>{html.escape(words[h])}</th>" for h in TABLE_COLUMNS)
        entries = []
        for target, row in zip(ensemble.targets, outcome.table.to_dict("records"), strict=True):
            unit = target.unit.text(lang)
            threshold = format_number(target.threshold * target.scale)
            entry = {
                "label": target.label.text(lang),
                "target": f"{target.symbol} {threshold} {unit}",
                "probability": format_percent(row["probability"]),
                "interval": f"{format_percent(row['prob_low'])}–{format_percent(row['prob_high'])}",
                "median": f"{format_number(row['median'] * target.scale)} {unit}",
            }
            entries.append((target.name, entry, row["probability"]))
        p_all, low_all, high_all = outcome.all_targets
        every = {
            "label": words["all"],
            "target": "",
            "probability": format_percent(p_all),
            "interval": f"{format_percent(low_all)}–{format_percent(high_all)}",
            "median": "",
        }
        entries.append((ALL_TARGETS, every, p_all))
        body = []
        for name, row, p in entries:
            d = differences[name]
            trend = "up" if d.low > 0 else "down" if d.high < 0 else "flat"
            diff = format_quantity(d.difference, "Dmnl", lang, change=True)
            interval = (
                f"{format_quantity(d.low, 'Dmnl', lang, change=True)} – "
                f"{format_quantity(d.high, 'Dmnl', lang, change=True)}"
            )
            cells = [
                f'<td class="label">{html.escape(str(row["label"]))}</td>',
                f'<td class="threshold">{html.escape(str(row["target"]))}</td>',
                f'<td class="probability" data-probability="{float(p)!r}">'
                f"{row['probability']}</td>",
                f'<td class="interval">{row["interval"]}</td>',
                f'<td class="difference {trend}" data-difference="{float(d.difference)!r}">'
                f"{html.escape(diff)}</td>",
                f'<td class="difference-interval {trend}">{html.escape(interval)}</td>',
                f'<td class="median">{html.escape(row["median"])}</td>',
            ]
            css = ' class="all"' if name == ALL_TARGETS else ""
            body.append(f'<tr data-target="{name}"{css}>{"".join(cells)}</tr>')
        note = html.escape(words["table_note"])
        self.table.object = (
            f'<table class="innosim-targets"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table><p class="note">{note}</p>'
        )

    # --- the fan chart ------------------------------------------------------------------------

    def _band_data(self) -> dict[str, Any]:
        """The fan chart's columns for the chart's target: the bands and median now, and the
        baseline's median (display units)."""
        ensemble = self.ensemble
        target = next(t for t in ensemble.targets if t.name == self._chart_target)
        levels = [q for band in BANDS for q in band] + [MEDIAN]
        now = np.nanquantile(self.outcome.series[target.variable] * target.scale, levels, axis=0)
        base = ensemble.baseline.series[target.variable] * target.scale
        data = {"year": ensemble.times, "baseline": np.nanquantile(base, MEDIAN, axis=0)}
        for i in range(len(BANDS)):
            data[f"low{i}"], data[f"high{i}"] = now[2 * i], now[2 * i + 1]
        data["median"] = now[-1]
        return data

    def _show_chart(self, name: str) -> None:
        if name is None:
            return
        self._chart_target = name
        target = next(t for t in self.ensemble.targets if t.name == name)
        self.bands.data = self._band_data()
        self.target_point.data = {"x": [target.year], "y": [target.threshold * target.scale]}
        history = self.ensemble.history
        if history is not None:
            rows = history[history["variable"] == target.variable]
            self.history.data = {
                "x": rows["year"].to_numpy(),
                "y": rows["value"].to_numpy() * target.scale,
            }
        else:
            self.history.data = {"x": [], "y": []}
        if self.chart.object is not None:
            self.chart.object.title.text = (
                f"{target.label.text(self.lang)} ({target.unit.text(self.lang)})"
            )

    def _figure(self) -> figure:
        """The fan chart in the page's language, drawn from the data sources."""
        words = text(self.lang, "fan_chart")
        serve = text(self.lang, "serve")
        plot = figure(
            height=380,
            sizing_mode="stretch_width",
            x_axis_label=words["year"],
            tools="pan,wheel_zoom,box_zoom,reset,save,hover",
            tooltips=[("", "@year{0}: @median{0,0.[00]}")],
        )
        items = []
        for i, ((low, high), alpha) in enumerate(zip(BANDS, (0.25, 0.45), strict=True)):
            band = plot.varea(
                x="year",
                y1=f"low{i}",
                y2=f"high{i}",
                source=self.bands,
                fill_color=BAND_COLOUR,
                fill_alpha=alpha,
            )
            items.append(
                LegendItem(
                    label=words["band"].format(low=low * 100, high=high * 100), renderers=[band]
                )
            )
        median = plot.line(x="year", y="median", source=self.bands, color=BAND_COLOUR, line_width=2)
        items.append(LegendItem(label=words["median"], renderers=[median]))
        baseline = plot.line(
            x="year", y="baseline", source=self.bands, color="#555555", line_dash="dashed"
        )
        items.append(LegendItem(label=serve["baseline_median"], renderers=[baseline]))
        year = int(next(t.year for t in self.ensemble.targets if t.name == self._chart_target))
        star = plot.scatter(
            x="x", y="y", source=self.target_point, marker="star", size=16, color=TARGET_COLOUR
        )
        items.append(LegendItem(label=words["target"].format(year=year), renderers=[star]))
        if self.ensemble.history is not None:
            seen = plot.scatter(x="x", y="y", source=self.history, size=7, color=HISTORY_COLOUR)
            items.append(LegendItem(label=words["history"], renderers=[seen]))
        plot.add_layout(Legend(items=items, location="top_left", label_text_font=FONT_STACK))
        plot.title.text_font = FONT_STACK
        for axis in (plot.xaxis, plot.yaxis):
            axis.axis_label_text_font = FONT_STACK
        plot.xaxis.ticker.desired_num_ticks = 10
        plot.xaxis.formatter.use_scientific = False
        return plot

    # --- language -----------------------------------------------------------------------------

    def set_language(self, lang: Language) -> None:
        """Relabel everything in ``lang`` (``zh`` or ``en``)."""
        self.lang = lang
        if self.language.value != lang:
            self.language.value = lang
        ensemble, words = self.ensemble, text(lang, "serve")
        scenario = ensemble.scenario
        title = scenario.title.text(lang) if scenario.title else ensemble.path.stem
        settings = ensemble.settings
        self.header.object = (
            f'<h2 class="page-title">{html.escape(words["heading"].format(title=title))}</h2>'
            '<p class="intro">'
            + html.escape(
                words["intro"].format(
                    draws=f"{settings.draws:,}",
                    sampler=settings.sampler.upper(),
                    seed=settings.seed,
                    baseline=title,
                )
            )
            + "</p>"
        )
        for group, card in self.cards.items():
            card.title = self._group_title(group)
        for group, note in self.notes.items():
            instrument = scenario.other_instruments[group.removeprefix("instrument:")]
            reason = words["instrument_note"].format(reason=instrument.reason.text(lang))
            note.object = f'<p style="font-size: 12px; color: #555">{html.escape(reason)}</p>'
        self.save.label = words["save"]
        self.reset.name = words["reset"]
        options = {t.label.text(lang): t.name for t in ensemble.targets}
        self.chart_select.name = words["chart_target"]
        self.chart_select.options = options
        self.chart_select.value = self._chart_target
        self._syncing = True
        try:
            for slider in ensemble.sliders:
                self._label(slider)
        finally:
            self._syncing = False
        self.chart.object = self._figure()
        self._show_chart(self._chart_target)
        self._render_table()
        self._render_status()

    def _group_title(self, group: str) -> str:
        words = text(self.lang, "serve")
        if group == LEVERS_GROUP:
            return words["levers_group"]
        constraint = self.ensemble.constraint(group)
        if constraint is not None:
            first = self.ensemble.by_name[constraint.sum[0]].info.label(self.lang)
            return words["constraint_group"].format(
                equals=format_percent(constraint.equals, decimals=0),
                first=first,
                others=len(constraint.sum) - 1,
            )
        instrument = self.ensemble.scenario.other_instruments[group.removeprefix("instrument:")]
        return words["instrument_group"].format(label=instrument.label.text(self.lang))

    # --- saving -------------------------------------------------------------------------------

    def saved_text(self) -> str:
        """The scenario file (YAML) of the page as it is."""
        return saved_scenario(self.ensemble, self.values)

    def _saved_file(self) -> io.BytesIO:
        return io.BytesIO(self.saved_text().encode("utf-8"))


def planner_page(
    scenario: str | Path = DEFAULT_SCENARIO_PATH,
    *,
    draws: int | None = DEFAULT_DRAWS,
    seed: int | None = None,
    lang: Language = "zh",
    model: str | Path | None = None,
    ensemble: PlannerEnsemble | None = None,
) -> PlannerPage:
    """The planner page of a scenario file, e.g. to show inline in JupyterLab.

    Args:
        scenario: the scenario file (default: the baseline).
        draws, seed: Monte Carlo settings (default: ``DEFAULT_DRAWS``, the scenario's seed).
        lang: the first language of the labels.
        model: the ``.mdl`` file (default: the project's model).
        ensemble: an ensemble already built (shared with other pages); then ``scenario``,
            ``draws``, ``seed`` and ``model`` are not used.
    """
    if ensemble is None:
        ensemble = PlannerEnsemble(scenario, draws=draws, seed=seed, model=model)
    return PlannerPage(ensemble, lang)


def check_port(port: int, address: str) -> None:
    """Raise ``ServeError`` unless ``port`` is in 1–65535 and free on ``address``."""
    if not 1 <= port <= 65535:
        raise ServeError(f"--port: expected a port number from 1 to 65535; got {port}")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((address, port))
        except OSError as exc:
            raise ServeError(
                f"--port {port}: cannot listen on {address}:{port} ({exc.strerror or exc}); "
                "another program (perhaps another innosim serve) uses it: give another --port"
            ) from None


def serve_page(
    scenario: str | Path = DEFAULT_SCENARIO_PATH,
    *,
    port: int,
    draws: int | None = DEFAULT_DRAWS,
    seed: int | None = None,
    lang: Language = "zh",
    model: str | Path | None = None,
    address: str = "127.0.0.1",
    executor: Executor = SERIAL,
    ready: Callable[[str], None] | None = None,
    start: bool = True,
) -> Any:
    """Serve the planner page of ``scenario`` on ``address:port`` until interrupted.

    The scenario and its draws are loaded (and the baseline run) before the server starts, so
    bad input fails here, and every browser session shares them; each session gets its own
    page (its own levers).

    Args:
        ready: told the page's address once the server listens.
        start: start the server's loop (blocks); ``False`` returns the server unstarted.

    Raises:
        ServeError: the port is out of range or taken.
        InnosimError: a bad scenario, model or Monte Carlo setting.
    """
    check_port(port, address)
    ensemble = PlannerEnsemble(scenario, draws=draws, seed=seed, model=model, executor=executor)
    title = text(lang, "serve")["page_title"]
    pn.config.global_css = [*pn.config.global_css, page_css(ensemble)]
    origins = [f"{host}:{port}" for host in ("localhost", "127.0.0.1", address)]

    def session() -> pn.viewable.Viewable:
        return PlannerPage(ensemble, lang).layout

    try:
        server = pn.serve(
            {"/": session},
            port=port,
            address=address,
            websocket_origin=list(dict.fromkeys(origins)),
            show=False,
            start=False,
            title=title,
            verbose=False,
        )
    except OSError as exc:
        raise ServeError(f"--port {port}: cannot listen on {address}:{port} ({exc})") from None
    if ready is not None:
        ready(f"http://{'localhost' if address == '127.0.0.1' else address}:{port}/")
    if start:
        server.start()
        server.io_loop.start()  # until interrupted (Panel stops it on SIGINT)
    return server
