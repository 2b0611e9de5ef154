"""Reference test: for every scenario in scenarios/, 20 random draws run one by one through
PySD's own ``Model.run`` agree with the engine to a relative 1e-9 on every variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.engine.reference import compare_with_pysd
from sim.ensemble import lever_params
from sim.paths import SCENARIO_DIR
from sim.sampling import sample
from sim.scenario import load_scenario

SCENARIOS = sorted(SCENARIO_DIR.glob("*.yaml"))
DRAWS = 20
TOLERANCE = 1e-9


@pytest.mark.parametrize("path", SCENARIOS, ids=[path.stem for path in SCENARIOS])
def test_engine_agrees_with_pysd_on_scenario_draws(path: Path, real_model: Path) -> None:
    scenario = load_scenario(path)
    drawn = sample(scenario.uncertainties, DRAWS, seed=2024, sampler="random")
    fixed = lever_params(scenario.levers)
    params_per_draw = [
        fixed | {name: float(values[index]) for name, values in drawn.items()}
        for index in range(DRAWS)
    ]
    differences = compare_with_pysd(real_model, params_per_draw)
    worst = {name: diff for name, diff in differences.items() if not diff <= TOLERANCE}
    assert not worst, f"{path.name}: engine and PySD differ: {worst}"


def test_every_scenario_file_is_covered() -> None:
    assert len(SCENARIOS) >= 4
