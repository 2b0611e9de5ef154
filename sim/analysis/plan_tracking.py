"""Mid-term assessment rules: the plan's path to a target, the status of an indicator on it,
and the growth still needed. Pure functions; ``sim.workflows.assess`` runs the ensembles.

* **Plan path.** From the indicator's value at the plan start (the 2020 observation; 0 for
  the plan-period counters; otherwise the model's estimate) to the target in the target year:
  geometric interpolation (constant growth rate), or linear for shares (dimensionless
  variables such as R&D intensity) and for indicators that start at 0 (the counters).
* **Status** of the last observed value against the path in its year: *on track* when it
  meets the path, *at risk* when it falls short of it by at most ``AT_RISK_MARGIN`` (10 %) of
  the path value, *off track* beyond that; *no data* without an observation after the plan
  start.
* **Growth needed**: ``(target / last) ** (1 / years left) - 1`` per year.
* **Goal** of a lever change: the probability a target should have after it,
  ``DEFAULT_GOAL`` (80 %, the mid-term rule of thumb); ``sim.workflows.assess`` searches the
  lever with ``sim.analysis.threshold_search.solve_threshold``.
"""

from __future__ import annotations

import math
from typing import Literal

import pandas as pd

from sim.scenario import Target

ON_TRACK = "on_track"
AT_RISK = "at_risk"
OFF_TRACK = "off_track"
NO_DATA = "no_data"
#: Statuses in order from best to worst.
STATUSES = (ON_TRACK, AT_RISK, OFF_TRACK, NO_DATA)
#: Shortfall below the path (share of the path value) still counted as "at risk".
AT_RISK_MARGIN = 0.10
#: Probability a target should have after a lever change (the mid-term rule of thumb).
DEFAULT_GOAL = 0.8

PathRule = Literal["geometric", "linear"]
#: Units of shares and intensities (interpolated linearly).
DIMENSIONLESS = ("Dmnl", "1", "")


def path_rule(start_value: float, units: str) -> PathRule:
    """``linear`` for dimensionless shares and for indicators starting at (or below) 0,
    ``geometric`` otherwise."""
    if start_value <= 0 or units.strip() in DIMENSIONLESS:
        return "linear"
    return "geometric"


def plan_path(
    start_value: float,
    start_year: float,
    target: Target,
    year: float,
    rule: PathRule,
) -> float:
    """Where the plan's path from ``start_value`` in ``start_year`` to ``target`` puts the
    indicator in ``year`` (model units); the start value before it, the target after."""
    span = target.year - start_year
    if span <= 0:
        raise ValueError(f"the target year {target.year} is not after the start {start_year:g}")
    share = min(1.0, max(0.0, (year - start_year) / span))
    if rule == "geometric":
        if start_value <= 0 or target.threshold <= 0:
            raise ValueError("a geometric path needs a positive start and target")
        return start_value * (target.threshold / start_value) ** share
    return start_value + (target.threshold - start_value) * share


def shortfall(observed: float, path_value: float, direction: str) -> float:
    """How far ``observed`` is behind the path, as a share of the path value (≤ 0: on or
    ahead of it)."""
    behind = path_value - observed if direction == "at_least" else observed - path_value
    if path_value == 0:
        return 0.0 if behind <= 0 else math.inf
    return behind / abs(path_value)


def track_status(
    observed: float, path_value: float, direction: str, margin: float = AT_RISK_MARGIN
) -> str:
    """``on_track``, ``at_risk`` or ``off_track`` (see the module doc); ``no_data`` for NaN."""
    if math.isnan(observed) or math.isnan(path_value):
        return NO_DATA
    gap = shortfall(observed, path_value, direction)
    if gap <= 0:
        return ON_TRACK
    return AT_RISK if gap <= margin else OFF_TRACK


def growth_needed(last: float, threshold: float, last_year: float, target_year: float) -> float:
    """Annual growth rate from ``last`` to ``threshold`` over the remaining years, NaN when
    undefined (no years left, or a value ≤ 0)."""
    years = target_year - last_year
    if years <= 0 or last <= 0 or threshold <= 0 or math.isnan(last):
        return math.nan
    return (threshold / last) ** (1.0 / years) - 1.0


def last_observation(
    observations: pd.DataFrame, variable: str, as_of: int
) -> tuple[int, float] | None:
    """Year and value of the latest observation of ``variable`` at or before ``as_of``."""
    rows = observations[(observations["variable"] == variable) & (observations["year"] <= as_of)]
    if rows.empty:
        return None
    latest = rows.loc[rows["year"].idxmax()]
    return int(latest["year"]), float(latest["value"])


def start_value(
    observations: pd.DataFrame, variable: str, start_year: int, model_estimate: float
) -> tuple[float, str]:
    """The indicator's value at the plan start and where it comes from: ``observed``,
    ``zero`` (a counter that starts at 0 in the model) or ``model`` (the conditioned
    ensemble's median, when the start year was not observed)."""
    rows = observations[
        (observations["variable"] == variable) & (observations["year"] == start_year)
    ]
    if not rows.empty:
        return float(rows["value"].iloc[0]), "observed"
    if model_estimate == 0:
        return 0.0, "zero"
    return float(model_estimate), "model"


def track_target(
    target: Target,
    observations: pd.DataFrame,
    as_of: int,
    start_year: int,
    model_start: float,
    units: str,
) -> dict[str, object]:
    """One indicator's progress: last observation, plan path in its year, status, growth.

    Args:
        target: the target.
        observations: observed data (``sim.scenario.observed`` columns).
        as_of: the assessment year (observations after it are ignored).
        start_year: the plan's base year (``Plan Start Time``).
        model_start: the model's estimate of the indicator in ``start_year`` (used when the
            start is not observed).
        units: the indicator's model units (decides the path rule).
    """
    start, source = start_value(observations, target.variable, start_year, model_start)
    rule = path_rule(start, units)
    last = last_observation(observations, target.variable, as_of)
    last_year, last_value = last if last is not None else (math.nan, math.nan)
    since_start = last is not None and last_year > start_year
    path_value = plan_path(start, start_year, target, last_year, rule) if since_start else math.nan
    gap = shortfall(last_value, path_value, target.direction) if since_start else math.nan
    return {
        "last_year": last_year,
        "last_value": last_value,
        "start_value": start,
        "start_source": source,
        "path_rule": rule,
        "path_value": path_value,
        "shortfall": gap,
        "status": track_status(last_value, path_value, target.direction),
        "growth_needed": growth_needed(last_value, target.threshold, last_year, target.year),
    }
