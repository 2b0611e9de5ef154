"""What a lever must be set to: threshold search and budget splits on common random numbers.

Pure functions on arrays and callables (no model, no runner): the callers
(``sim.workflows.solve``, ``sim.workflows.assess``) pass functions that simulate the same draws
at other lever settings (``sim.workflows.lever_runs``).

* ``solve_threshold`` finds the smallest lever value whose probability of meeting a target
  reaches a required level (the largest, when raising the lever lowers the probability). With
  common random numbers the estimated probability is a step function of the lever, so the
  search brackets the crossing on a coarse grid and bisects (``scipy.optimize.bisect`` on the
  sign of ``P(x) − level``). Its interval inverts the Wilson interval of the probability: the
  lever values where the upper and the lower Wilson bound cross the level (the values at
  which the level is still plausible, and at which it is reached with 95 % confidence).
  Draws may carry weights (importance weights of a conditioned sample, ``innosim assess``):
  the probability is then the weighted share of draws meeting the target, and its Wilson
  interval uses the effective sample size (Kish's ``(Σw)² / Σw²`` unless the caller gives a
  more conservative one).
* ``project_shares`` and ``optimise_shares`` search budget splits: shares within bounds that
  add to a total (the Euclidean projection onto that set, then
  ``scipy.optimize.differential_evolution``, derivative-free and seeded).
* ``smoothed_objective`` is the surrogate the optimiser maximises: the mean over draws of a
  logistic of each target's normalised margin, so a split that moves draws closer to a target
  scores better even while no draw reaches it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import optimize, special

from sim.analysis.importance_weighting import kish_ess
from sim.analysis.probabilities import wilson_interval

#: Hits of the target at each lever value: ``values (k,) -> bool array (k, n_draws)``.
HitsAt = Callable[[np.ndarray], np.ndarray]

Status = Literal["reached", "at_bound", "not_reachable"]
Direction = Literal["increasing", "decreasing", "flat"]

#: Default number of points of the coarse grid that brackets the crossing.
GRID_POINTS = 11
#: Default bisection tolerance, as a fraction of the searched range.
RELATIVE_TOLERANCE = 1e-4


@dataclass(frozen=True)
class Evaluation:
    """The probability of meeting the target at one lever value.

    Attributes:
        value: lever value (model units).
        probability: share of draws meeting the target (weighted share for weighted draws).
        low, high: its Wilson interval.
        draws: draws run.
        effective_draws: the sample size of the interval: ``draws``, or the effective sample
            size of weighted draws.
    """

    value: float
    probability: float
    low: float
    high: float
    draws: int
    effective_draws: float


@dataclass(frozen=True)
class ThresholdSolution:
    """The answer of ``solve_threshold``.

    Attributes:
        status: ``reached`` (crossing found inside the range), ``at_bound`` (the level is
            already reached at the end of the range where the lever is least: the answer is
            that end, or beyond it) or ``not_reachable`` (no value in the range reaches it).
        direction: whether the probability rises or falls with the lever (``flat`` when the
            grid shows no change).
        level: required probability.
        low, high: the range searched (model units).
        value: least (or, when ``decreasing``, greatest) lever value that reaches the level;
            ``None`` when not reachable.
        value_low, value_high: interval of ``value`` from the Wilson bounds (``nan`` when the
            crossing lies outside the range; clipped to the range).
        probability, prob_low, prob_high: the probability at ``value`` with its interval.
        best_value, best_probability: where the highest probability seen was, and its value.
        evaluations: every evaluation made, sorted by lever value.
    """

    status: Status
    direction: Direction
    level: float
    low: float
    high: float
    value: float | None
    value_low: float
    value_high: float
    probability: float
    prob_low: float
    prob_high: float
    best_value: float
    best_probability: float
    evaluations: tuple[Evaluation, ...] = field(repr=False)


class _Probe:
    """Evaluations of ``hits_at`` cached by lever value (weighted when ``weights`` are given,
    the interval then on ``effective_draws``)."""

    def __init__(
        self,
        hits_at: HitsAt,
        confidence: float,
        weights: np.ndarray | None,
        effective_draws: float | None,
    ) -> None:
        self.hits_at = hits_at
        self.confidence = confidence
        self.weights = weights
        self.effective_draws = effective_draws
        self.cache: dict[float, Evaluation] = {}

    def _shares(self, hits: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
        """Probability per row, the sample size of the interval, and the interval."""
        n = hits.shape[1]
        if self.weights is None:
            counts = hits.sum(axis=1)
            low, high = wilson_interval(counts, n, self.confidence)
            return counts / n, float(n), low, high
        if self.weights.shape != (n,):
            raise ValueError(f"one weight per draw is needed: {n} draws, {self.weights.shape}")
        shares = np.clip(hits @ self.weights / self.weights.sum(), 0.0, 1.0)
        size = self.effective_draws or kish_ess(self.weights)
        low, high = wilson_interval(shares * size, size, self.confidence)
        return shares, size, low, high

    def evaluate(self, values: Sequence[float]) -> list[Evaluation]:
        todo = sorted({float(v) for v in values} - self.cache.keys())
        if todo:
            hits = np.asarray(self.hits_at(np.array(todo)), dtype=bool)
            if hits.ndim != 2 or hits.shape[0] != len(todo) or hits.shape[1] == 0:
                raise ValueError(
                    f"hits_at must return a boolean array of shape ({len(todo)}, n_draws); "
                    f"got {hits.shape}"
                )
            shares, size, low, high = self._shares(hits)
            for value, share, lo, hi in zip(todo, shares, low, high, strict=True):
                self.cache[value] = Evaluation(
                    value, float(share), float(lo), float(hi), hits.shape[1], size
                )
        return [self.cache[float(v)] for v in values]


_Criterion = Callable[[Evaluation], bool]


def _crossing(
    probe: _Probe,
    grid: np.ndarray,
    criterion: _Criterion,
    increasing: bool,
    xtol: float,
) -> tuple[float | None, bool]:
    """The least (``increasing``) or greatest lever value meeting ``criterion``.

    Returns ``(value, at_bound)``: ``value`` is ``None`` when no grid point meets it;
    ``at_bound`` when the end of the range where the lever is least already meets it.
    """
    ok = [criterion(e) for e in probe.evaluate(grid)]
    order = range(len(grid)) if increasing else range(len(grid) - 1, -1, -1)
    first = next((i for i in order if ok[i]), None)
    if first is None:
        return None, False
    if (increasing and first == 0) or (not increasing and first == len(grid) - 1):
        return float(grid[first]), True
    neighbour = first - 1 if increasing else first + 1
    outside, inside = float(grid[neighbour]), float(grid[first])

    def sign(x: float) -> float:
        return 1.0 if criterion(probe.evaluate([x])[0]) else -1.0

    optimize.bisect(sign, outside, inside, xtol=xtol)
    # The final bracket, read from the cache: beyond the last value that fails the criterion
    # (seen from ``outside``), the nearest value that meets it.
    lo, hi = sorted((outside, inside))
    seen = [(x, criterion(e)) for x, e in probe.cache.items() if lo <= x <= hi]
    if increasing:
        failing = max(x for x, good in seen if not good)
        return min(x for x, good in seen if good and x > failing), False
    failing = min(x for x, good in seen if not good)
    return max(x for x, good in seen if good and x < failing), False


def _direction(evaluations: Sequence[Evaluation]) -> Direction:
    values = np.array([e.value for e in evaluations])
    probabilities = np.array([e.probability for e in evaluations])
    if np.ptp(probabilities) == 0:
        return "flat"
    change = probabilities[-1] - probabilities[0]
    if change == 0:  # same at both ends: the sign of the least-squares slope decides
        change = float(np.cov(values, probabilities)[0, 1])
    return "increasing" if change >= 0 else "decreasing"


def solve_threshold(
    hits_at: HitsAt,
    low: float,
    high: float,
    level: float,
    *,
    grid_points: int = GRID_POINTS,
    xtol: float | None = None,
    confidence: float = 0.95,
    weights: np.ndarray | None = None,
    effective_draws: float | None = None,
) -> ThresholdSolution:
    """The least lever value in ``[low, high]`` at which ``P(target met) >= level`` (the
    greatest, if the probability falls as the lever rises).

    Args:
        hits_at: the hits at given lever values on common random numbers (the same draws at
            every value): ``values (k,) -> bool array (k, n_draws)``.
        low, high: range of the lever (model units), ``low < high``.
        level: required probability, in (0, 1].
        grid_points: points of the coarse grid that detects the direction (the sign of
            ``P(high) − P(low)``) and brackets the crossing; the first crossing on the grid is
            refined (a curve that crosses the level several times between two grid points
            may hide a crossing).
        xtol: bisection tolerance in lever units (default: 1e-4 of the range).
        confidence: coverage of the Wilson intervals.
        weights: one weight ``>= 0`` per draw (e.g. importance weights; normalised or not):
            the probability is the weighted share of draws meeting the target. ``None``: equal
            weights.
        effective_draws: the sample size of the Wilson intervals of weighted draws (default:
            Kish's effective sample size of ``weights``; give a smaller one for a sample whose
            draws are correlated, e.g. a tempered one).

    Returns:
        ``ThresholdSolution``; "not reachable" is an answer (``status``), not an error.
    """
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"the range must be finite with low < high; got [{low:g}, {high:g}]")
    if not 0 < level <= 1:
        raise ValueError(f"the required probability must lie in (0, 1]; got {level:g}")
    if grid_points < 2:
        raise ValueError(f"at least 2 grid points are needed; got {grid_points}")
    tolerance = (high - low) * RELATIVE_TOLERANCE if xtol is None else float(xtol)
    if not tolerance > 0:
        raise ValueError(f"xtol must be positive; got {tolerance:g}")
    if weights is not None:
        weights = np.asarray(weights, dtype=float)
        if weights.ndim != 1 or not (np.all(np.isfinite(weights)) and np.all(weights >= 0)):
            raise ValueError("weights must be one finite number >= 0 per draw")
        if not weights.sum() > 0:
            raise ValueError("the weights must add to a positive number")
    if effective_draws is not None and not effective_draws > 0:
        raise ValueError(f"effective_draws must be positive; got {effective_draws:g}")
    probe = _Probe(hits_at, confidence, weights, effective_draws)
    grid = np.linspace(low, high, grid_points)
    direction = _direction(probe.evaluate(grid))
    increasing = direction != "decreasing"

    def reaches(e: Evaluation) -> bool:
        return e.probability >= level

    value, at_bound = _crossing(probe, grid, reaches, increasing, tolerance)
    plausible, _ = _crossing(probe, grid, lambda e: e.high >= level, increasing, tolerance)
    confident = None
    if value is not None:
        confident, _ = _crossing(probe, grid, lambda e: e.low >= level, increasing, tolerance)
    nan = float("nan")
    ends = (plausible, confident) if increasing else (confident, plausible)
    value_low, value_high = (nan if end is None else end for end in ends)
    evaluations = tuple(sorted(probe.cache.values(), key=lambda e: e.value))
    best = max(evaluations, key=lambda e: (e.probability, -e.value if increasing else e.value))
    at = probe.cache[value] if value is not None else None
    status: Status = "not_reachable" if value is None else "at_bound" if at_bound else "reached"
    return ThresholdSolution(
        status=status,
        direction=direction,
        level=float(level),
        low=float(low),
        high=float(high),
        value=value,
        value_low=value_low,
        value_high=value_high,
        probability=at.probability if at else nan,
        prob_low=at.low if at else nan,
        prob_high=at.high if at else nan,
        best_value=best.value,
        best_probability=best.probability,
        evaluations=evaluations,
    )


# --- budget splits --------------------------------------------------------------------------


def check_share_bounds(lower: np.ndarray, upper: np.ndarray, total: float = 1.0) -> None:
    """Raise ``ValueError`` unless ``lower <= upper`` and the bounds admit the total."""
    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    if lower.shape != upper.shape or lower.ndim != 1 or lower.size < 2:
        raise ValueError("lower and upper bounds are needed for at least two shares")
    if np.any(lower > upper):
        raise ValueError("each share's lower bound must not exceed its upper bound")
    if lower.sum() > total + 1e-12:
        raise ValueError(f"the lower bounds add to {lower.sum():g}, more than the total {total:g}")
    if upper.sum() < total - 1e-12:
        raise ValueError(f"the upper bounds add to {upper.sum():g}, less than the total {total:g}")


def project_shares(
    candidate: np.ndarray, lower: np.ndarray, upper: np.ndarray, total: float = 1.0
) -> np.ndarray:
    """The split nearest ``candidate`` (Euclidean) with ``lower <= s <= upper`` and
    ``sum(s) == total``: ``s = clip(candidate − λ, lower, upper)``, λ by ``brentq``.

    ``candidate`` has shape ``(k,)`` or ``(m, k)`` (one split per row).
    """
    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    check_share_bounds(lower, upper, total)
    rows = np.atleast_2d(np.asarray(candidate, dtype=float))
    out = np.empty_like(rows)
    for index, y in enumerate(rows):

        def excess(shift: float, y: np.ndarray = y) -> float:
            return float(np.clip(y - shift, lower, upper).sum() - total)

        # at ``a`` every share sits at its upper bound, at ``b`` at its lower bound
        a, b = float(np.min(y - upper)), float(np.max(y - lower))
        if excess(a) == 0:
            shift = a
        elif excess(b) == 0:
            shift = b
        else:
            shift = optimize.brentq(excess, a, b, xtol=1e-15)
        out[index] = np.clip(y - shift, lower, upper)
    return out.reshape(np.shape(candidate))


def normalised_margins(
    values: np.ndarray, threshold: float, at_least: bool, scale: float
) -> np.ndarray:
    """``(value − threshold) / scale`` (sign flipped for an ``at_most`` target); NaN values
    (a failed draw) count as far from the target."""
    if not scale > 0:
        raise ValueError(f"the margin scale must be positive; got {scale:g}")
    margin = (np.asarray(values, dtype=float) - threshold) / scale
    margin = margin if at_least else -margin
    return np.where(np.isfinite(margin), margin, -1e6)


def smoothed_objective(
    margins: Mapping[str, np.ndarray],
    weights: Mapping[str, float] | None = None,
    temperature: float = 0.25,
) -> np.ndarray:
    """Smooth surrogate of a probability objective from normalised margins.

    Args:
        margins: ``{target: array (..., n_draws)}`` of ``normalised_margins``.
        weights: ``None`` for "every target met in the same draw": the log of the mean over
            draws of the product of ``σ(margin / temperature)`` (σ the logistic function);
            else the weighted mean over targets of the mean over draws of
            ``σ(margin / temperature)``, weights by target name.
        temperature: width of the logistic in margin units; as it goes to 0 the surrogate
            tends to the probability (its log for ``weights=None``).

    Returns:
        The surrogate per leading index (shape ``(...)``); larger is better.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be positive; got {temperature:g}")
    if not margins:
        raise ValueError("at least one target is needed")
    if weights is None:
        log_each = sum(-np.logaddexp(0.0, -m / temperature) for m in margins.values())
        n = np.shape(log_each)[-1]
        return special.logsumexp(log_each, axis=-1) - np.log(n)
    total = sum(weights.get(name, 0.0) for name in margins)
    if not total > 0:
        raise ValueError("the weights of the targets must add to a positive number")
    weighted = sum(
        weights.get(name, 0.0) * special.expit(m / temperature).mean(axis=-1)
        for name, m in margins.items()
    )
    return weighted / total


@dataclass(frozen=True)
class ShareSearch:
    """Result of ``optimise_shares``.

    Attributes:
        shares: the best split found (within the bounds, adding to the total).
        objective: its surrogate objective (larger is better).
        evaluations: number of splits evaluated.
        generations: generations of differential evolution run.
        converged: whether differential evolution met its tolerance before ``maxiter``.
    """

    shares: np.ndarray
    objective: float
    evaluations: int
    generations: int
    converged: bool


def optimise_shares(
    objective: Callable[[np.ndarray], np.ndarray],
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    total: float = 1.0,
    start: np.ndarray | None = None,
    seed: int = 0,
    popsize: int = 5,
    maxiter: int = 40,
    tol: float = 1e-3,
) -> ShareSearch:
    """Maximise ``objective`` over splits with ``lower <= s <= upper`` and ``sum(s) == total``.

    ``scipy.optimize.differential_evolution`` (seeded, vectorised, no gradient-based polish)
    searches the box of the bounds; each candidate is projected onto the constraint with
    ``project_shares`` before evaluation.

    Args:
        objective: ``splits (m, k) -> scores (m,)``, larger is better.
        lower, upper: bounds of the ``k`` shares.
        total: what the shares must add to.
        start: a split to seed the population with (e.g. the current one).
        seed: seed of the search (same seed, same result).
        popsize: population size per share (scipy's ``popsize``).
        maxiter: most generations.
        tol: relative convergence tolerance of the population's spread.
    """
    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    check_share_bounds(lower, upper, total)
    count = {"evaluations": 0}

    def negated(population: np.ndarray) -> np.ndarray:
        splits = project_shares(np.atleast_2d(population.T), lower, upper, total)
        count["evaluations"] += splits.shape[0]
        return -np.asarray(objective(splits), dtype=float)

    box = optimize.Bounds(lower, np.where(lower == upper, upper + 1e-12, upper))
    x0 = None
    if start is not None:
        # a seed on a bound can fall just outside the box in scipy's rescaling (rounding):
        # keep it a hair inside (the search projects every candidate anyway)
        margin = 1e-3 * (box.ub - box.lb)
        x0 = np.clip(project_shares(start, lower, upper, total), box.lb + margin, box.ub - margin)
    result = optimize.differential_evolution(
        negated,
        box,
        rng=seed,
        popsize=popsize,
        maxiter=maxiter,
        tol=tol,
        polish=False,
        vectorized=True,
        updating="deferred",
        init="latinhypercube",
        x0=x0,
    )
    return ShareSearch(
        shares=project_shares(result.x, lower, upper, total),
        objective=float(-result.fun),
        evaluations=count["evaluations"],
        generations=int(result.nit),
        converged=bool(result.success),
    )
