"""Running a Vensim model with PySD and returning plain pandas results."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sim.errors import ModelError
from sim.vensim.model import load_model, pysd_deprecations_silenced


def run_yearly(
    variables: Sequence[str],
    path: str | os.PathLike[str] | None = None,
    params: Mapping[str, float | pd.Series] | None = None,
) -> pd.DataFrame:
    """Run a model once and return ``variables`` at every whole year of the run.

    Args:
        variables: Vensim names of the variables to report.
        path: model file (default: ``default_model_path()``).
        params: constants to override, by Vensim name (in the model's own units): a number,
            or a ``pandas.Series`` over model time (a path, interpolated by PySD).

    Returns:
        DataFrame indexed by ``year`` (int), one column per variable (Vensim name), values in
        the model's units.

    Raises:
        ModelError: unknown variable, bad parameter or a failed run.
    """
    model = load_model(path)
    namespace = model.namespace
    unknown = [name for name in variables if name not in namespace]
    unknown += [name for name in (params or {}) if name not in namespace]
    if unknown:
        raise ModelError(f"not variables of the model {model.mdl_file}: {', '.join(unknown)}")
    start = float(model.components.initial_time())
    stop = float(model.components.final_time())
    years = np.arange(math.ceil(start), math.floor(stop) + 1, dtype=float)
    try:
        with pysd_deprecations_silenced(), warnings.catch_warnings():
            # a pandas Series replacing a constant is a yearly path, given on purpose
            warnings.filterwarnings("ignore", "Replacing a constant value with a time-dependent")
            result = model.run(
                params=dict(params or {}),
                return_columns=list(variables),
                return_timestamps=years,
                progress=False,
            )
    except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
        raise ModelError(f"the run of {model.mdl_file} failed: {exc}") from exc
    frame = pd.DataFrame(result, copy=True)[list(variables)].astype(float)
    frame.index = pd.Index(np.rint(frame.index.to_numpy()).astype(int), name="year")
    frame.columns.name = "variable"
    return frame
