"""Global sensitivity of the targets to a scenario's uncertainties (SALib): pure functions.

The steps, each usable on its own (the runs live in ``sim.workflows.sensitivity``):

1. ``design(names, method, samples, seed)``: SALib's sample in the unit hypercube —
   ``SALib.sample.sobol.sample`` (Saltelli's scheme on a scrambled Sobol' sequence, first and
   total order only: ``samples × (k + 2)`` rows for k inputs) or ``SALib.sample.morris.sample``
   (``samples`` one-at-a-time trajectories on a 4-level grid: ``samples × (k + 1)`` rows).
2. ``to_model_units(design, uncertainties, names, method)``: each column through its
   uncertainty's inverse CDF (``ppf``), so the inputs follow the scenario's marginals. Sobol'
   points are used as probabilities directly (clipped into the open interval (0, 1)); Morris'
   grid levels ``j / (L − 1)`` become the centres ``(j + ½) / L`` of L equal-probability strata,
   so unbounded distributions never see a probability of 0 or 1.
3. ``indices(design, y, method, names)``: ``SALib.analyze.sobol.analyze`` (first-order S1 and
   total-order ST with bootstrap confidence intervals) or ``SALib.analyze.morris.analyze``
   (mu, mu*, sigma, with a bootstrap interval of mu*); ``sensitivity_table`` does this for the
   value of every target variable in its year and for the indicator "target reached".
4. ``ranking_quality(rows, method, reached)``: whether one output's indices can rank drivers
   at all, or are noise to be reported as such (no variation; a target reached in almost
   every run or almost none, ``MIN_MINORITY_SHARE``; an interval wider than the estimate,
   ``is_noise``).

Sobol' indices decompose the variance of an output among *independent* inputs: correlations
between uncertainties cannot be honoured (the inputs are sampled independently here, and the
scenario's correlations are ignored with a note). Morris' elementary effects are in output
units per unit of the normalised grid (the quantile range of each input).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from SALib.analyze import morris as morris_analyze
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample

from sim.analysis.probabilities import met

if TYPE_CHECKING:
    from sim.scenario import DistributionBase, Target

#: Methods ``design`` and ``indices`` know.
METHODS: tuple[str, ...] = ("sobol", "morris")
#: What is analysed for each target: its variable's value in the target year, or whether the
#: target is reached (1) or not (0).
OUTPUT_KINDS: tuple[str, ...] = ("value", "reached")
#: Index columns of each method, in the order of the table.
INDEX_COLUMNS: dict[str, list[str]] = {
    "sobol": ["S1", "S1_conf", "ST", "ST_conf"],
    "morris": ["mu", "mu_star", "mu_star_conf", "sigma"],
}
#: The index each method ranks parameters by.
RANKING_INDEX: dict[str, str] = {"sobol": "ST", "morris": "mu_star"}
#: Grid levels of the Morris design (even, as SALib recommends).
MORRIS_LEVELS = 4
#: Bootstrap resamples for the confidence intervals.
NUM_RESAMPLES = 100
#: Confidence level of the intervals (the ``*_conf`` columns are half-widths).
CONFIDENCE = 0.95


def table_columns(method: str) -> list[str]:
    """Columns of the sensitivity table of ``method``."""
    return ["target", "output", "parameter", *INDEX_COLUMNS[_checked(method)]]


def _checked(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    return method


def problem(names: Sequence[str]) -> dict:
    """SALib problem of ``names`` in the unit hypercube (inputs are probabilities)."""
    if not names:
        raise ValueError("sensitivity analysis needs at least one uncertain input")
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def design_size(method: str, samples: int, n_inputs: int) -> int:
    """Model runs of a design: ``samples × (k + 2)`` (Sobol') or ``samples × (k + 1)``
    (Morris) for ``k`` inputs."""
    return samples * (n_inputs + (2 if _checked(method) == "sobol" else 1))


def check_samples(method: str, samples: int) -> None:
    """Raise ``ValueError`` unless ``samples`` suits ``method``: a power of two ≥ 2 for
    Sobol' (Saltelli's scheme keeps the Sobol' sequence balanced only then), ≥ 2 Morris
    trajectories."""
    if _checked(method) == "sobol":
        if samples < 2 or samples & (samples - 1):
            raise ValueError(f"the sobol method needs a power of two samples ≥ 2; got {samples}")
    elif samples < 2:
        raise ValueError(f"the morris method needs at least 2 trajectories; got {samples}")


def design(names: Sequence[str], method: str, samples: int, seed: int) -> np.ndarray:
    """SALib's design for ``names`` in the unit hypercube: array (runs, k), columns in the
    order of ``names`` (see the module doc for the schemes and ``design_size``)."""
    check_samples(method, samples)
    spec = problem(names)
    if method == "sobol":
        return sobol_sample.sample(spec, samples, calc_second_order=False, seed=seed)
    return morris_sample.sample(spec, samples, num_levels=MORRIS_LEVELS, seed=seed)


def to_probabilities(unit: np.ndarray, method: str) -> np.ndarray:
    """Probabilities in the open interval (0, 1) for a design in the unit hypercube."""
    unit = np.asarray(unit, dtype=float)
    if _checked(method) == "morris":
        levels = MORRIS_LEVELS
        return (0.5 + unit * (levels - 1)) / levels
    return np.clip(unit, np.finfo(float).tiny, np.nextafter(1.0, 0.0))


def to_model_units(
    unit: np.ndarray,
    uncertainties: Mapping[str, DistributionBase],
    names: Sequence[str],
    method: str,
) -> dict[str, np.ndarray]:
    """Map a unit-hypercube design to the inputs' values: ``{name: array (runs,)}`` in the
    model's units, column ``j`` of ``unit`` through the ``ppf`` of ``names[j]``."""
    probabilities = to_probabilities(unit, method)
    if probabilities.ndim != 2 or probabilities.shape[1] != len(names):
        raise ValueError(f"design has shape {probabilities.shape}; expected (runs, {len(names)})")
    return {name: _ppf(uncertainties[name], probabilities[:, j]) for j, name in enumerate(names)}


def _ppf(distribution: DistributionBase, probabilities: np.ndarray) -> np.ndarray:
    """``distribution.ppf`` evaluated once per distinct probability: a Saltelli design repeats
    each column's 2N values, a Morris design its L levels (some inverse CDFs are slow)."""
    distinct, inverse = np.unique(probabilities, return_inverse=True)
    return np.asarray(distribution.ppf(distinct), dtype=float)[inverse]


def is_constant(y: np.ndarray) -> bool:
    """Whether ``y`` does not vary (no index is defined then)."""
    return bool(np.ptp(y) <= np.finfo(float).eps * max(1.0, float(np.max(np.abs(y)))))


def indices(
    unit: np.ndarray,
    y: np.ndarray,
    method: str,
    names: Sequence[str],
    seed: int = 0,
    num_resamples: int = NUM_RESAMPLES,
) -> pd.DataFrame:
    """Sensitivity indices of the output ``y`` (one value per row of the design ``unit``).

    Returns one row per input (column ``parameter`` plus ``INDEX_COLUMNS[method]``; the
    ``*_conf`` columns are half-widths of 95 % bootstrap intervals). An output that does not
    vary has no indices: every index is NaN then (for Sobol', also when only the A and B runs
    of the design do not vary: the estimators are normalised by their variance). Raises
    ``ValueError`` when ``y`` is not finite everywhere (the estimators need every run of the
    design).
    """
    y = np.asarray(y, dtype=float)
    columns = INDEX_COLUMNS[_checked(method)]
    if not np.isfinite(y).all():
        raise ValueError(f"{int((~np.isfinite(y)).sum())} runs of the design gave no finite value")
    frame = pd.DataFrame({"parameter": list(names)})
    if is_constant(y):
        for column in columns:
            frame[column] = np.nan
        return frame
    spec = problem(names)
    if method == "sobol":
        step = len(names) + 2  # a block per base sample: A, the D mixed rows AB, B
        if is_constant(np.r_[y[0::step], y[step - 1 :: step]]):
            # Saltelli's estimators divide by the variance of the A and B runs: none to divide by
            for column in columns:
                frame[column] = np.nan
            return frame
        result = sobol_analyze.analyze(
            spec,
            y,
            calc_second_order=False,
            num_resamples=num_resamples,
            conf_level=CONFIDENCE,
            # SALib's Sobol' analysis falls back to numpy's global random state for a seed of
            # 0; a Generator keeps every seed reproducible.
            seed=np.random.default_rng(seed),
        )
    else:
        result = morris_analyze.analyze(
            spec,
            unit,
            y,
            num_resamples=num_resamples,
            conf_level=CONFIDENCE,
            num_levels=MORRIS_LEVELS,
            seed=seed,
        )
    for column in columns:
        frame[column] = np.asarray(result[column], dtype=float)
    return frame


def _indices_of(task: tuple[Any, ...]) -> pd.DataFrame:
    target, kind, unit, output, method, names, seed, num_resamples = task
    frame = indices(unit, output, method, names, seed, num_resamples)
    frame.insert(0, "output", kind)
    frame.insert(0, "target", target)
    return frame


def sensitivity_table(
    unit: np.ndarray,
    values: Mapping[str, np.ndarray],
    targets: Sequence[Target],
    method: str,
    names: Sequence[str],
    seed: int = 0,
    num_resamples: int = NUM_RESAMPLES,
    mapper: Callable[..., Iterable[pd.DataFrame]] = map,
) -> pd.DataFrame:
    """Indices of every target's value and of reaching it.

    Args:
        unit: the design in the unit hypercube (``design``), shape (runs, k).
        values: ``{target name: the target variable in the target year, one value per run}``.
        targets: the targets, in the order of the table.
        method: ``sobol`` or ``morris``.
        names: the inputs, in the order of the design's columns.
        seed: seed of the bootstrap.
        mapper: a ``map``-like function the (target, output) estimations go through, e.g. a
            process pool's ``map`` (each is independent and seeded, so the table is the same).

    Returns:
        The tidy table ``table_columns(method)``: one row per (target, output, parameter),
        outputs ``value`` and ``reached``.
    """
    tasks = []
    for target in targets:
        value = np.asarray(values[target.name], dtype=float)
        outputs = {"value": value, "reached": met(target, value).astype(float)}
        for kind in OUTPUT_KINDS:
            tasks.append(
                (target.name, kind, unit, outputs[kind], method, list(names), seed, num_resamples)
            )
    frames = list(mapper(_indices_of, tasks))
    return pd.concat(frames, ignore_index=True)[table_columns(method)]


def ranked(table: pd.DataFrame, method: str, top: int | None = None) -> pd.DataFrame:
    """Rows of one (target, output) sorted by the ranking index (ST or mu*), largest first,
    the first ``top`` only when given (NaN rows last)."""
    key = RANKING_INDEX[_checked(method)]
    order = table.sort_values(key, ascending=False, na_position="last", kind="stable")
    return order if top is None else order.head(top)


def top_parameters(table: pd.DataFrame, method: str, k: int = 3) -> pd.DataFrame:
    """The ``k`` highest-ranked parameters of each (target, output), in table order."""
    groups = table.groupby(["target", "output"], sort=False, group_keys=False)
    return groups[list(table.columns)].apply(lambda group: ranked(group, method, k))


def interval_widths(table: pd.DataFrame, method: str, k: int = 3) -> pd.DataFrame:
    """How precise the ranking is, per (target, output): ``widest``, the largest interval
    half-width among the ``k`` highest-ranked parameters, and ``relative``, that width over
    the top index. Large relative widths (say above 0.2) mean the sample is too small to rank
    the parameters; outputs without indices are left out."""
    key = RANKING_INDEX[_checked(method)]
    rows = []
    for (target, output), group in table.groupby(["target", "output"], sort=False):
        top = ranked(group, method, k)
        if top[key].isna().all():
            continue
        widest = float(top[f"{key}_conf"].max())
        lead = float(top[key].iloc[0])
        rows.append(
            {
                "target": target,
                "output": output,
                "widest": widest,
                "relative": widest / lead if lead > 0 else float("inf"),
            }
        )
    return pd.DataFrame(rows, columns=["target", "output", "widest", "relative"])


#: Least share of a design's runs on the less common side of a "target reached" indicator for
#: its indices to rank drivers. Below it the indicator is a handful of rare events (1 % of
#: Sobol' N = 2048 base samples is about 20 runs of the A and B matrices): the variance the
#: estimators divide by is tiny and their error comparable to the indices themselves (the
#: chart once showed ST = 1.2 ± 1.9 for a target reached in 99.9 % of runs).
MIN_MINORITY_SHARE = 0.01
#: Why a ranking is not measurable (``ranking_quality``), else ``MEASURABLE``.
MEASURABLE = "measurable"
CONSTANT = "constant"
RARE = "rare"
NOISE = "noise"


def ranking_quality(rows: pd.DataFrame, method: str, reached: float | None = None) -> str:
    """Whether the indices of one (target, output) can rank drivers, and if not why.

    Args:
        rows: the table's rows of one target and output (``sensitivity_table``).
        method: ``sobol`` or ``morris``.
        reached: for the output ``reached``, the share of the design's runs that reach the
            target (0–1); ``None`` for a target's value.

    Returns:
        ``CONSTANT`` when the output does not vary (no index), ``RARE`` when fewer than
        ``MIN_MINORITY_SHARE`` of the runs fall on one side of the indicator (a target reached
        almost always or almost never: too few events to apportion variance), ``NOISE`` when
        the top-ranked index is noise (``is_noise``: its 95 % interval is wider than the
        estimate, e.g. ST = 1.2 ± 1.9), else ``MEASURABLE``.
    """
    key = RANKING_INDEX[_checked(method)]
    values = rows[key].to_numpy(dtype=float)
    if rows.empty or np.isnan(values).all():
        return CONSTANT
    if reached is not None and min(reached, 1.0 - reached) < MIN_MINORITY_SHARE:
        return RARE
    top = ranked(rows, method, 1).iloc[0]
    if is_noise(float(top[key]), float(top[f"{key}_conf"])):
        return NOISE
    return MEASURABLE


def is_noise(index: float, half_width: float) -> bool:
    """Whether an index is noise rather than a result: its 95 % interval ``index ±
    half_width`` is wider than the estimate itself (``2 × half_width ≥ index``; also a
    non-positive or undefined index). Such an estimate cannot even be told from half its
    size, so ranking by it would rank noise."""
    if not (np.isfinite(index) and np.isfinite(half_width)) or index <= 0:
        return True
    return bool(2 * half_width >= index)
