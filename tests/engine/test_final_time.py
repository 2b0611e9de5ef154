"""Runs stopped early (``final_time``): exactly the prefix of the full run, refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.engine import EngineError, TimePath, compile_model, simulate
from sim.engine.runner import run_draws

OUTPUTS = ["High Tech Enterprises", "Technology Contract Turnover", "RD Intensity", "GDP"]
CONSTANTS = ["Fund Leverage Ratio", "Base HTE Conversion Rate", "Contract Reporting Delay"]
N_DRAWS = 6

# FINAL TIME read by equations: an auxiliary, a stock's flow and a stock's initial value.
FINAL_TIME_MODEL = """{UTF-8}
Stock=
	INTEG (Inflow, FINAL TIME)
	~	Unit
	~	Test variable.
	|

Inflow=
	Rate*(FINAL TIME-Time)
	~	Unit/Year
	~	Test variable.
	|

Remaining=
	FINAL TIME-Time
	~	Year
	~	Test variable.
	|

Rate=
	0.5
	~	Unit/(Year*Year)
	~	Test variable.
	|

FINAL TIME  = 10
	~	Year
	~	The final time for the simulation.
	|

INITIAL TIME  = 0
	~	Year
	~	The initial time for the simulation.
	|

SAVEPER  = 0.5
	~	Year [0,?]
	~	The frequency with which output is stored.
	|

TIME STEP  = 0.25
	~	Year [0,?]
	~	The time step for the simulation.
	|
"""


def _params(n: int, seed: int = 3) -> dict[str, np.ndarray | TimePath]:
    """Per-draw constants and a per-draw time path (one value per year, held over the year)."""
    compiled = compile_model()
    rng = np.random.default_rng(seed)
    params: dict[str, np.ndarray | TimePath] = {
        name: compiled.constants[name] * rng.uniform(0.7, 1.3, n) for name in CONSTANTS
    }
    years = range(2016, 2036)
    levels = 0.02 * rng.uniform(0.7, 1.3, (n, len(years)))
    times = [t for y in years for t in (y - 1 + 1e-6, y)]
    params["Fiscal Innovation Share"] = TimePath(times, np.repeat(levels, 2, axis=1))
    return params


@pytest.mark.parametrize("final_time", [2023, 2023.0, np.float64(2023), 2022.9, 2023.5])
def test_early_stop_is_the_prefix_of_the_full_run(real_model: Path, final_time: float) -> None:
    compiled = compile_model(real_model)
    params = _params(N_DRAWS)
    full = simulate(compiled, N_DRAWS, params, OUTPUTS)
    short = simulate(compiled, N_DRAWS, params, OUTPUTS, final_time=final_time)
    assert list(short.times) == list(range(2015, 2024))
    assert np.array_equal(short.times, full.times[: short.times.size])
    assert np.array_equal(compiled.times(final_time=final_time), short.times)
    for name in OUTPUTS:
        assert short[name].shape == (N_DRAWS, 9)
        assert np.array_equal(short[name], full[name][:, :9])
    # The draws differ (per-draw parameters reach the outputs before 2023).
    assert np.unique(short["High Tech Enterprises"][:, -1]).size == N_DRAWS


def test_final_time_at_final_time_is_the_full_run(real_model: Path) -> None:
    compiled = compile_model(real_model)
    params = _params(2)
    full = simulate(compiled, 2, params, OUTPUTS)
    same = simulate(compiled, 2, params, OUTPUTS, final_time=compiled.final_time)
    assert np.array_equal(same.times, full.times)
    for name in OUTPUTS:
        assert np.array_equal(same[name], full[name])


def test_early_stop_with_other_time_step_and_saveper(real_model: Path) -> None:
    compiled = compile_model(real_model)
    params = _params(3)
    kwargs = {"time_step": 0.0625, "saveper": 0.25}
    full = simulate(compiled, 3, params, OUTPUTS, **kwargs)
    short = simulate(compiled, 3, params, OUTPUTS, final_time=2020.5, **kwargs)
    n = short.times.size
    assert short.times[-1] == 2020.5 and n == 23
    assert np.array_equal(short.times, full.times[:n])
    for name in OUTPUTS:
        assert np.array_equal(short[name], full[name][:, :n])


def test_final_time_in_equations_keeps_the_models_value(tmp_path: Path) -> None:
    path = tmp_path / "final_time.mdl"
    path.write_text(FINAL_TIME_MODEL, encoding="utf-8")
    compiled = compile_model(path)
    outputs = ["Stock", "Inflow", "Remaining"]
    full = simulate(compiled, 2, {"Rate": np.array([0.5, 1.5])}, outputs)
    short = simulate(compiled, 2, {"Rate": np.array([0.5, 1.5])}, outputs, final_time=4)
    assert list(short.times) == [0.5 * k for k in range(9)]
    assert np.array_equal(short["Remaining"][0], 10 - short.times)
    assert short["Stock"][0, 0] == 10
    for name in outputs:
        assert np.array_equal(short[name], full[name][:, : short.times.size])


def test_a_run_to_the_initial_time_gives_the_initial_state(real_model: Path) -> None:
    compiled = compile_model(real_model)
    full = simulate(compiled, 3, outputs=OUTPUTS)
    start = simulate(compiled, 3, outputs=OUTPUTS, final_time=compiled.initial_time)
    assert list(start.times) == [compiled.initial_time]
    for name in OUTPUTS:
        assert np.array_equal(start[name], full[name][:, :1])


@pytest.mark.parametrize(
    ("final_time", "message"),
    [
        (2014.9, "from INITIAL TIME 2015"),
        (2010, "from INITIAL TIME 2015"),
        (2035.5, "to the FINAL TIME 2035"),
        (float("nan"), "got nan"),
        (float("inf"), "got inf"),
        ("2023", "must be a number"),
        (True, "must be a number"),
    ],
)
def test_bad_final_time_is_refused(real_model: Path, final_time: object, message: str) -> None:
    compiled = compile_model(real_model)
    with pytest.raises(EngineError, match=message):
        simulate(compiled, 2, outputs=OUTPUTS, final_time=final_time)  # type: ignore[arg-type]
    with pytest.raises(EngineError, match=message):
        compiled.times(final_time=final_time)  # type: ignore[arg-type]


def test_run_draws_stops_early_in_chunks(real_model: Path) -> None:
    compiled = compile_model(real_model)
    n = 11
    drawn = _params(n, seed=5)
    fixed = {"Fund Leverage Ratio": 2.5}
    drawn.pop("Fund Leverage Ratio")
    finished: list[int] = []
    times, values = run_draws(
        compiled, n, fixed, drawn, OUTPUTS, chunk_size=4, progress=finished.append, final_time=2023
    )
    full_times, full = run_draws(compiled, n, fixed, drawn, OUTPUTS)
    assert finished == [4, 4, 3]
    assert list(times) == list(range(2015, 2024))
    assert np.array_equal(times, full_times[: times.size])
    for name in OUTPUTS:
        assert values[name].shape == (n, times.size)
        assert np.array_equal(values[name], full[name][:, : times.size])
