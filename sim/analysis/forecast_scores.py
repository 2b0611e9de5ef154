"""Scoring probabilistic forecasts against observations (``innosim backtest``): pure functions.

A forecast is a weighted sample of model values ``x_i`` with weights ``w_i`` (normalised here;
equal weights for a plain Monte Carlo sample), in the model units of the variable; the
observation ``y`` is in the same units. Non-finite draws get weight 0, as in
``sim.analysis.importance_weighting.weighted_quantiles``.

* ``weighted_crps``: the continuous ranked probability score, ``E|X - y| - 1/2 E|X - X'|``
  (Gneiting & Raftery 2007, eq. 21), exact for the weighted sample: 0 for a point mass on the
  observation, in the variable's units, smaller is better.
* ``pit_value``: the probability integral transform, the forecast's probability below the
  observation (ties count half); uniform on [0, 1] over many observations of a calibrated
  forecast.
* ``score_observation``: median, 5 % and 95 % quantiles, PIT, whether the observation lies in
  the central 50 % and 90 % intervals, CRPS and CRPS relative to |y| for one observation.
* ``coverage_summary`` and ``pit_histogram_counts``: summaries of a table of scores.

The functions here never run the model; ``sim.workflows.backtest`` does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.analysis.importance_weighting import weighted_quantiles

#: Central intervals scored: ``inside_50`` is within the 25-75 % quantiles, ``inside_90``
#: within 5-95 %.
INTERVALS = {"inside_50": (0.25, 0.75), "inside_90": (0.05, 0.95)}

#: Columns of ``coverage_summary`` after the grouping column(s).
COVERAGE_COLUMNS = [
    "n_scored",
    "n_inside_50",
    "n_inside_90",
    "share_inside_50",
    "share_inside_90",
    "mean_crps",
    "mean_crps_relative",
]
#: Label of the overall row of ``coverage_summary``.
OVERALL = "all"
#: A CRPS below this share of the sample's mean |x| plus |y| is rounding error, reported as 0.
ROUNDING = 1e-12


def _weighted_sample(
    samples: np.ndarray, weights: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Finite draws and their weights normalised to add to 1 (``ValueError`` if none)."""
    x = np.asarray(samples, dtype=float).ravel()
    w = np.ones(x.size) if weights is None else np.asarray(weights, dtype=float).ravel()
    if w.size != x.size:
        raise ValueError(f"{w.size} weights for {x.size} samples")
    if (w < 0).any() or not np.isfinite(w).all():
        raise ValueError("weights must be finite and non-negative")
    keep = np.isfinite(x) & (w > 0)
    if not keep.any():
        raise ValueError("no finite sample with a positive weight")
    x, w = x[keep], w[keep]
    return x, w / w.sum()


def weighted_crps(samples: np.ndarray, weights: np.ndarray | None, observed: float) -> float:
    """The CRPS of the weighted sample as a forecast of ``observed``.

    ``CRPS = Σ w_i |x_i - y| - 1/2 Σ_i Σ_j w_i w_j |x_i - x_j|`` with the weights normalised,
    the double sum computed exactly in O(n log n) from the sorted sample:
    ``Σ_i Σ_j w_i w_j |x_i - x_j| = 2 Σ_i w_i x_(i) (2 W_(i-1) + w_(i) - 1)``, ``W`` the
    cumulative weight below the i-th smallest draw (tied draws contribute 0 in any order).
    Equal to ``∫ (F(z) - 1{z ≥ y})² dz`` for the sample's weighted CDF ``F``. A result below
    ``ROUNDING`` times ``Σ w_i |x_i| + |y|`` (the rounding error of the sums) is returned as 0.

    Args:
        samples: draws of the forecast, shape ``(n,)``, in the variable's units.
        weights: one non-negative weight per draw (``None``: equal weights); normalised here.
        observed: the observation, same units.

    Returns:
        The CRPS, in the variable's units (≥ 0; 0 only for a point mass on the observation).

    Raises:
        ValueError: no finite draw with a positive weight, or weights of the wrong size.
    """
    x, w = _weighted_sample(samples, weights)
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    below = np.cumsum(w) - w
    spread = 2.0 * np.sum(w * x * (2.0 * below + w - 1.0))
    accuracy = np.sum(w * np.abs(x - float(observed)))
    crps = float(accuracy - 0.5 * spread)
    # below the rounding error of the two sums (e.g. a point mass on the observation): 0
    scale = float(np.sum(w * np.abs(x)) + abs(float(observed)))
    return crps if crps > ROUNDING * scale else 0.0


def pit_value(samples: np.ndarray, weights: np.ndarray | None, observed: float) -> float:
    """The probability integral transform of ``observed`` under the weighted sample.

    ``PIT = Σ w_i 1{x_i < y} + 1/2 Σ w_i 1{x_i = y}`` (weights normalised; a tie counts half,
    so a point mass on the observation gives 0.5).

    Args:
        samples: draws of the forecast, shape ``(n,)``, in the variable's units.
        weights: one non-negative weight per draw (``None``: equal weights).
        observed: the observation, same units.

    Returns:
        A probability in [0, 1] (dimensionless; clipped to it against rounding of the sums).
    """
    x, w = _weighted_sample(samples, weights)
    y = float(observed)
    return float(np.clip(np.sum(w[x < y]) + 0.5 * np.sum(w[x == y]), 0.0, 1.0))


def score_observation(
    samples: np.ndarray, weights: np.ndarray | None, observed: float
) -> dict[str, float | bool]:
    """Every score of one observation against the weighted sample.

    Returns:
        ``median``, ``p05``, ``p95`` (weighted quantiles, ``inverted_cdf``; the variable's
        units), ``quantile`` (``pit_value``), ``inside_50`` and ``inside_90`` (the observation
        lies within the weighted 25-75 % and 5-95 % quantiles, bounds included), ``crps``
        (``weighted_crps``, the variable's units) and ``crps_relative`` (``crps / |observed|``,
        dimensionless; NaN for an observation of 0).
    """
    x, w = _weighted_sample(samples, weights)
    y = float(observed)
    levels = [0.05, 0.25, 0.5, 0.75, 0.95]
    p05, p25, median, p75, p95 = weighted_quantiles(x, w, levels)
    crps = weighted_crps(x, w, y)
    return {
        "median": float(median),
        "p05": float(p05),
        "p95": float(p95),
        "quantile": pit_value(x, w, y),
        "inside_50": bool(p25 <= y <= p75),
        "inside_90": bool(p05 <= y <= p95),
        "crps": crps,
        "crps_relative": crps / abs(y) if y != 0 else float("nan"),
    }


def coverage_summary(table: pd.DataFrame, by: str | Sequence[str] = "origin") -> pd.DataFrame:
    """How often the observations fell inside the forecast intervals, and the mean scores.

    Args:
        table: one row per scored observation with the columns ``inside_50``, ``inside_90``
            (booleans), ``crps`` (the variable's units), ``crps_relative`` and the grouping
            column(s) ``by`` (e.g. ``backtest.csv``).
        by: the column(s) to group by (default ``origin``, the forecast origin).

    Returns:
        One row per group (sorted) and a last row for all of them together (``by`` columns
        ``"all"``), with the columns ``by`` and ``COVERAGE_COLUMNS``: the number of scored
        observations, how many lie inside the 50 % and 90 % intervals and as shares, the mean
        CRPS (in the variables' units: only comparable within one variable) and the mean
        relative CRPS (dimensionless, comparable across variables; NaN rows left out).
    """
    keys = [by] if isinstance(by, str) else list(by)

    def summarise(part: pd.DataFrame) -> dict[str, float | int]:
        n = len(part)
        inside_50 = int(part["inside_50"].astype(bool).sum())
        inside_90 = int(part["inside_90"].astype(bool).sum())
        relative = part["crps_relative"].astype(float).dropna()
        return {
            "n_scored": n,
            "n_inside_50": inside_50,
            "n_inside_90": inside_90,
            "share_inside_50": inside_50 / n if n else float("nan"),
            "share_inside_90": inside_90 / n if n else float("nan"),
            "mean_crps": float(part["crps"].mean()) if n else float("nan"),
            "mean_crps_relative": float(relative.mean()) if len(relative) else float("nan"),
        }

    rows = []
    if len(table):
        for group, part in table.groupby(keys, sort=True):
            values = group if isinstance(group, tuple) else (group,)
            rows.append(dict(zip(keys, values, strict=True)) | summarise(part))
    rows.append(dict.fromkeys(keys, OVERALL) | summarise(table))
    return pd.DataFrame(rows, columns=[*keys, *COVERAGE_COLUMNS])


def pit_histogram_counts(quantiles: Sequence[float] | np.ndarray, bins: int = 10) -> np.ndarray:
    """Counts of PIT values in ``bins`` equal bins of [0, 1] (1.0 in the last bin).

    A calibrated forecast gives about ``len(quantiles) / bins`` in each bin; a U shape means
    too narrow forecasts, a hump too wide ones, a slope a bias. The bin edges are
    ``numpy.linspace(0, 1, bins + 1)``.

    Raises:
        ValueError: ``bins`` < 1, or a value outside [0, 1] or not finite.
    """
    if bins < 1:
        raise ValueError(f"bins must be at least 1; got {bins}")
    values = np.asarray(quantiles, dtype=float).ravel()
    if not np.isfinite(values).all() or (values < 0).any() or (values > 1).any():
        raise ValueError("PIT values must be finite and in [0, 1]")
    index = np.minimum((values * bins).astype(int), bins - 1)
    return np.bincount(index, minlength=bins)
