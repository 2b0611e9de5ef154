"""The ensemble runner: sample a scenario's uncertainties, simulate every draw, label results.

``run_ensemble`` is the main job's core; its pieces (``sample`` in ``sim.sampling``,
``simulate`` in ``sim.engine``, ``target_table`` in ``sim.analysis``) are usable on their own.
Results are an xarray Dataset laid out as ``sim.results`` describes. ``EnsembleRun`` is the same
run chunk by chunk: its layout (a dataset of no draws) before anything runs, then labelled
chunks as they finish, so a caller can stream them to a file without holding every draw
(``innosim run``, ``sim.workflows.run``).

``scenario_inputs`` is the one place where a scenario and Monte Carlo settings become the
engine's inputs (``EnsembleInputs``): the levers (values or time paths), the drawn
uncertainties (one value per draw), and the constants imposed as data (``drivers``, a time
path shared by every draw) or drawn year by year (``paths``, a time path per draw). Every
command (run, compare, sweep, solve, sensitivity, discover, calibrate, assess) simulates what
it returns, so none can miss a part of the scenario. ``scenario_draws`` gives the same inputs
as a ``sim.engine.runner.ChunkDraws``: each chunk draws its own uncertainties and paths where
it runs (``ScenarioDraws``), bit for bit the rows of ``scenario_inputs``.

**Yearly step paths.** A driver's or a path's value for year ``y`` holds over model time
``(y - 1, y]`` (model time t is the end of calendar year t): ``step_path`` places two points
per year, at ``y - 1 + STEP_OFFSET`` and ``y``, and the engine interpolates linearly between
points (so only within the ``STEP_OFFSET`` after each year's end, below any time step) and
holds the first and last values outside them. The value saved for year ``y`` is therefore the
figure of year ``y``. A year missing inside a driver's observed span gets the linear
interpolation of its neighbours.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from pydantic import ValidationError

from sim.engine import CompiledModel, TimePath, compile_model
from sim.engine.runner import (
    DEFAULT_CHUNK_SIZE,
    SERIAL,
    ChunkDraws,
    Executor,
    FinishedChunk,
    PerDraw,
    Progress,
    draw_take,
    run_draws,
    stream_draws,
)
from sim.errors import SettingsError
from sim.provenance import netcdf_attrs, provenance
from sim.results import OUTCOME, UNCERTAINTY, slug
from sim.sampling import (
    SampleChunk,
    SampleDesign,
    ShockStreams,
    draw_path,
    path_shocks,
    sample,
    sample_design,
    shocks_from_states,
)
from sim.scenario import (
    Lever,
    MonteCarlo,
    ProcessBase,
    Scenario,
    file_sha256,
)
from sim.vensim import model_variables

#: Model time after the end of year ``y - 1`` where year ``y``'s value starts (below any
#: time step the model uses), see the module doc.
STEP_OFFSET = 1e-6

#: Bytes of results a chunk run on another process holds at most (``EnsembleRun``): the parent
#: holds up to ``sim.engine.runner.IN_FLIGHT_PER_WORKER`` such chunks per worker, and a worker
#: its chunk's results twice (the arrays and their pickle), so this bounds a run's memory on
#: worker processes (10⁶ draws of the baseline: chunks of 2,688 draws).
WORKER_CHUNK_BYTES = 12 * 2**20

#: The model constant that re-anchors the observed stocks to their values at the plan start
#: (1, the model's default) or lets every draw carry its own history forward (0).
ANCHORING_SWITCH = "History Anchoring Switch"


def monte_carlo_settings(
    scenario: Scenario,
    draws: int | None = None,
    seed: int | None = None,
    sampler: str | None = None,
) -> MonteCarlo:
    """The scenario's Monte Carlo settings with command-line overrides, validated
    (``SettingsError`` naming ``--draws/--seed`` when they do not fit)."""
    overrides = {"draws": draws, "seed": seed, "sampler": sampler}
    merged = scenario.monte_carlo.model_dump() | {
        k: v for k, v in overrides.items() if v is not None
    }
    try:
        settings = MonteCarlo.model_validate(merged)
    except ValidationError as exc:
        problem = "; ".join(error["msg"] for error in exc.errors())
        raise SettingsError(f"--draws/--seed: {problem}") from None
    if settings.sampler == "sobol" and settings.draws & (settings.draws - 1):
        lower = 1 << (settings.draws.bit_length() - 1)
        raise SettingsError(
            f"--draws/--seed: the scenario's sobol sampler needs a power of two draws; got "
            f"{settings.draws}, use {lower} or {lower * 2}"
        )
    return settings


def lever_params(levers: Mapping[str, Lever]) -> dict[str, float | TimePath]:
    """Engine parameters of the levers: a value, or a path over model time (years)."""
    params: dict[str, float | TimePath] = {}
    for name, lever in levers.items():
        if lever.path is None:
            params[name] = float(lever.all_values()[0])
        else:
            years, values = lever.points()
            params[name] = TimePath(years.tolist(), values.tolist())
    return params


def _describe(distribution) -> str:
    return distribution.describe()


def draw_uncertainties(scenario: Scenario, settings: MonteCarlo) -> dict[str, np.ndarray]:
    """The draws of a scenario's uncertainties for a run with ``settings``.

    From their distributions (``sim.sampling.sample``), or, when the scenario names a
    ``posterior``, by resampling its posterior sample with the run's seed
    (``sim.scenario.posterior.resample_index``): either way the same (seed, draws) give the same
    draws, so comparisons between scenarios use common random numbers.
    """
    if scenario.posterior is None:
        return sample(
            scenario.uncertainties,
            settings.draws,
            settings.seed,
            settings.sampler,
            scenario.correlations,
        )
    posterior, index = _posterior_draws(scenario, settings)
    return {name: posterior.draws[name][index] for name in sorted(scenario.uncertainties)}


def _posterior_draws(scenario: Scenario, settings: MonteCarlo) -> tuple[Any, np.ndarray]:
    """The scenario's posterior sample and the draws of it a run with ``settings`` takes."""
    from sim.scenario.posterior import read_posterior, resample_index

    posterior = read_posterior(scenario.posterior)
    return posterior, resample_index(posterior.size, settings.draws, settings.seed)


def posterior_path_shocks(
    scenario: Scenario, settings: MonteCarlo, exogenous: Mapping[str, ExogenousSeries]
) -> dict[str, np.ndarray]:
    """The paths' shocks of a run from the scenario's ``posterior``: the resampled draws'
    conditioned shocks (``sim.scenario.posterior.PathShocks``) up to the last observed year, the
    run's own shocks after it. A path the posterior has no shocks for, or conditioned with another
    process, has the run's own shocks throughout."""
    posterior, index = _posterior_draws(scenario, settings)
    out = {}
    for name, series in exogenous.items():
        if not series.per_draw:
            continue
        shocks = series.prior_shocks(settings.draws, settings.seed)
        stored = posterior.shocks.get(name)
        if stored is not None and stored.process == series.process.describe():
            column = {int(year): j for j, year in enumerate(series.drawn_years)}
            pairs = [(column[y], k) for k, y in enumerate(stored.years.tolist()) if y in column]
            if pairs:
                mine, theirs = map(list, zip(*pairs, strict=True))
                shocks[:, mine] = stored.values[index][:, theirs]
        out[name] = shocks
    return out


# --- drivers and paths: yearly series imposed on constants -----------------------------------


def step_path(
    years: Sequence[int] | np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Points ``(times, values)`` of a yearly step path: the value of year ``y`` holds over
    model time ``(y - 1, y]`` (points at ``y - 1 + STEP_OFFSET`` and ``y``).

    ``values`` has shape ``(len(years),)`` or ``(n_draws, len(years))``; the points' values
    have the same leading shape and twice as many columns. ``years`` must be increasing.
    """
    years = np.asarray(years, dtype=float)
    if years.ndim != 1 or not years.size or (np.diff(years) <= 0).any():
        raise ValueError("a step path needs increasing years")
    values = np.asarray(values, dtype=float)
    if values.shape[-1] != years.size:
        raise ValueError(f"{values.shape[-1]} values for {years.size} years")
    times = np.column_stack([years - 1 + STEP_OFFSET, years]).ravel()
    return times, np.repeat(values, 2, axis=-1)


@dataclass(frozen=True)
class ExogenousSeries:
    """The yearly values a scenario imposes on one constant (a driver, a path, or both).

    Attributes:
        name: the constant (Vensim name).
        years: consecutive calendar years (model time t: the end of year t).
        values: shape ``(len(years),)`` (a driver without a path: shared by every draw) or
            ``(n_draws, len(years))`` (a path: one row per draw), model units.
        observed: the years observed in the drivers files (empty for a path alone).
        files: the drivers files the observed years come from.
        process: the path's process (``None`` for a driver alone).
        first_drawn: the first drawn year (``None`` for a driver alone).
    """

    name: str
    years: np.ndarray = field(repr=False)
    values: np.ndarray = field(repr=False)
    observed: tuple[int, ...] = ()
    files: tuple[Path, ...] = ()
    process: ProcessBase | None = None
    first_drawn: int | None = None

    @property
    def per_draw(self) -> bool:
        """Whether the series has one row per draw (a path)."""
        return self.values.ndim == 2

    def time_path(self) -> TimePath:
        """The engine's ``TimePath`` of the series (``step_path``)."""
        return TimePath(*step_path(self.years, self.values))

    def take(self, index: np.ndarray) -> ExogenousSeries:
        """The series of the draws at ``index`` (a shared series as it is)."""
        if not self.per_draw:
            return self
        return replace(self, values=self.values[np.asarray(index, dtype=np.intp)])

    @property
    def drawn_years(self) -> np.ndarray:
        """The years the path's process draws (empty for a driver alone)."""
        if not self.per_draw or self.process is None or self.first_drawn is None:
            return np.zeros(0, dtype=int)
        return self.years[self.years >= self.first_drawn].astype(int)

    def prior_shocks(self, n_draws: int, seed: int) -> np.ndarray:
        """The standard normal shocks ``(n_draws, len(drawn_years))`` of the first ``n_draws``
        draws of a run with ``seed`` (``sim.sampling.path_shocks``)."""
        years = self.drawn_years.tolist()
        if not years:
            return np.zeros((n_draws, 0))
        return path_shocks(self.name, n_draws, years, seed)

    def with_shocks(self, shocks: np.ndarray) -> ExogenousSeries:
        """The series with one row per row of ``shocks`` ``(draws, len(drawn_years))``: the
        years before the first drawn one as they are (shared by every draw), the drawn years
        from the process driven by those shocks."""
        shocks = np.asarray(shocks, dtype=float)
        years = self.drawn_years
        if shocks.ndim != 2 or shocks.shape[1] != years.size:
            raise ValueError(
                f"shocks of {self.name} must have shape (draws, {years.size}); got {shocks.shape}"
            )
        if not years.size:
            return self.take(np.zeros(shocks.shape[0], dtype=np.intp))
        first = int(np.flatnonzero(self.years == years[0])[0])
        values = np.repeat(self.values[:1], shocks.shape[0], axis=0)
        values[:, first:] = self.process.values(float(self.values[0, first - 1]), shocks)
        return replace(self, values=values)

    def describe(self) -> str:
        """E.g. ``driver: economy.csv (2010-2020); path from 2021: log_ar1(persistence=0.5, …)``."""
        parts = []
        if self.files:
            files = ", ".join(path.name for path in self.files)
            parts.append(f"driver: {files} ({self.observed[0]}-{self.observed[-1]})")
        if self.process is not None:
            parts.append(f"path from {self.first_drawn}: {self.process.describe()}")
        return "; ".join(parts)


def _filled(years: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Consecutive years from the first to the last, missing ones linearly interpolated."""
    every = np.arange(int(years[0]), int(years[-1]) + 1)
    return every, np.interp(every, years, values)


def exogenous_series(
    scenario: Scenario,
    n_draws: int,
    seed: int,
    constants: Mapping[str, float],
    final_time: float,
    initial_time: float | None = None,
) -> dict[str, ExogenousSeries]:
    """The yearly series of every driver and path of ``scenario`` (``Scenario.exogenous``).

    A driver's observed years are imposed as given (gaps interpolated linearly); when its
    first observed year comes after ``initial_time``, the series starts from the constant's
    value in ``constants`` at ``initial_time`` and is interpolated to that year (an observed
    series that starts late bridges from the model's own starting value). A path
    continues a driver from its last observed value (``start`` defaults to the year after it;
    years before a later ``start`` hold that value), or starts from the constant's value in
    ``constants`` in the year before its ``start``; it is drawn through ``final_time`` with
    ``sim.sampling.draw_path`` (shocks seeded by ``seed`` and the constant's name).
    """
    from sim.scenario.observed import driver_series

    drivers = scenario.drivers
    observed = driver_series(drivers.files, drivers.variables) if drivers is not None else {}
    last_year = int(round(final_time))
    out: dict[str, ExogenousSeries] = {}
    for name in scenario.exogenous():
        rows = observed.get(name)
        process = scenario.paths.get(name)
        if rows is not None:
            years, values = np.asarray(rows.years), np.asarray(rows.values, dtype=float)
            if initial_time is not None and years[0] > round(initial_time):
                years = np.concatenate([[int(round(initial_time))], years])
                values = np.concatenate([[float(constants[name])], values])
            years, values = _filled(years, values)
            given = {"observed": tuple(int(y) for y in rows.years), "files": rows.files}
        else:
            if process is None or process.start is None:
                raise ValueError(f"'{name}' is neither a driver with rows nor a path with a start")
            years = np.array([process.start - 1])
            values = np.array([float(constants[name])])
            given = {}
        if process is None:
            out[name] = ExogenousSeries(name, years, values, **given)
            continue
        first = int(years[-1]) + 1 if process.start is None else int(process.start)
        held = np.arange(int(years[-1]) + 1, first)
        years = np.concatenate([years, held])
        values = np.concatenate([values, np.full(held.size, values[-1])])
        drawn_years = np.arange(first, last_year + 1)
        drawn = draw_path(name, process, float(values[-1]), drawn_years, n_draws, seed)
        shared = np.broadcast_to(values, (n_draws, values.size))
        out[name] = ExogenousSeries(
            name,
            np.concatenate([years, drawn_years]),
            np.concatenate([shared, drawn], axis=1),
            process=process,
            first_drawn=first,
            **given,
        )
    return out


def central_exogenous(scenario: Scenario, compiled: CompiledModel) -> dict[str, TimePath]:
    """The scenario's drivers as observed and its paths with every shock zero (their median
    for ``log_ar1``, their mean for ``ar1``): the inputs of one central, deterministic run, as
    used to fit the model's calibrated defaults (``model/fit_defaults.py``)."""
    series = exogenous_series(
        scenario, 1, 0, compiled.constants, compiled.final_time, compiled.initial_time
    )
    central = {}
    for name, item in series.items():
        values = np.array(item.values[0] if item.per_draw else item.values, dtype=float)
        if item.process is not None:
            first = int(np.flatnonzero(item.years == item.first_drawn)[0])
            zeros = np.zeros((1, values.size - first))
            values[first:] = item.process.values(float(values[first - 1]), zeros)[0]
        central[name] = TimePath(*step_path(item.years, values))
    return central


# --- the engine's inputs of a scenario ------------------------------------------------------


@dataclass(frozen=True)
class EnsembleInputs:
    """What the engine simulates for a scenario's draws (build it with ``scenario_inputs``).

    Attributes:
        n_draws: number of draws.
        fixed: parameters shared by every draw: the levers (a value or a ``TimePath``) and the
            drivers without a path (a ``TimePath``).
        drawn: the uncertainties, ``{name: array (n_draws,)}``.
        paths: the paths (drivers continued by a path included), a per-draw ``TimePath`` of
            ``n_draws`` rows each.
        exogenous: the yearly series of every driver and path (``ExogenousSeries``).
    """

    n_draws: int
    fixed: dict[str, float | TimePath]
    drawn: dict[str, np.ndarray] = field(repr=False)
    paths: dict[str, TimePath] = field(repr=False)
    exogenous: dict[str, ExogenousSeries] = field(repr=False)

    @property
    def per_draw(self) -> dict[str, PerDraw]:
        """Every per-draw parameter: the uncertainties and the paths."""
        return {**self.drawn, **self.paths}

    def params(self, index: np.ndarray) -> dict[str, Any]:
        """The engine's ``params`` for the draws at ``index`` (integers, in that order)."""
        return dict(self.fixed) | {
            name: draw_take(value, index) for name, value in self.per_draw.items()
        }

    def with_draws(
        self,
        drawn: Mapping[str, np.ndarray],
        path_shocks: Mapping[str, np.ndarray] | None = None,
    ) -> EnsembleInputs:
        """The same scenario with other uncertainty values (e.g. calibration particles) and,
        when ``path_shocks`` (``{path: (draws, len(drawn_years))}``) are given, the paths
        those shocks drive (default: draw i keeps path i).

        Raises ``ValueError`` for unknown or missing names or unequal lengths.
        """
        missing = sorted(set(self.drawn) - set(drawn))
        extra = sorted(set(drawn) - set(self.drawn))
        if missing or extra:
            raise ValueError(f"uncertainty values must be given for exactly {sorted(self.drawn)}")
        columns = {name: np.asarray(drawn[name], dtype=float) for name in sorted(self.drawn)}
        sizes = {column.shape for column in columns.values()}
        if path_shocks is not None:
            sizes |= {np.shape(shocks)[:1] for shocks in path_shocks.values()}
        if len(sizes) > 1 or any(len(size) != 1 for size in sizes):
            raise ValueError(f"draws of unequal lengths or shapes: {sorted(sizes)}")
        n = sizes.pop()[0] if sizes else self.n_draws
        if path_shocks is None:
            if n != self.n_draws and self.paths:
                raise ValueError(f"{n} draws given for inputs of {self.n_draws}: give path_shocks")
            return EnsembleInputs(n, dict(self.fixed), columns, self.paths, self.exogenous)
        if set(path_shocks) != set(self.paths):
            raise ValueError(f"path shocks must be given for exactly {sorted(self.paths)}")
        exogenous = dict(self.exogenous) | {
            name: self.exogenous[name].with_shocks(shocks) for name, shocks in path_shocks.items()
        }
        paths = {name: exogenous[name].time_path() for name in self.paths}
        return EnsembleInputs(n, dict(self.fixed), columns, paths, exogenous)


def _given_draws(
    scenario: Scenario, uncertainty_draws: Mapping[str, np.ndarray], settings: MonteCarlo
) -> tuple[dict[str, np.ndarray], int]:
    """The uncertainties' given values, checked (every uncertainty, one length), and the
    number of draws they make (``ValueError`` otherwise)."""
    missing = sorted(set(scenario.uncertainties) - set(uncertainty_draws))
    if missing:
        raise ValueError(f"uncertainty_draws lacks {', '.join(missing)}")
    given = {
        name: np.asarray(uncertainty_draws[name], dtype=float)
        for name in sorted(scenario.uncertainties)
    }
    shapes = {column.shape for column in given.values()}
    if len(shapes) > 1 or any(len(shape) != 1 for shape in shapes):
        raise ValueError(f"uncertainty_draws of unequal lengths or shapes: {sorted(shapes)}")
    return given, shapes.pop()[0] if shapes else settings.draws


def _fixed_params(
    scenario: Scenario,
    compiled: CompiledModel,
    exogenous: Mapping[str, ExogenousSeries],
    uncertainty_draws: Mapping[str, np.ndarray] | None,
    own_history: bool,
) -> dict[str, float | TimePath]:
    """The parameters every draw shares: the levers, the drivers without a path, and the
    anchoring switch at 0 for draws that carry their own history (``scenario_inputs``)."""
    fixed = lever_params(scenario.levers)
    from_posterior = uncertainty_draws is None and scenario.posterior is not None
    if (own_history or from_posterior) and ANCHORING_SWITCH in compiled.constants:
        fixed.setdefault(ANCHORING_SWITCH, 0.0)
    for name, series in exogenous.items():
        if not series.per_draw:
            fixed[name] = series.time_path()
    return fixed


def scenario_inputs(
    scenario: Scenario,
    settings: MonteCarlo,
    compiled: CompiledModel,
    *,
    uncertainty_draws: Mapping[str, np.ndarray] | None = None,
    path_shocks: Mapping[str, np.ndarray] | None = None,
    own_history: bool = False,
) -> EnsembleInputs:
    """The engine's inputs for draws of ``scenario`` with Monte Carlo ``settings``.

    The levers are fixed; the ``settings.draws`` draws of the uncertainties
    (``draw_uncertainties``) and of the paths (seeded by ``settings.seed`` and each path's
    name, so the same seed and name give the same shocks in any scenario) are made.
    ``uncertainty_draws`` replaces the uncertainties' values (one array per uncertainty, all
    of one length, which is then the number of draws); ``path_shocks`` the paths' standard
    normal shocks (``{path: (draws, len(drawn_years))}``, every path of the scenario), e.g.
    those of calibration particles (``sim.workflows.calibrate``). Without ``path_shocks`` draw ``i``
    has the run's draw ``i``'s paths, or, for a scenario run from its ``posterior``, the
    conditioned shocks of the posterior draw it resamples (``posterior_path_shocks``).

    With ``own_history`` (a calibration's prior draws and particles), and for a scenario run
    from its ``posterior``, every draw carries its own history forward: the model's
    ``ANCHORING_SWITCH`` is 0 unless the scenario sets it as a lever (re-anchoring the stocks
    to their observed values at the plan start is then the scenario's choice).

    Raises ``ValueError`` when ``uncertainty_draws`` lacks an uncertainty or their lengths
    differ, or ``path_shocks`` lacks a path or has the wrong shape.
    """
    if uncertainty_draws is None:
        drawn = draw_uncertainties(scenario, settings)
        n = settings.draws
    else:
        drawn, n = _given_draws(scenario, uncertainty_draws, settings)
    exogenous = exogenous_series(
        scenario,
        settings.draws,
        settings.seed,
        compiled.constants,
        compiled.final_time,
        compiled.initial_time,
    )
    per_draw = sorted(name for name, series in exogenous.items() if series.per_draw)
    if path_shocks is None and uncertainty_draws is None and scenario.posterior is not None:
        path_shocks = posterior_path_shocks(scenario, settings, exogenous)
    if path_shocks is not None:
        missing = sorted(set(per_draw) - set(path_shocks))
        if missing:
            raise ValueError(f"path_shocks lacks {', '.join(missing)}")
        exogenous |= {name: exogenous[name].with_shocks(path_shocks[name]) for name in per_draw}
        if any(exogenous[name].values.shape[0] != n for name in per_draw):
            raise ValueError(f"path_shocks must have {n} rows, one per draw")
    elif n != settings.draws:
        raise ValueError(f"{n} uncertainty draws for {settings.draws} paths: give path_shocks")
    fixed = _fixed_params(scenario, compiled, exogenous, uncertainty_draws, own_history)
    paths = {name: series.time_path() for name, series in exogenous.items() if series.per_draw}
    return EnsembleInputs(n, fixed, drawn, paths, exogenous)


def simulate_inputs(
    compiled: CompiledModel,
    inputs: EnsembleInputs,
    outputs: list[str],
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Progress | None = None,
    *,
    final_time: float | None = None,
    executor: Executor = SERIAL,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Every draw of ``inputs`` (``sim.engine.runner.run_draws``), up to ``final_time``
    (model time, years; default: FINAL TIME): the save times and ``{output: (draws,
    times)}``."""
    return run_draws(
        compiled,
        inputs.n_draws,
        inputs.fixed,
        inputs.per_draw,
        outputs,
        chunk_size=chunk_size,
        executor=executor,
        progress=progress,
        final_time=final_time,
    )


# --- the same inputs, drawn chunk by chunk where each chunk runs -----------------------------


@dataclass(frozen=True)
class PathChunk:
    """A chunk's rows of one path, as a recipe: the years before the first drawn one (shared by
    every draw), the process, and the chunk's standard normal shocks (given rows, or the
    states of the path's yearly streams at the chunk's first draw, ``sim.sampling``).

    Attributes:
        name: the constant (Vensim name).
        years: every year of the series (consecutive calendar years).
        shared: the values of the years before the first drawn one (model units).
        process: the path's process.
        count: the chunk's number of draws.
        shocks: the chunk's shocks ``(count, drawn years)``, when given.
        states: else the generator states of the yearly shock streams.
    """

    name: str
    years: np.ndarray = field(repr=False)
    shared: np.ndarray = field(repr=False)
    process: ProcessBase
    count: int
    shocks: np.ndarray | None = field(default=None, repr=False)
    states: tuple[dict[str, Any], ...] = field(default=(), repr=False)

    def time_path(self) -> TimePath:
        """The chunk's per-draw ``TimePath`` (rows of ``ExogenousSeries.time_path``)."""
        shocks = self.shocks
        if shocks is None:
            shocks = shocks_from_states(self.states, self.count)
        values = np.repeat(self.shared[None, :], self.count, axis=0)
        if shocks.shape[1]:
            drawn = self.process.values(float(self.shared[-1]), shocks)
            values = np.concatenate([values, drawn], axis=1)
        return TimePath(*step_path(self.years, values))


@dataclass(frozen=True)
class DrawChunk:
    """The recipe of one chunk of a scenario's draws (``ScenarioDraws.chunk``): calling it
    draws the chunk's per-draw parameters, uncertainties (names sorted) then paths."""

    sample: SampleChunk | None = None
    given: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)
    paths: tuple[PathChunk, ...] = ()

    def __call__(self) -> dict[str, PerDraw]:
        drawn: dict[str, PerDraw] = dict(self.sample.draws()) if self.sample is not None else {}
        drawn |= self.given
        out: dict[str, PerDraw] = {name: drawn[name] for name in sorted(drawn)}
        for path in self.paths:
            out[path.name] = path.time_path()
        return out


class ScenarioDraws(ChunkDraws):
    """A scenario's per-draw inputs, drawn chunk by chunk where each chunk runs (build it with
    ``scenario_draws``): what ``scenario_inputs`` makes whole, bit for bit.

    Attributes:
        n_draws: number of draws.
        fixed: parameters shared by every draw (as ``EnsembleInputs.fixed``).
        exogenous: the yearly series of every driver and path; a path's holds one draw (its
            description, years and shared start), the others are drawn per chunk.
        uncertainties: the uncertainties' names, sorted.
    """

    def __init__(
        self,
        n_draws: int,
        fixed: dict[str, float | TimePath],
        exogenous: dict[str, ExogenousSeries],
        design: SampleDesign | None,
        given: Mapping[str, np.ndarray],
        given_index: np.ndarray | None,
        shocks: Mapping[str, np.ndarray],
        seed: int,
    ) -> None:
        self.n_draws = n_draws
        self.fixed = fixed
        self.exogenous = exogenous
        self.uncertainties = sorted(design.distributions if design is not None else given)
        self._design = design
        self._given = dict(given)
        self._given_index = given_index
        self._shocks = dict(shocks)
        self._streams = {
            name: ShockStreams(name, series.drawn_years.tolist(), seed)
            for name, series in exogenous.items()
            if series.per_draw and name not in self._shocks
        }

    def chunk(self, start: int, stop: int) -> DrawChunk:
        """The recipe of draws ``start`` to ``stop - 1``: the sample's design rows, the given
        values' rows, and each path's shared start with its shocks' stream states."""
        if not 0 <= start < stop <= self.n_draws:
            raise ValueError(f"draws {start}:{stop} are not a chunk of {self.n_draws} draws")
        rows = slice(start, stop) if self._given_index is None else self._given_index[start:stop]
        paths = []
        for name, series in self.exogenous.items():
            if not series.per_draw:
                continue
            first = int(np.searchsorted(series.years, series.first_drawn))
            given = self._shocks.get(name)
            paths.append(
                PathChunk(
                    name,
                    series.years,
                    series.values[0, :first],
                    series.process,
                    stop - start,
                    shocks=None if given is None else given[start:stop],
                    states=() if given is not None else self._streams[name].states(start),
                )
            )
        return DrawChunk(
            sample=self._design.chunk(start, stop) if self._design is not None else None,
            given={name: column[rows] for name, column in self._given.items()},
            paths=tuple(paths),
        )


def scenario_draws(
    scenario: Scenario,
    settings: MonteCarlo,
    compiled: CompiledModel,
    *,
    uncertainty_draws: Mapping[str, np.ndarray] | None = None,
    path_shocks: Mapping[str, np.ndarray] | None = None,
    own_history: bool = False,
) -> ScenarioDraws:
    """``scenario_inputs``'s inputs as ``ScenarioDraws``: arguments, checks and values the same,
    but nothing is held per draw except what a sample needs whole (``sim.sampling.
    sample_design``: the LHS strata, correlated uniforms), the index of a posterior's resampled
    draws, and values given whole (``uncertainty_draws``, ``path_shocks``, a posterior's path
    shocks)."""
    design = None
    given_index = None
    if uncertainty_draws is not None:
        given, n = _given_draws(scenario, uncertainty_draws, settings)
    elif scenario.posterior is None:
        design = sample_design(
            scenario.uncertainties,
            settings.draws,
            settings.seed,
            settings.sampler,
            scenario.correlations,
        )
        given = {}
        n = settings.draws
    else:
        posterior, given_index = _posterior_draws(scenario, settings)
        given = {name: posterior.draws[name] for name in sorted(scenario.uncertainties)}
        n = settings.draws
    # one draw of every path: its description, years and shared start; the rest per chunk
    exogenous = exogenous_series(
        scenario, 1, settings.seed, compiled.constants, compiled.final_time, compiled.initial_time
    )
    per_draw = sorted(name for name, series in exogenous.items() if series.per_draw)
    if path_shocks is None and uncertainty_draws is None and scenario.posterior is not None:
        path_shocks = posterior_path_shocks(scenario, settings, exogenous)
    shocks: dict[str, np.ndarray] = {}
    if path_shocks is not None:
        missing = sorted(set(per_draw) - set(path_shocks))
        if missing:
            raise ValueError(f"path_shocks lacks {', '.join(missing)}")
        for name in per_draw:
            values = np.asarray(path_shocks[name], dtype=float)
            years = exogenous[name].drawn_years
            if values.ndim != 2 or values.shape[1] != years.size:
                raise ValueError(
                    f"shocks of {name} must have shape (draws, {years.size}); got {values.shape}"
                )
            if values.shape[0] != n:
                raise ValueError(f"path_shocks must have {n} rows, one per draw")
            shocks[name] = values
    elif n != settings.draws:
        raise ValueError(f"{n} uncertainty draws for {settings.draws} paths: give path_shocks")
    fixed = _fixed_params(scenario, compiled, exogenous, uncertainty_draws, own_history)
    return ScenarioDraws(n, fixed, exogenous, design, given, given_index, shocks, settings.seed)


# --- the ensemble run: layout, chunks, labelled results --------------------------------------


def _sampler_attr(scenario: Scenario, settings: MonteCarlo, given: bool) -> str:
    if given:
        return "given draws"
    if scenario.posterior is not None:
        return "posterior resampling"
    return settings.sampler


class _DatasetColumns(Mapping[str, np.ndarray]):
    """Variables of a (possibly lazily loaded) dataset by Vensim name, read when asked for."""

    def __init__(self, results: xr.Dataset, names: Sequence[str]) -> None:
        self._results = results
        self._names = list(names)

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._names:
            raise KeyError(name)
        return self._results[slug(name)].to_numpy()

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


class EnsembleRun:
    """A scenario's Monte Carlo ensemble, run chunk by chunk (``run_ensemble`` gathers it).

    Arguments as for ``run_ensemble``. Building it draws nothing: it settles the Monte Carlo
    settings, compiles the model and makes the inputs (``scenario_draws``). ``template`` is the
    results' layout (a dataset of no draws: every variable with its attributes, the dataset's
    attributes); ``finished_chunks`` runs the draws and gives the chunks as they finish
    (``sim.engine.runner.FinishedChunk``, any order), ``label`` makes a chunk a dataset laid
    out like the results (``draw`` numbered from the chunk's first draw). On an executor other
    than ``serial`` a chunk holds at most ``WORKER_CHUNK_BYTES`` of results (``chunk_size`` is
    lowered to fit; results do not depend on it). A chunk with NaN or an
    infinite value sets ``finite`` to False; ``check_finite`` then names the variable, year,
    draws and inputs from the whole results (``sim.analysis.probabilities.check_finite``).
    """

    def __init__(
        self,
        scenario: Scenario,
        draws: int | None = None,
        seed: int | None = None,
        sampler: str | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        model: str | Path | None = None,
        *,
        uncertainty_draws: Mapping[str, np.ndarray] | None = None,
        path_shocks: Mapping[str, np.ndarray] | None = None,
        own_history: bool = False,
        extra_outputs: Sequence[str] = (),
        executor: Executor = SERIAL,
    ) -> None:
        if uncertainty_draws is not None:
            sizes = {len(np.asarray(column)) for column in uncertainty_draws.values()}
            if len(sizes) > 1:
                raise ValueError("uncertainty_draws must all have the same length")
            if sizes:
                draws = sizes.pop()
        self.scenario = scenario
        self.settings = monte_carlo_settings(scenario, draws, seed, sampler)
        self.compiled = compile_model(model)
        self.inputs = scenario_draws(
            scenario,
            self.settings,
            self.compiled,
            uncertainty_draws=uncertainty_draws,
            path_shocks=path_shocks,
            own_history=own_history,
        )
        self.given = uncertainty_draws is not None
        self.outputs = list(
            dict.fromkeys([*scenario.saved_variables(), *extra_outputs, *scenario.exogenous()])
        )
        self.times = self.compiled.times()
        self.n_draws = self.inputs.n_draws
        self.chunk_size = chunk_size
        if executor.kind != "serial":  # results cross processes: smaller chunks, less memory
            per_draw = 8 * (len(self.outputs) * self.times.size + len(self.inputs.uncertainties))
            self.chunk_size = max(1, min(chunk_size, WORKER_CHUNK_BYTES // per_draw))
        self.executor = executor
        self.finite = True
        self._variables = self._layout()
        self._attrs = self._dataset_attrs()

    @property
    def levers(self) -> dict[str, float | TimePath]:
        """The levers' engine parameters (shared by every draw)."""
        fixed = self.inputs.fixed
        return {name: fixed[name] for name in self.scenario.levers if name in fixed}

    def _layout(self) -> dict[str, tuple[str, tuple[str, ...], dict[str, Any]]]:
        """``{dataset name: (Vensim name, dims, attributes)}`` of every variable, in order."""
        docs = {doc.name: doc for doc in model_variables(self.compiled.path)}
        layout = {}
        for name in self.outputs:
            attrs = {
                "long_name": name,
                "units": docs[name].units,
                "label_zh": docs[name].label_zh,
                "role": OUTCOME,
            }
            series = self.inputs.exogenous.get(name)
            if series is not None:
                attrs["exogenous"] = series.describe()
                if series.process is not None:
                    process = series.process
                    attrs["source"] = process.source or process.reasoning or ""
            layout[slug(name)] = (name, ("draw", "time"), attrs)
        for name in self.inputs.uncertainties:
            distribution = self.scenario.uncertainties[name]
            layout[slug(name)] = (
                name,
                ("draw",),
                {
                    "long_name": name,
                    "units": docs[name].units,
                    "label_zh": docs[name].label_zh,
                    "role": UNCERTAINTY,
                    "distribution": _describe(distribution),
                    "source": distribution.source or distribution.reasoning or "",
                },
            )
        return layout

    def _dataset_attrs(self) -> dict[str, Any]:
        scenario, settings, compiled = self.scenario, self.settings, self.compiled
        attrs = {
            "title": scenario.title.en if scenario.title else scenario.path.stem,
            "title_zh": scenario.title.zh if scenario.title else scenario.path.stem,
        } | netcdf_attrs(
            provenance(
                None,
                scenario=scenario,
                model=compiled.path,
                model_sha256=compiled.sha256,
                settings=settings,
                extra={
                    "sampler": _sampler_attr(scenario, settings, self.given),
                    "levers": {
                        name: {
                            "value": lever.value if lever.path is None else lever.path,
                            "source": lever.source,
                        }
                        for name, lever in scenario.levers.items()
                    },
                },
            )
        )
        if scenario.drivers is not None:
            attrs["drivers"] = json.dumps(
                {
                    "variables": list(scenario.drivers.variables),
                    "files": {path.name: file_sha256(path) for path in scenario.drivers.files},
                },
                ensure_ascii=False,
            )
        if scenario.paths:
            attrs["paths"] = json.dumps(
                {
                    name: process.model_dump(mode="json", by_alias=True, exclude_none=True)
                    | {"first_drawn_year": self.inputs.exogenous[name].first_drawn}
                    for name, process in scenario.paths.items()
                },
                ensure_ascii=False,
            )
        if scenario.posterior is not None and not self.given:
            from sim.scenario.posterior import read_posterior

            posterior = read_posterior(scenario.posterior)
            attrs["posterior"] = scenario.posterior.name
            attrs["posterior_sha256"] = posterior.sha256
            # resampling N draws from a sample worth E independent ones: a mean's variance is
            # that of 1 / (1/E + 1/N) independent draws
            posterior_ess = float(posterior.attrs.get("ess", posterior.size))
            attrs["effective_draws"] = 1.0 / (1.0 / posterior_ess + 1.0 / settings.draws)
        if ANCHORING_SWITCH in self.inputs.fixed:
            attrs["history_anchoring"] = float(self.inputs.fixed[ANCHORING_SWITCH])
        return attrs

    def label(
        self,
        start: int,
        stop: int,
        values: Mapping[str, np.ndarray],
        drawn: Mapping[str, np.ndarray],
    ) -> xr.Dataset:
        """Draws ``start`` to ``stop - 1`` as a dataset laid out like the results: ``values``
        of the outputs ``(draws, times)``, ``drawn`` values of the uncertainties (Vensim
        names)."""
        data_vars = {
            key: xr.DataArray(
                (values if dims == ("draw", "time") else drawn)[name], dims=dims, attrs=attrs
            )
            for key, (name, dims, attrs) in self._variables.items()
        }
        coords = {"draw": np.arange(start, stop), "time": self.times}
        dataset = xr.Dataset(data_vars, coords=coords, attrs=dict(self._attrs))
        dataset["time"].attrs.update(units="year", long_name="model time (end of calendar year)")
        dataset["draw"].attrs.update(long_name="Monte Carlo draw")
        return dataset

    def template(self) -> xr.Dataset:
        """The results' layout: every variable and attribute, no draws."""
        values = {name: np.empty((0, self.times.size)) for name in self.outputs}
        return self.label(0, 0, values, {name: np.empty(0) for name in self.inputs.uncertainties})

    def finished_chunks(self) -> Iterator[FinishedChunk]:
        """Run the draws; each chunk as it finishes (values of the outputs, drawn values of
        the uncertainties), in any order."""
        for chunk in stream_draws(
            self.compiled,
            self.n_draws,
            self.inputs.fixed,
            self.inputs,
            self.outputs,
            chunk_size=self.chunk_size,
            executor=self.executor,
            keep=self.inputs.uncertainties,
        ):
            if self.finite and not all(np.isfinite(v).all() for v in chunk.values.values()):
                self.finite = False
            yield chunk

    def chunks(self, progress: Progress | None = None) -> Iterator[xr.Dataset]:
        """Run the draws; each chunk as it finishes, labelled (``label``); ``progress`` is
        called with the chunk's number of draws after it is used."""
        for chunk in self.finished_chunks():
            yield self.label(chunk.start, chunk.stop, chunk.values, chunk.drawn)
            if progress is not None:
                progress(chunk.stop - chunk.start)

    def check_finite(self, results: xr.Dataset) -> None:
        """Refuse ``results`` (this run's, possibly lazily loaded) holding NaN or an infinite
        value: ``NonFiniteResultError`` naming the variable (the targets' first), year, draws
        and the first such draw's inputs."""
        from sim.analysis.probabilities import check_finite

        check_finite(
            _DatasetColumns(results, self.outputs),
            self.times,
            self.levers,
            _DatasetColumns(results, self.inputs.uncertainties),
            [target.variable for target in self.scenario.targets],
            defaults=self.compiled.constants,
        )


def run_ensemble(
    scenario: Scenario,
    draws: int | None = None,
    seed: int | None = None,
    sampler: str | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Progress | None = None,
    model: str | Path | None = None,
    *,
    uncertainty_draws: Mapping[str, np.ndarray] | None = None,
    path_shocks: Mapping[str, np.ndarray] | None = None,
    own_history: bool = False,
    extra_outputs: Sequence[str] = (),
    executor: Executor = SERIAL,
) -> xr.Dataset:
    """Run a scenario's Monte Carlo ensemble.

    Args:
        scenario: a resolved scenario (``sim.scenario.load_scenario``).
        draws, seed, sampler: override the scenario's ``monte_carlo`` settings.
        chunk_size: draws simulated together (memory bound; results do not depend on it).
        progress: called with the number of draws finished after each chunk.
        model: the ``.mdl`` file (default: the project's model).
        uncertainty_draws: values of every uncertainty to simulate instead of drawing them
            (e.g. a weighted sample from ``sim.workflows.calibrate``); ``draws`` is then their
            length.
        path_shocks: the paths' standard normal shocks, ``{path: (draws, years)}`` (e.g. a
            conditioned sample's, ``sim.workflows.calibrate``); default: each draw's own.
        own_history: every draw carries its own history: no re-anchoring unless the scenario
            asks for it (``scenario_inputs``).
        extra_outputs: variables to save besides ``scenario.saved_variables()``.
        executor: where the chunks run (``sim.engine.runner.Executor``; results are the same).
            Each chunk draws its own inputs where it runs (``scenario_draws``).

    Without ``uncertainty_draws`` the uncertainties are drawn by ``draw_uncertainties``: from
    their distributions, or by resampling the scenario's ``posterior``. The inputs are
    ``scenario_inputs``'s: the levers, the uncertainties, the drivers and the paths.

    Returns:
        Dataset with dims ``draw`` and ``time`` (model time, years): the saved variables and
        every driver and path (``role`` ``outcome``; a driver's or path's attributes
        ``exogenous`` and ``source`` say which), the sampled uncertainties (``role``
        ``uncertainty``, dim ``draw``), units and labels in attributes, provenance in the
        dataset's attributes (with the drivers files' sha256 and the paths' processes).
    """
    run = EnsembleRun(
        scenario,
        draws,
        seed,
        sampler,
        chunk_size,
        model,
        uncertainty_draws=uncertainty_draws,
        path_shocks=path_shocks,
        own_history=own_history,
        extra_outputs=extra_outputs,
        executor=executor,
    )
    n, size = run.n_draws, run.times.size
    values = {name: np.empty((n, size)) for name in run.outputs}
    drawn = {name: np.empty(n) for name in run.inputs.uncertainties}
    for chunk in run.finished_chunks():
        for name, array in chunk.values.items():
            values[name][chunk.start : chunk.stop] = array
        for name, column in chunk.drawn.items():
            drawn[name][chunk.start : chunk.stop] = column
        if progress is not None:
            progress(chunk.stop - chunk.start)
    results = run.label(0, n, values, drawn)
    if not run.finite:
        run.check_finite(results)
    return results
