"""Helpers for the model tests: run the real model through PySD with overrides."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import pytest

from sim.vensim import load_model, pysd_deprecations_silenced

Runner = Callable[..., pd.DataFrame]


@pytest.fixture
def run_model(real_model) -> Runner:
    """Run the real model once with ``params`` and return the requested variables.

    A fresh model is loaded for every run because PySD keeps ``params`` for later runs.
    ``timestamps`` defaults to every whole year; ``time_step`` overrides TIME STEP.
    """

    def run(
        variables: Sequence[str],
        params: Mapping[str, float] | None = None,
        time_step: float | None = None,
        timestamps: Sequence[float] | None = None,
    ) -> pd.DataFrame:
        model = load_model(real_model)
        if timestamps is None:
            timestamps = np.arange(2015, 2036, dtype=float)
        with pysd_deprecations_silenced(), warnings.catch_warnings():
            # a pandas Series replacing a constant is a yearly path, given on purpose
            warnings.filterwarnings("ignore", "Replacing a constant value with a time-dependent")
            result = model.run(
                params=dict(params or {}),
                return_columns=list(variables),
                return_timestamps=list(timestamps),
                time_step=time_step,
                progress=False,
            )
        return pd.DataFrame(result)[list(variables)].astype(float)

    return run
