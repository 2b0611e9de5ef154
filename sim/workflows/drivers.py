"""Which uncertainties decide whether a target is reachable? The runs behind
``innosim sensitivity`` and ``innosim discover``.

A thin layer over the pure pieces: it builds the inputs (``sim.engine.ensemble.scenario_inputs``,
with ``sim.analysis.sensitivity_indices.design`` for sensitivity), runs the engine on all of them in
chunks keeping only each target's variable in its year (``target_values``), and hands the values to
the analysis (``sensitivity_table``, ``discover``).

A scenario's ``paths`` (yearly uncertain paths, one per draw) take part as follows:

* **sensitivity**: each path is one more input of the design, standing for its whole path:
  the design's probability ``p`` picks realisation ``floor(p × R)`` of ``R`` realisations
  drawn as ``innosim run`` draws them (``R`` = the number of base samples; the scenario's
  seed). Its index measures how much the path as a whole (not one year of it) matters.
  Morris' grid has ``MORRIS_LEVELS`` levels, so it sees that many realisations of each path.
* **discover**: the draws keep their paths; PRIM is given, besides the uncertainties, each
  path's mean over its drawn years (column ``<name> (mean <first>-<last>)``), so a box can say
  "when the coal price averages below …".

Drivers are imposed data, the same in every run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.analysis import sensitivity_indices as sa
from sim.analysis.probabilities import check_finite, met
from sim.engine import CompiledModel, TimePath, compile_model
from sim.engine.ensemble import ExogenousSeries, monte_carlo_settings, scenario_inputs
from sim.engine.runner import (
    DEFAULT_CHUNK_SIZE,
    SERIAL,
    Executor,
    PerDraw,
    Progress,
    run_draws,
    task_map,
)
from sim.results import year_index
from sim.scenario import Correlation, Scenario, Target
from sim.vensim import model_documentation

if TYPE_CHECKING:
    from sim.analysis.prim_boxes import DiscoveryResult


#: Default base samples of each method: Sobol' N (runs N × (k + 2)), Morris trajectories
#: (runs N × (k + 1)). Chosen so that the baseline (63 uncertainties, 13 targets) runs in well
#: under a minute on the project's 2-core machine (docs/performance.md).
DEFAULT_SAMPLES: dict[str, int] = {"sobol": 2048, "morris": 1000}


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
    values = {
        target.name: kept_values[target.variable][
            :, keep[target.variable].index(columns[target.name])
        ]
        for target in targets
    }
    return values


def path_mean(series: ExogenousSeries) -> tuple[str, np.ndarray]:
    """A path's mean over its drawn years, per draw, and its column name
    ``<name> (mean <first>-<last>)`` (scenario discovery's summary of a path)."""
    drawn = series.years >= series.first_drawn
    last = int(series.years[-1])
    return f"{series.name} (mean {series.first_drawn}-{last})", series.values[:, drawn].mean(1)


def parameter_labels(compiled: CompiledModel, names: Sequence[str]) -> dict[str, str]:
    """Chinese label (``label_zh`` of the model documentation) of each name."""
    docs = {doc.name: doc.label_zh for doc in model_documentation(compiled.path)}
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
    """

    table: pd.DataFrame
    method: str
    samples: int
    seed: int
    runs: int
    labels_zh: dict[str, str]
    reached: dict[str, float]
    ignored_correlations: list[Correlation] = field(default_factory=list)


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
    )


@dataclass(frozen=True)
class DiscoveryRun:
    """The result of ``run_discovery``: the PRIM result, its target and its sample.

    Attributes:
        result: ``sim.analysis.prim_boxes.DiscoveryResult``.
        target: the target analysed.
        missed: whether the cases of interest are the draws that miss it.
        draws, seed, sampler: the Monte Carlo sample (correlations honoured).
        labels_zh: Chinese label of each parameter.
    """

    result: DiscoveryResult
    target: Target
    missed: bool
    draws: int
    seed: int
    sampler: str
    labels_zh: dict[str, str]


def find_target(scenario: Scenario, name: str) -> Target:
    """The scenario's target called ``name`` (``KeyError`` listing the known ones)."""
    for target in scenario.targets:
        if target.name == name:
            return target
    known = ", ".join(target.name for target in scenario.targets)
    raise KeyError(f"unknown target {name!r}; the scenario's targets are: {known}")


def run_discovery(
    scenario: Scenario,
    target: str,
    missed: bool = False,
    threshold: float = 0.8,
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
    ``seed`` override its settings). Raises ``KeyError`` for an unknown target,
    ``ValueError`` (or pydantic's ``ValidationError``) for bad settings and when every draw
    or none is of interest.
    """
    from sim.analysis.prim_boxes import discover

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
        labels[column] = f"{labels.pop(name)}（{series.first_drawn}–{series.years[-1]}年均值）"
    result = discover(columns, ~reached if missed else reached, threshold=threshold, box=box)
    return DiscoveryRun(
        result=result,
        target=chosen,
        missed=missed,
        draws=settings.draws,
        seed=settings.seed,
        sampler=settings.sampler,
        labels_zh=labels,
    )
