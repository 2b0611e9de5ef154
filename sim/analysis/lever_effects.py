"""What each lever does: target medians and probabilities at the ends of its plausible range.

Pure: the caller simulates (``values_at`` takes lever settings and returns each target's values
per setting, as ``sim.workflows.lever_runs.LeverRuns.values`` does); nothing here runs the model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from sim.analysis.probabilities import met
from sim.scenario import Target

Settings = Mapping[str, np.ndarray]
ValuesAt = Callable[[Settings], Mapping[str, np.ndarray]]

#: columns of ``lever_effects``
EFFECT_COLUMNS = [
    "lever",
    "end",
    "value",
    "target",
    "median",
    "base_median",
    "median_change",
    "probability",
    "base_probability",
]


def lever_effects(
    lever_ranges: Mapping[str, tuple[float, float]],
    settings_for: Callable[[str, np.ndarray], dict[str, np.ndarray]],
    values_at: ValuesAt,
    targets: Sequence[Target],
) -> pd.DataFrame:
    """Each lever at the low and high end of its range against the scenario as it is.

    Args:
        lever_ranges: ``{lever: (low, high)}``, the plausible policy range of each lever.
        settings_for: the settings that put ``lever`` at ``values`` (shape ``(2,)``), with any
            constrained partners rebalanced.
        values_at: ``{target name: array (n_settings, draws)}`` of the targets' values at the
            settings; an empty mapping is the scenario as it is.
        targets: the targets to report.

    Returns:
        One row per lever, end (``low``/``high``) and target: the lever's value, the target's
        median and probability there and in the scenario as it is, and ``median_change``
        (relative to the scenario's median; 0 where that median is 0).
    """
    base_values = values_at({})
    base_median = {t.name: float(np.median(base_values[t.name][0])) for t in targets}
    base_probability = {t.name: float(np.mean(met(t, base_values[t.name][0]))) for t in targets}
    rows = []
    for lever, (low, high) in lever_ranges.items():
        ends = np.array([low, high], dtype=float)
        values = values_at(settings_for(lever, ends))
        for i, end in enumerate(("low", "high")):
            for target in targets:
                median = float(np.median(values[target.name][i]))
                base = base_median[target.name]
                rows.append(
                    {
                        "lever": lever,
                        "end": end,
                        "value": float(ends[i]),
                        "target": target.name,
                        "median": median,
                        "base_median": base,
                        "median_change": (median - base) / abs(base) if base else 0.0,
                        "probability": float(np.mean(met(target, values[target.name][i]))),
                        "base_probability": base_probability[target.name],
                    }
                )
    return pd.DataFrame(rows, columns=EFFECT_COLUMNS)


def largest_median_change(effects: pd.DataFrame) -> pd.Series:
    """Per lever, the largest absolute relative change of any target's median at either end."""
    return effects.assign(size=effects["median_change"].abs()).groupby("lever")["size"].max()
