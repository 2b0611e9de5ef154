"""Conditioning a scenario's uncertainties on observed data (``innosim calibrate`` and
``innosim assess``); docs/calibration.md explains the method and its choices.

``condition(scenario, observations)`` weighs the scenario's prior draws by their Gaussian
likelihood (importance weighting, ``sim.analysis.importance_weighting``). When the weights are too
uneven (Kish ESS below ``ess_floor``) it goes through the observed years in turn with the
sequential Monte Carlo sampler of ``sim.analysis.smc`` (tempering each year's likelihood,
resampling, preconditioned Crank-Nicolson moves, the paths' shocks after each year drawn afresh,
``POPULATIONS`` independent populations pooled). A particle is the uncertainties' normal scores
(the scenario's prior is N(0, R): every uncertainty ``x`` is ``ppf(Φ(z))`` with ``R`` the
normal-score correlations the sampler imposes, Iman-Conover, ``sim.sampling``) and the paths'
standard normal shocks; this module is the model side: it gives the sampler a ``simulate``
callable that runs the particles (``sim.engine``, on the ``executor`` given) and returns their
standardised residuals. Conditioning runs and the ensembles of a conditioning do not re-anchor
the stocks to their observed values at the plan start: every draw carries its own history
(``sim.engine.ensemble.scenario_inputs``, ``own_history``).

It refuses (``CalibrationError``) when the result cannot be trusted: every draw impossible or
too few effective draws; with ``strict``, an observation that no prior draw comes within
``IMPLAUSIBILITY_CUTOFF`` standard deviations of (otherwise it is reported and its
discrepancy widened).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import scipy
import xarray as xr
from scipy import stats

from sim.analysis.importance_weighting import (
    joint_identification,
    kish_ess,
    log_likelihood,
    normalised_weights,
    parameter_table,
    standardised_residuals,
    systematic_resample,
    weighted_target_table,
    with_discrepancy,
)
from sim.analysis.smc import (
    POPULATIONS,
    Stage,
    StateLayout,
    TemperingError,
    sequential_monte_carlo,
)
from sim.atomic import atomic_write_bytes
from sim.engine import CompiledModel, compile_model
from sim.engine.ensemble import (
    EnsembleInputs,
    central_exogenous,
    exogenous_series,
    lever_params,
    monte_carlo_settings,
    run_ensemble,
    scenario_inputs,
    simulate_inputs,
)
from sim.engine.runner import (
    SERIAL,
    Executor,
    chunk_size_for,
    kept_workers,
    run_draws,
)
from sim.errors import InnosimError
from sim.provenance import package_versions, provenance
from sim.results import UNCERTAINTY, slug, year_index
from sim.sampling import correlation_matrix, iman_conover, uniforms
from sim.scenario import (
    Choice,
    DistributionBase,
    Language,
    MonteCarlo,
    Scenario,
    Target,
    load_scenario,
    scenario_digest,
)
from sim.scenario.observed import load_observed
from sim.scenario.posterior import PATH_SHOCK, PRIOR
from sim.vensim import ModelVariable, cache_root, model_variables
from sim.vensim.catalogue import model_info

#: Plain importance weighting is used when its Kish ESS reaches ``ess_floor(draws)``.
FLOOR_DRAWS = 100
FLOOR_SHARE = 0.01
#: An observation farther than this many sd from every posterior draw is not reproducible.
IMPLAUSIBILITY_CUTOFF = 3.0
#: Spawn key of the random stream of posterior resampling here (samplers use 1-3, posterior
#: resampling 4, tempering 5: ``sim.analysis.smc.TEMPERING_STREAM``).
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

    def values(self, scores: np.ndarray) -> dict[str, np.ndarray]:
        """The uncertainties' values (model units) of scores ``(n, d)``.

        A continuous distribution's ``ppf(Φ(z))`` is interpolated linearly in a table of
        ``SCORE_TABLE_POINTS`` exact values on an even grid over ``|z| ≤ SCORE_TABLE_LIMIT``
        (error below 1e-5 of the distribution's 5-95 % range for |z| ≤ 7, tested on the
        baseline; beyond 8.2 the value at 8.2); a discrete one's is exact. The inverse CDFs of
        the PERT and beta distributions were otherwise most of a tempering run's time.
        """
        scores = np.asarray(scores, dtype=float)
        columns, table = self._score_table
        out = {}
        if columns:
            step = 2 * SCORE_TABLE_LIMIT / (SCORE_TABLE_POINTS - 1)
            z = np.clip(scores[:, columns], -SCORE_TABLE_LIMIT, SCORE_TABLE_LIMIT)
            position = (z + SCORE_TABLE_LIMIT) / step
            index = np.minimum(position.astype(np.intp), SCORE_TABLE_POINTS - 2)
            flat = index + np.arange(len(columns)) * SCORE_TABLE_POINTS
            low, high = table.ravel()[flat], table.ravel()[flat + 1]
            interpolated = low + (position - index) * (high - low)
            out = {self.names[k]: interpolated[:, j] for j, k in enumerate(columns)}
        tiny, top = np.finfo(float).tiny, np.nextafter(1.0, 0.0)
        for k, name in enumerate(self.names):
            if name not in out:
                u = np.clip(stats.norm.cdf(scores[:, k]), tiny, top)
                out[name] = self.distributions[name].ppf(u)
        return {name: out[name] for name in self.names}

    def prior_values(self, uniforms: np.ndarray) -> dict[str, np.ndarray]:
        """The uncertainties' values (model units) of prior uniforms ``(n, d)`` (exact inverse
        CDFs: the values ``sim.sampling.sample`` gives, see ``prior_uniforms``)."""
        return {
            name: self.distributions[name].ppf(uniforms[:, k]) for k, name in enumerate(self.names)
        }

    @functools.cached_property
    def _score_table(self) -> tuple[list[int], np.ndarray]:
        """The continuous uncertainties' columns and their ``ppf(Φ(z))`` on the even grid of
        ``values``, one row each."""
        columns = [
            k
            for k, name in enumerate(self.names)
            if not isinstance(self.distributions[name], Choice)
        ]
        rows = [_score_table_row(self.distributions[self.names[k]]) for k in columns]
        return columns, np.array(rows).reshape(len(columns), SCORE_TABLE_POINTS)

    def log_density(self, scores: np.ndarray) -> np.ndarray:
        """Log prior density of scores ``(n, d)``, up to a constant."""
        if not self.names:
            return np.zeros(len(scores))
        solved = np.linalg.solve(self.correlation, scores.T).T
        return -0.5 * np.sum(scores * solved, axis=1)


def _score_table_row(distribution: DistributionBase) -> np.ndarray:
    """``ppf(Φ(z))`` of a continuous distribution on the even grid of ``NormalScores.values``,
    cached on disk (``cache_root()/scores``) by the distribution's description, the grid and
    the scipy version: the beta inverse CDFs of 81 uncertainties take about a second."""
    key = hashlib.sha256(
        f"{distribution.describe()}|{SCORE_TABLE_POINTS}|{SCORE_TABLE_LIMIT}|"
        f"scipy {scipy.__version__}".encode()
    ).hexdigest()[:32]
    path = cache_root() / "scores" / f"{key}.npy"
    try:
        row = np.load(path)
        if row.shape == (SCORE_TABLE_POINTS,):
            return row
    except (OSError, ValueError):
        pass  # not cached yet, or unreadable: compute it
    grid = np.linspace(-SCORE_TABLE_LIMIT, SCORE_TABLE_LIMIT, SCORE_TABLE_POINTS)
    row = np.asarray(distribution.ppf(stats.norm.cdf(grid)), dtype=float)
    buffer = io.BytesIO()
    np.save(buffer, row)
    with contextlib.suppress(OSError):  # a read-only cache only costs time
        atomic_write_bytes(path, buffer.getvalue())
    return row


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

    ``inputs`` are the prior draws' (``sim.engine.ensemble.scenario_inputs``): the levers, drivers
    and the prior draws' paths. A particle is simulated with its uncertainties' values and
    its paths' shocks (the prior draw's until they are moved or refreshed), on ``executor``
    (its workers kept for the whole conditioning, ``sim.engine.runner.kept_workers``).
    """

    compiled: CompiledModel
    inputs: EnsembleInputs = field(repr=False)
    observations: pd.DataFrame
    outputs: tuple[str, ...]
    executor: Executor = field(default=SERIAL, repr=False)

    def residuals(
        self,
        drawn: Mapping[str, np.ndarray],
        path_shocks: Mapping[str, np.ndarray] | None = None,
        through: int | None = None,
    ) -> np.ndarray:
        """Standardised residuals ``(n_obs, n_draws)`` of the draws ``drawn`` with the paths
        ``path_shocks`` drive (default: draw i has prior draw i's paths); with ``through``
        only the observations up to that year (rows in order), from a run that stops there."""
        inputs = self.inputs.with_draws(drawn, path_shocks)
        rows = self.observations
        if through is not None:
            rows = rows[rows["year"].to_numpy() <= through]
        times, values = simulate_inputs(
            self.compiled,
            inputs,
            list(self.outputs),
            chunk_size_for(inputs.n_draws, self.executor),
            final_time=through,
            executor=self.executor,
        )
        return standardised_residuals(values, times, rows)


def _likelihood(
    scenario: Scenario,
    observations: pd.DataFrame,
    compiled: CompiledModel,
    settings: MonteCarlo,
    prior: Mapping[str, np.ndarray],
    executor: Executor = SERIAL,
) -> Likelihood:
    times = compiled.times()
    for row in observations.itertuples(index=False):
        if not np.isclose(times, row.year).any():
            raise CalibrationError(
                f"observation of '{row.variable}' in {row.year}: not a saved year of the model "
                f"({times[0]:g}-{times[-1]:g})"
            )
    outputs = tuple(dict.fromkeys(observations["variable"]))
    inputs = scenario_inputs(
        scenario, settings, compiled, uncertainty_draws=prior, own_history=True
    )
    return Likelihood(compiled, inputs, observations, outputs, executor)


# --- the result ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conditioned:
    """A scenario's uncertainties conditioned on observations.

    Attributes:
        observations: the data (``sim.scenario.observed`` columns).
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
        shocks: the posterior draws' path shocks ``{path: (draws, len(drawn_years))}``
            (``sim.engine.ensemble.ExogenousSeries``): conditioned up to the last observed year, the
            prior draw of the same number's after it.
        ancestors: for each posterior draw, the prior draw it descends from.
        ess: effective sample size of the posterior: Kish's for importance weights; for a
            tempered sample ``sim.analysis.smc.replicate_ess`` of its independent populations.
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
    shocks: dict[str, np.ndarray] = field(repr=False)
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
        """The last year conditioned on: the posterior's path shocks are conditioned up to it
        and unconditioned after it."""
        return int(self.observations["year"].max())

    def posterior_sample(
        self,
    ) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray]]:
        """An equally weighted posterior sample of ``n_draws`` draws (systematic resampling of
        the weighted draws), the prior draw each descends from and its path shocks."""
        rng = np.random.default_rng(
            np.random.SeedSequence(self.settings.seed, spawn_key=(SAMPLE_STREAM,))
        )
        index = systematic_resample(self.weights, self.n_draws, rng)
        return (
            {name: values[index] for name, values in self.draws.items()},
            self.ancestors[index],
            {name: shocks[index] for name, shocks in self.shocks.items()},
        )

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


def _state_layout(space: NormalScores, inputs: EnsembleInputs) -> StateLayout:
    """A particle's columns: the uncertainties' normal scores (``NormalScores`` order), then
    the shocks of every per-draw path (sorted by name), year by year."""
    paths = tuple((name, inputs.exogenous[name].drawn_years) for name in sorted(inputs.paths))
    return StateLayout(len(space.names), paths)


def condition(
    scenario: Scenario,
    observations: pd.DataFrame,
    *,
    draws: int | None = None,
    seed: int | None = None,
    sampler: str | None = None,
    model: str | Path | None = None,
    tempering: bool = True,
    moves: int | None = None,
    strict: bool = False,
    progress: Progress | None = None,
    executor: Executor | None = None,
) -> Conditioned:
    """Condition a scenario's uncertainties on observations (see the module doc).

    Args:
        scenario: the scenario; its priors are conditioned (a ``posterior`` it names is
            ignored: conditioning always starts from the distributions).
        observations: rows ``variable, year, value, sd`` (``sim.scenario.observed.load_observed``);
            those of the scenario's drivers and paths are left out (with a progress line).
        draws, seed, sampler: override the scenario's Monte Carlo settings.
        model: the ``.mdl`` file (default: the project's model).
        tempering: bridge prior and posterior by tempering when plain importance weights are
            too uneven; ``False`` refuses instead.
        moves: Metropolis moves after each tempering step (default: adaptive,
            ``MOVED_SHARE``).
        strict: refuse when an observation is not reproduced (``misfits``) instead of
            reporting it and widening its discrepancy.
        progress: called with a line of text after each step.
        executor: where the model runs go (``sim.engine.runner.Executor``; default serial;
            results are bit-identical whatever the executor).

    The likelihood's sd of each observation is its measurement sd and the scenario's model
    discrepancy for the variable added in quadrature (``with_discrepancy``).

    Raises:
        CalibrationError: the observations cannot be conditioned on reliably (or, with
            ``strict``, one is not reproduced).
    """
    settings = monte_carlo_settings(scenario, draws, seed, sampler)
    compiled = compile_model(model)
    with kept_workers(executor or SERIAL) as live:
        return _condition(
            scenario, observations, settings, compiled, live, tempering, moves, strict, progress
        )


def _condition(
    scenario: Scenario,
    observations: pd.DataFrame,
    settings: MonteCarlo,
    compiled: CompiledModel,
    executor: Executor,
    tempering: bool,
    moves: int | None,
    strict: bool,
    progress: Progress | None,
) -> Conditioned:
    """``condition`` with its settings and model, simulating on ``executor``."""
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
    likelihood = _likelihood(scenario, observations, compiled, settings, prior, executor)
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
    prior_shocks = {
        name: likelihood.inputs.exogenous[name].prior_shocks(n, settings.seed)
        for name in sorted(likelihood.inputs.paths)
    }
    if importance_ess >= floor:
        method, posterior, weights, shocks = "importance", prior, prior_weights, prior_shocks
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
        layout = _state_layout(space, likelihood.inputs)
        start = np.hstack([scores, *(prior_shocks[name] for name, _ in layout.paths)])

        def simulate(states: np.ndarray, through: int) -> np.ndarray:
            values = space.values(states[:, : layout.n_scores])
            return likelihood.residuals(values, layout.shocks(states), through=through)

        try:
            sample = sequential_monte_carlo(
                start,
                prior_residuals,
                layout,
                likelihood.observations["year"].to_numpy(),
                space.correlation,
                settings.seed,
                simulate,
                moves=moves,
                progress=progress,
            )
        except TemperingError as exc:
            raise CalibrationError(str(exc)) from None
        posterior_scores = sample.states[:, : layout.n_scores]
        shocks = {name: part.copy() for name, part in layout.shocks(sample.states).items()}
        residuals, ancestors, ess = sample.residuals, sample.ancestors, sample.ess
        stages = list(sample.stages)
        posterior = space.values(posterior_scores)
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
        shocks=shocks,
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
            variables = model_variables(compiled.path)
            structure = {v.name: v for v in variables}
            names = {v.key: v.name for v in variables}
        closest_value = row.value + closest * row.sd if np.isfinite(closest) else np.nan
        ratio = row.value / closest_value if closest_value else np.inf
        units = structure[row.variable].units if row.variable in structure else ""
        percent = units == "Dmnl" and 20 <= ratio <= 500
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
    """The conditioned ensemble in the layout of ``sim.scenario.posterior`` (ready for
    ``to_netcdf``)."""
    compiled = compile_model(model)
    docs = {doc.name: doc for doc in model_variables(compiled.path)}
    sample, ancestors, shocks = conditioned.posterior_sample()
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
    last = conditioned.last_observed_year
    coords: dict[str, np.ndarray] = {}
    exogenous = exogenous_series(
        scenario, 1, 0, compiled.constants, compiled.final_time, compiled.initial_time
    )
    for name, values in shocks.items():
        series = exogenous[name]
        years = series.drawn_years
        kept = years <= last
        if not kept.any():
            continue
        dim = f"{slug(name)}_year"
        coords[dim] = years[kept]
        data_vars[f"shock_{slug(name)}"] = xr.DataArray(
            values[:, kept],
            dims=("draw", dim),
            attrs={
                "long_name": name,
                "role": PATH_SHOCK,
                "process": series.process.describe(),
                "units": "1",
                "description": "standard normal shocks of the path, conditioned up to "
                f"{last} (sim.scenario.posterior.PathShocks)",
            },
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
        "last_observed_year": last,
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
    coords |= {
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

    Returns the ``sim.scenario.observed`` columns, ``source`` saying SYNTHETIC.
    """
    compiled = compile_model(model)
    fixed = lever_params(scenario.levers) | central_exogenous(scenario, compiled)
    drawn = {name: np.array([float(value)]) for name, value in parameters.items()}
    times, values = run_draws(compiled, 1, fixed, drawn, list(dict.fromkeys(variables)))
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(SAMPLE_STREAM, 1)))
    rows = []
    for name in variables:
        for year in years:
            true = float(values[name][0, year_index(times, year)])
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
    *,
    executor: Executor | None = None,
) -> tuple[xr.Dataset, xr.Dataset]:
    """Ensembles (``sim.results`` layout) of the prior draws and of the posterior draws, each
    draw with its own history, as the conditioning simulates them (no re-anchoring,
    ``sim.engine.ensemble.scenario_inputs``); the posterior's draws carry ``conditioned.weights``
    and their path shocks (the same Dataset for importance weighting). ``extra_outputs`` default to
    the observed variables; ``executor`` says where the runs go (default serial, same results)."""
    extra = (
        list(dict.fromkeys(conditioned.observations["variable"]))
        if extra_outputs is None
        else extra_outputs
    )
    seed = conditioned.settings.seed
    runner = executor or SERIAL
    chunk_size = chunk_size_for(conditioned.n_draws, runner)
    prior = run_ensemble(
        scenario,
        seed=seed,
        chunk_size=chunk_size,
        uncertainty_draws=conditioned.prior,
        own_history=True,
        extra_outputs=extra,
        model=model,
        executor=runner,
    )
    if conditioned.method == "importance":
        return prior, prior
    posterior = run_ensemble(
        scenario,
        seed=seed,
        chunk_size=chunk_size,
        uncertainty_draws=conditioned.draws,
        path_shocks=conditioned.shocks,
        own_history=True,
        extra_outputs=extra,
        model=model,
        executor=runner,
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


# --- the command ---------------------------------------------------------------------------------


def misfit_lines(misfits: pd.DataFrame, lang: Language) -> list[str]:
    """The observations the model does not reproduce (``misfit_table``), for the console
    (``sim.report.calibration_outputs.misfit_lines``)."""
    from sim.report.calibration_outputs import misfit_lines as lines

    return lines(misfits, lang)


@dataclass(frozen=True)
class CalibrationReport:
    """What ``run_calibration`` found and wrote.

    Attributes:
        conditioned: the conditioning (``condition``).
        parameters: prior and posterior of every uncertainty (``parameters.csv``,
            ``sim.analysis.importance_weighting.parameter_table``), most updated first.
        targets: each target's probability under the prior and given the data
            (``targets.csv``, ``target_comparison``).
        pairs: the pairs of uncertainties the data inform together (``pairs.csv``).
        console: the summary for the terminal, one item per line (tables as one item).
        written: the files written, sorted by name.
    """

    conditioned: Conditioned = field(repr=False)
    parameters: pd.DataFrame = field(repr=False)
    targets: pd.DataFrame = field(repr=False)
    pairs: pd.DataFrame = field(repr=False)
    console: list[str]
    written: list[Path]


def run_calibration(
    scenario: Path,
    out_dir: Path,
    *,
    observed: Path | None = None,
    draws: int | None = None,
    seed: int | None = None,
    lang: Language = "zh",
    tempering: bool = True,
    strict: bool = False,
    model: str | Path | None = None,
    executor: Executor | None = None,
    progress: Progress | None = None,
    note: Progress | None = None,
) -> CalibrationReport:
    """``innosim calibrate``: load ``scenario`` and the observed data (``observed``, default
    the scenario's ``history``), condition its uncertainties on them (``condition``), simulate
    the prior and conditioned ensembles, and write ``posterior.nc``, ``parameters.csv``,
    ``targets.csv``, ``pairs.csv``, ``misfits.csv``, the fit and parameter charts,
    ``calibrate.html`` (the answer in sentences first: the effective sample kept, the
    constants the data informed) and ``provenance.json`` into ``out_dir``
    (``sim.report.writer.write_outputs``).

    Args:
        draws, seed: override the scenario's Monte Carlo settings.
        lang: language of the charts, the page and the console text.
        tempering, strict: as ``condition``'s.
        executor: where the model runs go (default serial; the results are the same).
        progress: called with a line of text after each conditioning step.
        note: called with one line per adjustment made to the observed data.

    Raises ``InnosimError`` (nothing written): a bad scenario or data file, no observed data,
    or a conditioning that cannot be trusted (``CalibrationError``).
    """
    from sim.report.calibration_outputs import (
        CALIBRATION_HTML,
        TEXT,
        calibration_answer,
        calibration_figures,
        calibration_files,
        label,
        pair_rows,
        parameter_rows,
        target_probability_rows,
    )
    from sim.report.command_pages import frame_table, render_command_page
    from sim.report.console import format_table
    from sim.report.figures import figure_png
    from sim.report.writer import write_outputs

    loaded = load_scenario(scenario, model=model)
    path = observed if observed is not None else loaded.history
    if path is None:
        raise CalibrationError(
            f"{scenario} names no history file; give the observed data with --observed"
        )
    data = load_observed(path, model=model, note=note)
    settings = monte_carlo_settings(loaded, draws, seed)
    conditioned = condition(
        loaded,
        data,
        draws=settings.draws,
        seed=settings.seed,
        model=model,
        tempering=tempering,
        strict=strict,
        progress=progress,
        executor=executor,
    )
    prior, posterior = conditioned_ensembles(loaded, conditioned, model=model, executor=executor)
    targets = target_comparison(prior, posterior, loaded.targets, conditioned)
    parameters = parameter_table(conditioned.prior, conditioned.draws, conditioned.weights)
    dataset = posterior_dataset(conditioned, loaded, path, model)
    sample, _, _ = conditioned.posterior_sample()
    pairs = joint_identification(conditioned.prior, sample)
    labels = {name: label(dataset[slug(name)].attrs, lang) for name in sample}
    plan_start = model_info(model).defaults.get("Plan Start Time")
    last_year = max(int(data["year"].max()), max(t.year for t in loaded.targets))
    figures = calibration_figures(
        prior,
        posterior,
        conditioned.weights,
        data,
        conditioned.prior,
        sample,
        parameters,
        labels,
        lang,
        last_year,
        plan_start,
    )
    record = provenance(
        "calibrate",
        scenario=loaded,
        model=Path(dataset.attrs["model"]),
        model_sha256=dataset.attrs["model_sha256"],
        settings=conditioned.settings,
        extra={
            "observed_file": dataset.attrs["observed_file"],
            "observed_sha256": dataset.attrs["observed_sha256"],
            "method": conditioned.method,
            "ess": conditioned.ess,
            "importance_ess": conditioned.importance_ess,
            "tempering": tempering,
            "strict": strict,
            "misfits": len(conditioned.misfits),
        },
    )
    observations = conditioned.observations
    facts = {
        "observations": len(observations),
        "variables": observations["variable"].nunique(),
        "first": int(observations["year"].min()),
        "last": int(observations["year"].max()),
        "method": conditioned.method,
        "ess": conditioned.ess,
        "draws": conditioned.n_draws,
        "importance_ess": conditioned.importance_ess,
        "misfits": len(conditioned.misfits),
    }
    target_labels = {t.name: t.label.text(lang) for t in loaded.targets}
    text = TEXT[lang]
    images = {name: figure_png(figure) for name, figure in figures.items()}
    misfits = misfit_lines(conditioned.misfits, lang)
    tables = [
        frame_table(text["table_parameters"], parameter_rows(parameters, labels, lang)),
        frame_table(text["table_targets"], target_probability_rows(targets, target_labels, lang)),
    ]
    if not pairs.empty:
        tables.insert(1, frame_table(text["table_pairs"], pair_rows(pairs, labels, lang)))
    html = render_command_page(
        lang,
        title=text["page_title"].format(
            scenario=loaded.title.text(lang) if loaded.title else scenario.stem
        ),
        answer=calibration_answer(facts, parameters, targets, labels, target_labels, lang),
        tables=tables,
        images=images,
        notes=[line.strip() for line in misfits],
        method=text["method_text"],
        provenance=record,
    )
    files = calibration_files(dataset, parameters, targets, images, conditioned.misfits, pairs)
    written = write_outputs(
        out_dir, files | {CALIBRATION_HTML: html}, record, lang=lang, model=model
    )
    console = [
        text["console_head"].format(
            scenario=scenario.name,
            method=text[f"method_{conditioned.method}"],
            ess=conditioned.ess,
            draws=conditioned.n_draws,
            importance_ess=conditioned.importance_ess,
        )
    ]
    console += [format_table(parameter_rows(parameters, labels, lang, top=5)), ""]
    if not pairs.empty:
        console += [text["pairs_head"], format_table(pair_rows(pairs, labels, lang, top=5)), ""]
    console += [format_table(target_probability_rows(targets, target_labels, lang)), ""]
    console += misfits
    return CalibrationReport(conditioned, parameters, targets, pairs, console, written)
