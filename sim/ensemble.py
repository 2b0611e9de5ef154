"""The ensemble runner: sample a scenario's uncertainties, simulate every draw, label results.

``run_ensemble`` is the main job's core; its pieces (``sample`` in ``sim.sampling``,
``simulate`` in ``sim.engine``, ``target_table`` in ``sim.analysis``) are usable on their own.
Results are an xarray Dataset laid out as ``sim.results`` describes.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np
import xarray as xr

from sim.engine import CompiledModel, TimePath, compile_model, simulate
from sim.results import OUTCOME, UNCERTAINTY, slug
from sim.sampling import sample
from sim.scenario import Lever, MonteCarlo, Scenario, scenario_digest
from sim.vensim import model_documentation

#: Draws simulated together; bounds memory (results are independent of it).
DEFAULT_CHUNK_SIZE = 10_000

Progress = Callable[[int], None]


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


def simulate_draws(
    compiled: CompiledModel,
    n_draws: int,
    fixed: Mapping[str, float | TimePath],
    drawn: Mapping[str, np.ndarray],
    outputs: list[str],
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Progress | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Simulate ``n_draws`` draws in chunks: ``fixed`` parameters for all, ``drawn`` ones
    (arrays of length ``n_draws``) per draw.

    Returns the save times and ``{output: array (n_draws, n_times)}``; the values do not
    depend on ``chunk_size``.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be a positive number of draws")
    times = compiled.times()
    values = {name: np.empty((n_draws, times.size)) for name in outputs}
    for start in range(0, n_draws, chunk_size):
        stop = min(start + chunk_size, n_draws)
        params = dict(fixed) | {name: column[start:stop] for name, column in drawn.items()}
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
        extra_outputs: variables to save besides ``scenario.saved_variables()``.

    Without ``uncertainty_draws`` the uncertainties are drawn by ``draw_uncertainties``: from
    their distributions, or by resampling the scenario's ``posterior``.

    Returns:
        Dataset with dims ``draw`` and ``time`` (model time, years): the saved variables
        (``role`` ``outcome``), the sampled uncertainties (``role`` ``uncertainty``, dim
        ``draw``), units and labels in attributes, provenance in the dataset's attributes.
    """
    if uncertainty_draws is not None:
        missing = sorted(set(scenario.uncertainties) - set(uncertainty_draws))
        if missing:
            raise ValueError(f"uncertainty_draws lacks {', '.join(missing)}")
        sizes = {len(np.asarray(column)) for column in uncertainty_draws.values()}
        if len(sizes) != 1:
            raise ValueError("uncertainty_draws must all have the same length")
        draws = sizes.pop()
    settings = monte_carlo_settings(scenario, draws, seed, sampler)
    if uncertainty_draws is None:
        drawn = draw_uncertainties(scenario, settings)
    else:
        drawn = {
            name: np.asarray(uncertainty_draws[name], dtype=float)
            for name in sorted(scenario.uncertainties)
        }
    compiled = compile_model(model)
    outputs = list(dict.fromkeys([*scenario.saved_variables(), *extra_outputs]))
    fixed = lever_params(scenario.levers)
    times, values = simulate_draws(
        compiled, settings.draws, fixed, drawn, outputs, chunk_size, progress
    )

    docs = {doc.name: doc for doc in model_documentation(compiled.path)}
    coords = {"draw": np.arange(settings.draws), "time": times}
    data_vars: dict[str, xr.DataArray] = {}
    for name in outputs:
        data_vars[slug(name)] = xr.DataArray(
            values[name],
            dims=("draw", "time"),
            attrs={
                "long_name": name,
                "units": docs[name].units,
                "label_zh": docs[name].label_zh,
                "role": OUTCOME,
            },
        )
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
    if scenario.posterior is not None and uncertainty_draws is None:
        attrs["posterior"] = scenario.posterior.name
        attrs["posterior_sha256"] = hashlib.sha256(scenario.posterior.read_bytes()).hexdigest()
    dataset = xr.Dataset(data_vars, coords=coords, attrs=attrs)
    dataset["time"].attrs.update(units="year", long_name="model time (end of calendar year)")
    dataset["draw"].attrs.update(long_name="Monte Carlo draw")
    return dataset
