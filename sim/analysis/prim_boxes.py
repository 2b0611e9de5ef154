"""Scenario discovery with PRIM: where in the space of the uncertainties is a target reached?

``discover(inputs, interest)`` runs the Patient Rule Induction Method (Friedman & Fisher
1999, "Bump hunting in high-dimensional data", Statistics and Computing 9) as the EMA
Workbench implements it for scenario discovery (Bryant & Lempert 2010):
``ema_workbench.analysis.prim.Prim`` with peeling and pasting (alpha 0.05), the lenient
objective and a minimum box mass of 5 %; ``Prim.find_box`` gives the peeling trajectory, each
box with its coverage (share of the cases of interest inside the box), density (share of the
box's cases that are of interest) and mass (share of all cases inside the box), and the
quasi-p value of each restriction (one-sided binomial test: could the restriction be chance?).

The chosen box (``choose_box``) is the one of the trajectory with the highest coverage among
those whose density reaches the threshold (then the highest density); when no box reaches the
threshold, the densest one. ``DiscoveryResult`` carries the trajectory and the chosen box's
limits, also normalised to the range of each parameter in the sample.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

# The EMA Workbench announces optional packages it does not find (ipyparallel, altair) with a
# UserWarning and an ImportWarning at import time; neither is used here, and our tests turn
# warnings into errors, so the import alone runs with warnings ignored.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from ema_workbench.analysis import prim as ema_prim

#: Columns of the trajectory table.
TRAJECTORY_COLUMNS = ["box", "coverage", "density", "mass", "restricted", "n", "k", "chosen"]
#: Columns of the box table (one row per restricted parameter).
BOX_COLUMNS = [
    "box",
    "parameter",
    "lower",
    "upper",
    "sample_min",
    "sample_max",
    "lower_norm",
    "upper_norm",
    "qp_lower",
    "qp_upper",
    "coverage",
    "density",
    "mass",
]
#: Peeling and pasting fraction (Friedman & Fisher's alpha; the EMA Workbench's default).
PEEL_ALPHA = 0.05
#: Smallest mass of a box on the trajectory.
MASS_MIN = 0.05
#: Default minimum density of the chosen box.
DEFAULT_THRESHOLD = 0.8
#: Threshold handed to ``ema_workbench``'s ``Prim``: there it marks the cases of interest
#: (y ≥ it, so y = 1 for our 0/1 outcome) and makes ``find_box`` discard the peeled box for
#: an uninformative one unless its density reaches it. A tiny positive value keeps the peeled
#: box always; the density threshold is applied when choosing a box on the trajectory.
EMA_THRESHOLD = 1e-9


@dataclass(frozen=True)
class DiscoveryResult:
    """A PRIM box and its peeling trajectory.

    Attributes:
        trajectory: one row per box of the trajectory (``TRAJECTORY_COLUMNS``; coverage,
            density and mass as fractions, ``restricted`` the number of restricted
            parameters, ``n`` draws in the box, ``k`` draws of interest in it).
        box: the chosen box's limits, one row per restricted parameter (``BOX_COLUMNS``;
            limits in model units, ``*_norm`` as fractions of the sample's range, quasi-p
            values NaN on an unrestricted side), most significant restriction first.
        chosen: index of the chosen box in the trajectory.
        threshold: the density asked for.
        base_rate: share of all draws that are of interest (the density of the whole space).
    """

    trajectory: pd.DataFrame
    box: pd.DataFrame
    chosen: int
    threshold: float
    base_rate: float

    @property
    def meets_threshold(self) -> bool:
        """Whether the chosen box's density reaches the threshold."""
        return bool(self.trajectory.loc[self.chosen, "density"] >= self.threshold)


def choose_box(trajectory: pd.DataFrame, threshold: float) -> int:
    """Index of the box with the highest coverage among those with density ≥ ``threshold``
    (ties: the highest density, then the first); the densest box when none reaches it."""
    dense = trajectory[trajectory["density"] >= threshold]
    if dense.empty:
        return int(trajectory["density"].to_numpy().argmax())
    order = dense.sort_values(["coverage", "density"], ascending=False, kind="stable")
    return int(order.index[0])


def discover(
    inputs: pd.DataFrame,
    interest: np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
    box: int | None = None,
    peel_alpha: float = PEEL_ALPHA,
    mass_min: float = MASS_MIN,
) -> DiscoveryResult:
    """Find the PRIM box of the draws of interest.

    Args:
        inputs: one row per draw, one float column per uncertainty (model units).
        interest: boolean per draw: is it a case of interest (e.g. the target is reached)?
        threshold: minimum density of the chosen box, in (0, 1].
        box: index on the trajectory to choose instead of ``choose_box``'s.
        peel_alpha: share of the draws peeled (and pasted) per step.
        mass_min: smallest mass of a box on the trajectory.

    Raises:
        ValueError: no or only cases of interest, bad shapes, threshold or box index.
    """
    interest = np.asarray(interest, dtype=bool)
    if interest.ndim != 1 or interest.size != len(inputs):
        raise ValueError(f"{interest.size} interest flags for {len(inputs)} draws; one each")
    if not 0 < threshold <= 1:
        raise ValueError(f"the density threshold must lie in (0, 1]; got {threshold:g}")
    hits = int(interest.sum())
    if hits in (0, interest.size):
        share = "none" if hits == 0 else "all"
        raise ValueError(
            f"{share} of the {interest.size} draws are cases of interest; PRIM needs both cases "
            "of interest and others"
        )
    x = inputs.astype(float).reset_index(drop=True)
    algorithm = ema_prim.Prim(
        x,
        interest.astype(int),
        threshold=EMA_THRESHOLD,
        peel_alpha=peel_alpha,
        paste_alpha=peel_alpha,
        mass_min=mass_min,
    )
    found = algorithm.find_box()
    steps = found.peeling_trajectory
    trajectory = pd.DataFrame(
        {
            "box": np.arange(len(steps)),
            "coverage": steps["coverage"].to_numpy(dtype=float),
            "density": steps["density"].to_numpy(dtype=float),
            "mass": steps["mass"].to_numpy(dtype=float),
            "restricted": steps["res_dim"].to_numpy(dtype=int),
            "n": steps["n"].to_numpy(dtype=int),
            "k": steps["k"].to_numpy(dtype=int),
        }
    )
    if box is None:
        chosen = choose_box(trajectory, threshold)
    elif 0 <= box < len(trajectory):
        chosen = box
    else:
        raise ValueError(f"box {box} is not on the trajectory (0-{len(trajectory) - 1})")
    trajectory["chosen"] = trajectory["box"] == chosen
    limits = box_limits(found.box_lims[chosen], algorithm.box_init, found.qp[chosen])
    stats = trajectory.loc[chosen, ["coverage", "density", "mass"]]
    limits.insert(0, "box", chosen)
    for column in ("coverage", "density", "mass"):
        limits[column] = float(stats[column])
    return DiscoveryResult(
        trajectory=trajectory,
        box=limits[BOX_COLUMNS],
        chosen=chosen,
        threshold=threshold,
        base_rate=hits / interest.size,
    )


def box_limits(
    limits: pd.DataFrame, initial: pd.DataFrame, quasi_p: dict[str, list[float]]
) -> pd.DataFrame:
    """Limits of the restricted parameters (``quasi_p``'s keys) of a box.

    ``limits`` and ``initial`` have rows lower/upper and a column per parameter (the box and
    the sample's range); ``quasi_p`` maps a parameter to its [lower, upper] quasi-p values
    (-1 for an unrestricted side). Rows are sorted by the smallest quasi-p value.
    """
    rows = []
    for name, (qp_low, qp_high) in quasi_p.items():
        low, high = (float(v) for v in limits[name].to_numpy()[:2])
        sample_min, sample_max = (float(v) for v in initial[name].to_numpy()[:2])
        width = sample_max - sample_min
        rows.append(
            {
                "parameter": name,
                "lower": low,
                "upper": high,
                "sample_min": sample_min,
                "sample_max": sample_max,
                "lower_norm": (low - sample_min) / width if width > 0 else 0.0,
                "upper_norm": (high - sample_min) / width if width > 0 else 1.0,
                "qp_lower": np.nan if qp_low < 0 else float(qp_low),
                "qp_upper": np.nan if qp_high < 0 else float(qp_high),
            }
        )
    frame = pd.DataFrame(rows, columns=BOX_COLUMNS[1:10])
    significance = frame[["qp_lower", "qp_upper"]].min(axis=1)
    return frame.iloc[np.argsort(significance.to_numpy(), kind="stable")].reset_index(drop=True)
