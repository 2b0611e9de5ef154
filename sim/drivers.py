"""Which uncertainties decide whether a target is reachable? The runs behind
``innosim sensitivity`` and ``innosim discover``.

A thin layer over the pure pieces: it builds the inputs (``sim.analysis.sensitivity.design``
or ``sim.sampling.sample``), runs the engine on all of them in chunks keeping only each
target's variable in its year (``target_values``), and hands the values to the analysis
(``sensitivity_table``, ``discover``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.analysis import sensitivity as sa
from sim.analysis.targets import met
from sim.engine import CompiledModel, TimePath, compile_model, simulate
from sim.ensemble import DEFAULT_CHUNK_SIZE, draw_uncertainties, lever_params, monte_carlo_settings
from sim.scenario import Correlation, Scenario, Target
from sim.vensim import model_documentation

if TYPE_CHECKING:
    from sim.analysis.discovery import DiscoveryResult

Progress = Callable[[int], None]

#: Default base samples of each method: Sobol' N (runs N × (k + 2)), Morris trajectories
#: (runs N × (k + 1)). Chosen so that the baseline (63 uncertainties, 13 targets) runs in well
#: under a minute on the project's 2-core machine (docs/performance.md).
DEFAULT_SAMPLES: dict[str, int] = {"sobol": 2048, "morris": 1000}


def target_values(
    compiled: CompiledModel,
    targets: Sequence[Target],
    fixed: Mapping[str, float | TimePath],
    drawn: Mapping[str, np.ndarray],
    n_runs: int,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Progress | None = None,
) -> dict[str, np.ndarray]:
    """Simulate ``n_runs`` runs in chunks and keep each target's variable in its year.

    ``fixed`` parameters hold for every run, ``drawn`` ones are arrays of length ``n_runs``.
    Returns ``{target name: array (n_runs,)}`` in model units (values do not depend on
    ``chunk_size``). Raises ``ValueError`` for a target year that is not a save time.
    """
    times = compiled.times()
    columns: dict[str, int] = {}
    for target in targets:
        index = np.flatnonzero(np.isclose(times, target.year))
        if index.size == 0:
            raise ValueError(
                f"target {target.name}: year {target.year} is not a saved time of the model "
                f"({times[0]:g}-{times[-1]:g})"
            )
        columns[target.name] = int(index[0])
    outputs = list(dict.fromkeys(target.variable for target in targets))
    values = {target.name: np.empty(n_runs) for target in targets}
    for start in range(0, n_runs, chunk_size):
        stop = min(start + chunk_size, n_runs)
        params = dict(fixed) | {name: column[start:stop] for name, column in drawn.items()}
        result = simulate(compiled, stop - start, params, outputs)
        for target in targets:
            values[target.name][start:stop] = result[target.variable][:, columns[target.name]]
        if progress is not None:
            progress(stop - start)
    return values


def parameter_labels(compiled: CompiledModel, names: Sequence[str]) -> dict[str, str]:
    """Chinese label (``label_zh`` of the model documentation) of each name."""
    docs = {doc.name: doc.label_zh for doc in model_documentation(compiled.path)}
    return {name: docs.get(name) or name for name in names}


@dataclass(frozen=True)
class SensitivityRun:
    """The result of ``run_sensitivity``.

    Attributes:
        table: ``sim.analysis.sensitivity.table_columns(method)``, one row per (target,
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
) -> SensitivityRun:
    """Global sensitivity of every target of ``scenario`` to its uncertainties.

    The uncertainties are sampled independently (SALib design mapped through each one's
    ``ppf``; correlations ignored), the levers fixed; ``samples`` defaults to
    ``DEFAULT_SAMPLES[method]``, ``seed`` to the scenario's. Raises ``ValueError`` for a bad
    method or sample size or a scenario without uncertainties.
    """
    samples = DEFAULT_SAMPLES.get(method, 0) if samples is None else samples
    sa.check_samples(method, samples)
    seed = monte_carlo_settings(scenario, seed=seed).seed
    names = sorted(scenario.uncertainties)
    if not names:
        raise ValueError("the scenario has no uncertainties: nothing to analyse")
    unit = sa.design(names, method, samples, seed % 2**32)
    drawn = sa.to_model_units(unit, scenario.uncertainties, names, method)
    compiled = compile_model(model)
    values = target_values(
        compiled,
        scenario.targets,
        lever_params(scenario.levers),
        drawn,
        len(unit),
        chunk_size,
        progress,
    )
    table = sa.sensitivity_table(unit, values, scenario.targets, method, names, seed % 2**32)
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
        result: ``sim.analysis.discovery.DiscoveryResult``.
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
) -> DiscoveryRun:
    """PRIM box of the draws of ``scenario`` that reach (or, ``missed``, miss) ``target``.

    Draws are the scenario's Monte Carlo sample (its sampler and correlations; ``draws`` and
    ``seed`` override its settings). Raises ``KeyError`` for an unknown target,
    ``ValueError`` (or pydantic's ``ValidationError``) for bad settings and when every draw
    or none is of interest.
    """
    from sim.analysis.discovery import discover

    chosen = find_target(scenario, target)
    if not scenario.uncertainties:
        raise ValueError("the scenario has no uncertainties: nothing to discover")
    settings = monte_carlo_settings(scenario, draws, seed)
    drawn = draw_uncertainties(scenario, settings)
    compiled = compile_model(model)
    values = target_values(
        compiled,
        [chosen],
        lever_params(scenario.levers),
        drawn,
        settings.draws,
        chunk_size,
        progress,
    )[chosen.name]
    reached = met(chosen, values)
    result = discover(
        pd.DataFrame(drawn), ~reached if missed else reached, threshold=threshold, box=box
    )
    return DiscoveryRun(
        result=result,
        target=chosen,
        missed=missed,
        draws=settings.draws,
        seed=settings.seed,
        sampler=settings.sampler,
        labels_zh=parameter_labels(compiled, list(drawn)),
    )
