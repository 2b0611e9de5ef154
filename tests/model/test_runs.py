"""The model loads and runs under PySD 3.14 with no warnings (warnings are errors here)."""

from __future__ import annotations

import numpy as np
import pysd

from sim.vensim import load_model


def test_runs_with_pysd_314_without_warnings(real_model):
    assert pysd.__version__.startswith("3.14.")
    result = load_model(real_model).run(progress=False)
    assert result.index[0] == 2015 and result.index[-1] == 2035
    numeric = result.select_dtypes("number").to_numpy()
    assert np.isfinite(numeric).all()


def test_allocation_shares_add_to_one(real_model):
    result = load_model(real_model).run(return_columns=["Allocation Share Sum"], progress=False)
    assert np.allclose(result["Allocation Share Sum"], 1.0)
