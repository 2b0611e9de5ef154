"""Probability of reaching each target, with its Monte Carlo error."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from sim.results import at_year
from sim.scenario import Target

#: Columns of the target table (``targets.csv``).
TARGET_COLUMNS = [
    "target",
    "variable",
    "year",
    "threshold",
    "probability",
    "prob_low",
    "prob_high",
    "median",
    "p05",
    "p95",
]


def met(target: Target, values: np.ndarray) -> np.ndarray:
    """Boolean array: which values (model units) meet the target; NaN never does."""
    values = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        hit = (
            values >= target.threshold
            if target.direction == "at_least"
            else (values <= target.threshold)
        )
    return hit & np.isfinite(values)


def probability_interval(hits: int, draws: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a probability estimated from ``hits`` out of ``draws``."""
    if draws <= 0:
        raise ValueError("at least one draw is needed to estimate a probability")
    ci = stats.binomtest(int(hits), int(draws)).proportion_ci(
        confidence_level=confidence, method="wilson"
    )
    return float(ci.low), float(ci.high)


def wilson_interval(
    hits: np.ndarray | int, draws: np.ndarray | int, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for ``hits`` successes out of ``draws`` (vectorised).

    The same interval as ``probability_interval`` (scipy's
    ``binomtest(...).proportion_ci(method="wilson")``), for arrays of counts; ``hits`` and
    ``draws`` may be fractional (a weighted share times an effective sample size).
    """
    x = np.asarray(hits, dtype=float)
    n = np.asarray(draws, dtype=float)
    if np.any(n <= 0):
        raise ValueError("at least one draw is needed to estimate a probability")
    if np.any((x < 0) | (x > n)):
        raise ValueError("hits must lie between 0 and the number of draws")
    z = stats.norm.ppf(0.5 + confidence / 2)
    centre = (x + z**2 / 2) / (n + z**2)
    half = z / (n + z**2) * np.sqrt(x * (n - x) / n + z**2 / 4)
    low = np.where(x == 0, 0.0, np.clip(centre - half, 0.0, 1.0))  # exact at the ends
    high = np.where(x == n, 1.0, np.clip(centre + half, 0.0, 1.0))
    return low, high


def target_probabilities(results: xr.Dataset, target: Target) -> dict[str, float]:
    """Probability of meeting ``target`` with its 95 % Wilson interval, and the variable's
    median and 5–95 % band in the target year (model units). The interval uses the results'
    ``effective_draws`` when they are resampled from a conditioned sample (``sim.ensemble``),
    otherwise the number of draws."""
    values = at_year(results, target.variable, target.year)
    hits = met(target, values)
    if "effective_draws" in results.attrs:  # draws resampled from a conditioned sample
        effective = min(float(results.attrs["effective_draws"]), float(hits.size))
        low, high = (float(bound) for bound in wilson_interval(hits.mean() * effective, effective))
    else:
        low, high = probability_interval(int(hits.sum()), hits.size)
    finite = values[np.isfinite(values)]
    p05, median, p95 = np.quantile(finite, [0.05, 0.5, 0.95]) if finite.size else (np.nan,) * 3
    return {
        "probability": float(hits.mean()),
        "prob_low": low,
        "prob_high": high,
        "median": float(median),
        "p05": float(p05),
        "p95": float(p95),
    }


def target_table(results: xr.Dataset, targets: Sequence[Target]) -> pd.DataFrame:
    """One row per target with the columns of ``TARGET_COLUMNS`` (values in model units)."""
    rows = [
        {
            "target": target.name,
            "variable": target.variable,
            "year": target.year,
            "threshold": target.threshold,
            **target_probabilities(results, target),
        }
        for target in targets
    ]
    return pd.DataFrame(rows, columns=TARGET_COLUMNS)
