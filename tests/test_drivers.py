"""The runs behind ``innosim sensitivity`` and ``innosim discover`` on the baseline."""

from __future__ import annotations

import numpy as np
import pytest

from sim.analysis.prim_boxes import BOX_COLUMNS
from sim.analysis.sensitivity_indices import table_columns
from sim.engine import compile_model
from sim.engine.ensemble import lever_params
from sim.paths import DEFAULT_SCENARIO_PATH
from sim.sampling import sample
from sim.scenario import load_scenario
from sim.workflows.discover import UnknownTargetError, find_target, run_discovery
from sim.workflows.sensitivity import run_sensitivity, target_values


@pytest.fixture(scope="module")
def baseline(real_model):
    return load_scenario(DEFAULT_SCENARIO_PATH)


@pytest.mark.parametrize(
    ("method", "samples", "runs_per_sample"), [("sobol", 4, 2), ("morris", 2, 1)]
)
def test_baseline_sensitivity_has_a_row_per_target_and_parameter(
    baseline, method: str, samples: int, runs_per_sample: int
) -> None:
    result = run_sensitivity(baseline, method, samples, seed=1)
    parameters = [*baseline.uncertainties, *baseline.paths]  # a path is one input as a whole
    k = len(parameters)
    assert result.runs == samples * (k + runs_per_sample)
    table = result.table
    assert list(table.columns) == table_columns(method)
    assert len(table) == len(baseline.targets) * 2 * k
    for target in baseline.targets:
        for output in ("value", "reached"):
            rows = table[(table["target"] == target.name) & (table["output"] == output)]
            assert sorted(rows["parameter"]) == sorted(parameters)
    assert set(result.reached) == {t.name for t in baseline.targets}
    assert all(0 <= share <= 1 for share in result.reached.values())
    assert result.labels_zh["HTE Recertification Share"] != "HTE Recertification Share"
    assert len(result.ignored_correlations) == len(baseline.correlations) > 0
    value_rows = table[table["output"] == "value"]
    key = "ST" if method == "sobol" else "mu_star"
    assert value_rows.groupby("target")[key].apply(lambda s: s.notna().any()).all()


def test_sensitivity_is_reproducible(baseline) -> None:
    first = run_sensitivity(baseline, "morris", 2, seed=5).table
    again = run_sensitivity(baseline, "morris", 2, seed=5).table
    assert first.equals(again)


def test_target_values_do_not_depend_on_the_chunking(baseline) -> None:
    compiled = compile_model()
    drawn = sample(baseline.uncertainties, 30, seed=2, sampler="lhs")
    fixed = lever_params(baseline.levers)
    whole = target_values(compiled, baseline.targets, fixed, drawn, 30)
    pieces = target_values(compiled, baseline.targets, fixed, drawn, 30, chunk_size=7)
    assert set(whole) == {t.name for t in baseline.targets}
    for name, values in whole.items():
        assert values.shape == (30,)
        np.testing.assert_array_equal(values, pieces[name])


def test_target_year_must_be_saved(baseline) -> None:
    late = baseline.targets[0].model_copy(update={"year": 2050})
    with pytest.raises(ValueError, match="2050 is not a saved time"):
        target_values(compile_model(), [late], {}, {}, 1)


def test_discovery_on_the_baseline(baseline) -> None:
    found = run_discovery(baseline, "technology_contract_turnover_2025", draws=600, seed=3)
    result = found.result
    assert found.draws == 600 and found.sampler == baseline.monte_carlo.sampler
    assert list(result.box.columns) == BOX_COLUMNS
    assert 0 < result.base_rate < 1
    trajectory = result.trajectory
    assert trajectory["mass"].iloc[0] == 1 and trajectory["mass"].min() < 1
    path_means = {f"{name} (mean 2016-2035)" for name in baseline.paths} | {
        f"{name} (mean 2021-2035)" for name in baseline.paths
    }
    assert set(result.box["parameter"]) <= set(baseline.uncertainties) | path_means

    missed = run_discovery(
        baseline, "technology_contract_turnover_2025", missed=True, draws=600, seed=3
    )
    assert missed.result.base_rate == pytest.approx(1 - result.base_rate)


def test_unknown_target_lists_the_known_ones(baseline) -> None:
    with pytest.raises(UnknownTargetError, match="high_tech_enterprises_2025"):
        find_target(baseline, "nope")
