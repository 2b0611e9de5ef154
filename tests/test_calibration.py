"""sim.workflows.calibrate and sim.workflows.assess: conditioning on observations, checked against a
known truth; refusals; the posterior file and runs that start from it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

from sim.analysis.importance_weighting import weighted_quantiles
from sim.engine.ensemble import monte_carlo_settings, run_ensemble
from sim.errors import ScenarioError
from sim.results import slug
from sim.sampling import sample
from sim.scenario import load_scenario
from sim.scenario.posterior import read_posterior
from sim.workflows.assess import assess
from sim.workflows.calibrate import (
    SYNTHETIC_SOURCE,
    CalibrationError,
    condition,
    normal_scores,
    posterior_dataset,
    prior_uniforms,
    synthetic_observations,
)

FIXTURE = Path(__file__).parent / "fixtures" / "calibration_small.yaml"
OBSERVED = ["Innovation Carriers", "Technology Contract Turnover", "Effective Invention Patents"]


@pytest.fixture(scope="module")
def scenario(real_model):
    return load_scenario(FIXTURE)


def _truth(scenario, replication: int) -> dict[str, float]:
    """A parameter set drawn from the prior (coverage is a statement about such draws)."""
    drawn = sample(scenario.uncertainties, 1, 100 + replication, "random")
    return {name: float(values[0]) for name, values in drawn.items()}


def _coverage(scenario, replications: int, years: list[int], sd: float, draws: int):
    hits, methods = [], set()
    for r in range(replications):
        truth = _truth(scenario, r)
        data = synthetic_observations(scenario, truth, OBSERVED, years, sd, seed=r)
        result = condition(scenario, data, draws=draws, seed=r)
        methods.add(result.method)
        for name, value in truth.items():
            low, high = weighted_quantiles(result.draws[name], result.weights, [0.05, 0.95])
            hits.append(low <= value <= high)
    return np.array(hits), methods


def _tolerance(n: int, nominal: float = 0.9) -> float:
    # 3 binomial standard errors, plus 0.02 for the Monte Carlo error of the intervals
    return 3 * np.sqrt(nominal * (1 - nominal) / n) + 0.02


def test_prior_draws_are_those_of_the_sampler(scenario):
    settings = monte_carlo_settings(scenario, 300, 9)
    space = normal_scores(scenario)
    u = prior_uniforms(scenario, settings)
    drawn = sample(scenario.uncertainties, 300, 9, "lhs", scenario.correlations)
    for k, name in enumerate(space.names):
        np.testing.assert_array_equal(space.distributions[name].ppf(u[:, k]), drawn[name])


def test_importance_weighting_covers_the_truth_at_its_nominal_rate(scenario):
    # weak data (15 % sd, one year): plain importance weights suffice
    hits, methods = _coverage(scenario, 40, [2020], 0.15, 1500)
    assert methods == {"importance"} or "importance" in methods
    assert abs(hits.mean() - 0.9) <= _tolerance(hits.size), hits.mean()


def test_tempering_covers_the_truth_at_its_nominal_rate(scenario):
    # sharper data (5 % sd, two years): importance weights alone are too uneven
    hits, methods = _coverage(scenario, 16, [2017, 2020], 0.05, 600)
    assert methods == {"tempering"}
    assert abs(hits.mean() - 0.9) <= _tolerance(hits.size), hits.mean()


#: constants outside the fixture's uncertainties, set apart from the model's defaults in the
#: truth: a structure the conditioned model does not contain (fewer carrier candidates, longer
#: patent life, more knowledge in contract turnover)
PERTURBED_STRUCTURE = {
    "Carrier Candidates In 2015": 9.0,
    "Average Patent Life": 10.0,
    "Contract Knowledge Elasticity": 0.3,
}


def _coverage_under_perturbed_structure(scenario, replications: int, draws: int) -> np.ndarray:
    hits = []
    for r in range(replications):
        truth = _truth(scenario, r)
        data = synthetic_observations(
            scenario, truth | PERTURBED_STRUCTURE, OBSERVED, [2017, 2020], 0.02, seed=r
        )
        result = condition(scenario, data, draws=draws, seed=r)
        for name, value in truth.items():
            low, high = weighted_quantiles(result.draws[name], result.weights, [0.05, 0.95])
            hits.append(low <= value <= high)
    return np.array(hits)


def test_the_discrepancy_term_restores_coverage_under_a_perturbed_structure(scenario, tmp_path):
    path = tmp_path / "discrepancy.yaml"
    path.write_text(
        f"extends: {FIXTURE}\ndiscrepancy:\n  default: {{relative: 0.1, reasoning: test}}\n",
        encoding="utf-8",
    )
    plain = _coverage_under_perturbed_structure(scenario, 12, 600)
    with_term = _coverage_under_perturbed_structure(load_scenario(path), 12, 600)
    assert with_term.mean() > plain.mean() + 0.2, (plain.mean(), with_term.mean())
    assert abs(with_term.mean() - 0.9) <= _tolerance(with_term.size), with_term.mean()


def test_the_posterior_narrows_around_the_truth(scenario):
    truth = _truth(scenario, 3)
    data = synthetic_observations(scenario, truth, OBSERVED, [2017, 2020], 0.03, seed=3)
    result = condition(scenario, data, draws=800, seed=1)
    name = "Public Cost Per Carrier"
    prior_width = np.subtract(*np.quantile(result.prior[name], [0.95, 0.05]))
    low, high = weighted_quantiles(result.draws[name], result.weights, [0.05, 0.95])
    assert high - low < 0.5 * prior_width
    assert low <= truth[name] <= high
    assert (data["source"] == SYNTHETIC_SOURCE).all()


def _impossible(scenario):
    data = synthetic_observations(scenario, _truth(scenario, 0), OBSERVED, [2020], 0.05, seed=0)
    data.loc[data["variable"] == "Innovation Carriers", "value"] = 5000.0
    return data


def test_sharp_observations_refuse_by_ess_without_tempering(scenario):
    data = synthetic_observations(scenario, _truth(scenario, 0), OBSERVED, [2017, 2020], 0.01, 0)
    with pytest.raises(CalibrationError, match="effective sample size .* below the floor"):
        condition(scenario, data, draws=500, seed=1, tempering=False)


def test_impossible_observations_are_reported_or_refused_when_strict(scenario):
    with pytest.raises(CalibrationError, match="does not reproduce .*Innovation Carriers"):
        condition(scenario, _impossible(scenario), draws=400, seed=1, strict=True)
    result = condition(scenario, _impossible(scenario), draws=400, seed=1)
    misfits = result.misfits
    assert list(misfits["variable"]) == ["Innovation Carriers"]
    assert misfits.loc[0, "closest_residual"] < -3
    assert misfits.loc[0, "closest_value"] < 5000 and np.isnan(misfits.loc[0, "suggested_value"])
    assert misfits.loc[0, "suspect_structure"].startswith("Platforms: ")


def test_a_fraction_given_in_percent_gets_a_hint(scenario):
    data = synthetic_observations(scenario, _truth(scenario, 1), OBSERVED, [2020], 0.05, seed=1)
    intensity = synthetic_observations(
        scenario, _truth(scenario, 1), ["RD Intensity"], [2020], 0.05, 1
    )
    intensity[["value", "sd"]] *= 100  # 0.96 % written as 0.96 instead of 0.0096
    result = condition(scenario, pd.concat([data, intensity], ignore_index=True), draws=300, seed=1)
    row = result.misfits.set_index("variable").loc["RD Intensity"]
    assert row["suggested_value"] == pytest.approx(intensity["value"].iloc[0] / 100)


def test_model_discrepancy_is_added_to_the_measurement_sd(scenario, tmp_path):
    path = tmp_path / "with_discrepancy.yaml"
    path.write_text(
        f"extends: {FIXTURE}\n"
        "discrepancy:\n"
        "  default: {relative: 0.1, reasoning: test}\n"
        "  Innovation Carriers: {relative: 0.2, reasoning: test}\n",
        encoding="utf-8",
    )
    widened = load_scenario(path)
    data = synthetic_observations(scenario, _truth(scenario, 2), OBSERVED, [2020], 0.03, seed=2)
    result = condition(widened, data, draws=300, seed=1)
    used = result.observations.set_index("variable")
    given = data.set_index("variable")
    for name in OBSERVED:
        relative = 0.2 if name == "Innovation Carriers" else 0.1
        row, value = used.loc[name], given.loc[name, "value"]
        assert row["measurement_sd"] == given.loc[name, "sd"]
        assert row["sd"] == pytest.approx(np.hypot(given.loc[name, "sd"], relative * abs(value)))


def test_probability_moves_with_good_and_bad_news(scenario):
    prior = run_ensemble(scenario, draws=800, seed=2, own_history=True)  # as assess's prior
    carriers = prior[slug("Innovation Carriers")].sel(time=2022).to_numpy()
    news = {}
    for label, quantile in (("good", 0.9), ("bad", 0.1)):
        value = float(np.quantile(carriers, quantile))
        data = synthetic_observations(scenario, {}, ["Innovation Carriers"], [2022], 0.02, 0)
        data["value"] = value
        result = assess(scenario, data, 2022, draws=800, seed=2)
        row = result.table.set_index("target").loc["carriers_2025"]
        news[label] = (row["prior_probability"], row["probability"])
        # carriers are not the economy: given the economy alone, nothing is learnt
        assert row["economy_probability"] == pytest.approx(row["prior_probability"])
        assert row["economy_ess"] == pytest.approx(800)
    (prior_good, good), (prior_bad, bad) = news["good"], news["bad"]
    assert prior_good == prior_bad
    assert good > prior_good + 0.1 and bad < prior_bad - 0.1


def test_posterior_file_and_runs_from_it(scenario, tmp_path):
    truth = _truth(scenario, 5)
    data = synthetic_observations(scenario, truth, OBSERVED, [2020], 0.1, seed=5)
    result = condition(scenario, data, draws=500, seed=4)
    dataset = posterior_dataset(result, scenario)
    path = tmp_path / "posterior.nc"
    dataset.to_netcdf(path)
    loaded = xr.load_dataset(path)
    assert loaded.attrs["method"] == result.method and loaded.attrs["ess"] == result.ess
    assert loaded["prior_weight"].sum() == pytest.approx(1.0)
    posterior = read_posterior(path)
    assert set(posterior.draws) == set(scenario.uncertainties) and posterior.size == 500

    calibrated = tmp_path / "calibrated.yaml"
    calibrated.write_text(f"extends: {FIXTURE}\nposterior: posterior.nc\n", encoding="utf-8")
    child = load_scenario(calibrated)
    assert child.posterior == path.resolve()
    run = run_ensemble(child, draws=200, seed=11)
    assert run.attrs["sampler"] == "posterior resampling" and run.attrs["posterior_sha256"]
    name = "Public Cost Per Carrier"
    assert set(run[slug(name)].values) <= set(posterior.draws[name])
    again = run_ensemble(child, draws=200, seed=11)  # common random numbers
    np.testing.assert_array_equal(run[slug(name)].values, again[slug(name)].values)
    other = run_ensemble(child, draws=200, seed=12)
    assert not np.array_equal(run[slug(name)].values, other[slug(name)].values)


def test_scenario_posterior_is_validated(scenario, tmp_path):
    missing = tmp_path / "missing.yaml"
    missing.write_text(f"extends: {FIXTURE}\nposterior: nope.nc\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="file not found.*nope.nc") as caught:
        load_scenario(missing)
    assert caught.value.field == "posterior" and caught.value.line == 2

    garbage = tmp_path / "garbage.nc"
    garbage.write_text("not netcdf", encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"extends: {FIXTURE}\nposterior: garbage.nc\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="not a NetCDF file"):
        load_scenario(bad)

    data = synthetic_observations(scenario, {}, OBSERVED, [2020], 0.2, seed=0)
    posterior_dataset(condition(scenario, data, draws=200, seed=0), scenario).to_netcdf(
        tmp_path / "posterior.nc"
    )
    changed = tmp_path / "changed.yaml"
    changed.write_text(
        f"extends: {FIXTURE}\nposterior: posterior.nc\nuncertainties:\n"
        "  Carrier Lifetime: {distribution: uniform, min: 5, max: 15, source: test}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError, match="conditioned on 'Carrier Lifetime'") as caught:
        load_scenario(changed)
    assert caught.value.path == changed and caught.value.field == "uncertainties.Carrier Lifetime"

    added = tmp_path / "added.yaml"
    added.write_text(
        f"extends: {FIXTURE}\nposterior: posterior.nc\nuncertainties:\n"
        "  Platform Lifetime: {distribution: uniform, min: 10, max: 30, source: test}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError, match="'Platform Lifetime' is uncertain .* not in"):
        load_scenario(added)

    as_lever = tmp_path / "lever.yaml"
    as_lever.write_text(
        f"extends: {FIXTURE}\nposterior: posterior.nc\nlevers:\n"
        "  Carrier Lifetime: {value: 12, source: test}\n",
        encoding="utf-8",
    )
    run = run_ensemble(load_scenario(as_lever), draws=20, seed=0)
    assert slug("Carrier Lifetime") not in run  # the lever wins over the posterior


def test_normal_scores_density_is_the_prior(scenario):
    space = normal_scores(scenario)
    z = np.random.default_rng(0).standard_normal((5, len(space.names)))
    expected = stats.multivariate_normal(np.zeros(len(space.names)), space.correlation).logpdf(z)
    difference = space.log_density(z) - expected
    np.testing.assert_allclose(difference, difference[0])


def test_lever_changes_only_after_the_assessment_year(scenario, tmp_path):
    from sim.workflows.assess import lever_path

    default = lever_path(scenario, "Fiscal Innovation Share Floor", 0.05, 2023, 0.125)
    assert default(2015) == default(2023) == 0.02 and default(2023.125) == 0.05
    path_file = tmp_path / "path.yaml"
    path_file.write_text(
        f"extends: {FIXTURE}\nlevers:\n  Transfer Subsidy Rate:\n"
        "    path: {2020: 0.05, 2022: 0.07, 2025: 0.10}\n    source: test\n",
        encoding="utf-8",
    )
    path = lever_path(load_scenario(path_file), "Transfer Subsidy Rate", 0.2, 2023, 0.125)
    assert path(2020) == 0.05 and path(2022) == pytest.approx(0.07)
    assert path(2023) == pytest.approx(0.08) and path(2023.125) == 0.2 and path(2030) == 0.2


def test_normal_score_values_match_the_exact_inverse_cdf(real_model):
    """The tabulated ppf(Φ(z)) of the tempering moves is within 1e-5 of each distribution's
    5-95 % range of the exact one (every distribution of the baseline); a discrete one is
    exact."""
    from scipy import stats as st

    from sim.paths import DEFAULT_SCENARIO_PATH

    baseline = load_scenario(DEFAULT_SCENARIO_PATH)
    space = normal_scores(baseline)
    z = np.random.default_rng(1).standard_normal((5000, len(space.names))) * 1.5  # |z| up to 7
    values = space.values(z)
    tiny, top = np.finfo(float).tiny, np.nextafter(1.0, 0.0)
    for k, name in enumerate(space.names):
        distribution = baseline.uncertainties[name]
        exact = distribution.ppf(np.clip(st.norm.cdf(z[:, k]), tiny, top))
        if distribution.distribution == "choice":
            np.testing.assert_array_equal(values[name], exact)
            continue
        low, high = distribution.ppf(np.array([0.05, 0.95]))
        assert np.max(np.abs(values[name] - exact)) <= 1e-5 * (high - low), name


def test_conditioned_draws_carry_their_own_history_unless_the_scenario_anchors(scenario, tmp_path):
    from sim.engine import compile_model
    from sim.engine.ensemble import ANCHORING_SWITCH, scenario_inputs

    compiled = compile_model()
    settings = monte_carlo_settings(scenario, 20, 1)
    assert ANCHORING_SWITCH not in scenario_inputs(scenario, settings, compiled).fixed
    free = scenario_inputs(scenario, settings, compiled, own_history=True)
    assert free.fixed[ANCHORING_SWITCH] == 0.0
    anchored = tmp_path / "anchored.yaml"
    anchored.write_text(
        f"extends: {FIXTURE}\nlevers:\n  {ANCHORING_SWITCH}: {{value: 1, source: test}}\n",
        encoding="utf-8",
    )
    chosen = scenario_inputs(load_scenario(anchored), settings, compiled, own_history=True)
    assert chosen.fixed[ANCHORING_SWITCH] == 1.0


def test_normal_score_tables_are_cached_on_disk_and_recomputed_when_unreadable(real_model):
    from sim.vensim import cache_root
    from sim.workflows.calibrate import _score_table_row

    distribution = load_scenario(FIXTURE).uncertainties["Public Cost Per Carrier"]
    first = _score_table_row(distribution)
    files = sorted((cache_root() / "scores").glob("*.npy"))
    assert files
    cached = next(path for path in files if np.array_equal(np.load(path), first))
    np.testing.assert_array_equal(_score_table_row(distribution), first)
    cached.write_bytes(b"not a table")
    np.testing.assert_array_equal(_score_table_row(distribution), first)
    np.testing.assert_array_equal(np.load(cached), first)  # rewritten
