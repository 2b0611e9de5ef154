"""The mid-term assessment (``innosim assess``): for each target, where the indicator stands
against the plan's path, how likely the target is given the data, the growth still needed and
the lever setting that would bring the probability back to 80 %.

Orchestration only: the rules are in ``sim.analysis.plan_tracking``, the conditioning in
``sim.workflows.calibrate``, the lever search in ``sim.analysis.lever_bisection``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from sim.analysis.importance_weighting import (
    kish_ess,
    log_likelihood,
    normalised_weights,
    weighted_quantiles,
    weighted_target_table,
)
from sim.analysis.lever_bisection import DEFAULT_GOAL, LeverSearch, bisect_lever
from sim.analysis.plan_tracking import track_target
from sim.analysis.probabilities import met
from sim.engine import TimePath, compile_model
from sim.engine.ensemble import scenario_inputs
from sim.engine.runner import run_draws
from sim.errors import InnosimError
from sim.results import at_year, variable, year_index
from sim.scenario import Scenario
from sim.vensim.catalogue import ModelInfo, model_info, unknown_name
from sim.workflows.calibrate import Conditioned, condition, conditioned_ensembles, target_comparison

#: The lever searched by default, and the top of its default range (5× the plan's 2 % floor).
#: the model's sector whose observations are "the economy" in the assessment's split
ECONOMY_SECTOR = "Economy"
DEFAULT_LEVER = "Fiscal Innovation Share Floor"
DEFAULT_LEVER_HIGH = 0.10

#: Columns of ``assess.csv`` (values in model units; probabilities as fractions).
ASSESS_COLUMNS = [
    "target",
    "variable",
    "year",
    "direction",
    "threshold",
    "last_year",
    "last_value",
    "start_value",
    "start_source",
    "path_rule",
    "path_value",
    "shortfall",
    "status",
    "prior_probability",
    "prior_low",
    "prior_high",
    "economy_probability",
    "economy_low",
    "economy_high",
    "economy_ess",
    "probability",
    "prob_low",
    "prob_high",
    "ess",
    "growth_needed",
    "lever",
    "lever_from",
    "lever_status",
    "lever_value",
    "lever_probability",
]


class AssessmentError(InnosimError, ValueError):
    """A bad ``--lever`` or ``--as-of`` (the message names the option)."""


@dataclass(frozen=True)
class LeverRange:
    """The lever searched and its range: from ``low`` (normally its current setting) towards
    ``high``, in the constant's model units."""

    name: str
    low: float
    high: float


def parse_lever(text: str) -> LeverRange:
    """``NAME=LO:HI`` → ``LeverRange`` (``AssessmentError`` naming ``--lever`` otherwise)."""
    match = re.fullmatch(r"\s*(?P<name>[^=]+?)\s*=\s*(?P<low>[^:]+):(?P<high>[^:]+)\s*", text)
    if match is None:
        raise AssessmentError(
            f"--lever: expected NAME=LO:HI (e.g. '{DEFAULT_LEVER}=0.02:0.06'); got {text!r}"
        )
    try:
        low, high = float(match["low"]), float(match["high"])
    except ValueError:
        raise AssessmentError(
            f"--lever: LO and HI must be numbers; got {match['low']!r} and {match['high']!r}"
        ) from None
    if not (math.isfinite(low) and math.isfinite(high)) or low == high:
        raise AssessmentError(f"--lever: LO and HI must be different finite numbers; got {text!r}")
    return LeverRange(match["name"], low, high)


def current_setting(scenario: Scenario, name: str, model: str | Path | None = None) -> float:
    """The lever's value in the scenario (a value lever) or the model's default constant."""
    lever = scenario.levers.get(name)
    if lever is not None and lever.path is None:
        return float(lever.all_values()[0])
    if lever is not None:
        raise AssessmentError(
            f"--lever: '{name}' follows a time path in the scenario; give its range explicitly"
        )
    return float(model_info(model).defaults[name])


def check_lever(scenario: Scenario, lever: LeverRange, model: str | Path | None = None) -> None:
    """The lever is a constant of the model that the scenario does not draw, inside its
    Vensim limits (``AssessmentError`` naming ``--lever`` otherwise)."""
    info = model_info(model)
    if lever.name not in info.docs:
        raise AssessmentError(
            "--lever: " + unknown_name(lever.name, info.docs, what="a variable of the model")
        )
    if info.kind(lever.name) != "constant":
        raise AssessmentError(
            f"--lever: '{lever.name}' is a {info.kind(lever.name)}; a constant is expected"
        )
    if lever.name in scenario.uncertainties:
        raise AssessmentError(
            f"--lever: '{lever.name}' is uncertain in the scenario; a policy lever is expected"
        )
    if lever.name in scenario.exogenous():
        raise AssessmentError(
            f"--lever: '{lever.name}' is imposed as data (drivers) or drawn as a path in the "
            "scenario; a policy lever is expected"
        )
    low, high = info.limits(lever.name)
    for value in (lever.low, lever.high):
        if (low is not None and value < low) or (high is not None and value > high):
            raise AssessmentError(
                f"--lever: {value:g} is outside the Vensim limits [{low}, {high}] of '{lever.name}'"
            )


def default_lever(scenario: Scenario, model: str | Path | None = None) -> LeverRange:
    """``Fiscal Innovation Share Floor`` from its current setting up to 10 %."""
    low = current_setting(scenario, DEFAULT_LEVER, model)
    return LeverRange(DEFAULT_LEVER, low, max(DEFAULT_LEVER_HIGH, 2 * low))


def combine_observations(
    history: pd.DataFrame | None, observed: pd.DataFrame, as_of: int
) -> pd.DataFrame:
    """The data up to ``as_of``: the scenario's history and the new observations (a new row
    replaces a history row of the same variable and year), sorted by variable and year."""
    frames = [frame for frame in (history, observed) if frame is not None]
    combined = pd.concat(frames, ignore_index=True)
    combined = combined.drop_duplicates(["variable", "year"], keep="last")
    combined = combined[combined["year"] <= as_of]
    return combined.sort_values(["variable", "year"], kind="stable").reset_index(drop=True)


#: Ratios ``assess`` derives from their parts where only the parts are observed:
#: ``(ratio, numerator, denominator)``, Vensim names (the model defines each ratio so).
DERIVED_RATIOS: tuple[tuple[str, str, str], ...] = (("RD Intensity", "RD Expenditure", "GDP"),)
#: ``source`` of a derived row starts with this.
DERIVED_SOURCE = "derived"


def derive_ratios(
    observations: pd.DataFrame, variables: Iterable[str]
) -> tuple[pd.DataFrame, list[str]]:
    """Observations of the ``DERIVED_RATIOS`` computed from their parts.

    For every year where the numerator and the denominator are observed and the ratio is not,
    a row ``value = a / b`` with ``sd = |a / b| sqrt((sd_a / a)² + (sd_b / b)²)`` (first-order
    error propagation, independent errors) and ``source`` ``derived: a / b (sources)``. Only
    ratios whose three variables are in ``variables`` (the model's) are derived.

    Returns the derived rows (``sim.scenario.observed`` columns) and one line per ratio saying what
    was derived.
    """
    known = set(variables)
    rows: list[dict[str, object]] = []
    notes: list[str] = []
    for ratio, numerator, denominator in DERIVED_RATIOS:
        if not {ratio, numerator, denominator} <= known:
            continue
        by_year = {
            name: observations[observations["variable"] == name].set_index("year")
            for name in (ratio, numerator, denominator)
        }
        years = sorted(
            (set(by_year[numerator].index) & set(by_year[denominator].index))
            - set(by_year[ratio].index)
        )
        derived_years = []
        for year in years:
            top, bottom = by_year[numerator].loc[year], by_year[denominator].loc[year]
            a, b = float(top["value"]), float(bottom["value"])
            if a == 0 or b == 0:
                continue
            value = a / b
            sd = abs(value) * math.hypot(float(top["sd"]) / a, float(bottom["sd"]) / b)
            rows.append(
                {
                    "variable": ratio,
                    "year": int(year),
                    "value": value,
                    "sd": sd,
                    "source": f"{DERIVED_SOURCE}: {numerator} / {denominator} "
                    f"({top['source']}; {bottom['source']})",
                }
            )
            derived_years.append(int(year))
        if derived_years:
            notes.append(
                f"'{ratio}' derived as '{numerator}' / '{denominator}' for "
                f"{', '.join(map(str, derived_years))} (no '{ratio}' row those years; sd by "
                "error propagation); used to track the target, not conditioned on (its parts are)"
            )
    frame = pd.DataFrame(rows, columns=["variable", "year", "value", "sd", "source"])
    return frame.astype({"year": "int64", "value": "float64", "sd": "float64"}), notes


@dataclass(frozen=True)
class Assessment:
    """The result of ``assess``.

    Attributes:
        as_of: the assessment year (data after it ignored; a lever changes after it).
        plan_start: the plan's base year (``Plan Start Time``).
        table: one row per target, columns ``ASSESS_COLUMNS``.
        observations: the data: those conditioned on and the rows derived from them
            (``derive_ratios``, ``source`` starting with ``derived``).
        conditioned: the conditioning (``sim.workflows.calibrate.Conditioned``).
        prior, posterior: ensembles of the prior draws and of the conditioned draws
            (``posterior`` is ``prior`` when the conditioning is by importance weights).
        weights: weights of the ``posterior`` draws.
        lever: the lever searched (``None`` when no search was asked for).
    """

    as_of: int
    plan_start: int
    table: pd.DataFrame
    observations: pd.DataFrame
    conditioned: Conditioned = field(repr=False)
    prior: xr.Dataset = field(repr=False)
    posterior: xr.Dataset = field(repr=False)
    weights: np.ndarray = field(repr=False)
    lever: LeverRange | None
    notes: tuple[str, ...] = ()


def lever_path(
    scenario: Scenario,
    name: str,
    value: float,
    as_of: float,
    time_step: float,
    model: str | Path | None = None,
) -> TimePath:
    """The lever as the scenario sets it (its value, its path, or the model's default) up to
    model time ``as_of``, then ``value``: the change takes effect from the next integration
    step, i.e. from calendar year ``as_of + 1``."""
    lever = scenario.levers.get(name)
    if lever is None:
        times, values = [as_of], [float(model_info(model).defaults[name])]
    elif lever.path is None:
        times, values = [as_of], [float(lever.all_values()[0])]
    else:
        years, settings = lever.points()
        keep = years < as_of
        times = [*years[keep].tolist(), as_of]
        values = [*settings[keep].tolist(), float(lever.at([as_of])[0])]
    return TimePath([*times, as_of + time_step], [*values, value])


def lever_probabilities(
    scenario: Scenario,
    conditioned: Conditioned,
    lever: LeverRange,
    as_of: int,
    model: str | Path | None = None,
) -> Callable[[float], dict[str, float]]:
    """``value -> {target: weighted probability}`` with the lever changed after ``as_of``,
    on the conditioned draws and their paths (common random numbers; results cached by
    value)."""
    compiled = compile_model(model)
    inputs = scenario_inputs(
        scenario,
        conditioned.settings,
        compiled,
        uncertainty_draws=conditioned.draws,
        path_shocks=conditioned.shocks,
        own_history=True,
    )
    fixed = inputs.fixed
    outputs = list(dict.fromkeys(target.variable for target in scenario.targets))
    draws = inputs.per_draw
    weights = conditioned.weights
    last_target = max((target.year for target in scenario.targets), default=None)
    cache: dict[float, dict[str, float]] = {}

    def evaluate(value: float) -> dict[str, float]:
        if value not in cache:
            params = dict(fixed)
            params[lever.name] = lever_path(
                scenario, lever.name, value, as_of, compiled.time_step, model
            )
            times, values = run_draws(
                compiled, conditioned.n_draws, params, draws, outputs, final_time=last_target
            )
            cache[value] = {}
            for target in scenario.targets:
                final = values[target.variable][:, year_index(times, target.year)]
                cache[value][target.name] = float(np.sum(weights * met(target, final)))
        return cache[value]

    return evaluate


def assess(
    scenario: Scenario,
    observed: pd.DataFrame,
    as_of: int,
    *,
    history: pd.DataFrame | None = None,
    lever: LeverRange | None = None,
    goal: float = DEFAULT_GOAL,
    draws: int | None = None,
    seed: int | None = None,
    model: str | Path | None = None,
    strict: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Assessment:
    """Assess progress towards the scenario's targets as of ``as_of``.

    Args:
        scenario: the scenario (its distributions are conditioned; a ``posterior`` it names
            is not used, the data it was conditioned on being part of ``history``).
        observed: the new observations (``sim.scenario.observed.load_observed``).
        as_of: the assessment year.
        history: earlier observations (the scenario's ``history``), conditioned on too.
        lever: the lever to search for targets below ``goal`` (``None``: no search).
        goal: the probability the lever should restore.
        draws, seed: override the scenario's Monte Carlo settings.
        model: the ``.mdl`` file (default: the project's model).
        strict: refuse an observation the model does not reproduce instead of reporting it
            (``Conditioned.misfits``).
        progress: called with a line of text at each stage.

    Raises:
        CalibrationError: the data cannot be conditioned on; AssessmentError: bad lever.
    """
    info = model_info(model)
    if not info.initial_time <= as_of <= info.final_time:
        raise AssessmentError(
            f"--as-of: {as_of} is outside the model's horizon "
            f"[{info.initial_time:g}, {info.final_time:g}]"
        )
    plan_start_lever = scenario.levers.get("Plan Start Time")
    plan_start = int(
        plan_start_lever.all_values()[0]
        if plan_start_lever is not None and plan_start_lever.path is None
        else info.defaults["Plan Start Time"]
    )
    if lever is not None:
        check_lever(scenario, lever, model)
    observations = combine_observations(history, observed, as_of)
    if observations.empty:
        raise AssessmentError(f"--as-of: no observation at or before {as_of}")
    derived, notes = derive_ratios(observations, info.docs)
    conditioned = condition(
        scenario,
        observations,
        draws=draws,
        seed=seed,
        model=model,
        strict=strict,
        progress=progress,
    )
    prior, posterior = conditioned_ensembles(scenario, conditioned, model=model)
    weights = conditioned.weights
    if not derived.empty:
        observations = pd.concat([observations, derived], ignore_index=True)
        observations = observations.sort_values(["variable", "year"], kind="stable")
        observations = observations.reset_index(drop=True)
    comparison = target_comparison(prior, posterior, list(scenario.targets), conditioned)
    economy, economy_ess = economy_only_probabilities(scenario, conditioned, prior, info)
    evaluate = None
    if lever is not None and as_of < max(t.year for t in scenario.targets):
        evaluate = lever_probabilities(scenario, conditioned, lever, as_of, model)
    rows = []
    for index, target in enumerate(scenario.targets):
        start_values = at_year(posterior, target.variable, plan_start)
        model_start = float(weighted_quantiles(start_values, weights, [0.5])[0])
        units = str(variable(posterior, target.variable).attrs.get("units", ""))
        row: dict[str, object] = {
            "target": target.name,
            "variable": target.variable,
            "year": target.year,
            "direction": target.direction,
            "threshold": target.threshold,
            **track_target(target, observations, as_of, plan_start, model_start, units),
            "prior_probability": comparison.loc[index, "prior_probability"],
            "prior_low": comparison.loc[index, "prior_prob_low"],
            "prior_high": comparison.loc[index, "prior_prob_high"],
            "economy_probability": economy.loc[index, "probability"],
            "economy_low": economy.loc[index, "prob_low"],
            "economy_high": economy.loc[index, "prob_high"],
            "economy_ess": economy_ess,
            "probability": comparison.loc[index, "calibrated_probability"],
            "prob_low": comparison.loc[index, "calibrated_prob_low"],
            "prob_high": comparison.loc[index, "calibrated_prob_high"],
            "ess": conditioned.ess,
            "lever": lever.name if lever is not None else "",
            "lever_from": lever.low if lever is not None else math.nan,
            "lever_status": "",
            "lever_value": math.nan,
            "lever_probability": math.nan,
        }
        if evaluate is not None and lever is not None and target.year > as_of:
            search = _search(evaluate, target.name, lever, goal)
            row["lever_status"] = search.status
            row["lever_value"] = math.nan if search.value is None else search.value
            row["lever_probability"] = search.probability
            if progress is not None:
                progress(f"lever search for {target.name}: {search.status}")
        rows.append(row)
    frame = pd.DataFrame(rows, columns=ASSESS_COLUMNS)
    return Assessment(
        as_of=as_of,
        plan_start=plan_start,
        table=frame,
        observations=observations,
        conditioned=conditioned,
        prior=prior,
        posterior=posterior,
        weights=weights,
        lever=lever,
        notes=tuple(notes),
    )


def economy_only_probabilities(
    scenario: Scenario, conditioned: Conditioned, prior: xr.Dataset, info: ModelInfo
) -> tuple[pd.DataFrame, float]:
    """Each target's probability given only the observations of the model's economy sector
    (``ECONOMY_SECTOR``): the prior draws (``prior``, from ``conditioned_ensembles``)
    importance-weighted by those observations' likelihood
    (the same sd as the full conditioning). Set beside the prior and the all-data probability,
    it separates what the economy explains from what the innovation system did.

    Returns the ``weighted_target_table`` and the weights' Kish ESS (the intervals use it).
    """
    sectors = {name: doc.sector for name, doc in info.docs.items()}
    economy = conditioned.observations["variable"].map(sectors).eq(ECONOMY_SECTOR).to_numpy()
    log_weights = log_likelihood(conditioned.prior_residuals[economy])
    weights = normalised_weights(log_weights)
    ess = kish_ess(weights)
    return weighted_target_table(prior, list(scenario.targets), weights, ess), ess


def _search(
    evaluate: Callable[[float], dict[str, float]], name: str, lever: LeverRange, goal: float
) -> LeverSearch:
    return bisect_lever(lambda value: evaluate(value)[name], lever.low, lever.high, goal)
