"""Conditioning an ensemble on observations by importance weighting: pure functions on arrays.

The likelihood of a draw is Gaussian in each observation, independent across observations:
``log L = -1/2 Σ ((model - value) / sd)²`` (constant terms dropped; they cancel in normalised
weights), the model value taken at model time ``year`` (the end of calendar year ``year``).
A draw whose model value is not finite has likelihood 0.

Monte Carlo error of a weighted estimate is expressed through an effective sample size (ESS):
Kish's ``(Σw)² / Σw²`` for importance weights. Probabilities get a Wilson interval computed with
the ESS in place of the number of draws.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from sim.analysis.probabilities import TARGET_COLUMNS, met, wilson_interval
from sim.results import at_year, variable, year_index
from sim.scenario import Target

#: Columns of a weighted target table: ``TARGET_COLUMNS`` plus the ESS the interval uses.
WEIGHTED_TARGET_COLUMNS = [*TARGET_COLUMNS, "ess"]


def standardised_residuals(
    values: Mapping[str, np.ndarray], times: np.ndarray, observations: pd.DataFrame
) -> np.ndarray:
    """``(model - value) / sd`` for every observation and draw, shape ``(n_obs, n_draws)``.

    Args:
        values: ``{variable: array (n_draws, n_times)}`` in model units (a ``simulate``
            result or ``sim.engine.runner.run_draws`` output).
        times: the save times (model time, years).
        observations: rows with ``variable``, ``year``, ``value``, ``sd``
        (``sim.scenario.observed``).
    """
    rows = []
    for row in observations.itertuples(index=False):
        model = np.asarray(values[row.variable])[:, year_index(times, int(row.year))]
        rows.append((model - row.value) / row.sd)
    if not rows:
        n_draws = next(iter(values.values())).shape[0] if values else 0
        return np.zeros((0, n_draws))
    return np.vstack(rows)


def with_discrepancy(
    observations: pd.DataFrame, relative_discrepancy: Callable[[str], float]
) -> pd.DataFrame:
    """The observations with the model discrepancy in their sd.

    Adds ``measurement_sd`` (the data's sd) and ``discrepancy_sd`` (``relative_discrepancy(
    variable)`` × |value|, in the variable's units) and sets ``sd`` to their quadrature sum, the
    sd the likelihood divides by. Observations that already carry ``measurement_sd`` keep it as
    the measurement part (the discrepancy is not added twice).
    """
    frame = observations.copy()
    measurement = (
        frame["measurement_sd"] if "measurement_sd" in frame.columns else frame["sd"]
    ).astype(float)
    relative = frame["variable"].map(relative_discrepancy).astype(float)
    frame["measurement_sd"] = measurement
    frame["discrepancy_sd"] = relative * frame["value"].abs()
    frame["sd"] = np.hypot(measurement, frame["discrepancy_sd"])
    return frame


def log_likelihood(residuals: np.ndarray) -> np.ndarray:
    """Gaussian log-likelihood of each draw from its standardised residuals ``(n_obs,
    n_draws)``: ``-1/2 Σ r²``; ``-inf`` where a residual is not finite."""
    residuals = np.asarray(residuals, dtype=float)
    with np.errstate(invalid="ignore", over="ignore"):
        total = -0.5 * np.sum(residuals**2, axis=0)
    return np.where(np.isfinite(total), total, -np.inf)


def dataset_residuals(results: xr.Dataset, observations: pd.DataFrame) -> np.ndarray:
    """``standardised_residuals`` of an ensemble Dataset (``sim.results`` layout)."""
    names = list(dict.fromkeys(observations["variable"]))
    values = {name: variable(results, name).to_numpy() for name in names}
    return standardised_residuals(values, results["time"].to_numpy(), observations)


def normalised_weights(log_weights: np.ndarray) -> np.ndarray:
    """Weights ``exp(log_weights)`` scaled to add to 1 (computed stably).

    Raises:
        ValueError: no weight is positive and finite (every draw is impossible).
    """
    log_weights = np.asarray(log_weights, dtype=float)
    finite = np.isfinite(log_weights)
    if not finite.any():
        raise ValueError("every draw has likelihood 0 (no finite log-weight)")
    shifted = np.where(finite, log_weights - log_weights[finite].max(), -np.inf)
    weights = np.exp(shifted)
    return weights / weights.sum()


def kish_ess(weights: np.ndarray) -> float:
    """Kish's effective sample size ``(Σw)² / Σw²`` (equal weights give the number of draws)."""
    weights = np.asarray(weights, dtype=float)
    total = weights.sum()
    return float(total**2 / np.sum(weights**2)) if total > 0 else 0.0


def weighted_quantiles(
    values: np.ndarray, weights: np.ndarray, quantiles: Sequence[float], axis: int = 0
) -> np.ndarray:
    """Quantiles of ``values`` along ``axis`` under ``weights`` (one per entry along it).

    Non-finite values are given weight 0 (with equal weights this matches ``np.nanquantile``
    with the ``inverted_cdf`` method).
    """
    values = np.moveaxis(np.asarray(values, dtype=float), axis, 0)
    weights = np.asarray(weights, dtype=float)
    flat = values.reshape(values.shape[0], -1)
    out = np.full((len(quantiles), flat.shape[1]), np.nan)
    for column in range(flat.shape[1]):
        data = flat[:, column]
        ok = np.isfinite(data) & (weights > 0)
        if ok.any():
            out[:, column] = np.quantile(
                data[ok], quantiles, weights=weights[ok], method="inverted_cdf"
            )
    return out.reshape(len(quantiles), *values.shape[1:])


def systematic_resample(weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``n`` draws resampled by systematic resampling (one uniform, ``n`` evenly
    spaced points through the cumulative weights); draw ``i`` appears about ``n w_i`` times."""
    weights = np.asarray(weights, dtype=float)
    cumulative = np.cumsum(weights / weights.sum())
    positions = (rng.random() + np.arange(n)) / n
    return np.minimum(np.searchsorted(cumulative, positions, side="right"), weights.size - 1)


def weighted_target_probabilities(
    values: np.ndarray, target: Target, weights: np.ndarray, ess: float
) -> dict[str, float]:
    """Weighted probability of meeting ``target`` (values in the target year, model units),
    its Wilson interval with sample size ``ess``, and the weighted median and 5–95 % band."""
    hits = met(target, values)
    probability = float(np.sum(weights * hits) / np.sum(weights))
    low, high = (float(bound) for bound in wilson_interval(probability * ess, ess))
    p05, median, p95 = weighted_quantiles(values, weights, [0.05, 0.5, 0.95])
    return {
        "probability": probability,
        "prob_low": low,
        "prob_high": high,
        "median": float(median),
        "p05": float(p05),
        "p95": float(p95),
        "ess": float(ess),
    }


def weighted_target_table(
    results: xr.Dataset, targets: Sequence[Target], weights: np.ndarray, ess: float
) -> pd.DataFrame:
    """``target_table`` under weights: one row per target, columns ``WEIGHTED_TARGET_COLUMNS``.

    Args:
        results: ensemble (``sim.results`` layout) whose draws carry ``weights``.
        targets: the targets.
        weights: one weight per draw (normalised or not).
        ess: effective sample size for the intervals (``kish_ess(weights)`` for importance
            weights; a smaller, conservative figure for a tempered sample).
    """
    rows = [
        {
            "target": target.name,
            "variable": target.variable,
            "year": target.year,
            "threshold": target.threshold,
            **weighted_target_probabilities(
                at_year(results, target.variable, target.year), target, weights, ess
            ),
        }
        for target in targets
    ]
    return pd.DataFrame(rows, columns=WEIGHTED_TARGET_COLUMNS)


def _bins(prior: np.ndarray, prior_weights: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin edges: the distinct values if there are few, else equal-probability prior bins."""
    distinct = np.unique(prior)
    if distinct.size <= n_bins:
        middles = (distinct[1:] + distinct[:-1]) / 2
        return np.concatenate([[-np.inf], middles, [np.inf]])
    inner = weighted_quantiles(prior, prior_weights, np.linspace(0, 1, n_bins + 1)[1:-1])
    return np.concatenate([[-np.inf], np.unique(inner), [np.inf]])


def hellinger_distance(
    prior: np.ndarray,
    posterior: np.ndarray,
    prior_weights: np.ndarray | None = None,
    posterior_weights: np.ndarray | None = None,
    n_bins: int = 20,
) -> float:
    """Hellinger distance (0 = same, 1 = disjoint) between two samples of one parameter.

    Both are binned on ``n_bins`` equal-probability bins of the prior (on its distinct values
    when it has at most ``n_bins`` of them): ``H² = 1 - Σ_b sqrt(p_b q_b)``. Binning by prior
    quantiles makes it invariant to monotone transformations of the parameter; the sampling
    noise of two equal samples of size n is about ``sqrt(n_bins / (8 n))``.
    """
    prior = np.asarray(prior, dtype=float)
    posterior = np.asarray(posterior, dtype=float)
    pw = np.ones(prior.size) if prior_weights is None else np.asarray(prior_weights, float)
    qw = np.ones(posterior.size) if posterior_weights is None else np.asarray(posterior_weights)
    edges = _bins(prior, pw, n_bins)
    p = np.bincount(np.digitize(prior, edges[1:-1]), weights=pw, minlength=edges.size - 1)
    q = np.bincount(np.digitize(posterior, edges[1:-1]), weights=qw, minlength=edges.size - 1)
    overlap = np.sum(np.sqrt(p / p.sum() * q / q.sum()))
    return float(np.sqrt(max(0.0, 1.0 - overlap)))


#: Columns of the parameter table of a calibration (``parameters.csv``).
PARAMETER_COLUMNS = [
    "parameter",
    "hellinger",
    "shift",
    "contraction",
    "prior_mean",
    "prior_p05",
    "prior_p95",
    "posterior_mean",
    "posterior_p05",
    "posterior_p95",
]


def parameter_table(
    prior: Mapping[str, np.ndarray],
    posterior: Mapping[str, np.ndarray],
    posterior_weights: np.ndarray | None = None,
) -> pd.DataFrame:
    """How far each parameter moved from prior to posterior, most-updated first.

    ``hellinger`` ranks the parameters (it sees both a shift and a narrowing); ``shift`` is
    ``(posterior mean - prior mean) / prior sd``; ``contraction`` is ``1 - posterior variance /
    prior variance`` (Schervish's posterior contraction: near 1 when the data pin the
    parameter down, near 0 when they say nothing about it alone; negative when the data widen
    it). Means and 5–95 % bounds in model units.
    """
    rows = []
    for name in prior:
        before = np.asarray(prior[name], dtype=float)
        after = np.asarray(posterior[name], dtype=float)
        weights = np.ones(after.size) if posterior_weights is None else posterior_weights
        sd = before.std()
        after_mean = float(np.sum(weights * after) / np.sum(weights))
        after_var = float(np.sum(weights * (after - after_mean) ** 2) / np.sum(weights))
        p05, p95 = np.quantile(before, [0.05, 0.95], method="inverted_cdf")
        q05, q95 = weighted_quantiles(after, weights, [0.05, 0.95])
        rows.append(
            {
                "parameter": name,
                "hellinger": hellinger_distance(before, after, posterior_weights=weights),
                "shift": (after_mean - before.mean()) / sd if sd > 0 else 0.0,
                "contraction": 1.0 - after_var / sd**2 if sd > 0 else 0.0,
                "prior_mean": float(before.mean()),
                "prior_p05": float(p05),
                "prior_p95": float(p95),
                "posterior_mean": after_mean,
                "posterior_p05": float(q05),
                "posterior_p95": float(q95),
            }
        )
    table = pd.DataFrame(rows, columns=PARAMETER_COLUMNS)
    return table.sort_values("hellinger", ascending=False, kind="stable").reset_index(drop=True)


def history_consistency(
    results: xr.Dataset,
    history: pd.DataFrame,
    relative_discrepancy: Callable[[str], float],
    cutoff: float = 3.0,
) -> tuple[int, int]:
    """How many draws of an ensemble reproduce the observed history: every observation of a
    variable the ensemble saved, in a saved year, within ``cutoff`` sd (measurement and model
    discrepancy, ``with_discrepancy``; the implausibility of history matching). Observations of
    the ensemble's drivers and paths are left out (they reproduce themselves or are drawn).

    Returns ``(consistent draws, draws)``; ``(draws, draws)`` when nothing is comparable.
    """
    n = int(results.sizes["draw"])
    exogenous = {
        str(results[key].attrs.get("long_name", key))
        for key in results.data_vars
        if "exogenous" in results[key].attrs
    }
    saved = {
        str(results[key].attrs.get("long_name", key))
        for key in results.data_vars
        if "time" in results[key].dims
    }
    times = results["time"].to_numpy()
    comparable = history[
        history["variable"].isin(saved - exogenous)
        & history["year"].map(lambda year: bool(np.isclose(times, year).any()))
    ]
    if comparable.empty:
        return n, n
    residuals = dataset_residuals(results, with_discrepancy(comparable, relative_discrepancy))
    with np.errstate(invalid="ignore"):
        worst = np.abs(residuals).max(axis=0)
    return int(np.sum(np.isfinite(worst) & (worst <= cutoff))), n


#: columns of ``joint_identification``
PAIR_COLUMNS = ["parameter", "other", "prior_spearman", "posterior_spearman", "change"]


def joint_identification(
    prior: Mapping[str, np.ndarray],
    posterior: Mapping[str, np.ndarray],
    min_change: float = 0.15,
) -> pd.DataFrame:
    """Pairs of constants the data inform together: the rank (Spearman) correlation of an
    equally weighted posterior sample against that of the prior, for pairs where it grew by
    at least ``min_change`` in absolute value (a ridge: the data fix a combination of the two
    more than either alone), largest change first."""
    from scipy import stats  # here: importing it costs every run that never needs it

    names = [name for name in sorted(posterior) if np.ptp(posterior[name]) > 0]
    if len(names) < 2:
        return pd.DataFrame(columns=PAIR_COLUMNS)
    before, after = (
        np.corrcoef(
            stats.rankdata(np.column_stack([sample[n] for n in names]), axis=0), rowvar=False
        )
        for sample in (prior, posterior)
    )
    rows = [
        (names[i], names[j], before[i, j], after[i, j], abs(after[i, j]) - abs(before[i, j]))
        for i in range(len(names))
        for j in range(i + 1, len(names))
        if abs(after[i, j]) - abs(before[i, j]) >= min_change
    ]
    frame = pd.DataFrame(rows, columns=PAIR_COLUMNS)
    return frame.sort_values("change", ascending=False, kind="stable").reset_index(drop=True)
