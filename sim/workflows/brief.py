"""The one-page brief of ``innosim run``: what drives each target and what it would take.

Orchestration only, for ``sim.workflows.run``:

* **Drivers** (``target_drivers``): for each target, its variable in its year ranked against
  every drawn input of the run (``sim.analysis.driver_ranking.rank_drivers`` on the run's own
  draws, read lazily from ``ensemble.nc``): the uncertainties, and each yearly uncertain path
  summarised by its mean over its drawn years up to the target's year.
* **What it would take** (``lever_options``): for the plan's main levers (the scenario's
  ``what_it_would_take``), one at a time, the least raise within the lever's plausible policy
  range (its Vensim range) that brings each target below the goal to it
  (``sim.analysis.threshold_search.solve_threshold``), with the money it means
  (``sim.workflows.solve.money_terms``: 亿元 per year over the plan years, median over draws).
  The search runs on the first ``search_draws`` draws of the run itself (``first_draws``: the
  same draws, bit for bit, so common random numbers), and one re-run per lever setting
  serves every target (``LeverRuns.hits`` gives them all; settings are cached by value).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import xarray as xr

from sim.analysis.driver_ranking import DriverRanking, rank_drivers
from sim.analysis.threshold_search import GRID_POINTS, solve_threshold
from sim.engine.ensemble import EnsembleInputs, EnsembleRun
from sim.engine.runner import SERIAL, Executor, keeps_workers
from sim.errors import ScenarioError
from sim.report.brief import BriefFacts, DriverLabel, LeverOption
from sim.results import UNCERTAINTY, at_year
from sim.scenario import Scenario
from sim.scenario.levers import (
    LeverError,
    LeverInfo,
    LeverRange,
    lever_info,
    rebalanced_settings,
)
from sim.scenario.schema import WhatItWouldTake
from sim.scenario.yaml_reader import node_line, read_input_text, read_yaml
from sim.workflows.lever_runs import LeverRuns
from sim.workflows.solve import money_terms, plan_years

#: Draws of the run the lever search re-runs (its first ones): enough for a probability to
#: about ±2.5 percentage points (95 %) near 80 %, at a tenth of the default run's cost.
SEARCH_DRAWS = 1000
#: Bisection tolerance of the lever search, as a fraction of the searched range (1/64: a
#: step below what 1,000 draws can tell apart; each halving costs a re-run per answer).
SEARCH_TOLERANCE = 1 / 64
#: The scenario key of the question (``sim.scenario.schema.WhatItWouldTake``).
QUESTION_KEY = "what_it_would_take"


def question_error(scenario: Scenario, where: tuple[str | int, ...], message: str) -> ScenarioError:
    """A ``ScenarioError`` at ``where`` in the ``what_it_would_take`` of ``scenario``, naming
    the file of its ``extends`` chain that sets the key (the newest) and the line. The files
    are read again only here, for an error, not on every run."""
    for path in reversed(scenario.chain):
        root, data = read_yaml(path, read_input_text(path))
        if isinstance(data, dict) and data.get(QUESTION_KEY) is not None:
            return ScenarioError(
                path, message, field=".".join(map(str, where)), line=node_line(root, where)
            )
    return ScenarioError(scenario.path, message, field=".".join(map(str, where)))


def first_draws(run: EnsembleRun, count: int) -> EnsembleInputs:
    """The engine's inputs of the first ``count`` draws of ``run`` (all when it has fewer):
    the same values, bit for bit, as the run simulated (``ScenarioDraws.chunk``)."""
    count = min(count, run.n_draws)
    drawn = run.inputs.chunk(0, count)()
    uncertainties = {name: np.asarray(drawn[name]) for name in run.inputs.uncertainties}
    paths = {name: value for name, value in drawn.items() if name not in uncertainties}
    return EnsembleInputs(count, dict(run.inputs.fixed), uncertainties, paths, run.inputs.exogenous)


def driver_inputs(
    results: xr.Dataset, year: float
) -> tuple[dict[str, np.ndarray], dict[str, DriverLabel]]:
    """The run's drawn inputs as candidate drivers of a target in ``year``: every uncertainty
    (its drawn value) and every yearly uncertain path (its mean over its drawn years up to
    ``year``), one value per draw, keyed by Vensim name; and their labels."""
    values: dict[str, np.ndarray] = {}
    labels: dict[str, DriverLabel] = {}
    paths = _path_first_years(results)
    for data in results.data_vars.values():
        attrs = data.attrs
        name = str(attrs.get("long_name", data.name))
        if attrs.get("role") == UNCERTAINTY:
            drawn = data
        elif name in paths and paths[name] <= year:
            times = data["time"].to_numpy()
            drawn = data.isel(time=np.flatnonzero((times >= paths[name]) & (times <= year)))
            drawn = drawn.mean("time")
        else:
            continue
        values[name] = np.asarray(drawn.to_numpy(), dtype=float)
        labels[name] = DriverLabel(name, str(attrs.get("label_zh", "")), name in paths)
    return values, labels


def _path_first_years(results: xr.Dataset) -> dict[str, float]:
    """The first drawn year of every yearly uncertain path of the run (its ``paths`` attr)."""
    described = json.loads(results.attrs.get("paths", "{}"))
    return {
        name: float(entry["first_drawn_year"])
        for name, entry in described.items()
        if entry.get("first_drawn_year") is not None
    }


def target_drivers(
    results: xr.Dataset, scenario: Scenario
) -> tuple[dict[str, DriverRanking], dict[str, DriverLabel]]:
    """Each target's ranking of the run's drawn inputs (``driver_inputs``) by how much of the
    spread of its value in its year they explain (``rank_drivers``), and the inputs' labels."""
    rankings: dict[str, DriverRanking] = {}
    labels: dict[str, DriverLabel] = {}
    for year in sorted({target.year for target in scenario.targets}):
        inputs, found = driver_inputs(results, year)
        labels |= found
        outcomes = {
            target.name: np.asarray(at_year(results, target.variable, year))
            for target in scenario.targets
            if target.year == year
        }
        rankings |= rank_drivers(inputs, outcomes)
    return rankings, labels


def brief_facts(
    run: EnsembleRun,
    results: xr.Dataset,
    table: pd.DataFrame,
    scenario: Scenario,
    *,
    search: bool = True,
    search_draws: int = SEARCH_DRAWS,
    model: Path | None = None,
    executor: Executor = SERIAL,
) -> BriefFacts:
    """Everything the brief states beyond the target table: each target's drivers on the
    run's draws (``target_drivers``) and, unless ``search`` is False, what it would take
    (``lever_options``; the targets' probabilities from ``table``)."""
    drivers, labels = target_drivers(results, scenario)
    if not search:
        question = scenario.what_it_would_take
        return BriefFacts(
            drivers, labels, question.goal if question else None, skipped=question is not None
        )
    probabilities = dict(zip(table["target"], table["probability"], strict=True))
    search = lever_options(
        run, scenario, probabilities, search_draws=search_draws, model=model, executor=executor
    )
    if search.question is None:
        return BriefFacts(drivers, labels)
    return BriefFacts(
        drivers,
        labels,
        search.question.goal,
        search.levers,
        search.options,
        search.draws,
        skipped_levers=search.skipped,
    )


class LeverSearch(NamedTuple):
    """What ``lever_options`` found.

    Attributes:
        question: the scenario's question (``None``: it asks none, nothing searched).
        draws: the run's first draws the search re-ran (0 when nothing was searched).
        options: ``{target: [LeverOption, …]}`` for each target below the goal, one per
            searched lever in the question's order.
        levers: the levers searched.
        skipped: the question's levers this scenario draws, imposes or sets by a time path
            (not levers here; not searched).
    """

    question: WhatItWouldTake | None
    draws: int
    options: dict[str, list[LeverOption]]
    levers: list[str]
    skipped: list[str]


@keeps_workers
def lever_options(
    run: EnsembleRun,
    scenario: Scenario,
    probabilities: Mapping[str, float],
    *,
    search_draws: int = SEARCH_DRAWS,
    model: Path | None = None,
    executor: Executor = SERIAL,
) -> LeverSearch:
    """What it would take: for each target whose probability (``probabilities``, the run's)
    is below the goal, each main lever's least raise that reaches the goal (or not). A lever
    of the question that this scenario draws, imposes or sets by a time path is skipped.

    Raises:
        ScenarioError: a lever of the question is not a lever of the scenario, or a budget
            share cannot be rebalanced (naming the file, line and field).
    """
    question = scenario.what_it_would_take
    if question is None:
        return LeverSearch(None, 0, {}, [], [])
    wanting = [t for t in scenario.targets if probabilities[t.name] < question.goal]
    options: dict[str, list[LeverOption]] = {t.name: [] for t in wanting}
    exogenous = set(scenario.exogenous())
    skipped = [
        name
        for name in question.levers
        if name in scenario.uncertainties
        or name in exogenous
        or (name in scenario.levers and scenario.levers[name].path is not None)
    ]
    searched = [name for name in question.levers if name not in skipped]
    if not wanting:
        return LeverSearch(question, 0, options, searched, skipped)
    inputs = first_draws(run, search_draws)
    compiled = run.compiled
    years = plan_years(scenario, compiled, [t.year for t in scenario.targets])
    runs = LeverRuns(
        scenario,
        model=model,
        executor=executor,
        inputs=inputs,
        settings=run.settings,
        targets=wanting,
        final_time=max([*years, *(t.year for t in scenario.targets)]),
    )
    for index, name in enumerate(question.levers):
        if name in skipped:
            continue
        where = (QUESTION_KEY, "levers", index)
        bound = any(name in c.sum for c in scenario.constraints)
        rules = [question.rebalance] if bound else []
        try:
            info = lever_info(scenario, name, model)
            _, high = info.plausible_range()
            if math.isfinite(info.value) and not info.value < high:  # no room to raise it
                for target in wanting:
                    options[target.name].append(_unreachable(info, math.nan))
                continue
            start, stop = info.search_range(LeverRange(name), from_current=True)
            rebalanced_settings(scenario, {name: np.array([start, stop])}, rules, model)
        except LeverError as exc:
            raise question_error(scenario, where, exc.message) from None
        answers = _search_lever(runs, scenario, info, start, stop, rules, question.goal, model)
        for target in wanting:
            options[target.name].append(answers[target.name])
    return LeverSearch(question, inputs.n_draws, options, searched, skipped)


def _unreachable(info: LeverInfo, best: float) -> LeverOption:
    return LeverOption.unreachable(info.name, info.label_zh, info.units, info.value, best)


def _search_lever(
    runs: LeverRuns,
    scenario: Scenario,
    info: LeverInfo,
    start: float,
    stop: float,
    rules: list[str],
    goal: float,
    model: Path | None,
) -> dict[str, LeverOption]:
    """Every target's least value of one lever in ``[start, stop]`` that reaches ``goal``."""
    cache: dict[float, dict[str, np.ndarray]] = {}

    def settings_at(values: np.ndarray) -> dict[str, np.ndarray]:
        settings = {info.name: np.asarray(values, dtype=float)}
        if rules:
            settings |= rebalanced_settings(scenario, settings, rules, model)
        return settings

    def hits_at(target: str):
        def hits(values: np.ndarray) -> np.ndarray:
            todo = sorted({float(v) for v in values} - cache.keys())
            if todo:  # one re-run per setting serves every target
                found = runs.hits(settings_at(np.array(todo)))
                for row, value in enumerate(todo):
                    cache[value] = {name: h[row] for name, h in found.items()}
            return np.array([cache[float(v)][target] for v in values])

        return hits

    answers = {}
    for target in runs.targets:
        solution = solve_threshold(
            hits_at(target.name),
            start,
            stop,
            goal,
            grid_points=GRID_POINTS,
            xtol=(stop - start) * SEARCH_TOLERANCE,
        )
        if solution.value is None:
            answers[target.name] = _unreachable(info, solution.best_probability)
            continue
        money = money_terms(runs, info, target.name, solution.value, settings_at)
        answers[target.name] = LeverOption(
            lever=info.name,
            label_zh=info.label_zh,
            units=info.units,
            current=info.value,
            value=solution.value,
            probability=solution.probability,
            rebalanced=bool(rules),
            money_variable=money.variable if money else "",
            money_units=money.units if money else "",
            money_current=money.current if money else math.nan,
            money_value=money.value if money else math.nan,
        )
    return answers
