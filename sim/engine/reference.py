"""Check the engine against PySD: the same draws run one by one through PySD's ``Model.run``.

Used by the reference tests (``tests/engine``); slow (one fresh PySD model per draw), so it is
not for production runs.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sim.engine.api import CompiledModel, TimePath, compile_model, simulate
from sim.errors import EngineError
from sim.vensim import load_model, pysd_deprecations_silenced

#: Values with a magnitude below this are compared absolutely (in the variable's units).
ABSOLUTE_FLOOR = 1e-9

Params = Mapping[str, float | TimePath]


def pysd_run(
    path: str | os.PathLike[str] | None,
    params: Params,
    outputs: Sequence[str],
    time_step: float | None = None,
    saveper: float | None = None,
) -> pd.DataFrame:
    """One run through PySD itself, on a freshly loaded model (``run`` mutates a model).

    Numbers are passed as Python floats and a ``TimePath`` (shared, 1-D: this is one draw) as
    a ``pandas.Series`` indexed by its times: PySD refuses numpy arrays (or silently misuses
    them), so none is passed. PySD's own warnings (e.g. about replacing a constant by a time
    series) are silenced.
    """
    model = load_model(path)
    pysd_params: dict[str, float | pd.Series] = {}
    for name, value in params.items():
        if isinstance(value, TimePath):
            _check_one_draw(name, value)
            pysd_params[name] = pd.Series(list(value.values), index=list(value.times))
        else:
            pysd_params[name] = float(value)
    with pysd_deprecations_silenced(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = model.run(
            params=pysd_params,
            return_columns=list(outputs),
            time_step=time_step,
            saveper=saveper,
            progress=False,
        )
    return pd.DataFrame(result, copy=True)


def _check_one_draw(name: str, path: TimePath) -> None:
    if path.per_draw:
        raise EngineError(
            f"'{name}': the params of one draw take a 1-D TimePath, not one of "
            f"{path.n_draws} per-draw paths (give each draw its own row: path.row(i))"
        )


def _groups(draws: Sequence[Params]) -> list[list[int]]:
    """Indices of draws whose time paths replace the same variables over the same times.

    Each group runs in one engine call: its paths that differ are stacked into per-draw
    ``TimePath``s; only different ``times`` (or path names) split draws apart.
    """
    groups: dict[tuple[tuple[str, tuple[float, ...]], ...], list[int]] = {}
    for index, draw in enumerate(draws):
        key = []
        for name, value in draw.items():
            if isinstance(value, TimePath):
                _check_one_draw(name, value)
                key.append((name, value.times))
        groups.setdefault(tuple(sorted(key)), []).append(index)
    return list(groups.values())


def engine_run(
    compiled: CompiledModel,
    draws: Sequence[Params],
    outputs: Sequence[str],
    time_step: float | None = None,
    saveper: float | None = None,
) -> dict[str, np.ndarray]:
    """All ``draws`` through the engine: numbers stacked into per-draw arrays and 1-D time
    paths over the same times into per-draw ``TimePath``s (one shared path where all draws
    of a group give the same), so draws run in as few engine calls as their times allow.

    Returns ``{output: array of shape (len(draws), n_save_times)}`` in the draws' order.
    """
    n = len(draws)
    values = {name: np.empty((n, len(compiled.times(saveper, time_step)))) for name in outputs}
    for group in _groups(draws):
        params: dict[str, float | np.ndarray | TimePath] = {}
        names = {k for i in group for k in draws[i]}
        for name in sorted(names):
            first = draws[group[0]].get(name)
            if isinstance(first, TimePath):
                paths = [path for i in group if isinstance(path := draws[i][name], TimePath)]
                same = all(path == first for path in paths)
                params[name] = first if same else TimePath.stack(paths)
                continue
            default = compiled.constants.get(name)
            column = [draws[i].get(name, default) for i in group]
            if any(v is None for v in column):
                raise EngineError(f"draws give '{name}' only sometimes and it has no default")
            params[name] = np.array(column, dtype=float)
        result = simulate(
            compiled, len(group), params, outputs, time_step=time_step, saveper=saveper
        )
        for name in outputs:
            values[name][group] = result[name]
    return values


def compare_with_pysd(
    path: str | os.PathLike[str] | None,
    params_per_draw: Sequence[Params],
    outputs: Sequence[str] | None = None,
    time_step: float | None = None,
    saveper: float | None = None,
    absolute_floor: float = ABSOLUTE_FLOOR,
) -> dict[str, float]:
    """Largest relative difference engine vs PySD of each variable over draws and save times.

    Args:
        path: model file (default: ``default_model_path()``).
        params_per_draw: one mapping of overrides per draw (Vensim names; numbers or 1-D
            ``TimePath``, which may differ per draw); draws whose paths have the same times
            run together in the engine (as per-draw paths), one by one in PySD.
        outputs: variables to compare (default: every variable but lookups).
        time_step, saveper: as in ``simulate``.
        absolute_floor: the difference is divided by ``max(|PySD value|, absolute_floor)``.

    Returns:
        ``{variable: max |engine - pysd| / max(|pysd|, absolute_floor)}``; ``inf`` where one
        side is not finite and the other is, or the save times differ.
    """
    compiled = compile_model(path)
    names = (
        list(outputs)
        if outputs is not None
        else [v for v in compiled.variables if compiled.kinds[v] != "lookup"]
    )
    engine = engine_run(compiled, params_per_draw, names, time_step, saveper)
    times = compiled.times(saveper, time_step)
    worst = dict.fromkeys(names, 0.0)
    for index, draw in enumerate(params_per_draw):
        frame = pysd_run(compiled.path, draw, names, time_step, saveper)
        same_times = frame.index.to_numpy(dtype=float).shape == times.shape and np.allclose(
            frame.index.to_numpy(dtype=float), times, rtol=0, atol=1e-9
        )
        for name in names:
            reference = frame[name].to_numpy(dtype=float)
            mine = engine[name][index]
            if not same_times:
                worst[name] = np.inf
                continue
            both_nan = np.isnan(reference) & np.isnan(mine)
            with np.errstate(all="ignore"):
                diff = np.abs(mine - reference) / np.maximum(np.abs(reference), absolute_floor)
            diff = np.where(both_nan | (mine == reference), 0.0, diff)
            diff = np.where(np.isnan(diff), np.inf, diff)
            worst[name] = max(worst[name], float(diff.max(initial=0.0)))
    return worst
