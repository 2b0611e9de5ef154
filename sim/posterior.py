"""The conditioned ensemble that ``innosim calibrate`` writes (``posterior.nc``), read back.

A NetCDF file (xarray) with three dimensions:

* ``draw``: the posterior sample, equally weighted: one variable per uncertainty under its
  slug (``sim.results.slug``) with attributes ``long_name`` (Vensim name), ``units``,
  ``label_zh``, ``role`` = ``"uncertainty"``, ``distribution`` (the prior it was conditioned
  on, ``DistributionBase.describe``) and ``source``; ``ancestor``: the prior draw each
  posterior draw descends from.
* ``prior_draw``: the prior draws ``prior_<slug>`` (``role`` = ``"prior"``), their Gaussian
  ``prior_log_likelihood`` and ``prior_weight``, the normalised importance weights
  (likelihood / total) of plain importance sampling from the prior.
* ``observation``: the data conditioned on: ``observed_variable``, ``observed_year``,
  ``observed_value``, ``observed_sd``, ``observed_source``.

Attributes give the method (``importance`` or ``tempering``), the effective sample sizes, the
seed and sampler, and the provenance (scenario and observed-file sha256, model sha256,
versions, time). A scenario's ``posterior:`` field points to such a file; the ensemble runner
then resamples the posterior sample (``resample_posterior``) instead of sampling the priors.
"""

from __future__ import annotations

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
#: Spawn key of the random stream that resamples a posterior (samplers use 1-3).
RESAMPLE_STREAM = 4


class PosteriorError(ScenarioError):
    """A posterior file is unreadable or not a conditioned ensemble of innosim."""


@dataclass(frozen=True)
class PosteriorSample:
    """The posterior sample of a ``posterior.nc``.

    Attributes:
        path: the file.
        sha256: hex digest of its bytes.
        draws: ``{uncertainty: array (n,)}`` in model units, equally weighted.
        distributions: ``{uncertainty: prior description}`` it was conditioned on.
        attrs: the file's attributes (method, ess, seeds, provenance).
    """

    path: Path
    sha256: str
    draws: dict[str, np.ndarray] = field(repr=False)
    distributions: dict[str, str]
    attrs: dict[str, Any] = field(repr=False)

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
        raise PosteriorError(path, f"cannot be read: {exc.strerror or exc}") from None
    try:
        with xr.open_dataset(path) as dataset:
            dataset.load()
    except (OSError, ValueError) as exc:
        raise PosteriorError(
            path, f"not a NetCDF file written by `innosim calibrate` ({exc})"
        ) from None
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
        draws[name] = array
        distributions[name] = str(values.attrs.get("distribution", ""))
    return PosteriorSample(
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        draws=draws,
        distributions=distributions,
        attrs=dict(dataset.attrs),
    )


def posterior_mismatch(
    sample: PosteriorSample, uncertainties: Mapping[str, Any], levers: Iterable[str]
) -> tuple[str | None, str] | None:
    """Why ``sample`` cannot stand for a scenario's uncertainties, or ``None`` if it can.

    Every uncertainty must be in the sample with the same prior distribution; a sampled
    constant that the scenario sets otherwise (``levers``: its levers, drivers and paths) is
    replaced by that setting (the others keep their joint posterior). Paths are never part of
    a posterior: a run draws them afresh. Returns ``(uncertainty or None, message)``.
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


def resample_posterior(
    draws: Mapping[str, np.ndarray], n_draws: int, seed: int
) -> dict[str, np.ndarray]:
    """``n_draws`` draws taken uniformly with replacement from an equally weighted posterior
    sample, names sorted. The indices depend only on (seed, n_draws, sample size), so runs
    with the same seed share their draws (common random numbers)."""
    if n_draws < 1:
        raise ValueError(f"n_draws must be at least 1; got {n_draws}")
    size = len(next(iter(draws.values()))) if draws else 0
    if size == 0:
        return {name: np.empty(0) for name in sorted(draws)}
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(RESAMPLE_STREAM,)))
    index = rng.integers(0, size, n_draws)
    return {name: np.asarray(draws[name], dtype=float)[index] for name in sorted(draws)}
