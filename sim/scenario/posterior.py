"""The conditioned ensemble that ``innosim calibrate`` writes (``posterior.nc``), read back.

A NetCDF file (xarray) with three dimensions:

* ``draw``: the posterior sample, equally weighted: one variable per uncertainty under its
  slug (``sim.results.slug``) with attributes ``long_name`` (Vensim name), ``units``,
  ``label_zh``, ``role`` = ``"uncertainty"``, ``distribution`` (the prior it was conditioned
  on, ``DistributionBase.describe``) and ``source``; ``ancestor``: the prior draw each
  posterior draw descends from; ``shock_<path slug>`` (role ``"path_shock"``, dimensions
  ``draw`` and ``<path slug>_year``): each posterior draw's standard normal shocks of a path
  in the years up to the last one observed (attribute ``last_observed_year``), conditioned
  with the constants (``sim.workflows.calibrate``).
* ``prior_draw``: the prior draws ``prior_<slug>`` (``role`` = ``"prior"``), their Gaussian
  ``prior_log_likelihood`` and ``prior_weight``, the normalised importance weights
  (likelihood / total) of plain importance sampling from the prior.
* ``observation``: the data conditioned on: ``observed_variable``, ``observed_year``,
  ``observed_value``, ``observed_sd``, ``observed_source``.

Attributes give the method (``importance`` or ``tempering``), the effective sample sizes, the
seed and sampler, and the provenance (scenario and observed-file sha256, model sha256,
versions, time). A scenario's ``posterior:`` field points to such a file; the ensemble runner
then resamples the posterior sample (``resample_index``) instead of sampling the priors,
with each resampled draw's conditioned path shocks (``PathShocks``).
"""

from __future__ import annotations

import errno
import functools
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from sim.errors import ScenarioError
from sim.results import UNCERTAINTY, names_with_role

#: ``role`` attribute of the prior draws in a posterior file.
PRIOR = "prior"
#: ``role`` attribute of the posterior draws' path shocks.
PATH_SHOCK = "path_shock"
#: Spawn key of the random stream that resamples a posterior (samplers use 1-3).
RESAMPLE_STREAM = 4


class PosteriorError(ScenarioError):
    """A posterior file is unreadable or not a conditioned ensemble of innosim."""


@dataclass(frozen=True)
class PathShocks:
    """A path's conditioned shocks in a posterior file.

    Attributes:
        years: the calendar years the shocks drive (up to the last observed year).
        values: standard normal shocks ``(draws, len(years))``, one row per posterior draw.
        process: the path's process (``ProcessBase.describe``) they were conditioned with.
    """

    years: np.ndarray = field(repr=False)
    values: np.ndarray = field(repr=False)
    process: str


@dataclass(frozen=True)
class PosteriorSample:
    """The posterior sample of a ``posterior.nc``.

    Attributes:
        path: the file.
        sha256: hex digest of its bytes.
        draws: ``{uncertainty: array (n,)}`` in model units, equally weighted.
        distributions: ``{uncertainty: prior description}`` it was conditioned on.
        attrs: the file's attributes (method, ess, seeds, provenance).
        shocks: ``{path: PathShocks}``, the paths' conditioned shocks (empty when the
            scenario had no path drawn before its last observed year).
    """

    path: Path
    sha256: str
    draws: dict[str, np.ndarray] = field(repr=False)
    distributions: dict[str, str]
    attrs: dict[str, Any] = field(repr=False)
    shocks: dict[str, PathShocks] = field(repr=False, default_factory=dict)

    @property
    def size(self) -> int:
        """Number of posterior draws."""
        return len(next(iter(self.draws.values()))) if self.draws else 0


def read_posterior(path: str | Path) -> PosteriorSample:
    """Read and check the posterior sample of a file written by ``innosim calibrate``.

    Raises:
        PosteriorError: unreadable, not NetCDF, no posterior sample, or non-finite values.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PosteriorError(path, "file not found; expected a posterior.nc") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise PosteriorError(
                path,
                "symbolic link loop (the links lead back to themselves); expected a posterior.nc",
            ) from None
        raise PosteriorError(path, f"cannot be read: {exc.strerror or exc}") from None
    return _read_posterior(str(path), hashlib.sha256(data).hexdigest())


@functools.lru_cache(maxsize=4)
def _read_posterior(path_text: str, sha256: str) -> PosteriorSample:
    """``read_posterior`` of a file with these contents (cached by sha256: a run reads its
    posterior for the draws, the paths and the provenance; the arrays are read-only)."""
    path = Path(path_text)
    try:
        with xr.open_dataset(path) as dataset:
            dataset.load()
    except (OSError, ValueError) as exc:
        raise PosteriorError(
            path, f"not a NetCDF file written by `innosim calibrate` ({exc})"
        ) from None
    problem = _not_a_posterior(path, dataset)
    if problem is not None:
        raise PosteriorError(path, problem)
    names = names_with_role(dataset, UNCERTAINTY)
    if not names or "draw" not in dataset.dims:
        raise PosteriorError(
            path, "no posterior sample (no variable with role 'uncertainty' on dimension 'draw')"
        )
    draws: dict[str, np.ndarray] = {}
    distributions: dict[str, str] = {}
    for key, values in dataset.data_vars.items():
        if values.attrs.get("role") != UNCERTAINTY:
            continue
        name = str(values.attrs.get("long_name", key))
        array = values.to_numpy().astype(float)
        if values.dims != ("draw",) or not np.isfinite(array).all():
            raise PosteriorError(
                path, f"posterior sample of '{name}' must be finite numbers on dimension 'draw'"
            )
        array.setflags(write=False)
        draws[name] = array
        distributions[name] = str(values.attrs.get("distribution", ""))
    shocks: dict[str, PathShocks] = {}
    for values in dataset.data_vars.values():
        if values.attrs.get("role") != PATH_SHOCK:
            continue
        name = str(values.attrs.get("long_name", ""))
        array = values.to_numpy().astype(float)
        if values.ndim != 2 or values.dims[0] != "draw" or not np.isfinite(array).all():
            raise PosteriorError(
                path, f"shocks of path '{name}' must be finite numbers on (draw, year)"
            )
        years = dataset[values.dims[1]].to_numpy().astype(int)
        array.setflags(write=False)
        shocks[name] = PathShocks(years, array, str(values.attrs.get("process", "")))
    return PosteriorSample(
        path=path,
        sha256=sha256,
        draws=draws,
        distributions=distributions,
        attrs=dict(dataset.attrs),
        shocks=shocks,
    )


def _not_a_posterior(path: Path, dataset: xr.Dataset) -> str | None:
    """Why ``dataset`` is not a conditioned ensemble of ``innosim calibrate``, or ``None``.

    Only ``sim.workflows.calibrate.posterior_dataset`` (title "conditioned ensemble (innosim
    calibrate)") writes the prior draws on dimension ``prior_draw`` with their ``prior_weight``;
    the ensemble of a run (``innosim run``'s ``ensemble.nc``) also has uncertainties on
    ``draw``, but neither of these.
    """
    if "prior_draw" in dataset.dims and "prior_weight" in dataset.data_vars:
        return None
    expected = (
        "expected a conditioned ensemble written by `innosim calibrate` (posterior.nc, "
        "with the prior draws on 'prior_draw' and their 'prior_weight')"
    )
    if "time" in dataset.dims and names_with_role(dataset, UNCERTAINTY):
        return (
            f"{path.name} is the ensemble of a run (`innosim run` writes ensemble.nc), not a "
            f"posterior; {expected}"
        )
    return f"{path.name} is not a posterior; {expected}"


def posterior_mismatch(
    sample: PosteriorSample, uncertainties: Mapping[str, Any], levers: Iterable[str]
) -> tuple[str | None, str] | None:
    """Why ``sample`` cannot stand for a scenario's uncertainties, or ``None`` if it can.

    Every uncertainty must be in the sample with the same prior distribution; a sampled
    constant that the scenario sets otherwise (``levers``: its levers, drivers and paths) is
    replaced by that setting (the others keep their joint posterior). A path's conditioned
    shocks are used where the scenario draws the same path with the same process
    (``sim.engine.ensemble.scenario_inputs``), otherwise the run draws it afresh. Returns
    ``(uncertainty or None, message)``.
    """
    levers = set(levers)
    for name, distribution in uncertainties.items():
        if name not in sample.draws:
            return name, (
                f"'{name}' is uncertain in the scenario but not in the posterior "
                f"{sample.path.name}; re-run `innosim calibrate` for this scenario"
            )
        described = distribution.describe()
        if sample.distributions[name] != described:
            return name, (
                f"the posterior {sample.path.name} was conditioned on '{name}' ~ "
                f"{sample.distributions[name]}, the scenario has {described}; re-run "
                "`innosim calibrate` for this scenario"
            )
    extra = sorted(set(sample.draws) - set(uncertainties) - levers)
    if extra:
        return None, (
            f"the posterior {sample.path.name} samples {', '.join(extra)}, which the scenario "
            "neither draws nor sets as a lever, driver or path; re-run `innosim calibrate` for "
            "this scenario"
        )
    return None


def resample_index(size: int, n_draws: int, seed: int) -> np.ndarray:
    """``n_draws`` indices taken uniformly with replacement from a sample of ``size``; they
    depend only on (seed, n_draws, size), so runs with the same seed share their draws
    (common random numbers)."""
    if n_draws < 1:
        raise ValueError(f"n_draws must be at least 1; got {n_draws}")
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(RESAMPLE_STREAM,)))
    return rng.integers(0, size, n_draws) if size else np.zeros(0, dtype=np.int64)
