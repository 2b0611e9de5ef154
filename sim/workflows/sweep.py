"""``innosim sweep``: the probability of each target along one lever (curves) or over two (heat
maps), the same draws at every point (``sim.workflows.lever_runs``).

Levers must be constants of the model that the scenario neither draws nor imposes
(``sim.scenario.levers.lever_info``); their ranges must lie inside the constant's Vensim range,
which the model states as the lever's plausible policy range. A lever bound by a scenario
constraint (shares adding to 1) is refused unless ``--rebalance MEMBER`` (that member absorbs
the change) or ``--rebalance proportional`` (the other members scale together) says how to keep
the sum; the rebalanced values must stay inside their limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.probabilities import wilson_interval
from sim.engine import compile_model
from sim.engine.runner import SERIAL, Executor
from sim.provenance import provenance
from sim.report.console import format_table
from sim.report.figures import figure_png
from sim.report.policy_outputs import (
    TEXT,
    SweepLever,
    render_sweep_html,
    sweep_answer,
    sweep_chart,
    sweep_summary,
)
from sim.report.writer import write_outputs
from sim.scenario import Language, MonteCarlo, Scenario, load_scenario
from sim.scenario.levers import LeverError, LeverInfo, LeverRange, lever_info, rebalanced_settings
from sim.workflows.compare import settings_text
from sim.workflows.lever_runs import LeverRuns, check_target

#: Most grid points of a sweep (points of one lever × points of the other).
MAX_SWEEP_POINTS = 10_000


@dataclass(frozen=True)
class Sweep:
    """Probability of each target over a grid of one or two levers.

    Attributes:
        levers: the levers (their descriptions), in grid order.
        axes: the values of each lever.
        settings: the value of every varied constant (levers and rebalanced members) at each
            grid point, ``{name: array (n_points,)}``; two levers vary fastest along the second.
        hits: ``{target or "all": bool array (n_points, draws)}``.
        monte_carlo: the Monte Carlo settings.
    """

    levers: list[LeverInfo]
    axes: list[np.ndarray]
    settings: dict[str, np.ndarray]
    hits: dict[str, np.ndarray]
    monte_carlo: MonteCarlo

    def table(self) -> pd.DataFrame:
        """Long table: the varied constants, ``target``, ``probability``, its Wilson
        interval (``prob_low``, ``prob_high``) and ``draws``; one row per point and target."""
        frames = []
        for name, hits in self.hits.items():
            counts = hits.sum(axis=1)
            low, high = wilson_interval(counts, hits.shape[1])
            frame = pd.DataFrame(self.settings)
            frame["target"] = name
            frame["probability"] = counts / hits.shape[1]
            frame["prob_low"] = low
            frame["prob_high"] = high
            frame["draws"] = hits.shape[1]
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)


def sweep_levers(
    scenario: Scenario,
    ranges: Sequence[LeverRange],
    rebalance: Sequence[str] = (),
    *,
    draws: int | None = None,
    seed: int | None = None,
    sampler: str | None = None,
    model: str | Path | None = None,
    executor: Executor = SERIAL,
) -> Sweep:
    """Probability of every target over a grid of one or two levers (each ``NAME=START:STOP:N``),
    on the same draws at every grid point (checked: constants, not drawn or imposed, ranges
    inside the plausible policy range, constraints kept by ``rebalance``).

    Raises:
        LeverError: a bad lever, range, number of points or rebalancing rule.
    """
    if not 1 <= len(ranges) <= 2:
        raise LeverError("one or two levers can be swept")
    infos = []
    for lever in ranges:
        info = lever_info(scenario, lever.name, model)
        if not lever.given or lever.points is None:
            raise LeverError(f"'{lever.name}': give the values to try as NAME=START:STOP:N")
        info.check_range(float(lever.start), float(lever.stop))  # type: ignore[arg-type]
        if lever.points < 2:
            raise LeverError(f"'{lever.name}': at least 2 points; got {lever.points}")
        infos.append(info)
    if len({info.name for info in infos}) != len(infos):
        raise LeverError("the two levers must differ")
    axes = [r.values() for r in ranges]
    grids = np.meshgrid(*axes, indexing="ij")
    settings = {info.name: g.ravel() for info, g in zip(infos, grids, strict=True)}
    if grids[0].size > MAX_SWEEP_POINTS:
        raise LeverError(
            f"{grids[0].size} grid points; at most {MAX_SWEEP_POINTS} (use fewer points)"
        )
    settings |= rebalanced_settings(scenario, settings, rebalance, model)
    runs = LeverRuns(
        scenario, draws=draws, seed=seed, sampler=sampler, model=model, executor=executor
    )
    return Sweep(
        levers=infos,
        axes=axes,
        settings=settings,
        hits=runs.hits(settings),
        monte_carlo=runs.settings,
    )


@dataclass(frozen=True)
class SweepReport:
    """What ``run_sweep`` found, printed and wrote.

    Attributes:
        sweep: the probabilities over the grid.
        table: ``sweep.csv`` (``Sweep.table``).
        text: the console text (levers, settings, the answer, each target's lowest and
            highest).
        written: the files written, ``provenance.json`` included.
    """

    sweep: Sweep
    table: pd.DataFrame
    text: str
    written: list[Path]


def run_sweep(
    path: Path,
    ranges: Sequence[LeverRange],
    out: Path,
    *,
    rebalance: Sequence[str] = (),
    targets: Sequence[str] = (),
    draws: int | None = None,
    seed: int | None = None,
    lang: Language = "zh",
    model: Path | None = None,
    executor: Executor = SERIAL,
) -> SweepReport:
    """``innosim sweep``: load the scenario file, sweep one or two levers (``sweep_levers``)
    and write ``sweep.csv``, ``sweep.png``, ``sweep.html`` (the answer in sentences first) and
    ``provenance.json`` into ``out``.

    Args:
        path: the scenario file.
        ranges: one or two levers with their values (``NAME=START:STOP:N``).
        out: the output directory (claimed by the caller).
        rebalance: how to keep a constraint a swept lever belongs to.
        targets: chart only these targets (``all``: every target at once); default: all.
        draws, seed: override the scenario's Monte Carlo settings.
        lang: language of the chart and the console text.
        model: the ``.mdl`` file (default: the project's model).
        executor: where the draws run.
    """
    scenario = load_scenario(path, model=model)
    keys = [check_target(scenario, name) for name in targets] or None
    result = sweep_levers(
        scenario, ranges, rebalance, draws=draws, seed=seed, model=model, executor=executor
    )
    table = result.table()
    levers = [SweepLever(info.name, info.label(lang), info.units) for info in result.levers]
    labels = [lever.label for lever in levers]
    image = figure_png(
        sweep_chart(
            table,
            [lever.name for lever in levers],
            labels,
            scenario.targets,
            lang,
            keys,
            [lever.units for lever in levers],
        )
    )
    compiled = compile_model(model)
    record = provenance(
        "sweep",
        scenario=scenario,
        model=compiled.path,
        model_sha256=compiled.sha256,
        settings=result.monte_carlo,
        extra={
            "levers": {
                info.name: [r.start, r.stop, r.points]
                for r, info in zip(ranges, result.levers, strict=True)
            },
            "rebalance": list(rebalance),
        },
    )
    run = settings_text(result.monte_carlo, lang)
    html = render_sweep_html(table, levers, scenario.targets, lang, image, run, record, keys)
    written = write_outputs(
        out,
        {"sweep.csv": table, "sweep.png": image, "sweep.html": html},
        record,
        lang=lang,
        model=model,
    )
    t = TEXT[lang]
    summary = sweep_summary(table, levers, scenario.targets, lang, keys)
    text = "\n".join(
        [
            " × ".join(labels),
            run,
            *sweep_answer(table, levers, scenario.targets, lang, keys),
            format_table(summary[[t["indicator"], t["lowest"], t["highest"]]]),
        ]
    )
    return SweepReport(result, table, text, written)
