"""Levers that act (Sterman ch. 21, policy sensitivity).

Over its plausible policy range (the constant's Vensim range in the model), every lever of the
baseline moves at least one target's 2025 median by ``MIN_MEDIAN_CHANGE``; every instrument the
baseline lists as ``negligible`` under ``other_instruments`` moves none by that much; a richer
fiscal path makes no target less likely and some target more likely. Common random numbers:
every setting runs the same draws. Constrained levers (the budget split) are moved with the
other members of their constraint rescaled proportionally
(``sim.workflows.lever_runs.plausible_range_effects``).
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.analysis.lever_effects import largest_median_change
from sim.analysis.probabilities import met
from sim.paths import DEFAULT_SCENARIO_PATH
from sim.scenario import load_scenario
from sim.vensim.catalogue import model_info
from sim.workflows.lever_runs import LeverRuns, plausible_range_effects

DRAWS, SEED = 300, 20261130
#: the smallest change of some target's median a lever must make over its plausible range
MIN_MEDIAN_CHANGE = 0.02
FISCAL_PATH = ("Fiscal Innovation Share Floor", "Fiscal Innovation Share Annual Increase")


@pytest.fixture(scope="module")
def explorer(real_model) -> LeverRuns:
    return LeverRuns(load_scenario(DEFAULT_SCENARIO_PATH), draws=DRAWS, seed=SEED)


def plausible_range(explorer: LeverRuns, name: str) -> tuple[float, float]:
    low, high = model_info(explorer.compiled.path).limits(name)
    if low is None or high is None:
        pytest.fail(f"'{name}' has no closed Vensim range: the model must state its policy range")
    return float(low), float(high)


def test_every_lever_has_its_value_inside_a_plausible_range(explorer):
    for name, lever in explorer.scenario.levers.items():
        low, high = plausible_range(explorer, name)
        assert lever.value is not None and low <= lever.value <= high, name


def test_every_lever_moves_a_target(explorer):
    effects = plausible_range_effects(explorer, list(explorer.scenario.levers))
    largest = largest_median_change(effects)
    weak = largest[largest < MIN_MEDIAN_CHANGE]
    assert weak.empty, (
        f"levers moving no target's median by {MIN_MEDIAN_CHANGE:.0%} over their plausible "
        f"range (move them to other_instruments, or find the missing mechanism):\n{weak}"
    )


def test_negligible_instruments_move_no_target(explorer):
    instruments = {
        key: item
        for key, item in explorer.scenario.other_instruments.items()
        if item.effect == "negligible"
    }
    assert instruments, "the baseline lists no negligible instrument to check"
    for key, instrument in instruments.items():
        largest = largest_median_change(plausible_range_effects(explorer, instrument.constants))
        strong = largest[largest >= MIN_MEDIAN_CHANGE]
        assert strong.empty, f"{key} is listed as negligible but moves a target:\n{strong}"


def test_a_richer_fiscal_path_makes_targets_more_likely(explorer):
    settings = {name: np.array(plausible_range(explorer, name)) for name in FISCAL_PATH}
    values = explorer.values(settings)
    gains = {}
    for target in explorer.targets:
        poor, rich = (float(np.mean(met(target, values[target.name][i]))) for i in (0, 1))
        # the same draws at both settings: a target met on the poor path is met on the rich one
        assert rich >= poor, f"{target.name}: P {poor:.3f} on the poorest path, {rich:.3f} richest"
        gains[target.name] = rich - poor
    assert max(gains.values()) >= 0.1, f"the fiscal path moves no probability by 0.1: {gains}"
