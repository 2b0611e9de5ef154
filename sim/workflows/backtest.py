"""Backtest (``innosim backtest``): forecast held-out observations from a forecast origin and
score the forecasts (docs/calibration.md, "Backtest").

For each origin year: the scenario's uncertainties are conditioned on the observations of
years up to the origin (``sim.workflows.calibrate.condition``; with none, the prior is the
forecast), the conditioned ensemble is simulated (``conditioned_ensembles``) and every observation
of a later year is scored against it (``sim.analysis.forecast_scores``): weighted median and 5-95 %
quantiles, the PIT value, whether it falls in the 50 % and 90 % central intervals, and the CRPS.
Several origins give a rolling-origin evaluation.

Observations of the scenario's drivers are not scored: their rows are imposed as data in every
year given (the file is added to the scenario's drivers files), so each forecast is conditional
on the observed exogenous series, as a projection with known drivers would be. Observations
of a variable the scenario draws as a path (and does not impose) are neither scored nor
conditioned on (a note says so).

Orchestration only: the scores are pure functions of ``sim.analysis.forecast_scores``, the figures
and text in ``sim.report.backtest_outputs``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from sim.analysis.forecast_scores import coverage_summary, score_observation
from sim.analysis.importance_weighting import weighted_quantiles
from sim.engine import compile_model
from sim.engine.ensemble import (
    ANCHORING_SWITCH,
    monte_carlo_settings,
    run_ensemble,
)
from sim.engine.runner import SERIAL, Executor, chunk_size_for, keeps_workers
from sim.errors import InnosimError
from sim.provenance import provenance
from sim.results import at_year, variable
from sim.scenario import (
    DriverSet,
    Language,
    Lever,
    MonteCarlo,
    Scenario,
    file_sha256,
    load_scenario,
)
from sim.scenario.observed import driver_series, load_observed
from sim.vensim.catalogue import ModelInfo, model_info
from sim.workflows.calibrate import (
    CalibrationError,
    condition,
    conditioned_ensembles,
    normal_scores,
    prior_uniforms,
)

#: Columns of ``backtest.csv``: the forecast origin, the observation (model units), its
#: measurement sd and the sd of the forecast's observation noise (measurement and the
#: scenario's model discrepancy), the forecast's weighted median and 5-95 % quantiles, the PIT
#: value (``quantile``), whether the observation lies in the central 50 % / 90 % intervals, the
#: CRPS (model units) and the CRPS relative to |observed|. The forecast is of the observation:
#: each draw's model value plus that noise.
BACKTEST_COLUMNS = [
    "origin",
    "variable",
    "year",
    "observed",
    "sd",
    "predictive_sd",
    "median",
    "p05",
    "p95",
    "quantile",
    "inside_50",
    "inside_90",
    "crps",
    "crps_relative",
]
#: Columns of the forecast bands drawn per variable (model units).
BAND_COLUMNS = ["origin", "variable", "year", "p05", "median", "p95"]
#: ``method`` of an origin without observations at or before it (the prior is the forecast),
#: and of an origin whose conditioning was refused.
PRIOR = "prior"
FAILED = "failed"

#: random stream of the observation noise added to the forecasts
NOISE_STREAM = 7

Progress = Callable[[str], None]


class BacktestError(InnosimError, ValueError):
    """A bad ``--origin`` or ``--observed`` for a backtest, or every origin failed (the
    message names the option and what was expected)."""


@dataclass(frozen=True)
class OriginResult:
    """What happened at one forecast origin.

    Attributes:
        origin: the origin year (data of later years are held out).
        method: ``importance``, ``tempering`` (the conditioning), ``prior`` (nothing to
            condition on) or ``failed`` (the conditioning was refused: ``error``).
        conditioned: observations conditioned on (years ≤ origin).
        scored: observations scored (years > origin); 0 when failed.
        ess: effective sample size of the forecast sample (the draws for the prior).
        importance_ess: Kish ESS of plain importance weighting (NaN for the prior).
        error: the refusal's message (``failed`` only).
    """

    origin: int
    method: str
    conditioned: int
    scored: int
    ess: float = float("nan")
    importance_ess: float = float("nan")
    error: str = ""

    @property
    def failed(self) -> bool:
        return self.method == FAILED


@dataclass(frozen=True)
class Backtest:
    """The result of ``backtest``.

    Attributes:
        table: one row per (origin, scored observation), columns ``BACKTEST_COLUMNS``.
        coverage: ``coverage_summary`` of ``table`` by origin (and overall).
        by_variable: ``coverage_summary`` of ``table`` by variable (and overall).
        bands: forecast median and 5-95 % band per origin, variable and year from the origin
            to the variable's last scored year (``BAND_COLUMNS``, model units).
        observations: the rows used (conditioned on or scored), ``sim.scenario.observed`` columns.
        imposed: the rows imposed as drivers (not scored).
        dropped: the rows of path variables (neither scored nor conditioned on).
        origins: one ``OriginResult`` per origin, increasing.
        settings: draws, seed and sampler.
        scenario: the scenario as run (the given files with driver rows added to its drivers).
        attributes: per scored variable, ``units`` and ``label_zh`` (for labels).
        files: the observed-data files, in the order given.
        notes: decisions and adjustments made (one line each).
        provenance: what ``backtest.json`` records (``sim.provenance.provenance``).
    """

    table: pd.DataFrame
    coverage: pd.DataFrame
    by_variable: pd.DataFrame
    bands: pd.DataFrame
    observations: pd.DataFrame
    imposed: pd.DataFrame
    dropped: pd.DataFrame
    origins: tuple[OriginResult, ...]
    settings: MonteCarlo
    scenario: Scenario = field(repr=False)
    attributes: dict[str, dict[str, str]] = field(repr=False)
    files: tuple[Path, ...]
    notes: tuple[str, ...] = ()
    provenance: dict[str, object] = field(default_factory=dict, repr=False)


# --- inputs ----------------------------------------------------------------------------------


def combine_files(
    frames: Sequence[tuple[Path, pd.DataFrame]],
) -> tuple[pd.DataFrame, list[str]]:
    """The rows of several observed-data files, concatenated in order, with a ``file`` column;
    a row of a later file replaces one of an earlier file with the same variable and year
    (a note names them)."""
    parts = [frame.assign(file=str(path)) for path, frame in frames]
    combined = pd.concat(parts, ignore_index=True)
    notes = []
    repeated = combined.duplicated(["variable", "year"], keep="last")
    if repeated.any():
        pairs = ", ".join(
            f"'{row.variable}' {row.year}" for row in combined[repeated].itertuples(index=False)
        )
        notes.append(f"rows given in more than one file, the later file's row taken: {pairs}")
        combined = combined[~repeated]
    return combined.reset_index(drop=True), notes


def split_observations(
    scenario: Scenario, observations: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(scored, imposed, dropped)``: rows of the model's other variables (conditioned on up
    to an origin, scored after it); rows of the scenario's drivers (imposed as data); rows
    of variables it draws as paths without imposing them (left out)."""
    drivers = set(scenario.drivers.variables) if scenario.drivers is not None else set()
    exogenous = set(scenario.exogenous())
    imposed = observations["variable"].isin(drivers)
    dropped = observations["variable"].isin(exogenous - drivers)
    scored = ~(imposed | dropped)
    return (
        observations[scored].reset_index(drop=True),
        observations[imposed].reset_index(drop=True),
        observations[dropped].reset_index(drop=True),
    )


def impose_drivers(
    scenario: Scenario, files: Sequence[Path], info: ModelInfo
) -> tuple[Scenario, list[str]]:
    """The scenario with ``files`` added to its drivers files, so their rows of its drivers
    are imposed in every year given (files it already lists are not added twice).

    A driver continued by a path whose ``start`` is no longer after its last imposed year
    then starts the year after it (a note says so). The drivers are validated as a scenario's
    are (``sim.scenario.observed.driver_series``: a (variable, year) in two files, or a value
    outside the constant's Vensim limits, is refused naming the file and line).
    """
    if scenario.drivers is None or not files:
        return scenario, []
    known = {path.resolve() for path in scenario.drivers.files}
    added = [path.resolve() for path in files if path.resolve() not in known]
    added = list(dict.fromkeys(added))
    if not added:
        return scenario, []
    drivers = DriverSet(
        files=(*scenario.drivers.files, *added), variables=scenario.drivers.variables
    )
    series = driver_series(drivers.files, drivers.variables, info=info)
    paths = dict(scenario.paths)
    notes = []
    for name, process in scenario.paths.items():
        rows = series.get(name)
        if rows is not None and process.start is not None and process.start <= rows.last_year:
            paths[name] = process.model_copy(update={"start": None})
            notes.append(
                f"the path of '{name}' now starts in {rows.last_year + 1}, after its last "
                f"imposed year (the scenario starts it in {process.start})"
            )
    return scenario.model_copy(update={"drivers": drivers, "paths": paths}), notes


def check_origins(origins: Sequence[int], scored: pd.DataFrame, info: ModelInfo) -> list[int]:
    """The distinct origins, increasing; each inside the model's horizon with at least one
    observation to score after it (``BacktestError`` naming ``--origin`` otherwise)."""
    if not origins:
        raise BacktestError("--origin: expected at least one origin year")
    if scored.empty:
        raise BacktestError(
            "--observed: no observation to score: every row is of a driver or a path of the "
            "scenario; expected observations of the model's other variables"
        )
    last = int(scored["year"].max())
    for origin in origins:
        if not info.initial_time <= origin <= info.final_time:
            raise BacktestError(
                f"--origin: {origin} is outside the model's horizon "
                f"[{info.initial_time:g}, {info.final_time:g}]; expected a year inside it"
            )
        if origin >= last:
            raise BacktestError(
                f"--origin: no observation after {origin} to score (the observations run "
                f"{int(scored['year'].min())}-{last}); expected an origin before {last}"
            )
    return sorted(set(int(origin) for origin in origins))


# --- forecasting and scoring -----------------------------------------------------------------


def prior_ensemble(
    scenario: Scenario,
    settings: MonteCarlo,
    outputs: Sequence[str],
    model: str | Path | None = None,
    *,
    executor: Executor = SERIAL,
) -> xr.Dataset:
    """The ensemble of the scenario's prior draws: those ``condition`` starts from (the
    distributions, not a ``posterior`` the scenario names), each with its own paths and
    history; ``executor`` says where the runs go (the results are the same)."""
    prior = normal_scores(scenario).prior_values(prior_uniforms(scenario, settings))
    return run_ensemble(
        scenario,
        draws=settings.draws,
        seed=settings.seed,
        sampler=settings.sampler,
        chunk_size=chunk_size_for(settings.draws, executor),
        uncertainty_draws=prior,
        own_history=True,
        extra_outputs=list(outputs),
        model=model,
        executor=executor,
    )


def score_rows(
    ensemble: xr.Dataset,
    weights: np.ndarray,
    rows: pd.DataFrame,
    origin: int,
    relative_discrepancy: Callable[[str], float],
    seed: int,
) -> pd.DataFrame:
    """Scores (``BACKTEST_COLUMNS``) of the observations ``rows`` against the weighted
    forecast of each observation: the ensemble's model value at model time ``year`` plus
    Gaussian noise of sd ``predictive_sd`` = measurement sd ⊕ ``relative_discrepancy(variable)``
    × |observed| (the likelihood's sd in ``sim.workflows.calibrate``), one noise draw per ensemble
    draw (seeded by ``seed``, the origin and the row)."""
    records = []
    for index, row in enumerate(rows.itertuples(index=False)):
        try:
            values = at_year(ensemble, row.variable, int(row.year))
        except KeyError as exc:
            raise BacktestError(f"'{row.variable}' in {row.year}: {exc.args[0]}") from None
        noise_sd = float(np.hypot(row.sd, relative_discrepancy(row.variable) * abs(row.value)))
        rng = np.random.default_rng(
            np.random.SeedSequence(seed, spawn_key=(NOISE_STREAM, origin, index))
        )
        forecast = values + rng.normal(0.0, noise_sd, size=values.shape)
        try:
            scores = score_observation(forecast, weights, float(row.value))
        except ValueError:
            raise CalibrationError(
                f"no draw of the forecast from {origin} gives a finite value of "
                f"'{row.variable}' in {row.year}"
            ) from None
        records.append(
            {
                "origin": origin,
                "variable": row.variable,
                "year": int(row.year),
                "observed": float(row.value),
                "sd": float(row.sd),
                "predictive_sd": noise_sd,
                **scores,
            }
        )
    return pd.DataFrame(records, columns=BACKTEST_COLUMNS)


def forecast_bands(
    ensemble: xr.Dataset, weights: np.ndarray, rows: pd.DataFrame, origin: int
) -> pd.DataFrame:
    """Weighted median and 5-95 % band of each variable of ``rows`` in every saved year from
    ``origin`` to its last year in ``rows`` (``BAND_COLUMNS``)."""
    frames = []
    for name, part in rows.groupby("variable", sort=False):
        data = variable(ensemble, name)
        times = data["time"].to_numpy()
        keep = (times >= origin - 1e-9) & (times <= part["year"].max() + 1e-9)
        keep &= np.isclose(times, np.round(times))
        p05, median, p95 = weighted_quantiles(data.to_numpy()[:, keep], weights, [0.05, 0.5, 0.95])
        frames.append(
            pd.DataFrame(
                {
                    "origin": origin,
                    "variable": name,
                    "year": np.round(times[keep]).astype(int),
                    "p05": p05,
                    "median": median,
                    "p95": p95,
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=BAND_COLUMNS)
    return pd.concat(frames, ignore_index=True)[BAND_COLUMNS]


def _setting(scenario: Scenario, info: ModelInfo, name: str) -> float | None:
    """A constant as the scenario sets it (a lever's largest value) or the model's default
    (``None`` when the model has no such constant)."""
    lever = scenario.levers.get(name)
    return max(lever.all_values()) if lever is not None else info.defaults.get(name)


@keeps_workers
def backtest(
    scenario: Scenario,
    files: Sequence[str | Path],
    origins: Sequence[int],
    *,
    draws: int | None = None,
    seed: int | None = None,
    model: str | Path | None = None,
    progress: Progress | None = None,
    note: Progress | None = None,
    executor: Executor | None = None,
) -> Backtest:
    """Forecast from each origin and score the held-out observations (see the module doc).

    Args:
        scenario: the scenario (its distributions are conditioned; a ``posterior`` it names
            is not used).
        files: observed-data CSVs (``sim.scenario.observed``), concatenated (a later file's row
            replaces an earlier one of the same variable and year).
        origins: forecast origin years: rows with year ≤ origin are conditioned on, later
            rows scored.
        draws, seed: override the scenario's Monte Carlo settings.
        model: the ``.mdl`` file (default: the project's model).
        progress: called with a line of text at each stage.
        note: called with one line per decision or adjustment (also in ``Backtest.notes``).
        executor: where the model runs go (default serial; the results are the same).

    Raises:
        ObservedDataError: a bad file (naming the file, line and field).
        BacktestError: a bad origin, nothing to score, or every origin failed.
    """
    runner = executor or SERIAL
    say = progress if progress is not None else (lambda _: None)
    notes: list[str] = []

    def remark(line: str) -> None:
        notes.append(line)
        if note is not None:
            note(line)

    info = model_info(model)
    paths = [Path(path) for path in files]
    if not paths:
        raise BacktestError("--observed: expected at least one observed-data file")
    frames = [(path, load_observed(path, info=info, note=note)) for path in paths]
    combined, combine_notes = combine_files(frames)
    for line in combine_notes:
        remark(line)
    scored_rows, imposed, dropped = split_observations(scenario, combined)
    settings = monte_carlo_settings(scenario, draws, seed)
    driver_files = [Path(f) for f in dict.fromkeys(imposed["file"])] if len(imposed) else []
    run_scenario, driver_notes = impose_drivers(scenario, driver_files, info)
    if len(imposed):
        names = ", ".join(dict.fromkeys(imposed["variable"]))
        remark(
            f"observations of {names} imposed as drivers in every year given, not scored "
            "(the forecasts are conditional on them)"
        )
    for line in driver_notes:
        remark(line)
    if len(dropped):
        names = ", ".join(dict.fromkeys(dropped["variable"]))
        remark(
            f"observations of {names} neither scored nor conditioned on: the scenario draws "
            "them as paths (make them drivers to impose them)"
        )
    chosen = check_origins(origins, scored_rows, info)
    outputs = list(dict.fromkeys(scored_rows["variable"]))
    plan_start = _setting(run_scenario, info, "Plan Start Time")
    anchored = _setting(run_scenario, info, ANCHORING_SWITCH)
    free_run = run_scenario
    if plan_start is not None and anchored:
        late = scored_rows["year"] > plan_start
        if any(origin < plan_start for origin in chosen) and late.any():
            lever = Lever(
                value=0.0,
                source=f"innosim backtest: an origin before {plan_start:g}, no re-anchoring",
            )
            free_run = run_scenario.model_copy(
                update={"levers": {**run_scenario.levers, ANCHORING_SWITCH: lever}}
            )
            remark(
                f"forecasts from origins before {plan_start:g} run with {ANCHORING_SWITCH} = 0: "
                f"the stocks are not re-anchored to the observed {plan_start:g} values, so the "
                f"years after {plan_start:g} are held out"
            )

    tables, bands, results = [], [], []
    attributes: dict[str, dict[str, str]] = {}
    for origin in chosen:
        before = scored_rows[scored_rows["year"] <= origin]
        after = scored_rows[scored_rows["year"] > origin]
        origin_scenario = (
            free_run if plan_start is not None and origin < plan_start else run_scenario
        )
        say(
            f"origin {origin}: conditioning on {len(before)} observation(s) up to {origin}, "
            f"scoring {len(after)} after it"
        )
        try:
            if before.empty:
                remark(f"origin {origin}: nothing observed up to it, the prior is the forecast")
                ensemble = prior_ensemble(
                    origin_scenario, settings, outputs, model, executor=runner
                )
                weights = np.full(settings.draws, 1.0 / settings.draws)
                method, ess, importance = PRIOR, float(settings.draws), float("nan")
            else:
                conditioned = condition(
                    origin_scenario,
                    before.drop(columns="file"),
                    draws=settings.draws,
                    seed=settings.seed,
                    model=model,
                    progress=progress,
                    executor=runner,
                )
                _, ensemble = conditioned_ensembles(
                    origin_scenario,
                    conditioned,
                    extra_outputs=outputs,
                    model=model,
                    executor=runner,
                )
                weights = conditioned.weights
                method, ess = conditioned.method, conditioned.ess
                importance = conditioned.importance_ess
            table = score_rows(
                ensemble, weights, after, origin, scenario.relative_discrepancy, settings.seed
            )
        except CalibrationError as exc:
            say(f"origin {origin} failed: {exc}")
            results.append(OriginResult(origin, FAILED, len(before), 0, error=str(exc)))
            continue
        tables.append(table)
        bands.append(forecast_bands(ensemble, weights, after, origin))
        results.append(OriginResult(origin, method, len(before), len(after), ess, importance))
        for name in outputs:
            attrs = variable(ensemble, name).attrs
            attributes[name] = {
                "units": str(attrs.get("units", "")),
                "label_zh": str(attrs.get("label_zh", "")),
            }
    if not tables:
        reasons = "; ".join(f"origin {r.origin}: {r.error}" for r in results)
        raise BacktestError(f"every origin failed ({reasons})")
    table = pd.concat(tables, ignore_index=True)
    table = table.astype({"inside_50": bool, "inside_90": bool})
    observations = scored_rows.drop(columns="file")
    compiled = compile_model(model)
    record = provenance(
        "backtest",
        scenario=scenario,
        model=compiled.path,
        model_sha256=compiled.sha256,
        settings=settings,
        extra={
            "observed": [
                {"file": path.name, "sha256": file_sha256(path)} for path in dict.fromkeys(paths)
            ],
            "imposed_driver_files": [path.name for path in driver_files],
            "origins": [
                {
                    "origin": r.origin,
                    "method": r.method,
                    "conditioned": r.conditioned,
                    "scored": r.scored,
                    "ess": None if np.isnan(r.ess) else r.ess,
                    "importance_ess": None if np.isnan(r.importance_ess) else r.importance_ess,
                    **({"error": r.error} if r.error else {}),
                }
                for r in results
            ],
            "notes": notes,
        },
    )
    return Backtest(
        table=table,
        coverage=coverage_summary(table, "origin"),
        by_variable=coverage_summary(table, "variable"),
        bands=pd.concat(bands, ignore_index=True),
        observations=observations,
        imposed=imposed.drop(columns="file"),
        dropped=dropped.drop(columns="file"),
        origins=tuple(results),
        settings=settings,
        scenario=run_scenario,
        attributes=attributes,
        files=tuple(paths),
        notes=tuple(notes),
        provenance=record,
    )


# --- the command ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BacktestReport:
    """What ``run_backtest`` found and wrote.

    Attributes:
        result: the scores (``backtest``).
        console: the summary for the terminal, one item per line.
        written: the files written, sorted by name.
    """

    result: Backtest = field(repr=False)
    console: list[str]
    written: list[Path]


def run_backtest(
    scenario: Path,
    files: Sequence[Path],
    origins: Sequence[int],
    out_dir: Path,
    *,
    draws: int | None = None,
    seed: int | None = None,
    lang: Language = "zh",
    model: str | Path | None = None,
    executor: Executor | None = None,
    progress: Progress | None = None,
    note: Progress | None = None,
) -> BacktestReport:
    """``innosim backtest``: load ``scenario``, forecast from each origin and score the
    held-out observations of ``files`` (``backtest``), and write ``backtest.csv``,
    ``coverage.csv``, ``backtest.json``, ``pit.png``, a chart per scored variable,
    ``backtest.html`` and ``provenance.json`` into ``out_dir``
    (``sim.report.writer.write_outputs``).

    Raises ``InnosimError`` (nothing written): a bad scenario, data file or origin, or every
    origin failed.
    """
    from sim.report.backtest_outputs import (
        backtest_figures,
        backtest_files,
        console_lines,
        render_backtest,
    )
    from sim.report.writer import write_outputs

    loaded = load_scenario(scenario, model=model)
    settings = monte_carlo_settings(loaded, draws, seed)
    result = backtest(
        loaded,
        files,
        origins,
        draws=settings.draws,
        seed=settings.seed,
        model=model,
        progress=progress,
        note=note,
        executor=executor,
    )
    title = loaded.title.text(lang) if loaded.title else scenario.stem
    contents = backtest_files(
        result,
        backtest_figures(result, lang),
        lambda images: render_backtest(result, images, lang, title),
    )
    written = write_outputs(out_dir, contents, result.provenance, lang=lang, model=model)
    return BacktestReport(result, [*console_lines(result, lang), ""], written)
