"""Drawing a scenario's uncertainties: pure functions (sample here, simulate elsewhere).

``sample`` returns ``{name: array of n_draws values}`` in the constants' model units, names in
sorted order, draw ``i`` of every array belonging to the same model run (the format
``sim.engine.simulate`` takes as per-draw ``params``); ``to_frame`` turns it into a DataFrame
indexed by ``draw``.

Design:

* **Uniforms first, marginals by inverse CDF.** Each uncertainty gets a column of uniforms in
  (0, 1), mapped through the ``ppf`` of its ``scipy.stats`` distribution.
* **Common random numbers.** For ``random`` and ``lhs`` every uncertainty has its own stream,
  ``numpy.random.SeedSequence(seed, spawn_key=(sampler code, *sha256(name)[:16]))``, so its
  draws depend only on (seed, name, n_draws, sampler): adding, removing or re-ordering other
  uncertainties (or changing their distributions) leaves them unchanged. ``lhs`` is a
  one-dimensional ``scipy.stats.qmc.LatinHypercube`` per name (independent permutations are a
  Latin hypercube jointly). For ``sobol`` (``scipy.stats.qmc.Sobol``, scrambled, seeded by
  ``SeedSequence(seed, spawn_key=(3,))``) the dimensions follow the sorted names, so CRN hold
  only between scenarios with the same set of uncertainty names; draws must be a power of two.
* **Rank correlations** (Spearman) by Iman & Conover (1982), "A distribution-free approach to
  inducing rank correlation among input variables", Commun. Statist. B 11(3): the uniforms of
  the correlated names are re-paired (each column keeps its values, so marginals and LHS
  strata are untouched) to follow the ranks of van der Waerden scores transformed from their
  own correlation T to the target C (scores · (Q⁻¹)ᵀ · Pᵀ with T = QQᵀ, C = PPᵀ). The scores
  are arranged in the order of the sample itself rather than randomly permuted, so no other
  random stream is needed and the first correlated name (sorted) keeps its draws; the others
  change their pairing (CRN hold for them only with the same correlations). The Spearman
  target r is converted to the Pearson correlation of normal scores, 2 sin(π r / 6).
* **Reproducible.** The same arguments give bit-identical draws (no global random state).
* **Paths** (a scenario's ``paths``: yearly uncertain values of a constant, one path per draw)
  are driven by standard normal shocks ``path_shocks``: the column of calendar year ``y`` of
  path ``name`` comes from its own stream, ``SeedSequence(seed, spawn_key=(PATH_STREAM,
  *sha256(name)[:16], y))``, independent of the sampler, of the uncertainties and of the other
  paths. A draw's shocks therefore depend only on (seed, name, year, draw index): common random
  numbers hold across scenarios and lever settings with the same path name, whatever its
  process or first year, and a run with more draws extends one with fewer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import linalg, stats
from scipy.stats import qmc

from sim.errors import SamplingError

if TYPE_CHECKING:
    from sim.scenario import Correlation, DistributionBase, ProcessBase

#: Samplers ``sample`` knows.
SAMPLERS: tuple[str, ...] = ("random", "lhs", "sobol")
_STREAM = {"random": 1, "lhs": 2, "sobol": 3}
#: Spawn-key code of the paths' shocks (samplers use 1-3, posterior resampling 4, calibration
#: 5-6).
PATH_STREAM = 7


def name_key(name: str) -> tuple[int, ...]:
    """Stable spawn key of an uncertainty: the first 16 bytes of sha256(name) as 4 uint32."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


def _generator(seed: int, sampler: str, name: str | None = None) -> np.random.Generator:
    key = (_STREAM[sampler], *(name_key(name) if name is not None else ()))
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def uniforms(names: Sequence[str], n_draws: int, seed: int, sampler: str) -> dict[str, np.ndarray]:
    """Uniform draws in the open interval (0, 1) for each name (see the module doc)."""
    if sampler not in _STREAM:
        raise ValueError(f"unknown sampler {sampler!r}; expected one of {', '.join(SAMPLERS)}")
    if n_draws < 1:
        raise ValueError(f"n_draws must be at least 1; got {n_draws}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative; got {seed}")
    names = sorted(names)
    if sampler == "sobol":
        if n_draws & (n_draws - 1):
            raise ValueError(f"the sobol sampler needs a power of two draws; got {n_draws}")
        if not names:
            return {}
        engine = qmc.Sobol(d=len(names), scramble=True, rng=_generator(seed, sampler))
        table = engine.random(n_draws)
        out = {name: table[:, j] for j, name in enumerate(names)}
    elif sampler == "lhs":
        out = {
            name: qmc.LatinHypercube(d=1, rng=_generator(seed, sampler, name)).random(n_draws)[:, 0]
            for name in names
        }
    else:
        out = {name: _generator(seed, sampler, name).random(n_draws) for name in names}
    tiny, top = np.finfo(float).tiny, np.nextafter(1.0, 0.0)
    return {name: np.clip(u, tiny, top) for name, u in out.items()}


def correlation_matrix(correlations: Sequence[Correlation]) -> tuple[list[str], np.ndarray]:
    """Names (sorted) and Spearman matrix implied by ``correlations`` (1 on the diagonal, 0
    for pairs not given).

    Raises ``ValueError`` when the matrix, or the matrix of normal-score correlations
    ``2 sin(π r / 6)`` derived from it, is not positive definite.
    """
    names = sorted({name for corr in correlations for name in corr.between})
    index = {name: i for i, name in enumerate(names)}
    matrix = np.eye(len(names))
    for corr in correlations:
        i, j = index[corr.between[0]], index[corr.between[1]]
        matrix[i, j] = matrix[j, i] = corr.rank
    for label, candidate in (("rank", matrix), ("normal-score", _score_correlation(matrix))):
        smallest = float(np.linalg.eigvalsh(candidate).min()) if len(names) else 1.0
        if smallest <= 1e-10:
            raise ValueError(
                f"the correlations imply a {label}-correlation matrix that is not positive "
                f"definite (smallest eigenvalue {smallest:.3g}); the ranks contradict each "
                "other, lower some |rank|"
            )
    return names, matrix


def _score_correlation(spearman: np.ndarray) -> np.ndarray:
    """Pearson correlation of normal scores giving Spearman ``spearman`` (bivariate normal)."""
    return 2 * np.sin(np.pi * spearman / 6)


def iman_conover(u: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Re-pair the columns of ``u`` (n × k) so their normal scores have correlation ``target``.

    Each column keeps its values (only their order across rows changes); the first column is
    unchanged. ``target`` must be positive definite and n > k.
    """
    n, k = u.shape
    if n <= k:
        raise SamplingError(
            f"inducing the correlations among {k} uncertainties needs more than {k} draws "
            f"(got {n}); give --draws {k + 1} or more"
        )
    ranks = stats.rankdata(u, axis=0, method="ordinal")
    scores = stats.norm.ppf(ranks / (n + 1))
    q = linalg.cholesky(np.corrcoef(scores, rowvar=False), lower=True)
    p = linalg.cholesky(target, lower=True)
    transformed = linalg.solve_triangular(q, scores.T, lower=True).T @ p.T
    new_ranks = stats.rankdata(transformed, axis=0, method="ordinal") - 1
    ordered = np.sort(u, axis=0)
    return np.take_along_axis(ordered, new_ranks, axis=0)


def sample(
    uncertainties: Mapping[str, DistributionBase],
    n_draws: int,
    seed: int,
    sampler: str = "lhs",
    correlations: Sequence[Correlation] = (),
) -> dict[str, np.ndarray]:
    """Draw every uncertainty ``n_draws`` times.

    Args:
        uncertainties: distributions by constant name (``Scenario.uncertainties``).
        n_draws: number of draws (a power of two for ``sobol``).
        seed: non-negative integer seed.
        sampler: ``random``, ``lhs`` (Latin hypercube) or ``sobol`` (scrambled Sobol).
        correlations: Spearman rank correlations between the named uncertainties.

    Returns:
        ``{name: float array of shape (n_draws,)}``, names sorted, values in model units.

    Raises:
        ValueError: bad sampler, draws, seed or correlations.
    """
    names = sorted(uncertainties)
    u = uniforms(names, n_draws, seed, sampler)
    if correlations:
        missing = sorted({n for c in correlations for n in c.between} - set(names))
        if missing:
            raise ValueError(f"correlations name unknown uncertainties: {', '.join(missing)}")
        correlated, spearman = correlation_matrix(correlations)
        block = np.column_stack([u[name] for name in correlated])
        block = iman_conover(block, _score_correlation(spearman))
        u.update({name: block[:, j] for j, name in enumerate(correlated)})
    return {name: uncertainties[name].ppf(u[name]) for name in names}


def to_frame(draws: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Draws as a DataFrame: index ``draw`` (0 … n-1), one column per uncertainty."""
    frame = pd.DataFrame(dict(draws))
    frame.index.name = "draw"
    return frame


def path_shocks(name: str, n_draws: int, years: Sequence[int], seed: int) -> np.ndarray:
    """Standard normal shocks of path ``name``: array ``(n_draws, len(years))``, column ``j``
    from the stream of calendar year ``years[j]`` (see the module doc)."""
    if n_draws < 1:
        raise ValueError(f"n_draws must be at least 1; got {n_draws}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative; got {seed}")
    out = np.empty((n_draws, len(years)))
    for j, year in enumerate(years):
        if year < 0:
            raise ValueError(f"years must be non-negative; got {year}")
        key = (PATH_STREAM, *name_key(name), int(year))
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))
        out[:, j] = rng.standard_normal(n_draws)
    return out


def draw_path(
    name: str,
    process: ProcessBase,
    start_value: float,
    years: Sequence[int],
    n_draws: int,
    seed: int,
) -> np.ndarray:
    """Draw ``n_draws`` paths of ``process`` over consecutive ``years``, starting from
    ``start_value`` in the year before the first: array ``(n_draws, len(years))`` in the
    constant's units (``ProcessBase.values`` of ``path_shocks``)."""
    years = [int(year) for year in years]
    if any(b != a + 1 for a, b in zip(years, years[1:], strict=False)):
        raise ValueError("the years of a path must be consecutive")
    return process.values(start_value, path_shocks(name, n_draws, years, seed))
