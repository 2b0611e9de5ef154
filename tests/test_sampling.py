"""sim.sampling: seeded known answers, marginals, LHS strata, CRN and rank correlations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.engine.ensemble import draw_uncertainties
from sim.paths import DEFAULT_SCENARIO_PATH
from sim.sampling import correlation_matrix, iman_conover, sample, to_frame
from sim.scenario import (
    Beta,
    Choice,
    Correlation,
    LogNormal,
    Normal,
    Pert,
    Triangular,
    TruncNormal,
    Uniform,
    load_scenario,
)

UNCERTAINTIES = {
    "A": Uniform(distribution="uniform", min=0, max=1, source="t"),
    "B": Pert(distribution="pert", min=1, mode=2, max=4, source="t"),
    "C": Choice(distribution="choice", values=[1, 2, 3], weights=[0.2, 0.5, 0.3], source="t"),
    "D": LogNormal(distribution="lognormal", median=2, sigma=0.5, source="t"),
}

# First three draws of sample(UNCERTAINTIES, 8, seed=42, sampler); regenerate only on purpose
# (a change here changes every stored ensemble).
KNOWN = {
    "random": {
        "A": [0.646737915184, 0.836358425101, 0.869299845265],
        "B": [1.6232712914, 2.16090383972, 1.17024651076],
        "C": [2.0, 1.0, 3.0],
        "D": [2.15106879581, 2.43380046731, 2.35766849495],
    },
    "lhs": {
        "A": [0.981275205481, 0.180556740252, 0.635797934096],
        "B": [1.38424529527, 2.54513212291, 1.82964851119],
        "C": [2.0, 2.0, 2.0],
        "D": [3.76594541291, 2.00366436667, 1.89612359782],
    },
    "sobol": {
        "A": [0.33551575616, 0.586236101575, 0.767020610161],
        "B": [2.11914754515, 2.1633118475, 1.44951860986],
        "C": [3.0, 1.0, 3.0],
        "D": [2.38367426654, 1.88205301856, 2.90011977995],
    },
}


@pytest.mark.parametrize("sampler", ["random", "lhs", "sobol"])
def test_known_first_values(sampler: str) -> None:
    draws = sample(UNCERTAINTIES, 8, 42, sampler)
    assert list(draws) == sorted(UNCERTAINTIES)
    for name, expected in KNOWN[sampler].items():
        np.testing.assert_allclose(draws[name][:3], expected, rtol=1e-10)


@pytest.mark.parametrize("sampler", ["random", "lhs", "sobol"])
def test_bit_identical_and_seed_dependent(sampler: str) -> None:
    first = sample(UNCERTAINTIES, 64, 7, sampler)
    again = sample(UNCERTAINTIES, 64, 7, sampler)
    other = sample(UNCERTAINTIES, 64, 8, sampler)
    for name in UNCERTAINTIES:
        assert first[name].tobytes() == again[name].tobytes()
        assert not np.array_equal(first[name], other[name])


DISTRIBUTIONS = [
    Uniform(distribution="uniform", min=2, max=5, source="t"),
    Triangular(distribution="triangular", min=0, mode=1, max=4, source="t"),
    Pert(distribution="pert", min=0.5, mode=2, max=4, source="t"),
    Pert(distribution="pert", min=0, mode=1, max=1, **{"lambda": 6}, source="t"),
    Normal(distribution="normal", mean=10, sd=2, source="t"),
    TruncNormal(distribution="truncnormal", mean=1, sd=1, min=0, max=1.5, source="t"),
    LogNormal(distribution="lognormal", median=3, sigma=0.4, source="t"),
    Beta(distribution="beta", alpha=2, beta=5, min=1, max=3, source="t"),
]


@pytest.mark.parametrize("sampler", ["random", "lhs", "sobol"])
@pytest.mark.parametrize("dist", DISTRIBUTIONS, ids=lambda d: d.distribution)
def test_marginals_match_the_distribution(dist: object, sampler: str) -> None:
    n = 4096
    values = sample({"X": dist}, n, 3, sampler)["X"]  # type: ignore[dict-item]
    frozen = dist.frozen()  # type: ignore[attr-defined]
    assert values.mean() == pytest.approx(frozen.mean(), abs=4 * frozen.std() / np.sqrt(n))
    for q in (0.1, 0.5, 0.9):
        assert np.quantile(values, q) == pytest.approx(frozen.ppf(q), abs=0.05 * frozen.std())
    assert stats.kstest(values, frozen.cdf).pvalue > 0.01


def test_pert_mean_formula() -> None:
    pert = Pert(distribution="pert", min=1, mode=2, max=5, source="t")
    assert pert.mean() == pytest.approx((1 + 4 * 2 + 5) / 6)
    assert pert.support() == (1, 5)


def test_choice_frequencies() -> None:
    values = sample({"C": UNCERTAINTIES["C"]}, 10_000, 1, "lhs")["C"]
    counts = {v: np.mean(values == v) for v in (1, 2, 3)}
    assert counts == pytest.approx({1: 0.2, 2: 0.5, 3: 0.3}, abs=1e-3)  # LHS: exact strata


@pytest.mark.parametrize("n", [1, 10, 1000])
def test_lhs_one_draw_per_stratum(n: int) -> None:
    draws = sample(UNCERTAINTIES, n, 11, "lhs")
    for name in ("A", "B", "D"):
        u = UNCERTAINTIES[name].frozen().cdf(draws[name])
        strata = np.floor(u * n).astype(int)
        assert sorted(strata) == list(range(n))


@pytest.mark.parametrize("sampler", ["random", "lhs"])
def test_common_random_numbers(sampler: str) -> None:
    alone = sample({"B": UNCERTAINTIES["B"]}, 100, 5, sampler)["B"]
    together = sample(UNCERTAINTIES, 100, 5, sampler)["B"]
    extra = dict(UNCERTAINTIES, Z=Uniform(distribution="uniform", min=0, max=9, source="t"))
    assert np.array_equal(alone, together)
    assert np.array_equal(alone, sample(extra, 100, 5, sampler)["B"])


def test_sobol_needs_a_power_of_two() -> None:
    with pytest.raises(ValueError, match="power of two"):
        sample(UNCERTAINTIES, 1000, 0, "sobol")


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="sampler"):
        sample(UNCERTAINTIES, 10, 0, "halton")
    with pytest.raises(ValueError, match="n_draws"):
        sample(UNCERTAINTIES, 0, 0, "lhs")
    with pytest.raises(ValueError, match="seed"):
        sample(UNCERTAINTIES, 10, -1, "lhs")


def _corr(a: str, b: str, rank: float) -> Correlation:
    return Correlation(between=(a, b), rank=rank, reasoning="t")


@pytest.mark.parametrize("sampler", ["random", "lhs", "sobol"])
@pytest.mark.parametrize("rank", [-0.7, 0.3, 0.9])
def test_rank_correlation_is_induced(sampler: str, rank: float) -> None:
    n = 4096
    plain = sample(UNCERTAINTIES, n, 2, sampler)
    draws = sample(UNCERTAINTIES, n, 2, sampler, [_corr("B", "D", rank)])
    assert stats.spearmanr(draws["B"], draws["D"]).statistic == pytest.approx(rank, abs=0.03)
    for name in UNCERTAINTIES:  # marginals (hence LHS strata) are kept: same values, re-paired
        assert np.array_equal(np.sort(draws[name]), np.sort(plain[name]))
    assert np.array_equal(draws["B"], plain["B"])  # the first correlated name keeps its order
    assert np.array_equal(draws["A"], plain["A"])  # uncorrelated names are untouched


def test_three_way_correlations() -> None:
    wanted = {("A", "B"): 0.5, ("A", "D"): -0.4, ("B", "D"): 0.2}
    corrs = [_corr(a, b, r) for (a, b), r in wanted.items()]
    draws = sample(UNCERTAINTIES, 5000, 9, "lhs", corrs)
    for (a, b), rank in wanted.items():
        assert stats.spearmanr(draws[a], draws[b]).statistic == pytest.approx(rank, abs=0.03)


def test_correlation_matrix_must_be_positive_definite() -> None:
    names, matrix = correlation_matrix([_corr("B", "A", 0.5)])
    assert names == ["A", "B"] and matrix[0, 1] == matrix[1, 0] == 0.5
    bad = [_corr("A", "B", 0.9), _corr("B", "D", 0.9), _corr("A", "D", -0.9)]
    with pytest.raises(ValueError, match="not positive definite"):
        correlation_matrix(bad)
    with pytest.raises(ValueError, match="unknown uncertainties"):
        sample(UNCERTAINTIES, 10, 0, "lhs", [_corr("A", "Q", 0.5)])


def test_iman_conover_needs_more_draws_than_columns() -> None:
    with pytest.raises(ValueError, match="more than 2 draws"):
        iman_conover(np.array([[0.1, 0.2], [0.3, 0.4]]), np.eye(2))


@pytest.mark.parametrize("sampler", ["random", "lhs", "sobol"])
def test_baseline_uncertainties(sampler: str) -> None:
    scenario = load_scenario(DEFAULT_SCENARIO_PATH)
    n = 1024
    draws = sample(
        scenario.uncertainties, n, scenario.monte_carlo.seed, sampler, scenario.correlations
    )
    assert set(draws) == set(scenario.uncertainties)
    for name, values in draws.items():
        low, high = scenario.uncertainties[name].support()
        assert values.shape == (n,) and np.isfinite(values).all()
        assert (values >= low).all() and (values <= high).all(), name
    for corr in scenario.correlations:
        rho = stats.spearmanr(draws[corr.between[0]], draws[corr.between[1]]).statistic
        assert rho == pytest.approx(corr.rank, abs=0.05)


def test_sample_scenario_and_frame() -> None:
    scenario = load_scenario(DEFAULT_SCENARIO_PATH)
    small = scenario.model_copy(
        update={"monte_carlo": scenario.monte_carlo.model_copy(update={"draws": 100})}
    )
    frame = to_frame(draw_uncertainties(small, small.monte_carlo))
    assert frame.shape == (100, len(scenario.uncertainties))
    assert frame.index.name == "draw" and list(frame.index[:2]) == [0, 1]


# --- drawn chunk by chunk, the reference kept, inverse CDFs cached ----------------------------


def _reference_sample(uncertainties, n_draws, seed, sampler, correlations=()):
    """``sample`` as it was first written: uniforms straight from scipy.stats.qmc, Iman-Conover
    on the whole block with scipy's ranks and normal scores, then each inverse CDF."""
    from scipy import linalg

    from sim.sampling import _score_correlation, uniforms

    u = uniforms(sorted(uncertainties), n_draws, seed, sampler)
    if correlations:
        names, spearman = correlation_matrix(correlations)
        block = np.column_stack([u[name] for name in names])
        n = len(block)
        scores = stats.norm.ppf(stats.rankdata(block, axis=0, method="ordinal") / (n + 1))
        q = linalg.cholesky(np.corrcoef(scores, rowvar=False), lower=True)
        p = linalg.cholesky(_score_correlation(spearman), lower=True)
        moved = linalg.solve_triangular(q, scores.T, lower=True).T @ p.T
        ranks = stats.rankdata(moved, axis=0, method="ordinal") - 1
        block = np.take_along_axis(np.sort(block, axis=0), ranks, axis=0)
        u |= {name: block[:, j] for j, name in enumerate(names)}
    return {name: uncertainties[name].ppf(u[name]) for name in sorted(uncertainties)}


@pytest.fixture(scope="module")
def baseline_scenario():
    return load_scenario(DEFAULT_SCENARIO_PATH)


@pytest.mark.parametrize(("sampler", "n"), [("lhs", 997), ("random", 500), ("sobol", 512)])
@pytest.mark.parametrize("correlated", [False, True])
def test_chunks_are_the_rows_of_the_whole_sample(baseline_scenario, sampler, n, correlated):
    from sim.sampling import sample_design

    uncertainties = baseline_scenario.uncertainties
    correlations = baseline_scenario.correlations if correlated else ()
    expected = _reference_sample(uncertainties, n, 3, sampler, correlations)
    whole = sample(uncertainties, n, 3, sampler, correlations)
    assert list(whole) == list(expected)
    for name in expected:
        assert np.array_equal(whole[name], expected[name]), name
    design = sample_design(uncertainties, n, 3, sampler, correlations)
    bounds = [0, 1, 2, 100, n - 7, n]
    chunks = [design.chunk(a, b) for a, b in zip(bounds, bounds[1:], strict=False)]
    drawn = [chunk.draws() for chunk in chunks[::-1]][::-1]  # in any order
    for name in expected:
        assert np.array_equal(np.concatenate([d[name] for d in drawn]), expected[name]), name
    with pytest.raises(ValueError, match="not a chunk of"):
        design.chunk(5, n + 1)


def test_the_lhs_strata_are_kept_out_of_memory_or_in_it(baseline_scenario, monkeypatch):
    import tempfile

    from sim.sampling import sample_design

    uncertainties = baseline_scenario.uncertainties
    on_disk = sample_design(uncertainties, 300, 9)
    assert on_disk.strata is not None and on_disk.strata._file is not None

    def no_temporary_file(*args, **kwargs):
        raise OSError("read-only file system")

    monkeypatch.setattr(tempfile, "TemporaryFile", no_temporary_file)
    in_memory = sample_design(uncertainties, 300, 9)
    assert in_memory.strata is not None and in_memory.strata._file is None
    for name in on_disk.strata.names():
        rows = on_disk.strata.rows(name, 10, 290)
        assert np.array_equal(rows, in_memory.strata.rows(name, 10, 290))
        assert np.array_equal(np.sort(on_disk.strata.rows(name, 0, 300)), np.arange(1, 301))


def test_path_shocks_drawn_from_stream_states():
    from sim.sampling import ShockStreams, path_shocks, shocks_from_states

    years = [2016, 2017, 2030]
    expected = path_shocks("Coal Output", 400, years, 8)
    streams = ShockStreams("Coal Output", years, 8)
    for start, stop in [(0, 150), (150, 151), (151, 400), (20, 30)]:  # the last goes back
        got = shocks_from_states(streams.states(start), stop - start)
        assert np.array_equal(got, expected[start:stop])
    assert shocks_from_states(ShockStreams("Coal Output", [], 8).states(5), 3).shape == (3, 0)


def test_inverse_cdfs_are_cached_on_disk_bit_for_bit(tmp_path, monkeypatch):
    from sim import sampling

    monkeypatch.setattr(sampling, "_cache_dir", lambda: tmp_path / "cache")
    pert = UNCERTAINTIES["B"]
    u = np.random.default_rng(1).random(1000)
    first = sampling.inverse_cdf(pert, u)
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 1
    calls: list[int] = []
    real_ppf = type(pert).ppf
    monkeypatch.setattr(type(pert), "ppf", lambda self, v: calls.append(1) or real_ppf(self, v))
    again = sampling.inverse_cdf(pert, u)
    assert np.array_equal(again, first) and np.array_equal(first, real_ppf(pert, u))
    assert calls == []  # read, not evaluated
    other = Pert(distribution="pert", min=1, mode=2.0000001, max=4, source="t")
    sampling.inverse_cdf(other, u)  # another distribution: another entry
    assert calls == [1] and len(list((tmp_path / "cache").glob("*.npy"))) == 2
    sampling.inverse_cdf(pert, np.random.default_rng(2).random(sampling.CACHED_DRAWS + 1))
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 2  # too large to keep
    monkeypatch.setattr(sampling, "CACHE_BYTES", 1)
    sampling.inverse_cdf(pert, u[:10])
    assert len(list((tmp_path / "cache").glob("*.npy"))) <= 1  # the oldest went
