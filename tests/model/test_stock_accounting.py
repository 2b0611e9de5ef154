"""Stock accounting: each stock's change over the run equals the integral of its flows."""

from __future__ import annotations

import numpy as np
import pytest

from sim.vensim import load_model, stock_flows


@pytest.fixture(scope="module")
def structure(real_model):
    return stock_flows(real_model)


def test_every_stock_has_named_flows(structure):
    assert structure, "no stocks found"
    missing = [stock for stock, flows in structure.items() if not flows]
    assert not missing, f"stocks without named flows: {missing}"


def test_stock_change_equals_integral_of_flows(run_model, structure, real_model):
    components = load_model(real_model).components
    start, stop = float(components.initial_time()), float(components.final_time())
    dt = float(components.time_step())
    times = np.arange(start, stop + dt / 2, dt)
    flows = sorted({flow for pairs in structure.values() for flow, _ in pairs})
    result = run_model(sorted(structure) + flows, timestamps=times)

    for stock, pairs in structure.items():
        net_flow = sum(sign * result[flow].to_numpy() for flow, sign in pairs)
        integral = dt * net_flow[:-1].sum()
        change = result[stock].iloc[-1] - result[stock].iloc[0]
        assert change == pytest.approx(integral, rel=1e-9, abs=1e-9), stock
