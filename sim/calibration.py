"""Conditioning a scenario's uncertainties on observed data (``innosim calibrate`` and
``innosim assess``); docs/calibration.md explains the method and its choices.

``condition(scenario, observations)`` weighs the scenario's prior draws by their Gaussian
likelihood (importance weighting, ``sim.analysis.weighting``). When the weights are too uneven
(Kish ESS below ``ess_floor``) it bridges prior and posterior by likelihood tempering: a
sequence of importance-weighting steps, each keeping half of the draws effective, with
resampling and Metropolis moves in between (a sequential Monte Carlo sampler, Del Moral,
Doucet & Jasra 2006, with adaptive temperatures, Jasra et al. 2011). The moves work on the
normal-score scale, where the scenario's prior is N(0, R): every uncertainty ``x`` is
``ppf(Φ(z))`` with ``R`` the normal-score correlations the sampler imposes (Iman-Conover,
``sim.sampling``). They are preconditioned Crank-Nicolson proposals (Cotter et al. 2013) along
the eigen-directions of the draws' covariance, with a step proportional to the posterior
spread in each direction, so directions the data leave alone are redrawn from the prior and
directions they pin down are explored locally (the idea of likelihood-informed subspaces, Cui
et al. 2016). ``POPULATIONS`` independent populations are tempered and pooled; the spread of
their means gives the effective sample size of the pooled sample (``replicate_ess``).

It refuses (``CalibrationError``) when the result cannot be trusted: every draw impossible,
too few effective draws, or an observation that no posterior draw comes within
``IMPLAUSIBILITY_CUTOFF`` standard deviations of (the model cannot reproduce it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from scipy import optimize, stats

from sim.analysis.weighting import (
    kish_ess,
    log_likelihood,
    normalised_weights,
    standardised_residuals,
    systematic_resample,
    weighted_target_table,
    with_discrepancy,
)
from sim.engine import CompiledModel, compile_model
from sim.ensemble import (
    EnsembleInputs,
    central_exogenous,
    lever_params,
    monte_carlo_settings,
    package_versions,
    run_ensemble,
    scenario_inputs,
    simulate_draws,
    simulate_inputs,
)
from sim.errors import InnosimError
from sim.posterior import PRIOR
from sim.results import UNCERTAINTY, slug
from sim.sampling import correlation_matrix, iman_conover, uniforms
from sim.scenario import Choice, MonteCarlo, Scenario, Target, scenario_digest
from sim.vensim import ModelVariable, model_documentation, model_structure

#: Plain importance weighting is used when its Kish ESS reaches ``ess_floor(draws)``.
FLOOR_DRAWS = 100
FLOOR_SHARE = 0.01
#: Each tempering step keeps this share of the draws effective.
TEMPERING_ESS_SHARE = 0.5
#: Metropolis moves after each tempering step.
MOVES_PER_STAGE = 5
#: Independent tempered populations (their spread measures the Monte Carlo error).
POPULATIONS = 4
#: Quantile, over the uncertainties, of their ESS reported for a tempered sample.
ESS_QUANTILE = 0.25
#: Tempering gives up after this many steps.
MAX_STAGES = 60
#: An observation farther than this many sd from every posterior draw is not reproducible.
IMPLAUSIBILITY_CUTOFF = 3.0
#: Target acceptance rate of the random-walk moves (Roberts, Gelman & Gilks 1997).
TARGET_ACCEPTANCE = 0.234
#: Spawn keys of the random streams used here (samplers use 1-3, posterior resampling 4).
TEMPERING_STREAM = 5
SAMPLE_STREAM = 6

Progress = Callable[[str], None]


class CalibrationError(InnosimError):
    """The observations cannot be conditioned on reliably (the message says why)."""


def ess_floor(n_draws: int) -> float:
    """Smallest Kish ESS accepted from plain importance weighting: ``max(100, 1 % of draws)``."""
    return max(float(FLOOR_DRAWS), FLOOR_SHARE * n_draws)


# --- the prior on the normal-score scale ---------------------------------------------------


#: the normal-score table of ``NormalScores.values``: points and the largest |z| (Φ(±8.2)
#: is within 2e-16 of 0 and 1, where the inverse CDF meets double precision)
SCORE_TABLE_POINTS = 16385
SCORE_TABLE_LIMIT = 8.2


@dataclass(frozen=True)
class NormalScores:
    """A scenario's prior on the normal-score scale: ``z ~ N(0, R)``, ``x = ppf(Φ(z))``.

    Attributes:
        names: the uncertainties, sorted (the columns of ``z``).
        correlation: ``R``, the normal-score correlation matrix (identity but for the
            scenario's correlated pairs, ``2 sin(π r / 6)`` for a Spearman ``r``).
    """

    names: tuple[str, ...]
    correlation: np.ndarray = field(repr=False)
    distributions: Mapping[str, object] = field(repr=False)
    _tables: dict[str, tuple[np.ndarray, np.ndarray] | None] = field(
        default_factory=dict, repr=False, compare=False
    )

    def values(self, scores: np.ndarray) -> dict[str, np.ndarray]:
        """The uncertainties' values (model units) of scores ``(n, d)``.

        A continuous distribution's ``ppf(Φ(z))`` is interpolated linearly in a table of
        ``SCORE_TABLE_POINTS`` exact values over ``|z| ≤ SCORE_TABLE_LIMIT`` (error below 1e-5
        of the distribution's 5-95 % range for |z| ≤ 7, tested on the baseline; beyond 8.2 the
        value at 8.2); a discrete one's is exact. The inverse CDFs of the PERT and beta
        distributions were otherwise most of a tempering run's time.
        """
        out = {}
        for k, name in enumerate(self.names):
            table = self._table(name)
            if table is None:
                tiny, top = np.finfo(float).tiny, np.nextafter(1.0, 0.0)
                u = np.clip(stats.norm.cdf(scores[:, k]), tiny, top)
                out[name] = self.distributions[name].ppf(u)
            else:
                out[name] = np.interp(scores[:, k], *table)
        return out

    def prior_values(self, uniforms: np.ndarray) -> dict[str, np.ndarray]:
        """The uncertainties' values (model units) of prior uniforms ``(n, d)`` (exact inverse
        CDFs: the values ``sim.sampling.sample`` gives, see ``prior_uniforms``)."""
        return {
            name: self.distributions[name].ppf(uniforms[:, k]) for k, name in enumerate(self.names)
        }

    def _table(self, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        if name not in self._tables:
            distribution = self.distributions[name]
            if isinstance(distribution, Choice):
                self._tables[name] = None
            else:
                grid = np.linspace(-SCORE_TABLE_LIMIT, SCORE_TABLE_LIMIT, SCORE_TABLE_POINTS)
                self._tables[name] = (grid, distribution.ppf(stats.norm.cdf(grid)))
        return self._tables[name]

    def log_density(self, scores: np.ndarray) -> np.ndarray:
        """Log prior density of scores ``(n, d)``, up to a constant."""
        if not self.names:
            return np.zeros(len(scores))
        solved = np.linalg.solve(self.correlation, scores.T).T
        return -0.5 * np.sum(scores * solved, axis=1)


def normal_scores(scenario: Scenario) -> NormalScores:
    """The prior of ``scenario`` on the normal-score scale."""
    names = tuple(sorted(scenario.uncertainties))
    correlation = np.eye(len(names))
    if scenario.correlations:
        correlated, spearman = correlation_matrix(scenario.correlations)
        index = [names.index(name) for name in correlated]
        correlation[np.ix_(index, index)] = 2 * np.sin(np.pi * spearman / 6)
    return NormalScores(names, correlation, dict(scenario.uncertainties))


def prior_uniforms(scenario: Scenario, settings: MonteCarlo) -> np.ndarray:
    """Uniforms ``(draws, d)`` (columns: sorted names) of the prior draws that
    ``sim.sampling.sample`` makes with ``settings``: same streams, same Iman-Conover pairing,
    so ``ppf`` of column k gives exactly its draws of the k-th uncertainty."""
    names = sorted(scenario.uncertainties)
    u = uniforms(names, settings.draws, settings.seed, settings.sampler)
    if scenario.correlations:
        correlated, spearman = correlation_matrix(scenario.correlations)
        block = np.column_stack([u[name] for name in correlated])
        block = iman_conover(block, 2 * np.sin(np.pi * spearman / 6))
        u.update({name: block[:, j] for j, name in enumerate(correlated)})
    if not names:
        return np.zeros((settings.draws, 0))
    return np.column_stack([u[name] for name in names])


# --- the likelihood --------------------------------------------------------------------------


@dataclass(frozen=True)
class Likelihood:
    """Simulates draws of a scenario and scores them against observations.

    ``inputs`` are the prior draws' (``sim.ensemble.scenario_inputs``): the levers, drivers
    and the prior draws' paths. A particle is simulated with its uncertainties' values and the
    path of the prior draw it descends from (paths are not conditioned on: resampling carries
    a particle's path along, Metropolis moves change only its uncertainties).
    """

    compiled: CompiledModel
    inputs: EnsembleInputs = field(repr=False)
    observations: pd.DataFrame
    outputs: tuple[str, ...]

    def residuals(
        self, drawn: Mapping[str, np.ndarray], path_index: np.ndarray | None = None
    ) -> np.ndarray:
        """Standardised residuals ``(n_obs, n_draws)`` of the draws ``drawn``, each with the
        paths of prior draw ``path_index`` (default: draw i has prior draw i's paths)."""
        inputs = self.inputs.with_draws(drawn, path_index)
        times, values = simulate_inputs(self.compiled, inputs, list(self.outputs))
        return standardised_residuals(values, times, self.observations)


def _likelihood(
    scenario: Scenario,
    observations: pd.DataFrame,
    compiled: CompiledModel,
    settings: MonteCarlo,
    prior: Mapping[str, np.ndarray],
) -> Likelihood:
    times = compiled.times()
    for row in observations.itertuples(index=False):
        if not np.isclose(times, row.year).any():
            raise CalibrationError(
                f"observation of '{row.variable}' in {row.year}: not a saved year of the model "
                f"({times[0]:g}-{times[-1]:g})"
            )
    outputs = tuple(dict.fromkeys(observations["variable"]))
    inputs = scenario_inputs(scenario, settings, compiled, uncertainty_draws=prior)
    return Likelihood(compiled, inputs, observations, outputs)


# --- the result ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    """One tempering step: likelihood exponent reached, ESS of its weights, acceptance rate of
    the moves that followed and their scale (fraction of the draws' covariance)."""

    temperature: float
    ess: float
    acceptance: float
    scale: float


@dataclass(frozen=True)
class Conditioned:
    """A scenario's uncertainties conditioned on observations.

    Attributes:
        observations: the data (``sim.observed`` columns).
        settings: draws, seed and sampler of the prior sample.
        prior: the prior draws ``{name: (draws,)}`` (those ``innosim run`` would use).
        prior_residuals: their standardised residuals ``(n_obs, n_draws)`` (in the
            likelihood's sd, widened where ``misfits`` say).
        prior_log_likelihood: their Gaussian log-likelihood.
        prior_weights: plain importance weights of the prior draws (normalised).
        importance_ess: Kish ESS of ``prior_weights``.
        method: ``"importance"`` (the posterior is the weighted prior draws) or
            ``"tempering"`` (the posterior is the equally weighted tempered sample).
        draws, weights: the posterior as a weighted sample (normalised weights).
        ancestors: for each posterior draw, the prior draw it descends from.
        ess: effective sample size of the posterior: Kish's for importance weights; for a
            tempered sample ``replicate_ess`` of its independent populations.
        stages: the tempering steps (empty for ``importance``).
        residuals: standardised residuals ``(n_obs, n_draws)`` of the posterior draws (in the
            likelihood's sd: measurement and model discrepancy).
        misfits: the observations no prior draw comes within ``IMPLAUSIBILITY_CUTOFF`` sd of
            (``misfit_table``), whose discrepancy was widened (``widened_sd``) so that the
            closest draw is at the cut-off; empty when the model reproduces every one.
            ``observations`` carry the widened sd.
    """

    observations: pd.DataFrame
    settings: MonteCarlo
    prior: dict[str, np.ndarray] = field(repr=False)
    prior_residuals: np.ndarray = field(repr=False)
    prior_log_likelihood: np.ndarray = field(repr=False)
    prior_weights: np.ndarray = field(repr=False)
    importance_ess: float
    method: str
    draws: dict[str, np.ndarray] = field(repr=False)
    weights: np.ndarray = field(repr=False)
    ancestors: np.ndarray = field(repr=False)
    ess: float
    stages: tuple[Stage, ...]
    residuals: np.ndarray = field(repr=False)
    misfits: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)

    @property
    def n_draws(self) -> int:
        """Number of prior draws (and of posterior draws)."""
        return self.settings.draws

    @property
    def last_observed_year(self) -> int:
        """The last year conditioned on: the posterior's paths follow their ancestors up to it
        and fresh shocks after it (``sim.ensemble.scenario_inputs``)."""
        return int(self.observations["year"].max())

    def posterior_sample(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """An equally weighted posterior sample of ``n_draws`` draws (systematic resampling of
        the weighted draws) and the prior draw each descends from."""
        rng = np.random.default_rng(
            np.random.SeedSequence(self.settings.seed, spawn_key=(SAMPLE_STREAM,))
        )
        index = systematic_resample(self.weights, self.n_draws, rng)
        return {name: values[index] for name, values in self.draws.items()}, self.ancestors[index]

    def closest(self) -> pd.DataFrame:
        """Per observation: the smallest |standardised residual| over the posterior draws and
        the weighted mean residual (implausibility: > 3 means not reproduced)."""
        absolute = np.abs(self.residuals)
        nearest = np.where(np.isfinite(absolute), absolute, np.inf).min(axis=1)
        finite = np.where(np.isfinite(self.residuals), self.residuals, 0.0)
        frame = self.observations[["variable", "year", "value", "sd"]].copy()
        frame["closest_residual"] = nearest
        frame["mean_residual"] = finite @ self.weights
        return frame.reset_index(drop=True)


# --- conditioning ----------------------------------------------------------------------------


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
    with np.errstate(divide="ignore"):
        ess = np.where(spread[keep] > 0, variance[keep] / spread[keep], np.inf)
    return float(min(total, np.quantile(ess, quantile)))


@dataclass
class _Population:
    """The state of one tempered population (scores on the normal-score scale)."""

    members: np.ndarray
    scores: np.ndarray
    residuals: np.ndarray
    rng: np.random.Generator
    loglik: np.ndarray = field(init=False)
    ancestors: np.ndarray = field(init=False)
    temperature: float = 0.0
    scale: float = 1.0
    stages: list[Stage] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.loglik = log_likelihood(self.residuals)
        self.ancestors = np.arange(len(self.scores))

    def reweight(self) -> float:
        """Raise the temperature as far as ESS ≥ half the draws allows, and resample."""
        n = len(self.scores)
        if len(self.stages) >= MAX_STAGES:
            raise CalibrationError(
                f"tempering did not reach the posterior in {MAX_STAGES} steps (temperature "
                f"{self.temperature:.3g}); the observations conflict with the prior ranges"
            )
        new = _next_temperature(self.loglik, self.temperature, TEMPERING_ESS_SHARE * n)
        step = new - self.temperature
        log_weights = np.where(np.isfinite(self.loglik), step * self.loglik, -np.inf)
        weights = normalised_weights(log_weights)
        index = systematic_resample(weights, n, self.rng)
        self.scores, self.residuals = self.scores[index], self.residuals[:, index]
        self.loglik, self.ancestors = self.loglik[index], self.ancestors[index]
        self.temperature = new
        return kish_ess(weights)


def _temper_populations(
    space: NormalScores,
    likelihood: Likelihood,
    scores: np.ndarray,
    residuals: np.ndarray,
    settings: MonteCarlo,
    moves: int,
    progress: Progress | None,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, list[Stage], float]:
    """Temper ``POPULATIONS`` independent populations (the prior draws dealt out in turn) side
    by side, one model run per move for all of them, and pool them.

    Each step raises a population's temperature as far as keeps half its draws effective,
    resamples, then makes ``moves`` preconditioned Crank-Nicolson proposals along the
    eigen-directions of its draws' covariance on the whitened prior scale (reversible for
    the prior, so only the tempered likelihood enters the acceptance ratio), with a step of
    ``scale × sqrt(eigenvalue)`` (capped at 1: a fresh prior draw) adapted towards an
    acceptance rate of ``TARGET_ACCEPTANCE``.

    Returns the pooled values, residuals, prior ancestors, every population's stages and the
    pooled ESS (``replicate_ess``).
    """
    n, d = scores.shape
    count = POPULATIONS if n >= POPULATIONS * 2 else 1
    seeds = np.random.SeedSequence(settings.seed, spawn_key=(TEMPERING_STREAM,)).spawn(count)
    whiten = np.linalg.cholesky(space.correlation) if d else np.zeros((0, 0))
    populations = [
        _Population(
            members=np.arange(k, n, count),
            scores=scores[k::count].copy(),
            residuals=residuals[:, k::count].copy(),
            rng=np.random.default_rng(seed),
        )
        for k, seed in enumerate(seeds)
    ]
    while True:
        active = [p for p in populations if p.temperature < 1.0]
        if not active:
            break
        step_ess = {id(p): p.reweight() for p in active}
        frames = {}
        for p in active:
            if d:
                white = np.linalg.solve(whiten, p.scores.T).T
                spread, basis = np.linalg.eigh(np.atleast_2d(np.cov(white, rowvar=False)))
                frames[id(p)] = (basis, np.clip(spread, 1e-12, None), white @ basis)
        accepted = dict.fromkeys(map(id, active), 0.0)
        for _ in range(moves if d else 0):
            proposals = []
            for p in active:
                basis, spread, coords = frames[id(p)]
                step = np.minimum(1.0, p.scale * np.sqrt(spread))
                noise = p.rng.standard_normal(coords.shape)
                moved = np.sqrt(1 - step**2) * coords + step * noise
                proposals.append((moved, moved @ basis.T @ whiten.T))
            stacked = np.vstack([proposal for _, proposal in proposals])
            carried = np.concatenate([p.members[p.ancestors] for p in active])
            new_residuals = likelihood.residuals(space.values(stacked), carried)
            start = 0
            for p, (moved, proposal) in zip(active, proposals, strict=True):
                size = len(proposal)
                part = new_residuals[:, start : start + size]
                start += size
                new_loglik = log_likelihood(part)
                with np.errstate(invalid="ignore"):
                    log_ratio = p.temperature * (new_loglik - p.loglik)
                accept = np.isfinite(new_loglik) & (np.log(p.rng.random(size)) < log_ratio)
                basis, spread, coords = frames[id(p)]
                coords[accept] = moved[accept]
                p.scores[accept] = proposal[accept]
                p.residuals[:, accept] = part[:, accept]
                p.loglik[accept] = new_loglik[accept]
                rate = float(accept.mean())
                accepted[id(p)] += rate
                p.scale *= float(np.exp(rate - TARGET_ACCEPTANCE))
        for k, p in enumerate(populations):
            if id(p) not in step_ess:
                continue
            acceptance = accepted[id(p)] / moves if moves and d else 0.0
            p.stages.append(Stage(p.temperature, step_ess[id(p)], acceptance, p.scale))
            if progress is not None:
                progress(
                    f"tempering, population {k + 1} of {count}, step {len(p.stages)}: "
                    f"temperature {p.temperature:.4g}, ESS {step_ess[id(p)]:.0f} of "
                    f"{len(p.scores)}, acceptance {acceptance:.2f}"
                )
    finals = [p.scores for p in populations]
    ess = replicate_ess(finals) if count > 1 else float(np.unique(populations[0].ancestors).size)
    return (
        space.values(np.vstack(finals)),
        np.hstack([p.residuals for p in populations]),
        np.concatenate([p.members[p.ancestors] for p in populations]),
        [stage for p in populations for stage in p.stages],
        ess,
    )


def condition(
    scenario: Scenario,
    observations: pd.DataFrame,
    *,
    draws: int | None = None,
    seed: int | None = None,
    sampler: str | None = None,
    model: str | Path | None = None,
    tempering: bool = True,
    moves: int = MOVES_PER_STAGE,
    strict: bool = False,
    progress: Progress | None = None,
) -> Conditioned:
    """Condition a scenario's uncertainties on observations (see the module doc).

    Args:
        scenario: the scenario; its priors are conditioned (a ``posterior`` it names is
            ignored: conditioning always starts from the distributions).
        observations: rows ``variable, year, value, sd`` (``sim.observed.load_observed``);
            those of the scenario's drivers and paths are left out (with a progress line).
        draws, seed, sampler: override the scenario's Monte Carlo settings.
        model: the ``.mdl`` file (default: the project's model).
        tempering: bridge prior and posterior by tempering when plain importance weights are
            too uneven; ``False`` refuses instead.
        moves: Metropolis moves after each tempering step.
        strict: refuse when an observation is not reproduced (``misfits``) instead of
            reporting it and widening its discrepancy.
        progress: called with a line of text after each step.

    The likelihood's sd of each observation is its measurement sd and the scenario's model
    discrepancy for the variable added in quadrature (``with_discrepancy``).

    Raises:
        CalibrationError: the observations cannot be conditioned on reliably (or, with
            ``strict``, one is not reproduced).
    """
    settings = monte_carlo_settings(scenario, draws, seed, sampler)
    compiled = compile_model(model)
    imposed = observations["variable"].isin(scenario.exogenous())
    if imposed.any():
        names = ", ".join(dict.fromkeys(observations.loc[imposed, "variable"]))
        if progress is not None:
            progress(
                f"observations of {names} not conditioned on: the scenario imposes them as "
                "data (drivers) or draws them as paths, so they say nothing about its "
                "uncertainties"
            )
        observations = observations[~imposed]
        if observations.empty:
            raise CalibrationError(
                "every observation is of a driver or a path of the scenario: nothing to "
                "condition its uncertainties on"
            )
    observations = with_discrepancy(observations, scenario.relative_discrepancy)
    space = normal_scores(scenario)
    u = prior_uniforms(scenario, settings)
    prior = space.prior_values(u)
    likelihood = _likelihood(scenario, observations, compiled, settings, prior)
    scores = stats.norm.ppf(u)
    prior_residuals = likelihood.residuals(prior)
    observations = likelihood.observations.reset_index(drop=True)
    misfits = misfit_table(observations, prior_residuals, compiled)
    if not misfits.empty:
        message = _misfit_message(misfits, n_draws=settings.draws)
        if strict:
            raise CalibrationError(message)
        if progress is not None:
            progress(message)
        # widen each misfit's discrepancy until the closest prior draw is at the cut-off
        factor = np.ones(len(observations))
        factor[misfits["observation"].to_numpy()] = misfits["widened_sd"] / misfits["sd"]
        observations = observations.assign(sd=observations["sd"] * factor)
        observations["discrepancy_sd"] = np.sqrt(
            np.maximum(observations["sd"] ** 2 - observations["measurement_sd"] ** 2, 0.0)
        )
        prior_residuals = prior_residuals / factor[:, None]
        likelihood = replace(likelihood, observations=observations)
    prior_loglik = log_likelihood(prior_residuals)
    try:
        prior_weights = normalised_weights(prior_loglik)
    except ValueError:
        raise CalibrationError(
            "every prior draw gives a non-finite model value for an observed variable"
        ) from None
    importance_ess = kish_ess(prior_weights)
    n = settings.draws
    if progress is not None:
        progress(f"importance weighting: ESS {importance_ess:.1f} of {n} draws")
    floor = ess_floor(n)
    if importance_ess >= floor:
        method, posterior, weights = "importance", prior, prior_weights
        ancestors, ess, stages, residuals = np.arange(n), importance_ess, [], prior_residuals
    elif not tempering:
        raise CalibrationError(
            f"effective sample size {importance_ess:.1f} of {n} draws is below the floor "
            f"{floor:g} (max({FLOOR_DRAWS}, {FLOOR_SHARE:.0%} of draws)): the observations "
            "are too informative for plain importance weighting of the prior draws; allow "
            "tempering or use more draws"
        )
    else:
        method = "tempering"
        posterior, residuals, ancestors, stages, ess = _temper_populations(
            space, likelihood, scores, prior_residuals, settings, moves, progress
        )
        weights = np.full(n, 1.0 / n)
    result = Conditioned(
        observations=observations.reset_index(drop=True),
        settings=settings,
        prior=prior,
        prior_residuals=prior_residuals,
        prior_log_likelihood=prior_loglik,
        prior_weights=prior_weights,
        importance_ess=importance_ess,
        method=method,
        draws=posterior,
        weights=weights,
        ancestors=ancestors,
        ess=ess,
        stages=tuple(stages),
        residuals=residuals,
        misfits=misfits,
    )
    if ess < FLOOR_DRAWS:
        raise CalibrationError(
            f"the tempered sample is worth only {ess:.0f} independent draws (floor "
            f"{FLOOR_DRAWS}, from the spread of {POPULATIONS} independent populations); "
            "use more draws"
        )
    return result


#: columns of ``misfit_table``
MISFIT_COLUMNS = [
    "observation",
    "variable",
    "year",
    "value",
    "measurement_sd",
    "discrepancy_sd",
    "sd",
    "closest_residual",
    "closest_value",
    "widened_sd",
    "suggested_value",
    "suspect_structure",
]


def misfit_table(
    observations: pd.DataFrame, residuals: np.ndarray, compiled: CompiledModel
) -> pd.DataFrame:
    """The observations that no draw comes within ``IMPLAUSIBILITY_CUTOFF`` sd of
    (implausibility with measurement error and model discrepancy; Vernon, Goldstein & Bower
    2010), with what may be wrong.

    Args:
        observations: the observations as the likelihood sees them (``sd`` the total).
        residuals: standardised residuals ``(n_obs, n_draws)`` of the draws.
        compiled: the model (units and structure).

    Returns:
        ``MISFIT_COLUMNS``: the observation's row number in ``observations``, its values and
        sds; ``closest_residual`` (signed, in ``sd``) and ``closest_value`` of the nearest draw;
        ``widened_sd``, the sd at which that draw is at the cut-off (the discrepancy the model
        needs to reach it); ``suggested_value``, the value ÷ 100 when a fraction looks given in
        percent (a dimensionless variable observed at 20-500 times the closest draw), else NaN;
        ``suspect_structure``, the variable's sector and the variables its equation reads.
    """
    held = np.where(np.isfinite(residuals), residuals, np.inf)
    rows = []
    if held.shape[1] == 0:
        return pd.DataFrame(rows, columns=MISFIT_COLUMNS)
    nearest = np.argmin(np.abs(held), axis=1)
    structure: dict[str, ModelVariable] = {}
    names: dict[str, str] = {}
    for i, row in enumerate(observations.itertuples(index=False)):
        closest = float(held[i, nearest[i]])
        if abs(closest) <= IMPLAUSIBILITY_CUTOFF:
            continue
        if not structure:
            variables = model_structure(compiled.path)
            structure = {v.name: v for v in variables}
            names = {v.key: v.name for v in variables}
        closest_value = row.value + closest * row.sd if np.isfinite(closest) else np.nan
        ratio = row.value / closest_value if closest_value else np.inf
        percent = compiled.units.get(row.variable, "") == "Dmnl" and 20 <= ratio <= 500
        suspect = ""
        if row.variable in structure:
            found = structure[row.variable]
            keys = (*found.references, *found.inflows, *found.outflows)
            inputs = ", ".join(dict.fromkeys(names.get(key, key) for key in keys))
            suspect = f"{found.sector}: {inputs}"
        rows.append(
            {
                "observation": i,
                "variable": row.variable,
                "year": int(row.year),
                "value": float(row.value),
                "measurement_sd": float(getattr(row, "measurement_sd", row.sd)),
                "discrepancy_sd": float(getattr(row, "discrepancy_sd", 0.0)),
                "sd": float(row.sd),
                "closest_residual": closest,
                "closest_value": closest_value,
                "widened_sd": abs(closest_value - row.value) / IMPLAUSIBILITY_CUTOFF,
                "suggested_value": row.value / 100 if percent else np.nan,
                "suspect_structure": suspect,
            }
        )
    return pd.DataFrame(rows, columns=MISFIT_COLUMNS)


def _misfit_message(misfits: pd.DataFrame, n_draws: int) -> str:
    lines = []
    for row in misfits.itertuples(index=False):
        text = (
            f"'{row.variable}' = {row.value:g} ± {row.sd:g} in {row.year} (closest of "
            f"{n_draws} prior draws {abs(row.closest_residual):.1f} sd away, at "
            f"{row.closest_value:.4g})"
        )
        if np.isfinite(row.suggested_value):
            text += (
                f"; the model's unit is a fraction: {row.value:g} looks like a percentage, "
                f"give {row.suggested_value:g}"
            )
        lines.append(text)
    return (
        f"the model does not reproduce {len(lines)} observation(s) within "
        f"{IMPLAUSIBILITY_CUTOFF:g} sd (measurement error and model discrepancy) with the "
        f"scenario's ranges: {'; '.join(lines)}; their discrepancy is widened to reach the "
        "closest draw (misfits.csv), --strict refuses instead"
    )


# --- the conditioned ensemble as a file ----------------------------------------------------


def posterior_dataset(
    conditioned: Conditioned,
    scenario: Scenario,
    observed_path: Path | None = None,
    model: str | Path | None = None,
) -> xr.Dataset:
    """The conditioned ensemble in the layout of ``sim.posterior`` (ready for ``to_netcdf``)."""
    compiled = compile_model(model)
    docs = {doc.name: doc for doc in model_documentation(compiled.path)}
    sample, ancestors = conditioned.posterior_sample()
    n = conditioned.n_draws
    data_vars: dict[str, xr.DataArray] = {}
    for name in sorted(scenario.uncertainties):
        distribution = scenario.uncertainties[name]
        attrs = {
            "long_name": name,
            "units": docs[name].units,
            "label_zh": docs[name].label_zh,
            "distribution": distribution.describe(),
            "source": distribution.source or distribution.reasoning or "",
        }
        data_vars[slug(name)] = xr.DataArray(
            sample[name], dims=("draw",), attrs=attrs | {"role": UNCERTAINTY}
        )
        data_vars[f"prior_{slug(name)}"] = xr.DataArray(
            conditioned.prior[name], dims=("prior_draw",), attrs=attrs | {"role": PRIOR}
        )
    data_vars["ancestor"] = xr.DataArray(
        ancestors, dims=("draw",), attrs={"long_name": "prior draw this draw descends from"}
    )
    data_vars["prior_log_likelihood"] = xr.DataArray(
        conditioned.prior_log_likelihood,
        dims=("prior_draw",),
        attrs={"long_name": "Gaussian log-likelihood of the prior draw (constants dropped)"},
    )
    data_vars["prior_weight"] = xr.DataArray(
        conditioned.prior_weights,
        dims=("prior_draw",),
        attrs={"long_name": "normalised importance weight of the prior draw (sums to 1)"},
    )
    observations = conditioned.observations
    columns = ["variable", "year", "value", "sd", "measurement_sd", "discrepancy_sd", "source"]
    for column in (c for c in columns if c in observations.columns):
        values = observations[column].to_numpy()
        if column in ("variable", "source"):
            values = values.astype(str)
        data_vars[f"observed_{column}"] = xr.DataArray(values, dims=("observation",))
    attrs = {
        "title": "conditioned ensemble (innosim calibrate)",
        "method": conditioned.method,
        "ess": conditioned.ess,
        "importance_ess": conditioned.importance_ess,
        "ess_floor": ess_floor(n),
        "draws": n,
        "seed": conditioned.settings.seed,
        "sampler": conditioned.settings.sampler,
        "stages": json.dumps([stage.__dict__ for stage in conditioned.stages]),
        "scenario": scenario.path.name,
        "scenario_sha256": scenario_digest(scenario),
        "model": compiled.path.name,
        "model_sha256": compiled.sha256,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **package_versions(),
    }
    if observed_path is not None:
        attrs["observed_file"] = Path(observed_path).name
        attrs["observed_sha256"] = hashlib.sha256(Path(observed_path).read_bytes()).hexdigest()
    coords = {
        "draw": np.arange(n),
        "prior_draw": np.arange(n),
        "observation": np.arange(len(observations)),
    }
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


# --- synthetic data (tests, examples) --------------------------------------------------------

#: ``source`` of every synthetic observation.
SYNTHETIC_SOURCE = "SYNTHETIC: model run plus Gaussian noise, not an observation"


def synthetic_observations(
    scenario: Scenario,
    parameters: Mapping[str, float],
    variables: list[str],
    years: list[int],
    relative_sd: float,
    seed: int,
    model: str | Path | None = None,
) -> pd.DataFrame:
    """Made-up observations: one model run with the scenario's levers, drivers, its paths on
    their central values (every shock zero, ``central_exogenous``) and ``parameters`` (other
    constants at their defaults), plus Gaussian noise of sd ``relative_sd`` × value.

    Returns the ``sim.observed`` columns, ``source`` saying SYNTHETIC.
    """
    compiled = compile_model(model)
    fixed = lever_params(scenario.levers) | central_exogenous(scenario, compiled)
    drawn = {name: np.array([float(value)]) for name, value in parameters.items()}
    times, values = simulate_draws(compiled, 1, fixed, drawn, list(dict.fromkeys(variables)))
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(SAMPLE_STREAM, 1)))
    rows = []
    for name in variables:
        for year in years:
            true = float(values[name][0, int(np.flatnonzero(np.isclose(times, year))[0])])
            sd = max(abs(true) * relative_sd, 1e-12)
            rows.append(
                {
                    "variable": name,
                    "year": int(year),
                    "value": true + sd * rng.standard_normal(),
                    "sd": sd,
                    "source": SYNTHETIC_SOURCE,
                }
            )
    frame = pd.DataFrame(rows, columns=["variable", "year", "value", "sd", "source"])
    return frame.astype({"year": "int64", "value": "float64", "sd": "float64"})


# --- ensembles and tables of a conditioning ----------------------------------------------------


def conditioned_ensembles(
    scenario: Scenario,
    conditioned: Conditioned,
    extra_outputs: list[str] | None = None,
    model: str | Path | None = None,
) -> tuple[xr.Dataset, xr.Dataset]:
    """Ensembles (``sim.results`` layout) of the prior draws and of the posterior draws (the
    same Dataset for importance weighting); the posterior's draws carry
    ``conditioned.weights`` and the paths of the prior draws they descend from
    (``conditioned.ancestors``) up to the last observed year, their own shocks after it.
    ``extra_outputs`` default to the observed variables."""
    extra = (
        list(dict.fromkeys(conditioned.observations["variable"]))
        if extra_outputs is None
        else extra_outputs
    )
    seed = conditioned.settings.seed
    n = conditioned.n_draws
    prior = run_ensemble(
        scenario,
        seed=seed,
        uncertainty_draws=conditioned.prior,
        path_index=np.arange(n),
        extra_outputs=extra,
        model=model,
    )
    if conditioned.method == "importance":
        return prior, prior
    posterior = run_ensemble(
        scenario,
        seed=seed,
        uncertainty_draws=conditioned.draws,
        path_index=conditioned.ancestors,
        fresh_after=conditioned.last_observed_year,
        extra_outputs=extra,
        model=model,
    )
    return prior, posterior


def target_comparison(
    prior: xr.Dataset, posterior: xr.Dataset, targets: list[Target], conditioned: Conditioned
) -> pd.DataFrame:
    """Each target's probability under the prior and given the data, with Wilson 95 %
    intervals (the prior's with its number of draws, the other's with ``conditioned.ess``)."""
    n = conditioned.n_draws
    before = weighted_target_table(prior, targets, np.full(n, 1.0 / n), n)
    after = weighted_target_table(posterior, targets, conditioned.weights, conditioned.ess)
    table = before[["target", "variable", "year", "threshold"]].copy()
    for column in ("probability", "prob_low", "prob_high"):
        table[f"prior_{column}"] = before[column]
        table[f"calibrated_{column}"] = after[column]
    table["calibrated_ess"] = conditioned.ess
    return table
