"""Probability of reaching each target, with its Monte Carlo error; ``check_finite`` refuses
a simulation with NaN or infinite values before any probability is computed from it."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special

from sim.errors import NonFiniteResultError
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


#: Magnitude from which an input is named as a likely cause of an overflow.
HUGE = 1e100
#: Ratio to the model's default from which an input is named as a likely cause.
FAR_FROM_DEFAULT = 1e6


def _number(value: object) -> str:
    if isinstance(value, int | float | np.integer | np.floating):
        return f"{float(value):.6g}"
    return "a path over time"


def _suspect(value: object, default: float | None, lever: bool) -> bool:
    """Whether an input may be what overflowed or divided by zero: not finite, huge,
    ``FAR_FROM_DEFAULT`` times off the model's non-zero default, or (a lever) zero where that
    default is not."""
    if not isinstance(value, int | float | np.integer | np.floating):
        return False
    x = float(value)
    if not math.isfinite(x) or abs(x) >= HUGE:
        return True
    if default is None or not math.isfinite(default) or default == 0:
        return False
    ratio = abs(x / default)
    return (ratio == 0 and lever) or ratio >= FAR_FROM_DEFAULT or 0 < ratio <= 1 / FAR_FROM_DEFAULT


def check_finite(
    values: Mapping[str, np.ndarray],
    times: np.ndarray,
    levers: Mapping[str, object],
    drawn: Mapping[str, np.ndarray],
    first: Sequence[str] = (),
    defaults: Mapping[str, float] | None = None,
) -> None:
    """Refuse simulated ``values`` (``{variable: array (draws, times)}``) holding NaN or inf.

    ``NonFiniteResultError`` names the variable (those in ``first``, e.g. the targets',
    looked at first), the first year it is not a number, how many draws are affected, and
    the inputs of the first such draw: the ``levers`` (shared by every draw: a value or a
    path) and the uncertain constants ``drawn`` (``{name: array (draws,)}``). Suspects are
    named first: inputs not finite, of magnitude ``HUGE`` or more, ``FAR_FROM_DEFAULT`` times
    off the model's non-zero default (``defaults``), or levers at zero where it is not.
    """
    order = [*dict.fromkeys(name for name in first if name in values)]
    order += [name for name in values if name not in order]
    bad = [name for name in order if not np.isfinite(values[name]).all()]
    if not bad:
        return
    name = bad[0]
    broken = ~np.isfinite(np.asarray(values[name], dtype=float).reshape(len(values[name]), -1))
    draws = np.flatnonzero(broken.any(axis=1))
    year = float(np.asarray(times)[np.flatnonzero(broken.any(axis=0))[0]])
    draw = int(draws[0])
    inputs = dict(levers) | {key: np.asarray(column)[draw] for key, column in drawn.items()}
    defaults = defaults or {}
    suspects = [
        f"{key} = {_number(value)}"
        + (f" (model default {defaults[key]:.6g})" if key in defaults else "")
        for key, value in inputs.items()
        if _suspect(value, defaults.get(key), key in levers)
    ]
    lever_text = ", ".join(f"{key} = {_number(value)}" for key, value in levers.items())
    drawn_text = ", ".join(
        f"{key} = {_number(np.asarray(column)[draw])}" for key, column in drawn.items()
    )
    others = f" (and {len(bad) - 1} other variable(s))" if len(bad) > 1 else ""
    parts = [
        f"the model gives no number (NaN or infinite) for '{name}'{others} from {year:g} on "
        f"in {draws.size} of {broken.shape[0]} draw(s): an input overflows the arithmetic or "
        "makes it divide by zero, so no probability is computed."
    ]
    if suspects:
        parts.append(f"Suspect input(s): {', '.join(suspects)}.")
    parts.append(f"Inputs of the first such draw (#{draw}):")
    parts.append(f"  levers: {lever_text or 'none'};")
    parts.append(f"  uncertain constants: {drawn_text or 'none'}.")
    raise NonFiniteResultError("\n".join(parts))


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
    """Wilson score interval for a probability estimated from ``hits`` out of ``draws``.

    scipy's ``binomtest(hits, draws).proportion_ci(confidence, method="wilson")``, bit for
    bit: the same arithmetic (Newcombe 1998), without importing ``scipy.stats`` (0.3–0.7 s).
    """
    k, n = int(hits), int(draws)
    if n <= 0:
        raise ValueError("at least one draw is needed to estimate a probability")
    if not 0 <= k <= n:
        raise ValueError(f"hits must lie between 0 and the number of draws; got {k} of {n}")
    if not 0 <= confidence <= 1:
        raise ValueError(f"the confidence level must lie in [0, 1]; got {confidence}")
    p = k / n
    z = special.ndtri(0.5 + 0.5 * confidence)
    denom = 2 * (n + z**2)
    center = (2 * n * p + z**2) / denom
    q = 1 - p
    delta = z / denom * math.sqrt(4 * n * p * q + z**2)
    low = 0.0 if k == 0 else center - delta
    high = 1.0 if k == n else center + delta
    return float(low), float(high)


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
    z = special.ndtri(0.5 + confidence / 2)  # stats.norm.ppf, bit for bit
    centre = (x + z**2 / 2) / (n + z**2)
    half = z / (n + z**2) * np.sqrt(x * (n - x) / n + z**2 / 4)
    low = np.where(x == 0, 0.0, np.clip(centre - half, 0.0, 1.0))  # exact at the ends
    high = np.where(x == n, 1.0, np.clip(centre + half, 0.0, 1.0))
    return low, high


def target_probabilities(results: xr.Dataset, target: Target) -> dict[str, float]:
    """Probability of meeting ``target`` with its 95 % Wilson interval, and the variable's
    median and 5–95 % band in the target year (model units). The interval uses the results'
    ``effective_draws`` when they are resampled from a conditioned sample (``sim.engine.ensemble``),
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
