"""The engine against PySD's own ``Model.run``, draw by draw, on every variable."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from sim.engine import TimePath, compile_model
from sim.engine.reference import compare_with_pysd
from sim.vensim.catalogue import model_info

FIXTURES = Path(__file__).parent / "fixtures"
TOLERANCE = 1e-9
N_DRAWS = 20


def _random_draws(path: Path | None, n: int, seed: int) -> list[dict[str, float]]:
    """Each constant uniform within ±30 % of its default, clipped to its Vensim limits.

    Dates (constants in years beyond 1000) move by up to ±3 years instead; counts of at least
    10 stay whole numbers.
    """
    compiled = compile_model(path)
    docs = model_info(path).docs
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n):
        draw: dict[str, float] = {}
        for name, default in compiled.constants.items():
            if default == 0:
                continue
            if docs[name].units == "Year" and default > 1000:
                value = default + rng.uniform(-3, 3)
            else:
                value = default * rng.uniform(0.7, 1.3)
            low, high = docs[name].limits
            value = min(max(value, -math.inf if low is None else low), high or math.inf)
            if float(default).is_integer() and abs(default) >= 10:
                value = float(round(value))  # counts stay whole numbers
            draw[name] = float(value)
        draws.append(draw)
    return draws


def _assert_close(worst: dict[str, float]) -> None:
    bad = {name: diff for name, diff in worst.items() if not diff <= TOLERANCE}
    assert not bad, f"engine differs from PySD: {bad}"


def test_random_draws_of_every_constant_match_pysd(real_model: Path) -> None:
    worst = compare_with_pysd(real_model, _random_draws(real_model, N_DRAWS, seed=20240601))
    assert len(worst) > 150
    _assert_close(worst)


def test_time_paths_match_pysd(real_model: Path) -> None:
    share = TimePath([2015, 2020, 2025, 2030], [0.015, 0.018, 0.03, 0.035])
    leverage = TimePath([2018.5, 2027], [1.0, 3.5])
    draws = _random_draws(real_model, 2, seed=7)
    draws[0]["Fiscal Innovation Share"] = share
    draws[1]["Fiscal Innovation Share"] = share
    draws[1].pop("Fund Leverage Ratio")
    draws[1]["Fund Leverage Ratio"] = leverage
    _assert_close(compare_with_pysd(real_model, draws))


def test_constructs_around_the_model_match_pysd() -> None:
    """SMOOTH family (integer SMOOTHI), DELAY1/DELAY3 with order reduction, STEP, RAMP, ..."""
    path = FIXTURES / "constructs.mdl"
    draws: list[dict[str, float | TimePath]] = [
        {},
        {"Delay Time": 0.5, "Smooth Time": 1.0},  # DELAY3 falls back to order 2
        {"Delay Time": 0.3, "Threshold": 1e9, "Step Time": 1.0},  # order 1
        {"Base Inflow": TimePath([2, 8], [1.0, 4.0]), "Residence Time": 2.5},
    ]
    _assert_close(compare_with_pysd(path, draws))
    # The integer SMOOTHI initial value truncates the first input (PySD), so it must show.
    worst = compare_with_pysd(path, draws[:1], outputs=["Smoothed Int"], time_step=0.125)
    _assert_close(worst)


@pytest.mark.parametrize(("time_step", "saveper"), [(0.0625, 0.5), (0.25, 1.0)])
def test_other_time_steps_match_pysd(real_model: Path, time_step: float, saveper: float) -> None:
    outputs = ["High Tech Enterprises", "Tech SMEs", "Perceived Contract Turnover", "GDP"]
    worst = compare_with_pysd(real_model, [{}], outputs, time_step=time_step, saveper=saveper)
    _assert_close(worst)
