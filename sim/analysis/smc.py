"""Sequential Monte Carlo through observed years: a pure sampler (docs/calibration.md).

The target is ``prior × L(observations)``, the prior ``N(0, blockdiag(R, I))`` on a particle's
state: ``n_scores`` normal scores with correlation ``R`` (the uncertainties, whitened by the
Cholesky factor of ``R``), then the standard normal shocks of every path, year by year
(``StateLayout``). The likelihood is Gaussian in standardised residuals that a caller's
``simulate(states, through_year)`` returns; this module never runs a model.

The observed years are added in turn (the targets ``prior × L(years ≤ y)``, Chopin 2002; Del
Moral, Doucet & Jasra 2006), each bridged from the last by tempering its likelihood: each step
raises the exponent as far as keeps ``TEMPERING_ESS_SHARE`` of the draws effective (adaptive
exponents, Jasra et al. 2011), resamples (systematic), then makes preconditioned Crank-Nicolson
proposals (Cotter et al. 2013) along the eigen-directions of the particles' covariance on the
whitened prior scale, with a step ``scale × sqrt(eigenvalue)`` (capped at 1: a fresh prior draw)
adapted towards an acceptance rate of ``TARGET_ACCEPTANCE``, so directions the data leave alone
are redrawn from the prior and directions they pin down are explored locally (likelihood-informed
subspaces, Cui et al. 2016). Between years every particle's shocks after the year just added are
drawn afresh (a Gibbs step: nothing observed so far depends on them), as a particle filter does.
``POPULATIONS`` independent populations run side by side (one ``simulate`` call per move for all
of them) and are pooled; the spread of their means gives the pooled sample's effective size
(``replicate_ess``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from sim.analysis.importance_weighting import (
    kish_ess,
    log_likelihood,
    normalised_weights,
    systematic_resample,
)
from sim.errors import InnosimError

#: Each tempering step keeps this share of the draws effective.
TEMPERING_ESS_SHARE = 0.5
#: Metropolis moves after each tempering step: until this share of the particles has moved
#: at least once (the rule of Drovandi & Pettitt 2011, R = log c / log(1 - acceptance), with
#: the acceptance observed), at least ``MIN_MOVES`` and at most ``MAX_MOVES``.
MOVED_SHARE = 0.5
MIN_MOVES = 2
MAX_MOVES = 10
#: Independent tempered populations (their spread measures the Monte Carlo error).
POPULATIONS = 4
#: Quantile, over the uncertainties, of their ESS reported for a tempered sample.
ESS_QUANTILE = 0.25
#: Tempering gives up after this many steps.
MAX_STAGES = 60
#: Target acceptance rate of the random-walk moves (Roberts, Gelman & Gilks 1997).
TARGET_ACCEPTANCE = 0.234
#: Spawn key of the random stream of the sampler (``SeedSequence(seed, spawn_key=(5,))``;
#: samplers use 1-3, posterior resampling 4, ``sim.workflows.calibrate`` 6).
TEMPERING_STREAM = 5

#: ``simulate(states (m, columns), through_year) -> residuals (n_obs ≤ year, m)``: the
#: standardised residuals (``(model - value) / sd``) of the observations of years up to
#: ``through_year``, in the order of ``observed_years``, of each state (NaN or ±inf where its
#: run is not finite).
Simulate = Callable[[np.ndarray, int], np.ndarray]
Progress = Callable[[str], None]


class TemperingError(InnosimError, ValueError):
    """Tempering did not reach the posterior (the message says where it stopped)."""


@dataclass(frozen=True)
class Stage:
    """One tempering step: the observed year it adds, the exponent of that year's likelihood
    reached, ESS of its weights, the number of moves that followed, their acceptance rate and
    their scale (fraction of the draws' covariance)."""

    year: int
    temperature: float
    ess: float
    moves: int
    acceptance: float
    scale: float


@dataclass(frozen=True)
class StateLayout:
    """The columns of a particle's state: ``n_scores`` normal scores, then the standard normal
    shocks of every path, year by year.

    Attributes:
        n_scores: the number of normal scores (the first columns).
        paths: ``(name, drawn years)`` of each path's block of shock columns, in column order.
    """

    n_scores: int
    paths: tuple[tuple[str, np.ndarray], ...] = ()

    @property
    def shock_years(self) -> np.ndarray:
        """The calendar year of every shock column."""
        years = [years for _, years in self.paths]
        return np.concatenate(years).astype(int) if years else np.zeros(0, dtype=int)

    @property
    def columns(self) -> int:
        """The number of columns of a state."""
        return self.n_scores + sum(years.size for _, years in self.paths)

    def shocks(self, state: np.ndarray) -> dict[str, np.ndarray]:
        """``{path: (draws, years)}`` of states ``(draws, columns)`` (views)."""
        out, start = {}, self.n_scores
        for name, years in self.paths:
            out[name] = state[:, start : start + years.size]
            start += years.size
        return out


@dataclass(frozen=True)
class TemperedSample:
    """The pooled, equally weighted result of ``sequential_monte_carlo``.

    Attributes:
        states: ``(n, columns)`` (``StateLayout``): the shocks after the last observed year are
            the starting state of the same row number's (unconditioned).
        residuals: ``(n_obs, n)`` standardised residuals of the states' last runs.
        ancestors: for each row, the row of ``start`` it descends from.
        stages: every population's tempering steps.
        ess: effective sample size of the pooled sample (``replicate_ess`` of the normal
            scores; with one population, its number of distinct ancestors).
    """

    states: np.ndarray = field(repr=False)
    residuals: np.ndarray = field(repr=False)
    ancestors: np.ndarray = field(repr=False)
    stages: tuple[Stage, ...]
    ess: float


def _ess_at(log_likelihood: np.ndarray, step: float) -> float:
    finite = np.isfinite(log_likelihood)
    if step <= 0:
        return float(log_likelihood.size)
    log_weights = np.where(finite, step * np.where(finite, log_likelihood, 0.0), -np.inf)
    return kish_ess(normalised_weights(log_weights))


def _next_temperature(log_likelihood: np.ndarray, temperature: float, goal: float) -> float:
    """The largest temperature ≤ 1 whose incremental weights keep ESS ≥ ``goal``."""
    if _ess_at(log_likelihood, 1.0 - temperature) >= goal:
        return 1.0
    smallest = 1e-12
    if _ess_at(log_likelihood, smallest) < goal:  # only impossible draws would remain
        return temperature + smallest
    step = optimize.brentq(
        lambda s: _ess_at(log_likelihood, s) - goal, smallest, 1.0 - temperature, xtol=1e-10
    )
    return temperature + step


def replicate_ess(populations: list[np.ndarray], quantile: float = ESS_QUANTILE) -> float:
    """Effective sample size of the pooled draws of independent populations.

    For each column (a quantity), the variance of the pooled mean estimated from the spread
    of the population means, compared with the variance of one draw: ``ESS = s² / Var(mean)``
    (capped at the number of draws); the ``quantile`` of these over the columns is returned
    (the lower quartile by default: most quantities are estimated at least this well).
    """
    sizes = np.array([len(p) for p in populations])
    total = int(sizes.sum())
    if len(populations) < 2 or populations[0].shape[1] == 0:
        return float(total)
    pooled = np.vstack(populations)
    variance = pooled.var(axis=0, ddof=1)
    means = np.vstack([p.mean(axis=0) for p in populations])
    spread = means.var(axis=0, ddof=1) / len(populations)
    keep = variance > 0
    if not keep.any():
        return float(total)
    with np.errstate(divide="ignore", invalid="ignore"):
        ess = np.where(spread[keep] > 0, variance[keep] / spread[keep], np.inf)
        chosen = np.quantile(ess, quantile)  # NaN between two infinite ESS
    return float(total if np.isnan(chosen) else min(total, chosen))


@dataclass
class _Population:
    """The state of one population of particles (rows of ``state``, ``StateLayout``).

    ``loglik_before`` is the log-likelihood of the years already added, ``loglik_year`` that
    of the year being added, at exponent ``temperature``.
    """

    members: np.ndarray
    state: np.ndarray
    residuals: np.ndarray
    rng: np.random.Generator
    ancestors: np.ndarray = field(init=False)
    loglik_before: np.ndarray = field(init=False)
    loglik_year: np.ndarray = field(init=False)
    temperature: float = 0.0
    scale: float = 1.0
    stages: list[Stage] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ancestors = np.arange(len(self.state))

    def begin_year(self, before: np.ndarray, current: np.ndarray) -> None:
        """Start adding the observations ``current`` to those ``before`` (boolean rows)."""
        self.loglik_before = log_likelihood(self.residuals[before])
        self.loglik_year = log_likelihood(self.residuals[current])
        self.temperature = 0.0

    def reweight(self, year: int) -> float:
        """Raise the year's exponent as far as ESS ≥ half the draws allows, and resample."""
        n = len(self.state)
        if len(self.stages) >= MAX_STAGES:
            raise TemperingError(
                f"tempering did not reach the posterior in {MAX_STAGES} steps (year {year}, "
                f"temperature {self.temperature:.3g}); the observations conflict with the "
                "prior ranges"
            )
        loglik = np.where(np.isfinite(self.loglik_before), self.loglik_year, -np.inf)
        new = _next_temperature(loglik, self.temperature, TEMPERING_ESS_SHARE * n)
        log_weights = np.where(np.isfinite(loglik), (new - self.temperature) * loglik, -np.inf)
        weights = normalised_weights(log_weights)
        index = systematic_resample(weights, n, self.rng)
        self.state, self.residuals = self.state[index], self.residuals[:, index]
        self.loglik_before, self.loglik_year = self.loglik_before[index], self.loglik_year[index]
        self.ancestors = self.ancestors[index]
        self.temperature = new
        return kish_ess(weights)

    def target(self, before: np.ndarray, current: np.ndarray) -> np.ndarray:
        """Tempered log-likelihood of each particle (``-inf`` where impossible)."""
        with np.errstate(invalid="ignore"):
            total = before + self.temperature * current
        return np.where(np.isfinite(total), total, -np.inf)


def sequential_monte_carlo(
    start: np.ndarray,
    residuals: np.ndarray,
    layout: StateLayout,
    observed_years: np.ndarray,
    correlation: np.ndarray,
    seed: int,
    simulate: Simulate,
    *,
    moves: int | None = None,
    progress: Progress | None = None,
) -> TemperedSample:
    """Sample ``prior × L(observations)`` by sequential Monte Carlo through the observed years
    (see the module doc), in ``POPULATIONS`` populations (the rows of ``start`` dealt out in
    turn; one population when there are fewer than twice as many rows).

    Args:
        start: ``(n, layout.columns)`` prior draws of the state (normal scores, shocks).
        residuals: ``(n_obs, n)`` their standardised residuals (every observation).
        layout: the columns of a state.
        observed_years: ``(n_obs,)`` the calendar year of each observation (residual row).
        correlation: ``(n_scores, n_scores)`` prior correlation ``R`` of the normal scores.
        seed: seed of the sampler's random stream (``TEMPERING_STREAM``).
        simulate: the residuals of states through a year (``Simulate``); runs stop there.
        moves: Metropolis moves after each tempering step (default: adaptive, between
            ``MIN_MOVES`` and ``MAX_MOVES`` until ``MOVED_SHARE`` of the particles moved).
        progress: called with a line of text after each step of each population.

    Raises:
        TemperingError: a population took more than ``MAX_STAGES`` steps.
    """
    n = len(start)
    d = layout.n_scores
    shock_years = layout.shock_years
    observed_years = np.asarray(observed_years)
    years = sorted(set(observed_years.tolist()))
    count = POPULATIONS if n >= POPULATIONS * 2 else 1
    streams = np.random.SeedSequence(seed, spawn_key=(TEMPERING_STREAM,)).spawn(count)
    whiten = np.linalg.cholesky(correlation) if d else np.zeros((0, 0))
    populations = [
        _Population(
            members=np.arange(k, n, count),
            state=start[k::count].copy(),
            residuals=residuals[:, k::count].copy(),
            rng=np.random.default_rng(stream),
        )
        for k, stream in enumerate(streams)
    ]

    def run(states: list[np.ndarray], year: int) -> list[np.ndarray]:
        stacked = np.vstack(states)
        rows = observed_years <= year
        out = np.full((len(observed_years), len(stacked)), np.nan)
        out[rows] = simulate(stacked, year)
        return np.hsplit(out, np.cumsum([len(state) for state in states])[:-1])

    for k, year in enumerate(years):
        before, current = observed_years < year, observed_years == year
        if k:
            refreshed = d + np.flatnonzero(shock_years > years[k - 1])
            for p in populations:
                p.state[:, refreshed] = p.rng.standard_normal((len(p.state), refreshed.size))
            parts = run([p.state for p in populations], year)
            for p, part in zip(populations, parts, strict=True):
                p.residuals = part
        movable = np.concatenate([np.ones(d, dtype=bool), shock_years <= year])
        for p in populations:
            p.begin_year(before, current)
        while True:
            active = [p for p in populations if p.temperature < 1.0]
            if not active:
                break
            step_ess = {id(p): p.reweight(year) for p in active}
            accepted = dict.fromkeys(map(id, active), 0.0)
            moved_once = {id(p): np.zeros(len(p.state), dtype=bool) for p in active}
            frames = {id(p): _frame(p.state[:, movable], whiten, d) for p in active}
            n_moves = 0
            while movable.any() and n_moves < (MAX_MOVES if moves is None else moves):
                if (
                    moves is None
                    and n_moves >= MIN_MOVES
                    and all(flags.mean() >= MOVED_SHARE for flags in moved_once.values())
                ):
                    break
                n_moves += 1
                proposals = []
                for p in active:
                    basis, spread, coords = frames[id(p)]
                    step = np.minimum(1.0, p.scale * np.sqrt(spread))
                    moved = np.sqrt(1 - step**2) * coords + step * p.rng.standard_normal(
                        coords.shape
                    )
                    proposal = p.state.copy()
                    proposal[:, movable] = _unwhiten(moved @ basis.T, whiten, d)
                    proposals.append((moved, proposal))
                parts = run([proposal for _, proposal in proposals], year)
                for p, (moved, proposal), part in zip(active, proposals, parts, strict=True):
                    new_before = log_likelihood(part[before])
                    new_year = log_likelihood(part[current])
                    new_target = p.target(new_before, new_year)
                    with np.errstate(invalid="ignore"):
                        log_ratio = new_target - p.target(p.loglik_before, p.loglik_year)
                    size = len(proposal)
                    accept = np.isfinite(new_target) & (np.log(p.rng.random(size)) < log_ratio)
                    frames[id(p)][2][accept] = moved[accept]
                    p.state[accept] = proposal[accept]
                    p.residuals[:, accept] = part[:, accept]
                    p.loglik_before[accept] = new_before[accept]
                    p.loglik_year[accept] = new_year[accept]
                    moved_once[id(p)] |= accept
                    rate = float(accept.mean())
                    accepted[id(p)] += rate
                    p.scale *= float(np.exp(rate - TARGET_ACCEPTANCE))
            for index, p in enumerate(populations):
                if id(p) not in step_ess:
                    continue
                acceptance = accepted[id(p)] / n_moves if n_moves else 0.0
                p.stages.append(
                    Stage(int(year), p.temperature, step_ess[id(p)], n_moves, acceptance, p.scale)
                )
                if progress is not None:
                    progress(
                        f"year {year}, population {index + 1} of {count}, step "
                        f"{len(p.stages)}: temperature {p.temperature:.4g}, ESS "
                        f"{step_ess[id(p)]:.0f} of {len(p.state)}, {n_moves} moves, acceptance "
                        f"{acceptance:.2f}"
                    )
    pooled = np.vstack([p.state for p in populations])
    unobserved = np.concatenate([np.zeros(d, dtype=bool), shock_years > years[-1]])
    pooled[:, unobserved] = start[:, unobserved]
    finals = [p.state[:, :d] for p in populations]
    ess = replicate_ess(finals) if count > 1 else float(np.unique(populations[0].ancestors).size)
    return TemperedSample(
        states=pooled,
        residuals=np.hstack([p.residuals for p in populations]),
        ancestors=np.concatenate([p.members[p.ancestors] for p in populations]),
        stages=tuple(stage for p in populations for stage in p.stages),
        ess=ess,
    )


def _frame(state: np.ndarray, whiten: np.ndarray, d: int) -> tuple[np.ndarray, ...]:
    """Eigen-directions, their variances and the particles' coordinates in them, on the
    whitened prior scale (normal scores whitened by ``whiten``; shocks are white already)."""
    white = state.copy()
    if d:
        white[:, :d] = np.linalg.solve(whiten, state[:, :d].T).T
    spread, basis = np.linalg.eigh(np.atleast_2d(np.cov(white, rowvar=False)))
    return basis, np.clip(spread, 1e-12, None), white @ basis


def _unwhiten(white: np.ndarray, whiten: np.ndarray, d: int) -> np.ndarray:
    out = white.copy()
    if d:
        out[:, :d] = white[:, :d] @ whiten.T
    return out
