"""Reference test: for every scenario in scenarios/, 20 random draws (uncertainties, drivers and
yearly paths, as every command builds them) run one by one through PySD's own ``Model.run``
agree with the engine to a relative 1e-9 on every variable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.engine import TimePath, compile_model
from sim.engine.ensemble import monte_carlo_settings, scenario_inputs
from sim.engine.reference import compare_with_pysd
from sim.paths import SCENARIO_DIR
from sim.scenario import load_scenario

SCENARIOS = sorted(SCENARIO_DIR.glob("*.yaml"))
DRAWS = 20
TOLERANCE = 1e-9


def _one_draw(value):
    """A parameter of a one-draw slice as PySD takes it: a number or a 1-D path."""
    if isinstance(value, TimePath):
        return value.row(0) if value.per_draw else value
    return float(np.asarray(value).reshape(-1)[0])


@pytest.mark.parametrize("path", SCENARIOS, ids=[path.stem for path in SCENARIOS])
def test_engine_agrees_with_pysd_on_scenario_draws(path: Path, real_model: Path) -> None:
    scenario = load_scenario(path)
    settings = monte_carlo_settings(scenario, DRAWS, seed=2024, sampler="random")
    inputs = scenario_inputs(scenario, settings, compile_model(real_model))
    params_per_draw = [
        {name: _one_draw(value) for name, value in inputs.params(np.array([index])).items()}
        for index in range(DRAWS)
    ]
    if scenario.paths:
        assert any(isinstance(v, TimePath) for v in params_per_draw[0].values())
    differences = compare_with_pysd(real_model, params_per_draw)
    worst = {name: diff for name, diff in differences.items() if not diff <= TOLERANCE}
    assert not worst, f"{path.name}: engine and PySD differ: {worst}"


def test_every_scenario_file_is_covered() -> None:
    assert len(SCENARIOS) >= 4
