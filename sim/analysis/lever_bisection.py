"""Which setting of one lever brings a target's probability up to a goal: bisection.

The caller supplies the probability as a function of the lever's value, evaluated with
common random numbers (the same draws at every value), so it changes with the lever only and
bisection on it is meaningful. The search assumes the probability is monotone in the lever
over ``[low, high]`` (``high`` may be below ``low`` for a lever that must go down).
``innosim assess`` uses it; ``sim.analysis.threshold_search.solve_threshold`` (``innosim solve``) is
the general solver of the exploration commands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

#: Probability a target should have after the change (the mid-term rule of thumb).
DEFAULT_GOAL = 0.8

SearchStatus = Literal["already", "found", "unreachable"]


@dataclass(frozen=True)
class LeverSearch:
    """Result of ``bisect_lever``.

    Attributes:
        low, high: the range searched (from the current setting towards ``high``).
        goal: the probability sought.
        status: ``already`` (the goal holds at ``low``), ``found`` or ``unreachable`` (not
            even at ``high``).
        value: the setting closest to ``low`` found to reach the goal (within the
            tolerance, on the side that reaches it); ``None`` when unreachable.
        probability: the probability at ``value`` (at ``high`` when unreachable).
        evaluations: how many times the probability was evaluated.
    """

    low: float
    high: float
    goal: float
    status: SearchStatus
    value: float | None
    probability: float
    evaluations: int


def bisect_lever(
    probability: Callable[[float], float],
    low: float,
    high: float,
    goal: float = DEFAULT_GOAL,
    tolerance: float | None = None,
    max_evaluations: int = 40,
) -> LeverSearch:
    """The setting between ``low`` and ``high`` nearest ``low`` with probability ≥ ``goal``.

    Args:
        probability: the target's probability at a lever value (common random numbers).
        low: the current (or starting) setting.
        high: the farthest setting considered.
        goal: the probability sought.
        tolerance: stop when the bracket is this narrow (lever units; default
            ``|high - low| / 256``).
        max_evaluations: upper bound on the evaluations.
    """
    if low == high:
        raise ValueError("the lever range is empty (low == high)")
    tolerance = abs(high - low) / 256 if tolerance is None else tolerance
    at_low = probability(low)
    if at_low >= goal:
        return LeverSearch(low, high, goal, "already", low, at_low, 1)
    at_high = probability(high)
    if at_high < goal:
        return LeverSearch(low, high, goal, "unreachable", None, at_high, 2)
    short, enough, at_enough, evaluations = low, high, at_high, 2
    while abs(enough - short) > tolerance and evaluations < max_evaluations:
        middle = (short + enough) / 2
        value = probability(middle)
        evaluations += 1
        if value >= goal:
            enough, at_enough = middle, value
        else:
            short = middle
    return LeverSearch(low, high, goal, "found", enough, at_enough, evaluations)
