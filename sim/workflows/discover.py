"""Where in the space of the uncertainties is a target reached (or missed)? The workflow of
``innosim discover`` (``scenario_discovery``): PRIM boxes (``sim.analysis.prim_boxes``) of the
scenario's Monte Carlo draws.

The draws are the scenario's sample (its sampler and correlations), simulated keeping only the
target's variable in its year (``sim.workflows.sensitivity.target_values``). Each draw keeps
its paths; PRIM is given, besides the uncertainties, each path's mean over its drawn years
(column ``<name> (mean <first>-<last>)``), so a box can say "when the coal price averages
below …".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.prim_boxes import DEFAULT_THRESHOLD, DiscoveryResult, discover
from sim.analysis.probabilities import met
from sim.engine import compile_model
from sim.engine.ensemble import ExogenousSeries, monte_carlo_settings, scenario_inputs
from sim.engine.runner import DEFAULT_CHUNK_SIZE, SERIAL, Executor, Progress
from sim.errors import InnosimError
from sim.provenance import provenance
from sim.report.i18n import translations
from sim.scenario import Language, Scenario, Target
from sim.scenario.names import scenario_target
from sim.vensim.catalogue import UnresolvedName
from sim.workflows.sensitivity import (
    ProgressBar,
    no_progress_bar,
    parameter_labels,
    target_values,
)

#: Quasi-p value above which a box's restriction is called possibly chance.
SIGNIFICANCE = 0.05

TEXT = translations("discover")


class UnknownTargetError(InnosimError, KeyError):
    """The scenario has no target of the name asked for (the message lists its targets)."""

    def __str__(self) -> str:
        return str(self.args[0])


def find_target(scenario: Scenario, name: str) -> Target:
    """The scenario's target that ``name`` names (its id, variable or label:
    ``sim.scenario.names.scenario_target``); ``UnknownTargetError`` suggesting close ones or
    listing an ambiguous name's candidates."""
    try:
        return scenario_target(scenario, name)
    except UnresolvedName as exc:
        raise UnknownTargetError(str(exc)) from None


def path_mean(series: ExogenousSeries) -> tuple[str, np.ndarray]:
    """A path's mean over its drawn years, per draw, and its column name
    ``<name> (mean <first>-<last>)`` (scenario discovery's summary of a path)."""
    drawn = series.years >= series.first_drawn
    last = int(series.years[-1])
    return f"{series.name} (mean {series.first_drawn}-{last})", series.values[:, drawn].mean(1)


@dataclass(frozen=True)
class DiscoveryRun:
    """The result of ``run_discovery``: the PRIM result, its target and its sample.

    Attributes:
        result: ``sim.analysis.prim_boxes.DiscoveryResult``.
        target: the target analysed.
        missed: whether the cases of interest are the draws that miss it.
        draws, seed, sampler: the Monte Carlo sample (correlations honoured).
        labels_zh: Chinese label of each parameter.
        model, model_sha256: the model file simulated and the sha256 of its bytes.
    """

    result: DiscoveryResult
    target: Target
    missed: bool
    draws: int
    seed: int
    sampler: str
    labels_zh: dict[str, str]
    model: Path | None = None
    model_sha256: str = ""


def run_discovery(
    scenario: Scenario,
    target: str,
    missed: bool = False,
    threshold: float = DEFAULT_THRESHOLD,
    draws: int | None = None,
    seed: int | None = None,
    box: int | None = None,
    model: str | Path | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Progress | None = None,
    executor: Executor = SERIAL,
) -> DiscoveryRun:
    """PRIM box of the draws of ``scenario`` that reach (or, ``missed``, miss) ``target``.

    Draws are the scenario's Monte Carlo sample (its sampler and correlations; ``draws`` and
    ``seed`` override its settings). Raises ``UnknownTargetError`` for an unknown target,
    ``SettingsError`` for bad settings, ``ValueError`` when every draw
    or none is of interest.
    """
    chosen = find_target(scenario, target)
    if not scenario.uncertainties and not scenario.paths:
        raise ValueError("the scenario has no uncertainties or paths: nothing to discover")
    settings = monte_carlo_settings(scenario, draws, seed)
    compiled = compile_model(model)
    inputs = scenario_inputs(scenario, settings, compiled)
    values = target_values(
        compiled,
        [chosen],
        inputs.fixed,
        inputs.per_draw,
        settings.draws,
        chunk_size,
        progress,
        executor,
    )[chosen.name]
    reached = met(chosen, values)
    columns = pd.DataFrame(inputs.drawn, index=np.arange(settings.draws))
    labels = parameter_labels(compiled, [*inputs.drawn, *sorted(scenario.paths)])
    for name in sorted(scenario.paths):
        series = inputs.exogenous[name]
        column, mean = path_mean(series)
        columns[column] = mean
        labels[column] = TEXT["zh"]["path_mean"].format(
            label=labels.pop(name), first=series.first_drawn, last=int(series.years[-1])
        )
    result = discover(columns, ~reached if missed else reached, threshold=threshold, box=box)
    return DiscoveryRun(
        result=result,
        target=chosen,
        missed=missed,
        draws=settings.draws,
        seed=settings.seed,
        sampler=settings.sampler,
        labels_zh=labels,
        model=compiled.path,
        model_sha256=compiled.sha256,
    )


def discovery_files(target: Target, missed: bool) -> tuple[str, str, str]:
    """File names of a discovery: the peeling trajectory, the chosen box (CSV) and the chart
    (PNG), ``<target>_<reached|missed>_…``."""
    stem = f"{target.name}_{'missed' if missed else 'reached'}"
    return f"{stem}_trajectory.csv", f"{stem}_box.csv", f"{stem}.png"


def page_file(target: Target, missed: bool) -> str:
    """File name of a discovery's page, ``<target>_<reached|missed>.html``."""
    return f"{target.name}_{'missed' if missed else 'reached'}.html"


def _nan_last(value: float) -> float:
    return math.inf if math.isnan(value) else value


def box_table(found: DiscoveryRun, lang: Language) -> pd.DataFrame:
    """The console's table of the chosen box: each restricted parameter, its limits and its
    smallest quasi-p value."""
    from sim.report.sensitivity_charts import parameter_label

    text = TEXT[lang]
    return pd.DataFrame(
        [
            {
                text["parameter"]: parameter_label(row.parameter, lang, found.labels_zh),
                text["limits"]: f"{row.lower:.4g} – {row.upper:.4g}",
                text["qp"]: f"{min(row.qp_lower, row.qp_upper, key=_nan_last):.2g}",
            }
            for row in found.result.box.itertuples(index=False)
        ]
    )


def discovery_notes(found: DiscoveryRun, chose_box: bool, lang: Language) -> list[str]:
    """What the reader should know: no box reaches the density threshold (unless the box was
    chosen by hand, ``chose_box``), restrictions that may be chance."""
    text = TEXT[lang]
    result = found.result
    notes = []
    if not chose_box and not result.meets_threshold:
        notes.append(text["below"].format(threshold=result.threshold))
    significance = result.box[["qp_lower", "qp_upper"]].min(axis=1)
    if (significance > SIGNIFICANCE).any():
        chance = int((significance > SIGNIFICANCE).sum())
        notes.append(text["chance"].format(n=chance, alpha=SIGNIFICANCE))
    return notes


@dataclass(frozen=True)
class DiscoveryReport:
    """What ``scenario_discovery`` found and wrote.

    Attributes:
        run: the PRIM result and its sample.
        summary: the chosen box's coverage, density and mass, as a line of text.
        notes: remarks for the reader (threshold not reached, restrictions maybe chance).
        console: the chosen box's limits as a text table ("" when it restricts nothing).
        written: the files written, sorted by name.
        answer: the box in a sentence (``sim.report.prim_charts.discovery_answer``).
    """

    run: DiscoveryRun
    summary: str
    notes: list[str]
    console: str
    written: list[Path]
    answer: str = ""


def scenario_discovery(
    scenario: Path,
    target: str,
    out_dir: Path,
    *,
    missed: bool = False,
    threshold: float = DEFAULT_THRESHOLD,
    draws: int | None = None,
    seed: int | None = None,
    box: int | None = None,
    lang: Language = "zh",
    executor: Executor = SERIAL,
    model: str | Path | None = None,
    progress: ProgressBar = no_progress_bar,
) -> DiscoveryReport:
    """``innosim discover``: load ``scenario``, find the PRIM box of the draws that reach (or,
    ``missed``, miss) ``target`` (``run_discovery``), and write the trajectory, the box, a
    chart (``discovery_files``), the page (``page_file``: the box in words first) and
    ``provenance.json`` into ``out_dir``
    (``sim.report.writer.write_outputs``).

    Raises ``UnknownTargetError`` for an unknown target, ``SettingsError`` for
    bad ``draws``/``seed``, ``InnosimError`` for a bad scenario, a scenario without
    uncertainties, or a target every draw or none reaches (nothing is written then).
    """
    from sim.report.command_pages import frame_table, render_command_page
    from sim.report.console import format_table
    from sim.report.figures import figure_png
    from sim.report.prim_charts import discovery_answer, discovery_chart
    from sim.report.writer import write_outputs
    from sim.scenario import load_scenario

    loaded = load_scenario(scenario, model=model)
    chosen = find_target(loaded, target)
    try:
        settings = monte_carlo_settings(loaded, draws, seed)
        with progress(settings.draws) as update:
            found = run_discovery(
                loaded,
                target,
                missed=missed,
                threshold=threshold,
                draws=draws,
                seed=seed,
                box=box,
                model=model,
                progress=update,
                executor=executor,
            )
    except ValueError as exc:
        if isinstance(exc, InnosimError):
            raise
        raise InnosimError(f"target {target}: {exc}") from exc
    result = found.result
    trajectory_file, box_file, chart = discovery_files(chosen, missed)
    image = figure_png(discovery_chart(result, found.target, missed, lang, found.labels_zh))
    record = provenance(
        "discover",
        scenario=loaded,
        model=found.model,
        model_sha256=found.model_sha256,
        extra={
            "draws": found.draws,
            "seed": found.seed,
            "sampler": found.sampler,
            "target": chosen.name,
            "cases": "missed" if missed else "reached",
            "threshold": threshold,
            "box": result.chosen,
        },
    )
    best = result.trajectory.loc[result.chosen]
    summary = TEXT[lang]["box"].format(
        box=result.chosen,
        coverage=best["coverage"],
        density=best["density"],
        mass=best["mass"],
        base=result.base_rate,
        draws=found.draws,
    )
    table = box_table(found, lang)
    notes = discovery_notes(found, box is not None, lang)
    text = TEXT[lang]
    answer = discovery_answer(result, chosen, missed, lang, found.labels_zh)
    html = render_command_page(
        lang,
        title=text["page_title"].format(
            target=chosen.label.text(lang),
            scenario=loaded.title.text(lang) if loaded.title else scenario.stem,
        ),
        answer=[answer],
        tables=[frame_table(text["box_table"], table, numeric=[text["qp"]])]
        if not table.empty
        else [],
        images={chart: image},
        notes=[summary, *notes],
        method=text["method"],
        run=text["run"].format(draws=found.draws, sampler=found.sampler, seed=found.seed),
        provenance=record,
    )
    files = {
        trajectory_file: result.trajectory,
        box_file: result.box,
        chart: image,
        page_file(chosen, missed): html,
    }
    written = write_outputs(out_dir, files, record, lang=lang, model=model)
    return DiscoveryReport(
        run=found,
        summary=summary,
        notes=notes,
        console=format_table(table) if not table.empty else "",
        written=written,
        answer=answer,
    )
