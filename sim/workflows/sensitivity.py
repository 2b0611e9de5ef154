"""Which uncertainties decide a target's value, and whether it is reached? The workflow of
``innosim sensitivity`` (``sensitivity_analysis``), and the target runs it shares with
``innosim discover`` (``sim.workflows.discover``).

The inputs are built by ``sim.engine.ensemble.scenario_inputs`` on the design of
``sim.analysis.sensitivity_indices.design``; the engine runs them in chunks keeping only each
target's variable in its year (``target_values``); the indices come from
``sim.analysis.sensitivity_indices.sensitivity_table``.

A scenario's ``paths`` (yearly uncertain paths, one per draw) each count as one more input of
the design, standing for the whole path: the design's probability ``p`` picks realisation
``floor(p × R)`` of ``R`` realisations drawn as ``innosim run`` draws them (``R`` = the number
of base samples; the scenario's seed). Its index measures how much the path as a whole (not
one year of it) matters. Morris' grid has ``MORRIS_LEVELS`` levels, so it sees that many
realisations of each path. Drivers are imposed data, the same in every run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.analysis import sensitivity_indices as sa
from sim.analysis.probabilities import check_finite, met
from sim.engine import CompiledModel, TimePath, compile_model
from sim.engine.ensemble import monte_carlo_settings, scenario_inputs
from sim.engine.runner import (
    DEFAULT_CHUNK_SIZE,
    SERIAL,
    Executor,
    PerDraw,
    Progress,
    run_draws,
    task_map,
)
from sim.errors import InnosimError
from sim.provenance import provenance
from sim.report.i18n import translations
from sim.results import year_index
from sim.scenario import Correlation, Language, Scenario, Target
from sim.vensim import model_variables

if TYPE_CHECKING:
    from sim.report.writer import Output

#: Default base samples of each method: Sobol' N (runs N × (k + 2)), Morris trajectories
#: (runs N × (k + 1)). Chosen so that the baseline (63 uncertainties, 13 targets) runs in well
#: under a minute on the project's 2-core machine (docs/performance.md).
DEFAULT_SAMPLES: dict[str, int] = {"sobol": 2048, "morris": 1000}
#: File of the sensitivity table.
SENSITIVITY_FILE = "sensitivity.csv"
#: The command's page: the answer (each target's drivers) first, the tables and charts.
PAGE_FILE = "sensitivity.html"
#: Parameters shown per chart panel by default.
DEFAULT_TOP = 10
#: Relative width (interval half-width / top index) above which a ranking is called imprecise.
IMPRECISE = 0.2

#: A progress display: called with the number of runs to come, it gives the context in which
#: the runs report the number finished after each chunk.
ProgressBar = Callable[[int], AbstractContextManager[Progress | None]]

TEXT = translations("sensitivity")


def no_progress_bar(total: int) -> AbstractContextManager[Progress | None]:
    """The ``ProgressBar`` that shows nothing."""
    return contextlib.nullcontext()


def target_values(
    compiled: CompiledModel,
    targets: Sequence[Target],
    fixed: Mapping[str, float | TimePath],
    drawn: Mapping[str, PerDraw],
    n_runs: int,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Progress | None = None,
    executor: Executor = SERIAL,
) -> dict[str, np.ndarray]:
    """Simulate ``n_runs`` runs in chunks (``sim.engine.runner.run_draws`` on ``executor``)
    and keep each target's variable in its year.

    ``fixed`` parameters hold for every run, ``drawn`` ones are arrays of length ``n_runs``
    or per-draw ``TimePath``s of ``n_runs`` rows.
    Returns ``{target name: array (n_runs,)}`` in model units (values do not depend on
    ``chunk_size``). Raises ``ValueError`` for a target year that is not a save time.
    """
    times = compiled.times()
    columns: dict[str, int] = {}
    for target in targets:
        try:
            columns[target.name] = year_index(times, target.year)
        except KeyError as exc:
            raise ValueError(f"target {target.name}: {exc.args[0]} of the model") from None
    keep: dict[str, list[int]] = {}
    for target in targets:
        kept = keep.setdefault(target.variable, [])
        if columns[target.name] not in kept:
            kept.append(columns[target.name])
    _, kept_values = run_draws(
        compiled,
        n_runs,
        fixed,
        drawn,
        list(keep),
        chunk_size=chunk_size,
        executor=executor,
        progress=progress,
        columns=keep,
    )
    constants = {name: v for name, v in drawn.items() if not isinstance(v, TimePath)}
    for name, kept in keep.items():
        check_finite(
            {name: kept_values[name]},
            times[kept],
            {name: v for name, v in fixed.items() if not isinstance(v, TimePath)},
            constants,
            defaults=compiled.constants,
        )
    return {
        target.name: kept_values[target.variable][
            :, keep[target.variable].index(columns[target.name])
        ]
        for target in targets
    }


def parameter_labels(compiled: CompiledModel, names: Sequence[str]) -> dict[str, str]:
    """Chinese label (``label_zh`` of the model documentation) of each name."""
    docs = {doc.name: doc.label_zh for doc in model_variables(compiled.path)}
    return {name: docs.get(name) or name for name in names}


@dataclass(frozen=True)
class SensitivityRun:
    """The result of ``run_sensitivity``.

    Attributes:
        table: ``sim.analysis.sensitivity_indices.table_columns(method)``, one row per (target,
            output ``value``/``reached``, parameter).
        method, samples, seed: the design (``samples`` base samples or trajectories).
        runs: model runs simulated.
        labels_zh: Chinese label of each parameter.
        reached: share of the design's runs that reach each target.
        ignored_correlations: the scenario's correlations, which the indices cannot honour.
        model, model_sha256: the model file simulated and the sha256 of its bytes.
    """

    table: pd.DataFrame
    method: str
    samples: int
    seed: int
    runs: int
    labels_zh: dict[str, str]
    reached: dict[str, float]
    ignored_correlations: list[Correlation] = field(default_factory=list)
    model: Path | None = None
    model_sha256: str = ""


def design_runs(scenario: Scenario, method: str, samples: int | None = None) -> int:
    """Model runs of ``scenario``'s design: ``samples`` (default ``DEFAULT_SAMPLES[method]``)
    × (inputs + 2) for Sobol', × (inputs + 1) for Morris; a path is one input."""
    samples = DEFAULT_SAMPLES.get(method, 0) if samples is None else samples
    return sa.design_size(method, samples, len(scenario.uncertainties) + len(scenario.paths))


def run_sensitivity(
    scenario: Scenario,
    method: str = "sobol",
    samples: int | None = None,
    seed: int | None = None,
    model: str | Path | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Progress | None = None,
    executor: Executor = SERIAL,
) -> SensitivityRun:
    """Global sensitivity of every target of ``scenario`` to its uncertainties and paths
    (the runs and SALib's estimators on ``executor``; the table does not depend on it).

    The uncertainties are sampled independently (SALib design mapped through each one's
    ``ppf``; correlations ignored), each path is one input picking one of ``samples``
    realisations (module doc), the levers and drivers fixed; ``samples`` defaults to
    ``DEFAULT_SAMPLES[method]``, ``seed`` to the scenario's. Raises ``ValueError`` for a bad
    method or sample size or a scenario without uncertainties or paths.
    """
    samples = DEFAULT_SAMPLES.get(method, 0) if samples is None else samples
    sa.check_samples(method, samples)
    settings = monte_carlo_settings(scenario, draws=samples, seed=seed)
    seed = settings.seed
    uncertain = sorted(scenario.uncertainties)
    paths = sorted(scenario.paths)
    names = [*uncertain, *paths]
    if not names:
        raise ValueError("the scenario has no uncertainties or paths: nothing to analyse")
    unit = sa.design(names, method, samples, seed % 2**32)
    drawn = sa.to_model_units(unit[:, : len(uncertain)], scenario.uncertainties, uncertain, method)
    probabilities = sa.to_probabilities(unit[:, len(uncertain) :], method)
    realisation = {
        name: np.minimum((probabilities[:, j] * samples).astype(np.intp), samples - 1)
        for j, name in enumerate(paths)
    }
    compiled = compile_model(model)
    # the levers, drivers and `samples` realisations of the paths; the design's values of the
    # uncertainties (placeholders here) and its choice of realisations replace the draws
    placeholders = {name: np.zeros(samples) for name in uncertain}
    realisations = scenario_inputs(scenario, settings, compiled, uncertainty_draws=placeholders)
    shocks = {
        name: realisations.exogenous[name].prior_shocks(samples, settings.seed)[realisation[name]]
        for name in realisations.paths
    }
    inputs = realisations.with_draws(drawn, shocks if shocks else None)
    values = target_values(
        compiled,
        scenario.targets,
        inputs.fixed,
        inputs.per_draw,
        len(unit),
        chunk_size,
        progress,
        executor,
    )
    with task_map(executor) as mapper:
        table = sa.sensitivity_table(
            unit, values, scenario.targets, method, names, seed % 2**32, mapper=mapper
        )
    reached = {t.name: float(met(t, values[t.name]).mean()) for t in scenario.targets}
    return SensitivityRun(
        table=table,
        method=method,
        samples=samples,
        seed=seed,
        runs=len(unit),
        labels_zh=parameter_labels(compiled, names),
        reached=reached,
        ignored_correlations=list(scenario.correlations),
        model=compiled.path,
        model_sha256=compiled.sha256,
    )


def chart_file(target: Target) -> str:
    """File name of a target's sensitivity chart."""
    return f"sensitivity_{target.name}.png"


def output_quality(run: SensitivityRun, target: Target, kind: str) -> str:
    """Whether the indices of ``target``'s output ``kind`` can rank drivers
    (``sim.analysis.sensitivity_indices.ranking_quality``, with the share of runs reaching
    it for ``reached``)."""
    rows = run.table[(run.table["target"] == target.name) & (run.table["output"] == kind)]
    reached = run.reached[target.name] if kind == "reached" else None
    return sa.ranking_quality(rows, run.method, reached)


def ranking_table(run: SensitivityRun, targets: Sequence[Target], lang: Language) -> pd.DataFrame:
    """The console's table: per target and output (its value, reaching it), the three
    highest-ranked parameters with their index (ST or μ*) ± its interval half-width, or why
    they cannot be ranked (``output_quality``: no variation, too few runs on one side, noise)."""
    from sim.report.sensitivity_charts import parameter_label, unmeasurable_text

    text = TEXT[lang]
    key = sa.RANKING_INDEX[run.method]
    best = sa.top_parameters(run.table, run.method, 3)
    rows = []
    for target in targets:
        for kind in sa.OUTPUT_KINDS:
            group = best[(best["target"] == target.name) & (best["output"] == kind)]
            output = (
                text["value"].format(year=target.year)
                if kind == "value"
                else text["reached"].format(share=run.reached[target.name])
            )
            row = {text["indicator"]: target.label.text(lang), text["output"]: output}
            quality = output_quality(run, target, kind)
            if quality != sa.MEASURABLE:
                reason = unmeasurable_text(quality, kind, run.reached[target.name], lang)
                row[text["rank"].format(rank=1)] = reason
                rows.append(row)
                continue
            for rank, item in enumerate(group.itertuples(index=False), start=1):
                index = getattr(item, key)
                conf = getattr(item, f"{key}_conf")
                label = parameter_label(item.parameter, lang, run.labels_zh)
                row[text["rank"].format(rank=rank)] = (
                    f"{label} {index:.3g}±{conf:.2g}" if index > 0 else "—"
                )
            rows.append(row)
    return pd.DataFrame(rows).fillna("")


#: Drivers named in a page's answer per output (the top ones, while their index is positive).
ANSWER_DRIVERS = 2


def driver_answer(run: SensitivityRun, target: Target, lang: Language) -> str:
    """A target's answer in a sentence: which parameters drive its value and whether it is
    reached (the top ``ANSWER_DRIVERS`` by ST or μ*, those that are not noise, with their
    sum), or why they cannot be ranked (``output_quality``)."""
    from sim.report.sensitivity_charts import parameter_label, unmeasurable_text

    text = TEXT[lang]
    key = sa.RANKING_INDEX[run.method]
    parts = {}
    for kind in sa.OUTPUT_KINDS:
        quality = output_quality(run, target, kind)
        if quality != sa.MEASURABLE:
            reason = unmeasurable_text(quality, kind, run.reached[target.name], lang)
            parts[kind] = text[f"answer_{kind}_none"].format(reason=reason, year=target.year)
            continue
        rows = run.table[(run.table["target"] == target.name) & (run.table["output"] == kind)]
        top = sa.ranked(rows, run.method, ANSWER_DRIVERS)
        pairs = zip(top[key], top[f"{key}_conf"], strict=True)
        top = top[[not sa.is_noise(index, width) for index, width in pairs]]
        names = [parameter_label(name, lang, run.labels_zh) for name in top["parameter"]]
        parts[kind] = text[f"answer_{kind}"].format(
            drivers=text["and"].join(names),
            index=text[f"index_{run.method}"],
            total=f"{float(top[key].sum()):.2g}",
            year=target.year,
        )
    return text["answer"].format(
        target=target.label.text(lang), value=parts["value"], reached=parts["reached"]
    )


def sensitivity_notes(run: SensitivityRun, targets: Sequence[Target], lang: Language) -> list[str]:
    """What the reader should know: correlations ignored, and whether each ranking's top
    three are precise (interval half-widths below ``IMPRECISE`` of the top index)."""
    text = TEXT[lang]
    notes = []
    if run.ignored_correlations:
        notes.append(text["correlations"].format(n=len(run.ignored_correlations)))
    widths = sa.interval_widths(run.table, run.method)
    loose = widths[widths["relative"] > IMPRECISE]
    labels = {t.name: t.label.text(lang) for t in targets}
    for row in loose.itertuples(index=False):
        notes.append(
            text["imprecise"].format(
                target=labels[row.target],
                output=text[f"kind_{row.output}"],
                widest=row.widest,
                relative=row.relative,
            )
        )
    if loose.empty:
        notes.append(text["precise"].format(limit=IMPRECISE))
    return notes


@dataclass(frozen=True)
class SensitivityReport:
    """What ``sensitivity_analysis`` found and wrote.

    Attributes:
        run: the indices and their design.
        console: the heading (method, runs, samples, seed) and the ranking table, as text.
        notes: remarks for the reader (correlations ignored, precision of the rankings).
        written: the files written, sorted by name.
    """

    run: SensitivityRun
    console: str
    notes: list[str]
    written: list[Path]


def sensitivity_analysis(
    scenario: Path,
    out_dir: Path,
    *,
    method: str = "sobol",
    samples: int | None = None,
    seed: int | None = None,
    top: int = DEFAULT_TOP,
    lang: Language = "zh",
    executor: Executor = SERIAL,
    model: str | Path | None = None,
    progress: ProgressBar = no_progress_bar,
) -> SensitivityReport:
    """``innosim sensitivity``: load ``scenario``, run its design (``run_sensitivity``), and
    write ``sensitivity.csv``, a ranked chart per target (``chart_file``), ``sensitivity.html``
    (each target's drivers in a sentence first, ``driver_answer``) and ``provenance.json``
    into ``out_dir`` (``sim.report.writer.write_outputs``).

    Raises ``InnosimError`` for a bad scenario, method or sample size, or a scenario without
    uncertainties or paths (nothing is written then).
    """
    from sim.report.command_pages import frame_table, render_command_page
    from sim.report.console import format_table
    from sim.report.figures import figure_png
    from sim.report.sensitivity_charts import sensitivity_chart
    from sim.report.writer import write_outputs
    from sim.scenario import load_scenario

    loaded = load_scenario(scenario, model=model)
    try:
        runs = design_runs(loaded, method, samples)
        with progress(runs) as update:
            run = run_sensitivity(
                loaded, method, samples, seed, model=model, progress=update, executor=executor
            )
    except ValueError as exc:
        if isinstance(exc, InnosimError):
            raise
        raise InnosimError(str(exc)) from exc
    images = {
        chart_file(target): figure_png(
            sensitivity_chart(
                run.table,
                target,
                method,
                lang,
                run.labels_zh,
                run.runs,
                run.samples,
                top,
                run.reached[target.name],
            )
        )
        for target in loaded.targets
    }
    record = provenance(
        "sensitivity",
        scenario=loaded,
        model=run.model,
        model_sha256=run.model_sha256,
        extra={"method": method, "samples": run.samples, "seed": run.seed, "runs": run.runs},
    )
    heading = TEXT[lang]["runs"].format(
        method=method, runs=run.runs, samples=run.samples, seed=run.seed
    )
    table = ranking_table(run, loaded.targets, lang)
    notes = sensitivity_notes(run, loaded.targets, lang)
    text = TEXT[lang]
    html = render_command_page(
        lang,
        title=text["page_title"].format(
            scenario=loaded.title.text(lang) if loaded.title else scenario.stem
        ),
        answer=[driver_answer(run, target, lang) for target in loaded.targets],
        tables=[frame_table(text["table"], table)],
        images=images,
        notes=notes,
        method=text[f"method_{method}"],
        run=heading,
        provenance=record,
    )
    files: dict[str, Output] = {SENSITIVITY_FILE: run.table, **images, PAGE_FILE: html}
    written = write_outputs(out_dir, files, record, lang=lang, model=model)
    console = f"{heading}\n{format_table(table)}"
    return SensitivityReport(run, console, notes, written)
