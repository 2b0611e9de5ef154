"""The ensemble runner: sample a scenario's uncertainties, simulate every draw, label results.

``run_ensemble`` is the main job's core; its pieces (``sample`` in ``sim.sampling``,
``simulate`` in ``sim.engine``, ``target_table`` in ``sim.analysis``) are usable on their own.
Results are an xarray Dataset laid out as ``sim.results`` describes.

``scenario_inputs`` is the one place where a scenario and Monte Carlo settings become the
engine's inputs (``EnsembleInputs``): the levers (values or time paths), the drawn
uncertainties (one value per draw), and the constants imposed as data (``drivers``, a time
path shared by every draw) or drawn year by year (``paths``, a time path per draw). Every
command (run, compare, sweep, solve, sensitivity, discover, calibrate, assess) simulates what
it returns, so none can miss a part of the scenario.

**Yearly step paths.** A driver's or a path's value for year ``y`` holds over model time
``(y - 1, y]`` (model time t is the end of calendar year t): ``step_path`` places two points
per year, at ``y - 1 + STEP_OFFSET`` and ``y``, and the engine interpolates linearly between
points (so only within the ``STEP_OFFSET`` after each year's end, below any time step) and
holds the first and last values outside them. The value saved for year ``y`` is therefore the
figure of year ``y``. A year missing inside a driver's observed span gets the linear
interpolation of its neighbours.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from sim.engine import CompiledModel, TimePath, compile_model, simulate
from sim.results import OUTCOME, UNCERTAINTY, slug
from sim.sampling import draw_path, path_shocks, sample
from sim.scenario import (
    Lever,
    MonteCarlo,
    ProcessBase,
    Scenario,
    file_sha256,
    scenario_digest,
)
from sim.vensim import model_documentation

#: Draws simulated together; bounds memory (results are independent of it).
DEFAULT_CHUNK_SIZE = 10_000
#: Model time after the end of year ``y - 1`` where year ``y``'s value starts (below any
#: time step the model uses), see the module doc.
STEP_OFFSET = 1e-6

Progress = Callable[[int], None]
PerDraw = np.ndarray | TimePath


def monte_carlo_settings(
    scenario: Scenario,
    draws: int | None = None,
    seed: int | None = None,
    sampler: str | None = None,
) -> MonteCarlo:
    """The scenario's Monte Carlo settings with command-line overrides, validated."""
    overrides = {"draws": draws, "seed": seed, "sampler": sampler}
    merged = scenario.monte_carlo.model_dump() | {
        k: v for k, v in overrides.items() if v is not None
    }
    return MonteCarlo.model_validate(merged)


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


# --- per-draw parameters --------------------------------------------------------------------


def draw_rows(value: PerDraw, start: int, stop: int) -> PerDraw:
    """Draws ``start`` to ``stop - 1`` of a per-draw parameter: an array of one value per draw
    or a per-draw ``TimePath`` (``TimePath.rows``; a shared one as it is)."""
    return value.rows(start, stop) if isinstance(value, TimePath) else value[start:stop]


def draw_take(value: PerDraw, index: np.ndarray) -> PerDraw:
    """The draws at ``index`` (integers, in that order) of a per-draw parameter."""
    index = np.asarray(index, dtype=np.intp)
    return value.take(index) if isinstance(value, TimePath) else np.asarray(value)[index]


def simulate_draws(
    compiled: CompiledModel,
    n_draws: int,
    fixed: Mapping[str, float | TimePath],
    drawn: Mapping[str, PerDraw],
    outputs: list[str],
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Progress | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Simulate ``n_draws`` draws in chunks: ``fixed`` parameters for all, ``drawn`` ones per
    draw (arrays of length ``n_draws``, or per-draw ``TimePath``s of ``n_draws`` rows).

    Returns the save times and ``{output: array (n_draws, n_times)}``; the values do not
    depend on ``chunk_size``.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be a positive number of draws")
    times = compiled.times()
    values = {name: np.empty((n_draws, times.size)) for name in outputs}
    for start in range(0, n_draws, chunk_size):
        stop = min(start + chunk_size, n_draws)
        params = dict(fixed) | {
            name: draw_rows(column, start, stop) for name, column in drawn.items()
        }
        result = simulate(compiled, stop - start, params, outputs)
        for name in outputs:
            values[name][start:stop] = result[name]
        if progress is not None:
            progress(stop - start)
    return times, values


def _describe(distribution) -> str:
    return distribution.describe()


def draw_uncertainties(scenario: Scenario, settings: MonteCarlo) -> dict[str, np.ndarray]:
    """The draws of a scenario's uncertainties for a run with ``settings``.

    From their distributions (``sim.sampling.sample``), or, when the scenario names a
    ``posterior``, by resampling its posterior sample with the run's seed
    (``sim.posterior.resample_posterior``): either way the same (seed, draws) give the same
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
    from sim.posterior import read_posterior, resample_posterior

    posterior = read_posterior(scenario.posterior)
    drawn = resample_posterior(posterior.draws, settings.draws, settings.seed)
    return {name: drawn[name] for name in sorted(scenario.uncertainties)}


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

    def with_fresh_shocks(self, ancestors: np.ndarray, after: int, seed: int) -> ExogenousSeries:
        """The paths of the draws ``ancestors`` up to year ``after``, continued from there with
        each new draw's own shocks: new draw ``i`` follows the shocks of prior draw
        ``ancestors[i]`` up to ``after`` and of prior draw ``i`` after it (the same seeded
        streams, ``sim.sampling.path_shocks``; ``i`` below the prior's number of draws).

        Resampled or tempered draws share their ancestors' paths; after the last observed year
        nothing conditions them, so copying those paths would make the future rest on a few
        distinct shocks. A driver alone, or a path whose drawn years all lie up to ``after``, is
        the ancestors' series (``take``)."""
        ancestors = np.asarray(ancestors, dtype=np.intp)
        if not self.per_draw or self.process is None or self.first_drawn is None:
            return self.take(ancestors)
        drawn = self.years >= self.first_drawn
        drawn_years = self.years[drawn].astype(int)
        later = drawn_years > after
        if not later.any():
            return self.take(ancestors)
        n = ancestors.size
        if n > self.values.shape[0] or (ancestors.size and ancestors.max() >= self.values.shape[0]):
            raise ValueError("fresh shocks need the prior draws of every new draw's number")
        shocks = path_shocks(self.name, self.values.shape[0], drawn_years.tolist(), seed)
        mixed = np.where(later, shocks[:n], shocks[ancestors])
        start_value = float(self.values[0, np.flatnonzero(drawn)[0] - 1])
        values = self.values[ancestors].copy()
        values[:, drawn] = self.process.values(start_value, mixed)
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
    from sim.observed import driver_series

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
        path_index: np.ndarray | Mapping[str, np.ndarray] | None = None,
    ) -> EnsembleInputs:
        """The same scenario with other uncertainty values (e.g. calibration particles) and the
        paths of the draws ``path_index`` (one index per new draw, for every path or by path
        name; default: draw i keeps path i).

        Raises ``ValueError`` for unknown or missing names, unequal lengths or a path index out
        of range.
        """
        missing = sorted(set(self.drawn) - set(drawn))
        extra = sorted(set(drawn) - set(self.drawn))
        if missing or extra:
            raise ValueError(f"uncertainty values must be given for exactly {sorted(self.drawn)}")
        columns = {name: np.asarray(drawn[name], dtype=float) for name in sorted(self.drawn)}
        sizes = {column.shape for column in columns.values()}
        if isinstance(path_index, Mapping):
            sizes |= {np.shape(index) for index in path_index.values()}
        elif path_index is not None:
            sizes.add(np.shape(path_index))
        if len(sizes) > 1 or any(len(size) != 1 for size in sizes):
            raise ValueError(f"draws of unequal lengths or shapes: {sorted(sizes)}")
        n = sizes.pop()[0] if sizes else self.n_draws
        if path_index is None and n != self.n_draws:
            raise ValueError(
                f"{n} draws given for inputs of {self.n_draws}: say which paths they carry"
            )
        paths: dict[str, TimePath] = {}
        exogenous = dict(self.exogenous)
        for name, value in self.paths.items():
            if path_index is None:
                index = np.arange(n)
            elif isinstance(path_index, Mapping):
                index = np.asarray(path_index[name], dtype=np.intp)
            else:
                index = np.asarray(path_index, dtype=np.intp)
            if index.size and (index.min() < 0 or index.max() >= self.n_draws):
                raise ValueError(f"path index out of range for {self.n_draws} draws")
            paths[name] = draw_take(value, index)
            exogenous[name] = self.exogenous[name].take(index)
        return EnsembleInputs(n, dict(self.fixed), columns, paths, exogenous)


def scenario_inputs(
    scenario: Scenario,
    settings: MonteCarlo,
    compiled: CompiledModel,
    *,
    uncertainty_draws: Mapping[str, np.ndarray] | None = None,
    path_index: np.ndarray | None = None,
    fresh_after: int | None = None,
) -> EnsembleInputs:
    """The engine's inputs for draws of ``scenario`` with Monte Carlo ``settings``.

    The levers are fixed; the ``settings.draws`` draws of the uncertainties
    (``draw_uncertainties``) and of the paths (seeded by ``settings.seed`` and each path's
    name, so the same seed and name give the same shocks in any scenario) are made; the inputs
    have those draws in turn, or the draws ``path_index`` (integers below ``settings.draws``,
    e.g. the prior draws calibration particles descend from). ``uncertainty_draws`` replaces
    the uncertainties' values (one array per uncertainty, one value per draw of the inputs).
    ``fresh_after`` (with ``path_index``): the paths follow their ancestors up to that year and
    each draw's own shocks after it (``ExogenousSeries.with_fresh_shocks``), for draws
    conditioned on data up to that year.

    Raises ``ValueError`` when ``uncertainty_draws`` lacks an uncertainty or has the wrong
    length, or ``path_index`` is out of range.
    """
    index = None if path_index is None else np.asarray(path_index, dtype=np.intp)
    if index is not None and (
        index.ndim != 1 or (index.size and (index.min() < 0 or index.max() >= settings.draws))
    ):
        raise ValueError(f"path_index must be draw numbers below {settings.draws}")
    n = settings.draws if index is None else int(index.size)
    if uncertainty_draws is None:
        drawn = draw_uncertainties(scenario, settings)
        if index is not None:
            drawn = {name: column[index] for name, column in drawn.items()}
    else:
        missing = sorted(set(scenario.uncertainties) - set(uncertainty_draws))
        if missing:
            raise ValueError(f"uncertainty_draws lacks {', '.join(missing)}")
        drawn = {
            name: np.asarray(uncertainty_draws[name], dtype=float)
            for name in sorted(scenario.uncertainties)
        }
        wrong = [name for name, column in drawn.items() if column.shape != (n,)]
        if wrong:
            raise ValueError(f"uncertainty_draws of {wrong[0]} must have {n} values")
    exogenous = exogenous_series(
        scenario,
        settings.draws,
        settings.seed,
        compiled.constants,
        compiled.final_time,
        compiled.initial_time,
    )
    if index is not None and fresh_after is not None:
        exogenous = {
            name: series.with_fresh_shocks(index, fresh_after, settings.seed)
            for name, series in exogenous.items()
        }
    elif index is not None:
        exogenous = {name: series.take(index) for name, series in exogenous.items()}
    fixed = lever_params(scenario.levers)
    paths: dict[str, TimePath] = {}
    for name, series in exogenous.items():
        if series.per_draw:
            paths[name] = series.time_path()
        else:
            fixed[name] = series.time_path()
    return EnsembleInputs(n, fixed, drawn, paths, exogenous)


def simulate_inputs(
    compiled: CompiledModel,
    inputs: EnsembleInputs,
    outputs: list[str],
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Progress | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``simulate_draws`` of every draw of ``inputs``."""
    return simulate_draws(
        compiled, inputs.n_draws, inputs.fixed, inputs.per_draw, outputs, chunk_size, progress
    )


def package_versions() -> dict[str, str]:
    packages = ("innosim", "pysd", "numpy", "scipy", "xarray", "pydantic")
    found = {}
    for package in packages:
        try:
            found[f"{package}_version"] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[f"{package}_version"] = "not installed"
    found["python_version"] = platform.python_version()
    return found


def _sampler_attr(scenario: Scenario, settings: MonteCarlo, given: bool) -> str:
    if given:
        return "given draws"
    if scenario.posterior is not None:
        return "posterior resampling"
    return settings.sampler


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
    path_index: np.ndarray | None = None,
    fresh_after: int | None = None,
    extra_outputs: Sequence[str] = (),
) -> xr.Dataset:
    """Run a scenario's Monte Carlo ensemble.

    Args:
        scenario: a resolved scenario (``sim.scenario.load_scenario``).
        draws, seed, sampler: override the scenario's ``monte_carlo`` settings.
        chunk_size: draws simulated together (memory bound; results do not depend on it).
        progress: called with the number of draws finished after each chunk.
        model: the ``.mdl`` file (default: the project's model).
        uncertainty_draws: values of every uncertainty to simulate instead of drawing them
            (e.g. a weighted sample from ``sim.calibration``); ``draws`` is then their length.
        path_index: with ``uncertainty_draws``, the draw (below ``draws``) whose paths each
            of them carries (e.g. a posterior draw's prior ancestor); default: its own.
        fresh_after: with ``path_index``, the last year the paths follow their ancestors; each
            draw's own shocks drive them after it (``scenario_inputs``).
        extra_outputs: variables to save besides ``scenario.saved_variables()``.

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
    if uncertainty_draws is not None:
        sizes = {len(np.asarray(column)) for column in uncertainty_draws.values()}
        if path_index is not None:
            sizes.add(len(path_index))
        if len(sizes) > 1:
            raise ValueError("uncertainty_draws (and path_index) must all have the same length")
        if sizes:
            draws = sizes.pop()
    elif path_index is not None:
        raise ValueError("path_index goes with uncertainty_draws")
    settings = monte_carlo_settings(scenario, draws, seed, sampler)
    compiled = compile_model(model)
    inputs = scenario_inputs(
        scenario,
        settings,
        compiled,
        uncertainty_draws=uncertainty_draws,
        path_index=path_index,
        fresh_after=fresh_after,
    )
    drawn = inputs.drawn
    outputs = list(
        dict.fromkeys([*scenario.saved_variables(), *extra_outputs, *scenario.exogenous()])
    )
    times, values = simulate_inputs(compiled, inputs, outputs, chunk_size, progress)

    docs = {doc.name: doc for doc in model_documentation(compiled.path)}
    coords = {"draw": np.arange(settings.draws), "time": times}
    data_vars: dict[str, xr.DataArray] = {}
    for name in outputs:
        attrs = {
            "long_name": name,
            "units": docs[name].units,
            "label_zh": docs[name].label_zh,
            "role": OUTCOME,
        }
        series = inputs.exogenous.get(name)
        if series is not None:
            attrs["exogenous"] = series.describe()
            if series.process is not None:
                process = series.process
                attrs["source"] = process.source or process.reasoning or ""
        data_vars[slug(name)] = xr.DataArray(values[name], dims=("draw", "time"), attrs=attrs)
    for name, column in drawn.items():
        distribution = scenario.uncertainties[name]
        data_vars[slug(name)] = xr.DataArray(
            column,
            dims=("draw",),
            attrs={
                "long_name": name,
                "units": docs[name].units,
                "label_zh": docs[name].label_zh,
                "role": UNCERTAINTY,
                "distribution": _describe(distribution),
                "source": distribution.source or distribution.reasoning or "",
            },
        )
    attrs = {
        "title": scenario.title.en if scenario.title else scenario.path.stem,
        "title_zh": scenario.title.zh if scenario.title else scenario.path.stem,
        "scenario": str(scenario.path.name),
        "scenario_sha256": scenario_digest(scenario),
        "model": str(compiled.path.name),
        "model_sha256": compiled.sha256,
        "draws": settings.draws,
        "seed": settings.seed,
        "sampler": _sampler_attr(scenario, settings, uncertainty_draws is not None),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "levers": json.dumps(
            {
                name: {
                    "value": lever.value if lever.path is None else lever.path,
                    "source": lever.source,
                }
                for name, lever in scenario.levers.items()
            },
            ensure_ascii=False,
        ),
        **package_versions(),
    }
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
                | {"first_drawn_year": inputs.exogenous[name].first_drawn}
                for name, process in scenario.paths.items()
            },
            ensure_ascii=False,
        )
    if scenario.posterior is not None and uncertainty_draws is None:
        attrs["posterior"] = scenario.posterior.name
        attrs["posterior_sha256"] = hashlib.sha256(scenario.posterior.read_bytes()).hexdigest()
    dataset = xr.Dataset(data_vars, coords=coords, attrs=attrs)
    dataset["time"].attrs.update(units="year", long_name="model time (end of calendar year)")
    dataset["draw"].attrs.update(long_name="Monte Carlo draw")
    return dataset
