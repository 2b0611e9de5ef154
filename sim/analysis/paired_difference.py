"""Comparing scenarios run on common random numbers: probabilities and paired differences.

Two scenarios run with the same draws (same seed, sampler and number of draws: common random
numbers) give, for each target, a *paired* sample: draw ``i`` meets the target in scenario A
(``met_A,i``) and/or in scenario B (``met_B,i``). The difference of the probabilities,
``P(B) − P(A)``, is the mean of ``d_i = met_B,i − met_A,i``; pairing removes the variance the
two runs share, so a small difference is resolved with far fewer draws than two independent
runs would need.

Interval: Newcombe's hybrid score ("square-and-add") interval for the difference of paired
proportions, method 10 of R. G. Newcombe (1998), "Improved confidence intervals for the
difference between binomial proportions based on paired data", Statistics in Medicine 17,
2635–2650 (as in M. W. Fagerland, S. Lydersen, P. Laake (2017), *Statistical Analysis of
Contingency Tables*, ch. 8). It combines the Wilson intervals of the two probabilities with
the (corrected) phi correlation of the pairs, stays inside [−1, 1] and keeps its coverage
near 0 and 1, where the Wald interval on the mean of ``d`` collapses. Like the Wilson
interval of a single probability it treats draws as independent; Latin hypercube draws are
at least as precise for the monotone responses typical of the model, so the interval errs
on the wide side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from sim.analysis.probabilities import met, wilson_interval
from sim.results import at_year
from sim.scenario import Target

#: Name of the pseudo-target "every target met in the same draw".
ALL_TARGETS = "all"

#: Columns of the comparison table (``compare.csv``).
COMPARE_COLUMNS = [
    "target",
    "scenario",
    "probability",
    "prob_low",
    "prob_high",
    "difference",
    "diff_low",
    "diff_high",
    "draws",
]


def _phi(both: np.ndarray, only_b: np.ndarray, only_a: np.ndarray, neither: np.ndarray):
    """Newcombe's corrected phi coefficient of the paired 2×2 table (0 when a margin is 0)."""
    n = both + only_b + only_a + neither
    margins = (both + only_b) * (only_a + neither) * (both + only_a) * (only_b + neither)
    cross = both * neither - only_b * only_a
    corrected = np.where(cross > n / 2, cross - n / 2, np.where(cross >= 0, 0.0, cross))
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = np.where(margins > 0, corrected / np.sqrt(np.where(margins > 0, margins, 1)), 0.0)
    return phi


def paired_difference_counts(
    both: np.ndarray | int,
    only_b: np.ndarray | int,
    only_a: np.ndarray | int,
    neither: np.ndarray | int,
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``P(B) − P(A)`` and its Newcombe (1998, method 10) interval from the paired counts.

    Args:
        both: draws meeting the target in A and in B.
        only_b: draws meeting it in B only.
        only_a: draws meeting it in A only.
        neither: draws meeting it in neither.
        confidence: coverage of the interval.

    Returns:
        ``(difference, low, high)`` (arrays, broadcast over the inputs).
    """
    a, b, c, d = (np.asarray(v, dtype=float) for v in (both, only_b, only_a, neither))
    n = a + b + c + d
    p_b, p_a = (a + b) / n, (a + c) / n
    low_b, high_b = wilson_interval(a + b, n, confidence)
    low_a, high_a = wilson_interval(a + c, n, confidence)
    phi = _phi(a, b, c, d)
    difference = p_b - p_a
    below = (p_b - low_b) ** 2 + (high_a - p_a) ** 2 - 2 * phi * (p_b - low_b) * (high_a - p_a)
    above = (high_b - p_b) ** 2 + (p_a - low_a) ** 2 - 2 * phi * (high_b - p_b) * (p_a - low_a)
    low = np.maximum(difference - np.sqrt(np.maximum(below, 0.0)), -1.0)
    high = np.minimum(difference + np.sqrt(np.maximum(above, 0.0)), 1.0)
    return difference, low, high


@dataclass(frozen=True)
class PairedDifference:
    """``P(B) − P(A)`` estimated from paired draws, with its interval.

    Attributes:
        probability_a, probability_b: the two probabilities.
        difference: ``probability_b − probability_a`` (the mean of ``met_B,i − met_A,i``).
        low, high: Newcombe's interval of the difference.
        draws: number of paired draws.
    """

    probability_a: float
    probability_b: float
    difference: float
    low: float
    high: float
    draws: int


def paired_difference(
    met_a: np.ndarray, met_b: np.ndarray, confidence: float = 0.95
) -> PairedDifference:
    """Difference of the probabilities of two paired boolean samples (draw ``i`` of ``met_a``
    and of ``met_b`` come from the same uncertain inputs), with Newcombe's interval."""
    met_a = np.asarray(met_a, dtype=bool)
    met_b = np.asarray(met_b, dtype=bool)
    if met_a.shape != met_b.shape or met_a.ndim != 1:
        raise ValueError(
            f"paired samples must be 1-D and of equal length (got {met_a.shape}, {met_b.shape})"
        )
    if met_a.size == 0:
        raise ValueError("at least one draw is needed to estimate a probability")
    counts = (
        int(np.sum(met_a & met_b)),
        int(np.sum(met_b & ~met_a)),
        int(np.sum(met_a & ~met_b)),
        int(np.sum(~met_a & ~met_b)),
    )
    difference, low, high = paired_difference_counts(*counts, confidence=confidence)
    return PairedDifference(
        probability_a=float(met_a.mean()),
        probability_b=float(met_b.mean()),
        difference=float(difference),
        low=float(low),
        high=float(high),
        draws=int(met_a.size),
    )


def target_hits(results: xr.Dataset, targets: Sequence[Target]) -> dict[str, np.ndarray]:
    """Per-draw booleans: which draws meet each target, plus ``"all"`` (every target in the
    same draw); keys are the targets' names."""
    hits = {t.name: met(t, at_year(results, t.variable, t.year)) for t in targets}
    hits[ALL_TARGETS] = np.logical_and.reduce(list(hits.values()))
    return hits


def compare_table(
    results: Sequence[xr.Dataset],
    names: Sequence[str],
    targets: Sequence[Target],
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Probability of each target (and of all at once) per scenario, and the paired difference
    against the first scenario.

    Args:
        results: one ensemble per scenario, run on the same draws (common random numbers).
        names: a name per scenario (e.g. the file stems).
        targets: the targets to judge every scenario by.
        confidence: coverage of the intervals.

    Returns:
        A row per (target, scenario) with the columns ``COMPARE_COLUMNS``: the Wilson interval
        of each probability and Newcombe's interval of the difference (0 for the first).
    """
    if len(results) != len(names) or not results:
        raise ValueError("one name per result set is expected, and at least one result set")
    draws = {int(r.sizes["draw"]) for r in results}
    if len(draws) != 1:
        raise ValueError(f"paired comparison needs the same draws in every run; got {draws}")
    hits = [target_hits(r, targets) for r in results]
    rows = []
    for key in [t.name for t in targets] + [ALL_TARGETS]:
        reference = hits[0][key]
        for name, scenario_hits in zip(names, hits, strict=True):
            pair = paired_difference(reference, scenario_hits[key], confidence)
            low, high = wilson_interval(int(scenario_hits[key].sum()), pair.draws, confidence)
            rows.append(
                {
                    "target": key,
                    "scenario": name,
                    "probability": pair.probability_b,
                    "prob_low": float(low),
                    "prob_high": float(high),
                    "difference": pair.difference,
                    "diff_low": pair.low,
                    "diff_high": pair.high,
                    "draws": pair.draws,
                }
            )
    return pd.DataFrame(rows, columns=COMPARE_COLUMNS)
