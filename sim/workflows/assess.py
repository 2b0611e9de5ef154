"""The mid-term assessment (``innosim assess``): for each target, where the indicator stands
against the plan's path, how likely the target is given the data, the growth still needed and
the lever setting that would bring the probability back to 80 %.

Orchestration only: the rules are in ``sim.analysis.plan_tracking``, the conditioning in
``sim.workflows.calibrate``, the lever (``sim.scenario.levers``) is searched by
``sim.analysis.threshold_search.solve_threshold`` on the conditioned draws, importance weights
included (``sim.workflows.lever_runs``: the same draws at every setting).
"""

from __future__ import annotations

import hashlib
import math
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
from sim.analysis.plan_tracking import DEFAULT_GOAL, track_target
from sim.analysis.threshold_search import ThresholdSolution, solve_threshold
from sim.engine import TimePath, compile_model
from sim.engine.ensemble import monte_carlo_settings, scenario_inputs
from sim.engine.runner import DEFAULT_CHUNK_SIZE, SERIAL, Executor, keeps_workers
from sim.provenance import provenance
from sim.report.assessment_outputs import (
    ASSESS_CSV,
    ASSESS_HTML,
    TEXT,
    assessment_answer,
    assessment_chart,
    chart_file,
    console_rows,
    render_assessment,
)
from sim.report.calibration_outputs import MISFITS_FILE
from sim.report.console import format_table
from sim.report.figures import figure_png
from sim.report.track_record import scenario_track_record
from sim.report.writer import write_outputs
from sim.results import at_year, variable
from sim.scenario import Language, Scenario, load_scenario, scenario_digest
from sim.scenario.levers import LeverRange, lever_info
from sim.scenario.observed import load_observed
from sim.vensim.catalogue import ModelInfo, model_info
from sim.workflows.calibrate import (
    Conditioned,
    condition,
    conditioned_ensembles,
    misfit_lines,
    target_comparison,
)
from sim.workflows.lever_runs import LeverRuns, PolicyQuestionError

#: the model's sector whose observations are "the economy" in the assessment's split
ECONOMY_SECTOR = "Economy"
#: The lever searched by default (from its current setting to the upper end of its plausible
#: policy range, 0.10 for the floor).
DEFAULT_LEVER = "Fiscal Innovation Share Floor"
#: Bisection tolerance of the lever search, as a fraction of the searched range.
LEVER_TOLERANCE = 1 / 256

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
    "lever_value_low",
    "lever_value_high",
    "lever_prob_low",
    "lever_prob_high",
]


class AssessmentError(PolicyQuestionError):
    """A bad ``--as-of`` or observed data that leave nothing to assess (names the option)."""


def default_lever(scenario: Scenario, model: str | Path | None = None) -> LeverRange:
    """``DEFAULT_LEVER`` from its current setting up to the upper end of its plausible policy
    range (the constant's Vensim range), with both ends filled in."""
    return lever_search_range(scenario, LeverRange(DEFAULT_LEVER), model)


def lever_search_range(
    scenario: Scenario, lever: LeverRange, model: str | Path | None = None
) -> LeverRange:
    """The lever to search, checked (``sim.scenario.levers.lever_info``), with its range
    filled in: as given (it may run downwards, ``START > STOP``, for a lever that must go
    down), else from its current setting to the upper end of its plausible policy range.

    Raises:
        LeverError: not a lever of the scenario, or a bad range.
    """
    info = lever_info(scenario, lever.name, model)
    start, stop = info.search_range(lever, from_current=True)
    return LeverRange(info.name, start, stop)


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
        lever: the lever searched, from its setting (``start``) towards ``stop`` (``None``
            when no search was asked for).
        searches: each searched target's ``ThresholdSolution``, by target name.
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
    searches: dict[str, ThresholdSolution] = field(default_factory=dict, repr=False)


def lever_path(
    scenario: Scenario,
    name: str,
    value: float | np.ndarray,
    as_of: float,
    time_step: float,
    model: str | Path | None = None,
) -> TimePath:
    """The lever as the scenario sets it (its value, its path, or the model's default) up to
    model time ``as_of``, then ``value``: the change takes effect from the next integration
    step, i.e. from calendar year ``as_of + 1``. An array of values gives one path per value
    (a per-draw ``TimePath``, row ``i`` ending at ``value[i]``)."""
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
    if np.ndim(value) == 0:
        return TimePath([*times, as_of + time_step], [*values, float(value)])
    ends = np.asarray(value, dtype=float)[:, None]
    before = np.broadcast_to(np.asarray(values, dtype=float), (ends.shape[0], len(values)))
    return TimePath([*times, as_of + time_step], np.hstack([before, ends]))


def lever_hits(
    scenario: Scenario,
    conditioned: Conditioned,
    lever: str,
    as_of: int,
    model: str | Path | None = None,
    executor: Executor = SERIAL,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """``values (k,) -> {target: bool array (k, draws)}``: which conditioned draws meet each
    target with ``lever`` changed after ``as_of`` to each value (``lever_path``), on the
    conditioned draws and their paths (common random numbers; runs of more than
    ``chunk_size`` (value, draw) pairs go to ``executor``; results cached by value)."""
    compiled = compile_model(model)
    inputs = scenario_inputs(
        scenario,
        conditioned.settings,
        compiled,
        uncertainty_draws=conditioned.draws,
        path_shocks=conditioned.shocks,
        own_history=True,
    )

    def changed_after(name: str, values: np.ndarray) -> TimePath:
        return lever_path(scenario, name, values, as_of, compiled.time_step, model)

    runs = LeverRuns(
        scenario,
        model=model,
        chunk_size=chunk_size,
        executor=executor,
        inputs=inputs,
        settings=conditioned.settings,
        setting_param=changed_after,
        final_time=max(target.year for target in scenario.targets),
    )
    cache: dict[float, dict[str, np.ndarray]] = {}

    def evaluate(values: np.ndarray) -> dict[str, np.ndarray]:
        todo = sorted({float(v) for v in values} - cache.keys())
        if todo:
            hits = runs.hits({lever: np.array(todo)})
            for row, value in enumerate(todo):
                cache[value] = {name: h[row] for name, h in hits.items()}
        return {
            target.name: np.array([cache[float(v)][target.name] for v in values])
            for target in scenario.targets
        }

    return evaluate


def lever_answer(
    solution: ThresholdSolution, start: float, stop: float, goal: float
) -> dict[str, object]:
    """The lever columns of a row of ``assess.csv`` from a search between ``start`` (the
    setting the change starts from) and ``stop``: ``already`` when the goal holds at
    ``start``, ``found`` (the setting nearest ``start`` that reaches it, with its interval) or
    ``unreachable`` (with the probability at ``stop``)."""
    by_value = {e.value: e for e in solution.evaluations}
    at_start, at_stop = by_value[start], by_value[stop]
    nan = math.nan
    row: dict[str, object] = {
        "lever_value_low": nan,
        "lever_value_high": nan,
        "lever_prob_low": nan,
        "lever_prob_high": nan,
    }
    if at_start.probability >= goal:
        status, value, chosen = "already", start, at_start
    elif solution.value is None:
        return row | {
            "lever_status": "unreachable",
            "lever_value": nan,
            "lever_probability": at_stop.probability,
        }
    else:
        status, value, chosen = "found", solution.value, by_value[solution.value]
    if value == solution.value:
        row["lever_value_low"], row["lever_value_high"] = solution.value_low, solution.value_high
    return row | {
        "lever_status": status,
        "lever_value": value,
        "lever_probability": chosen.probability,
        "lever_prob_low": chosen.low,
        "lever_prob_high": chosen.high,
    }


@keeps_workers
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
    executor: Executor = SERIAL,
) -> Assessment:
    """Assess progress towards the scenario's targets as of ``as_of``.

    Args:
        scenario: the scenario (its distributions are conditioned; a ``posterior`` it names
            is not used, the data it was conditioned on being part of ``history``).
        observed: the new observations (``sim.scenario.observed.load_observed``).
        as_of: the assessment year.
        history: earlier observations (the scenario's ``history``), conditioned on too.
        lever: the lever to search for targets below ``goal`` (``None``: no search); without
            a range, from its current setting to the upper end of its plausible policy range
            (``lever_search_range``).
        goal: the probability the lever should restore.
        draws, seed: override the scenario's Monte Carlo settings.
        model: the ``.mdl`` file (default: the project's model).
        strict: refuse an observation the model does not reproduce instead of reporting it
            (``Conditioned.misfits``).
        progress: called with a line of text at each stage.
        executor: where the model runs go (conditioning, ensembles, lever search); the
            results are the same whatever it is.

    Raises:
        CalibrationError: the data cannot be conditioned on; AssessmentError: bad ``as_of``;
        LeverError: bad lever or range.
    """
    info = model_info(model)
    if not info.initial_time <= as_of <= info.final_time:
        raise AssessmentError(
            f"{as_of} is outside the model's horizon [{info.initial_time:g}, {info.final_time:g}]",
            "--as-of",
        )
    plan_start_lever = scenario.levers.get("Plan Start Time")
    plan_start = int(
        plan_start_lever.all_values()[0]
        if plan_start_lever is not None and plan_start_lever.path is None
        else info.defaults["Plan Start Time"]
    )
    if lever is not None:
        lever = lever_search_range(scenario, lever, model)
    observations = combine_observations(history, observed, as_of)
    if observations.empty:
        raise AssessmentError(f"no observation at or before {as_of}", "--as-of")
    derived, notes = derive_ratios(observations, info.docs)
    conditioned = condition(
        scenario,
        observations,
        draws=draws,
        seed=seed,
        model=model,
        strict=strict,
        progress=progress,
        executor=executor,
    )
    prior, posterior = conditioned_ensembles(scenario, conditioned, model=model, executor=executor)
    weights = conditioned.weights
    if not derived.empty:
        observations = pd.concat([observations, derived], ignore_index=True)
        observations = observations.sort_values(["variable", "year"], kind="stable")
        observations = observations.reset_index(drop=True)
    comparison = target_comparison(prior, posterior, list(scenario.targets), conditioned)
    economy, economy_ess = economy_only_probabilities(scenario, conditioned, prior, info)
    hits_at = None
    if lever is not None and as_of < max(t.year for t in scenario.targets):
        hits_at = lever_hits(scenario, conditioned, lever.name, as_of, model, executor)
    rows = []
    searches: dict[str, ThresholdSolution] = {}
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
            "lever_from": lever.start if lever is not None else math.nan,
            "lever_status": "",
            "lever_value": math.nan,
            "lever_probability": math.nan,
        }
        if hits_at is not None and lever is not None and target.year > as_of:
            start, stop = float(lever.start), float(lever.stop)  # type: ignore[arg-type]
            solution = solve_threshold(
                lambda values, name=target.name: hits_at(values)[name],
                min(start, stop),
                max(start, stop),
                goal,
                xtol=abs(stop - start) * LEVER_TOLERANCE,
                weights=weights,
                effective_draws=conditioned.ess,
            )
            searches[target.name] = solution
            row |= lever_answer(solution, start, stop, goal)
            if progress is not None:
                progress(f"lever search for {target.name}: {row['lever_status']}")
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
        searches=searches,
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


# --- the command ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AssessmentReport:
    """What ``run_assessment`` found, printed and wrote.

    Attributes:
        assessment: the assessment.
        text: the console text (method, notes, the table, the track record, misfits).
        written: the files written, ``provenance.json`` included.
    """

    assessment: Assessment
    text: str
    written: list[Path]


def run_assessment(
    path: Path,
    observed: Path,
    out: Path,
    *,
    as_of: int | None = None,
    lever: LeverRange | None = None,
    goal: float = DEFAULT_GOAL,
    draws: int | None = None,
    seed: int | None = None,
    lang: Language = "zh",
    strict: bool = False,
    model: Path | None = None,
    executor: Executor = SERIAL,
    progress: Callable[[str], None] | None = None,
    note: Callable[[str], None] | None = None,
) -> AssessmentReport:
    """``innosim assess``: load the scenario, the new observations and the scenario's history,
    assess the targets as of ``as_of`` (default: the last year observed; ``assess``) and
    write ``assess.csv``, ``misfits.csv``, a chart per target, ``assess.html`` and
    ``provenance.json`` into ``out`` (claimed by the caller).

    Args:
        lever: the lever to search (default: ``default_lever``).
        progress: called with a line of text at each stage of the conditioning and search.
        note: called with one line per adjustment made to the observed data.

    Raises ``InnosimError`` (nothing written): a bad scenario, data file, lever or year.
    """
    scenario = load_scenario(path, model=model)
    data = load_observed(observed, model=model, note=note)
    history = load_observed(scenario.history, model=model, note=note) if scenario.history else None
    settings = monte_carlo_settings(scenario, draws, seed)
    year = as_of if as_of is not None else int(data["year"].max())
    search = lever if lever is not None else LeverRange(DEFAULT_LEVER)
    result = assess(
        scenario,
        data,
        year,
        history=history,
        lever=search,
        goal=goal,
        draws=settings.draws,
        seed=settings.seed,
        model=model,
        strict=strict,
        progress=progress,
        executor=executor,
    )
    searched = result.lever if result.lever is not None else search
    images = {
        chart_file(target): figure_png(
            assessment_chart(
                target,
                result.table.iloc[index].to_dict(),
                result.prior,
                result.posterior,
                result.weights,
                result.observations,
                result.as_of,
                result.plan_start,
                lang,
            )
        )
        for index, target in enumerate(scenario.targets)
    }
    model_sha256 = str(result.prior.attrs.get("model_sha256", ""))
    record_text = scenario_track_record(path, model_sha256, scenario_digest(scenario), lang)
    conditioned = result.conditioned
    context = {
        "track_record": record_text,
        "scenario": scenario.title.text(lang) if scenario.title else path.stem,
        "as_of": result.as_of,
        "plan_start": result.plan_start,
        "method": conditioned.method,
        "ess": conditioned.ess,
        "draws": settings.draws,
        "seed": settings.seed,
        "goal": goal,
        "lever": searched.name,
        "lever_units": lever_info(scenario, searched.name, model).units,
        "low": searched.start,
        "high": searched.stop,
    }
    record = provenance(
        "assess",
        scenario=scenario,
        model=Path(str(result.prior.attrs.get("model", ""))),
        model_sha256=model_sha256,
        settings=conditioned.settings,
        extra={
            "observed": observed.name,
            "observed_sha256": hashlib.sha256(observed.read_bytes()).hexdigest(),
            "as_of": result.as_of,
            "method": conditioned.method,
            "ess": conditioned.ess,
            "importance_ess": f"{conditioned.importance_ess:.1f}",
            "strict": strict,
            "lever": searched.name,
            "lever_range": [searched.start, searched.stop],
            "goal": goal,
        },
    )
    html = render_assessment(
        result.table, scenario.targets, result.observations, images, lang, context, record
    )
    files = {ASSESS_CSV: result.table, MISFITS_FILE: conditioned.misfits, **images}
    written = write_outputs(out, files | {ASSESS_HTML: html}, record, lang=lang, model=model)
    text = TEXT[lang]
    lines = [
        text["console_head"].format(
            scenario=path.name,
            as_of=result.as_of,
            method=text[conditioned.method],
            ess=conditioned.ess,
            draws=settings.draws,
        )
    ]
    lines += assessment_answer(result.table, lang, result.as_of, goal, searched.name)
    lines += [text["note"].format(line=line) for line in result.notes]
    rows = console_rows(
        result.table,
        scenario.targets,
        lang,
        searched.name,
        goal,
        searched.stop,
        str(context["lever_units"]),
    )
    lines += [format_table(rows), "", record_text, *misfit_lines(conditioned.misfits, lang)]
    return AssessmentReport(result, "\n".join(lines), written)
