"""Which drawn uncertainties drive a target: standardised rank-regression coefficients on the
ensemble's own draws.

Given the drawn inputs of a Monte Carlo ensemble (one column per uncertainty) and an outcome
(a target's variable in its year, one value per draw), ``rank_drivers`` regresses the ranks of
the outcome on the ranks of the inputs (ordinary least squares on standardised ranks,
pandas' average ranks, as ``scipy.stats.rankdata``, without importing ``scipy.stats`` on
every run; and ``numpy.linalg.lstsq``). The coefficients are the standardised
rank-regression coefficients (SRRC); for inputs drawn independently ``SRRC²`` is the share of
the outcome's rank variance each input explains, and their sum is the regression's ``R²``. A
low ``R²`` says the ranking explains little (a non-monotonic or interacting response): the
caller says so rather than naming drivers. The sign of a coefficient says whether raising the
input raises or lowers the outcome. Rank correlations between inputs (calibrated pairs)
share the explained variance between them; the ranking is then approximate, which the
``R²`` does not show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Columns of ``DriverRanking.table``.
DRIVER_COLUMNS = ["input", "srrc", "share", "direction"]


@dataclass(frozen=True)
class DriverRanking:
    """The answer of ``rank_drivers``.

    Attributes:
        table: one row per input, most important first: ``input`` (its name), ``srrc`` (the
            standardised rank-regression coefficient), ``share`` (``srrc²``: the share of the
            outcome's rank variance it explains, dimensionless) and ``direction`` (+1: raising
            the input raises the outcome, -1: lowers it, 0: no effect).
        r2: the rank regression's coefficient of determination (0–1): how much of the
            outcome's spread (in ranks) the inputs explain together; ``nan`` when the outcome
            does not vary.
        draws: the draws used.
    """

    table: pd.DataFrame
    r2: float
    draws: int

    def top(self, count: int, min_share: float = 0.0) -> pd.DataFrame:
        """The ``count`` most important inputs whose ``share`` is at least ``min_share``."""
        return self.table[self.table["share"] >= min_share].head(count)


def _ranks(columns: np.ndarray) -> np.ndarray:
    """Each column's ranks, ties given their average rank (``scipy.stats.rankdata``)."""
    return pd.DataFrame(columns).rank(method="average").to_numpy(dtype=float)


def rank_drivers(
    inputs: Mapping[str, np.ndarray], outcomes: Mapping[str, np.ndarray]
) -> dict[str, DriverRanking]:
    """Rank ``inputs`` by how much of the spread of each of ``outcomes`` they explain (SRRC²).

    The inputs are ranked once and every outcome regressed on them together (one least-squares
    solve with a column per outcome).

    Args:
        inputs: the drawn inputs by name, each one finite value per draw; inputs that do not
            vary are kept with a coefficient of 0.
        outcomes: the outcomes by name, each one finite value per draw (the same draws).

    Returns:
        ``{outcome name: DriverRanking}``; an outcome that does not vary gets coefficients 0
        and ``r2`` nan.

    Raises:
        ValueError: no inputs, values of different lengths, or a value that is not finite.
    """
    if not inputs:
        raise ValueError("at least one input is needed")
    names = list(inputs)
    x = np.column_stack([np.asarray(inputs[name], dtype=float).ravel() for name in names])
    ys = {name: np.asarray(y, dtype=float).ravel() for name, y in outcomes.items()}
    draws = x.shape[0]
    if any(y.size != draws for y in ys.values()):
        raise ValueError(f"every input and outcome needs one value per draw ({draws})")
    if not (np.isfinite(x).all() and all(np.isfinite(y).all() for y in ys.values())):
        raise ValueError("inputs and outcomes must be finite")
    varying = np.flatnonzero(np.ptp(x, axis=0) > 0) if draws else np.array([], dtype=int)
    ranked_x = _standardised(_ranks(x[:, varying]))
    ranked_y = _standardised(
        _ranks(np.column_stack(list(ys.values()))) if ys else np.empty((draws, 0))
    )
    coefficients = np.zeros((len(names), len(ys)))
    if draws > 2 and varying.size:
        fitted, *_ = np.linalg.lstsq(ranked_x, ranked_y, rcond=None)
        coefficients[varying] = fitted
    residual = ranked_y - ranked_x @ coefficients[varying]
    total = (ranked_y**2).sum(axis=0)
    rankings = {}
    for column, outcome in enumerate(ys):
        if total[column] > 0:
            explained = 1.0 - (residual[:, column] ** 2).sum() / total[column]
            r2 = float(np.clip(explained, 0.0, 1.0))
        else:
            coefficients[:, column] = 0.0
            r2 = float("nan")
        srrc = coefficients[:, column]
        table = pd.DataFrame(
            {
                "input": names,
                "srrc": srrc,
                "share": srrc**2,
                "direction": np.sign(srrc).astype(int),
            },
            columns=DRIVER_COLUMNS,
        )
        table = table.sort_values("share", ascending=False, kind="stable").reset_index(drop=True)
        rankings[outcome] = DriverRanking(table, r2, draws)
    return rankings


def _standardised(values: np.ndarray) -> np.ndarray:
    """Each column of ``values`` centred and scaled to unit standard deviation (a constant
    column all zeros)."""
    centred = values - values.mean(axis=0)
    spread = centred.std(axis=0)
    return np.divide(centred, spread, out=np.zeros_like(centred), where=spread > 0)
