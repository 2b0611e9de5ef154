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
* **Drawn chunk by chunk.** ``sample_design`` makes, once per run, the parts of a sample that
  need every draw at once (for ``lhs`` each name's permutation of the strata, for correlated
  names their uniforms re-paired by Iman-Conover); ``SampleDesign.chunk(start, stop)`` is then a
  small picklable recipe that draws rows ``start`` to ``stop - 1`` wherever it is called (a
  worker process), bit for bit the rows of ``sample``: the jitter of the LHS strata and the
  ``random`` draws come from their streams advanced to ``start`` (one 64-bit output per
  uniform), ``sobol`` is fast-forwarded. Likewise ``ShockStreams.states(start)`` gives the
  states of a path's yearly streams at draw ``start`` and ``shocks_from_states`` the chunk's
  shocks.
* **Inverse CDFs cached.** ``inverse_cdf`` keeps the values of samples of up to
  ``CACHED_DRAWS`` draws on disk (``cache_root()/inverse_cdf``, by the distribution, the
  uniforms' bytes and the scipy version): a rerun or another scenario with the same
  uncertainty reads them instead of evaluating (PERT's beta inverse CDF costs about 1 µs a
  value).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
import warnings
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.errors import SamplingError

if TYPE_CHECKING:
    import pandas as pd

    from sim.scenario import Correlation, DistributionBase, ProcessBase

#: Samplers ``sample`` knows.
SAMPLERS: tuple[str, ...] = ("random", "lhs", "sobol")
_STREAM = {"random": 1, "lhs": 2, "sobol": 3}
#: Spawn-key code of the paths' shocks (samplers use 1-3, posterior resampling 4, calibration
#: 5-6).
PATH_STREAM = 7
#: Largest sample (draws) whose inverse CDFs ``inverse_cdf`` keeps on disk.
CACHED_DRAWS = 100_000
#: Bytes of cached inverse CDFs kept (the oldest files go first).
CACHE_BYTES = 256 * 2**20
#: Standard normals skipped at a time when a shock stream is advanced.
_SKIP_BLOCK = 1 << 16


def name_key(name: str) -> tuple[int, ...]:
    """Stable spawn key of an uncertainty: the first 16 bytes of sha256(name) as 4 uint32."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


def _generator(seed: int, sampler: str, name: str | None = None) -> np.random.Generator:
    key = (_STREAM[sampler], *(name_key(name) if name is not None else ()))
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _lhs_generator(seed: int, name: str) -> np.random.Generator:
    """The generator ``qmc.LatinHypercube(rng=_generator(seed, "lhs", name))`` draws from: scipy
    spawns its own child of the given generator's seed sequence (the first, key ``+ (0,)``)."""
    key = (_STREAM["lhs"], *name_key(name), 0)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def _check_sample_size(n_draws: int, seed: int, sampler: str) -> None:
    if sampler not in _STREAM:
        raise ValueError(f"unknown sampler {sampler!r}; expected one of {', '.join(SAMPLERS)}")
    if n_draws < 1:
        raise ValueError(f"n_draws must be at least 1; got {n_draws}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative; got {seed}")
    if sampler == "sobol" and n_draws & (n_draws - 1):
        raise ValueError(f"the sobol sampler needs a power of two draws; got {n_draws}")


def _open_interval(u: np.ndarray) -> np.ndarray:
    """``u`` moved into the open interval (0, 1) (the inverse CDFs' domain)."""
    return np.clip(u, np.finfo(float).tiny, np.nextafter(1.0, 0.0))


def uniforms(names: Sequence[str], n_draws: int, seed: int, sampler: str) -> dict[str, np.ndarray]:
    """Uniform draws in the open interval (0, 1) for each name (see the module doc): the
    reference, straight from ``scipy.stats.qmc`` and numpy; ``SampleDesign`` draws the same
    chunk by chunk."""
    from scipy.stats import qmc

    _check_sample_size(n_draws, seed, sampler)
    names = sorted(names)
    if sampler == "sobol":
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
    return {name: _open_interval(u) for name, u in out.items()}


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


def _ordinal_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1 … n of each column of ``values`` (n × k), ties in order of rows: what
    ``scipy.stats.rankdata(values, axis=0, method="ordinal")`` gives, a column at a time."""
    n, k = values.shape
    ranks = np.empty((n, k), dtype=np.int64)
    positions = np.arange(1, n + 1, dtype=np.int64)
    for j in range(k):
        order = np.argsort(values[:, j], kind="stable")
        column = np.empty(n, dtype=np.int64)
        column[order] = positions
        ranks[:, j] = column
    return ranks


def iman_conover(u: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Re-pair the columns of ``u`` (n × k) so their normal scores have correlation ``target``.

    Each column keeps its values (only their order across rows changes); the first column is
    unchanged. ``target`` must be positive definite and n > k. (Ranks and sorts go a column
    at a time, so 10⁶ draws take seconds and a few arrays of n × k.)
    """
    from scipy import linalg, special

    n, k = u.shape
    if n <= k:
        raise SamplingError(
            f"inducing the correlations among {k} uncertainties needs more than {k} draws "
            f"(got {n}); give --draws {k + 1} or more"
        )
    # van der Waerden scores: stats.norm.ppf(ranks / (n + 1)), i.e. ndtri(q) * 1 + 0
    scores = special.ndtri(_ordinal_ranks(u) / (n + 1))
    scores *= 1
    scores += 0
    q = linalg.cholesky(np.corrcoef(scores, rowvar=False), lower=True)
    p = linalg.cholesky(target, lower=True)
    transformed = linalg.solve_triangular(q, scores.T, lower=True).T @ p.T
    del scores
    new_ranks = _ordinal_ranks(transformed)
    del transformed
    new_ranks -= 1
    out = np.empty_like(u)
    for j in range(k):
        out[:, j] = np.sort(u[:, j])[new_ranks[:, j]]
    return out


# --- the inverse CDFs, cached ----------------------------------------------------------------


def _cache_dir() -> Any:
    from sim.vensim import cache_root

    return cache_root() / "inverse_cdf"


def _prune_cache(directory: Any) -> None:
    """Delete the oldest cached inverse CDFs beyond ``CACHE_BYTES``."""
    with contextlib.suppress(OSError):
        entries = [entry for entry in os.scandir(directory) if entry.name.endswith(".npy")]
        found = [(entry.stat().st_mtime, entry.stat().st_size, entry.path) for entry in entries]
        total = sum(size for _, size, _ in found)
        for _, size, path in sorted(found):
            if total <= CACHE_BYTES:
                break
            with contextlib.suppress(OSError):
                os.unlink(path)
            total -= size


def inverse_cdf(distribution: DistributionBase, u: np.ndarray, *, cache: bool = True) -> np.ndarray:
    """``distribution.ppf(u)`` (model units), read from the disk cache when these very
    uniforms were mapped before (``u`` of at most ``CACHED_DRAWS`` values; keyed by the
    distribution's parameters, the bytes of ``u`` and the scipy version). The values are the
    ones ``ppf`` gives, bit for bit: they are stored, not approximated."""
    u = np.ascontiguousarray(u, dtype=float)
    if not cache or u.size > CACHED_DRAWS:
        return np.asarray(distribution.ppf(u), dtype=float)
    import scipy

    from sim.atomic import atomic_write_bytes

    described = distribution.model_dump_json(exclude={"source", "reasoning"})
    digest = hashlib.sha256(
        f"{type(distribution).__name__}|{described}|scipy {scipy.__version__}|".encode()
    )
    digest.update(u.tobytes())
    directory = _cache_dir()
    path = directory / f"{digest.hexdigest()[:40]}.npy"
    try:
        values = np.load(path)
        if values.shape == u.shape and values.dtype == float:
            return values
    except (OSError, ValueError):
        pass  # not cached yet, or unreadable: compute it
    values = np.asarray(distribution.ppf(u), dtype=float)
    buffer = io.BytesIO()
    np.save(buffer, values)
    with contextlib.suppress(OSError):  # a read-only cache only costs time
        atomic_write_bytes(path, buffer.getvalue())
        _prune_cache(directory)
    return values


# --- samples, whole or chunk by chunk --------------------------------------------------------


def _stream_uniforms(
    name: str,
    seed: int,
    sampler: str,
    n_draws: int,
    start: int,
    stop: int,
    strata: np.ndarray | None,
) -> np.ndarray:
    """Rows ``start`` to ``stop - 1`` of ``uniforms([name], n_draws, seed, sampler)[name]``
    for ``lhs`` (given those rows of the name's ``strata``) and ``random``: the streams are
    advanced to ``start`` (one 64-bit output per uniform), so no other row is drawn."""
    if sampler == "lhs":
        if strata is None:
            raise ValueError(f"the LHS strata of {name!r} are needed")
        rng = _lhs_generator(seed, name)
        rng.bit_generator.advance(start)
        return _open_interval((strata - rng.uniform(size=stop - start)) / n_draws)
    rng = _generator(seed, sampler, name)
    rng.bit_generator.advance(start)
    return _open_interval(rng.random(stop - start))


@dataclass(frozen=True)
class SampleChunk:
    """Rows ``start`` to ``stop - 1`` of a sample, as a recipe small enough to send to a worker
    (``SampleDesign.chunk``): calling ``uniforms`` or ``draws`` there draws them.

    Attributes:
        distributions: the uncertainties' distributions, names sorted.
        n_draws, seed, sampler: the whole sample's settings.
        start, stop: the rows.
        strata: ``lhs``: the rows of each uncorrelated name's permutation of the strata
            (1 … n_draws).
        given: the rows of the uniforms fixed for the whole sample (correlated names).
        cache: whether ``inverse_cdf`` may use its disk cache.
    """

    distributions: Mapping[str, DistributionBase]
    n_draws: int
    seed: int
    sampler: str
    start: int
    stop: int
    strata: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)
    given: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)
    cache: bool = True

    def uniforms(self) -> dict[str, np.ndarray]:
        """The rows' uniforms in (0, 1), ``{name: (stop - start,)}``, names sorted."""
        count = self.stop - self.start
        out: dict[str, np.ndarray] = {}
        drawn = [name for name in sorted(self.distributions) if name not in self.given]
        if self.sampler == "sobol" and drawn:
            table = self._sobol_rows(len(self.distributions), count)
            columns = {name: j for j, name in enumerate(sorted(self.distributions))}
            out = {name: _open_interval(table[:, columns[name]]) for name in drawn}
        if self.sampler != "sobol":
            for name in drawn:
                out[name] = _stream_uniforms(
                    name,
                    self.seed,
                    self.sampler,
                    self.n_draws,
                    self.start,
                    self.stop,
                    self.strata.get(name),
                )
        out |= {name: np.asarray(column, dtype=float) for name, column in self.given.items()}
        return {name: out[name] for name in sorted(out)}

    def _sobol_rows(self, dimensions: int, count: int) -> np.ndarray:
        from scipy.stats import qmc

        engine = qmc.Sobol(d=dimensions, scramble=True, rng=_generator(self.seed, "sobol"))
        if self.start:
            engine.fast_forward(self.start)
        with warnings.catch_warnings():  # a chunk need not be a power of two; the sample is
            warnings.simplefilter("ignore", UserWarning)
            return engine.random(count)

    def draws(self) -> dict[str, np.ndarray]:
        """The rows' values ``{name: (stop - start,)}`` in model units (``inverse_cdf``)."""
        return {
            name: inverse_cdf(self.distributions[name], u, cache=self.cache)
            for name, u in self.uniforms().items()
        }


class StrataStore:
    """Each uncorrelated name's permutation of the LHS strata (``qmc.LatinHypercube`` after its
    jitter), made once and read a chunk at a time: kept in an anonymous temporary file (4
    bytes a draw and name: 290 MB for 10⁶ draws of 73 names), so a run holds none of them in
    memory; in memory when no temporary file can be made."""

    def __init__(self, seed: int, names: Sequence[str], n_draws: int) -> None:
        self.n_draws = n_draws
        self.dtype = np.dtype(np.int32 if n_draws < 2**31 else np.int64)
        self._index = {name: i for i, name in enumerate(names)}
        self._arrays: dict[str, np.ndarray] = {}
        try:  # closed when the store goes (an anonymous file: nothing is left behind)
            self._file: Any = tempfile.TemporaryFile(prefix="innosim-strata-")  # noqa: SIM115
        except OSError:
            self._file = None
        else:
            weakref.finalize(self, self._file.close)
        for name in names:
            perm = _strata(seed, name, n_draws, self.dtype)
            if self._file is None:
                self._arrays[name] = perm
            else:
                self._file.write(perm.tobytes())
        if self._file is not None:
            self._file.flush()

    def names(self) -> list[str]:
        """The names whose strata are stored."""
        return list(self._index)

    def rows(self, name: str, start: int, stop: int) -> np.ndarray:
        """Rows ``start`` to ``stop - 1`` of ``name``'s permutation (values 1 … n_draws)."""
        if self._file is None:
            return self._arrays[name][start:stop]
        size = self.dtype.itemsize
        offset = (self._index[name] * self.n_draws + start) * size
        data = os.pread(self._file.fileno(), (stop - start) * size, offset)
        return np.frombuffer(data, dtype=self.dtype)


@dataclass(frozen=True)
class SampleDesign:
    """What a sample needs of every draw at once (build it with ``sample_design``): for
    ``lhs`` the permutation of the strata of each uncorrelated name (``StrataStore``), for
    correlated names their uniforms after Iman-Conover (8 bytes a draw and name, in memory).
    Everything else is drawn per chunk (``chunk``)."""

    distributions: Mapping[str, DistributionBase]
    n_draws: int
    seed: int
    sampler: str
    strata: StrataStore | None = field(default=None, repr=False)
    correlated: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)

    def chunk(self, start: int, stop: int) -> SampleChunk:
        """The recipe of rows ``start`` to ``stop - 1`` (``SampleChunk``)."""
        if not 0 <= start < stop <= self.n_draws:
            raise ValueError(f"rows {start}:{stop} are not a chunk of {self.n_draws} draws")
        store = self.strata
        strata = {} if store is None else {n: store.rows(n, start, stop) for n in store.names()}
        return SampleChunk(
            self.distributions,
            self.n_draws,
            self.seed,
            self.sampler,
            start,
            stop,
            strata=strata,
            given={name: column[start:stop] for name, column in self.correlated.items()},
            cache=self.n_draws <= CACHED_DRAWS,
        )


def _strata(seed: int, name: str, n_draws: int, dtype: np.dtype) -> np.ndarray:
    """The permutation of the strata 1 … n that ``qmc.LatinHypercube`` draws for ``name``
    after its jitter (the same whatever the integer type holding it)."""
    rng = _lhs_generator(seed, name)
    rng.bit_generator.advance(n_draws)  # the jitter: one 64-bit output per uniform
    perm = np.arange(1, n_draws + 1, dtype=dtype)
    rng.shuffle(perm)
    return perm


def sample_design(
    uncertainties: Mapping[str, DistributionBase],
    n_draws: int,
    seed: int,
    sampler: str = "lhs",
    correlations: Sequence[Correlation] = (),
) -> SampleDesign:
    """The design of ``sample``'s draws, to draw them chunk by chunk (``SampleDesign.chunk``).

    Raises:
        ValueError: bad sampler, draws, seed or correlations.
        SamplingError: too few draws for the correlations.
    """
    _check_sample_size(n_draws, seed, sampler)
    names = sorted(uncertainties)
    correlated: dict[str, np.ndarray] = {}
    if correlations:
        missing = sorted({n for c in correlations for n in c.between} - set(names))
        if missing:
            raise ValueError(f"correlations name unknown uncertainties: {', '.join(missing)}")
        paired, spearman = correlation_matrix(correlations)
        block = np.empty((n_draws, len(paired)))
        if sampler == "sobol":  # the dimensions follow every name
            drawn = uniforms(names, n_draws, seed, sampler)
            for j, name in enumerate(paired):
                block[:, j] = drawn[name]
            del drawn
        else:  # each name has its own stream: the uniforms of every draw, as one chunk
            for j, name in enumerate(paired):
                strata = (
                    _strata(seed, name, n_draws, np.dtype(np.int32)) if sampler == "lhs" else None
                )
                block[:, j] = _stream_uniforms(name, seed, sampler, n_draws, 0, n_draws, strata)
        block = iman_conover(block, _score_correlation(spearman))
        correlated = dict(zip(paired, np.ascontiguousarray(block.T), strict=True))
        del block
    strata = None
    if sampler == "lhs":
        strata = StrataStore(seed, [name for name in names if name not in correlated], n_draws)
    distributions = {name: uncertainties[name] for name in names}
    return SampleDesign(distributions, n_draws, seed, sampler, strata, correlated)


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
    design = sample_design(uncertainties, n_draws, seed, sampler, correlations)
    return design.chunk(0, n_draws).draws()


def to_frame(draws: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Draws as a DataFrame: index ``draw`` (0 … n-1), one column per uncertainty."""
    import pandas as pd

    frame = pd.DataFrame(dict(draws))
    frame.index.name = "draw"
    return frame


# --- the paths' shocks -----------------------------------------------------------------------


def _shock_generator(name: str, year: int, seed: int) -> np.random.Generator:
    if year < 0:
        raise ValueError(f"years must be non-negative; got {year}")
    key = (PATH_STREAM, *name_key(name), int(year))
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def path_shocks(name: str, n_draws: int, years: Sequence[int], seed: int) -> np.ndarray:
    """Standard normal shocks of path ``name``: array ``(n_draws, len(years))``, column ``j``
    from the stream of calendar year ``years[j]`` (see the module doc)."""
    if n_draws < 1:
        raise ValueError(f"n_draws must be at least 1; got {n_draws}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative; got {seed}")
    out = np.empty((n_draws, len(years)))
    for j, year in enumerate(years):
        out[:, j] = _shock_generator(name, year, seed).standard_normal(n_draws)
    return out


class ShockStreams:
    """The yearly streams of ``path_shocks(name, n, years, seed)``, walked forward in this
    process so that each chunk's shocks can be drawn elsewhere (``shocks_from_states``).

    ``states(start)`` gives the streams' generator states at draw ``start``; asked for chunks
    in increasing order, the walk costs one standard normal per draw and year in all (a
    standard normal takes a variable number of 64-bit outputs, so a stream cannot jump).
    """

    def __init__(self, name: str, years: Sequence[int], seed: int) -> None:
        if seed < 0:
            raise ValueError(f"seed must be non-negative; got {seed}")
        self.name = name
        self.years = tuple(int(year) for year in years)
        self.seed = seed
        self._generators: list[np.random.Generator] = []
        self._position = 0
        self._restart()

    def _restart(self) -> None:
        self._generators = [_shock_generator(self.name, y, self.seed) for y in self.years]
        self._position = 0

    def states(self, start: int) -> tuple[dict[str, Any], ...]:
        """The generator state of each year's stream at draw ``start`` (0-based)."""
        if start < self._position:
            self._restart()
        while self._position < start:
            step = min(_SKIP_BLOCK, start - self._position)
            for generator in self._generators:
                generator.standard_normal(step)
            self._position += step
        return tuple(generator.bit_generator.state for generator in self._generators)


def shocks_from_states(states: Sequence[Mapping[str, Any]], count: int) -> np.ndarray:
    """``count`` rows of shocks ``(count, len(states))`` from the streams' states
    (``ShockStreams.states``): the rows of ``path_shocks`` from that draw on, bit for bit."""
    out = np.empty((count, len(states)))
    for j, state in enumerate(states):
        bit_generator = np.random.PCG64(0)
        bit_generator.state = dict(state)
        out[:, j] = np.random.Generator(bit_generator).standard_normal(count)
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
