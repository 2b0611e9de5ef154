"""Sensitivity indices through our mapping (unit design → ppf → model → SALib) on functions
whose indices are known."""

from __future__ import annotations

import math

import numpy as np
import pytest
from SALib.test_functions import Ishigami

from sim.analysis import sensitivity_indices as sa
from sim.scenario import Choice, Normal, Pert, Target, Triangular, Uniform


def uniform(low: float, high: float) -> Uniform:
    return Uniform(distribution="uniform", min=low, max=high, reasoning="test")


def linear_inputs() -> tuple[dict, dict[str, float]]:
    """Four inputs with different distributions and the coefficients of y = sum a_i x_i."""
    inputs = {
        "a": uniform(0.0, 2.0),
        "b": Triangular(distribution="triangular", min=-1, mode=0, max=3, reasoning="test"),
        "c": Pert(distribution="pert", min=10, mode=12, max=20, reasoning="test"),
        "d": uniform(5.0, 6.0),
    }
    coefficients = {"a": 1.0, "b": -0.5, "c": 0.3, "d": 0.2}
    return inputs, coefficients


def linear_model(drawn: dict[str, np.ndarray], coefficients: dict[str, float]) -> np.ndarray:
    return sum(a * drawn[name] for name, a in coefficients.items())


def test_linear_model_first_order_indices_match_theory() -> None:
    inputs, coefficients = linear_inputs()
    names = sorted(inputs)
    unit = sa.design(names, "sobol", 1024, seed=1)
    assert unit.shape == (sa.design_size("sobol", 1024, len(names)), len(names))
    drawn = sa.to_model_units(unit, inputs, names, "sobol")
    table = sa.indices(unit, linear_model(drawn, coefficients), "sobol", names, seed=1)

    # y = sum a_i x_i with independent x_i: S1_i = ST_i = a_i^2 var_i / sum_j a_j^2 var_j.
    parts = {n: coefficients[n] ** 2 * inputs[n].frozen().var() for n in names}
    truth = {n: part / sum(parts.values()) for n, part in parts.items()}
    for row in table.itertuples(index=False):
        expected = truth[row.parameter]
        first, total = row.S1, row.ST
        assert first == pytest.approx(expected, abs=max(0.04, 2 * row.S1_conf))
        assert total == pytest.approx(expected, abs=max(0.04, 2 * row.ST_conf))
        assert 0 < row.ST_conf < 0.1
    ranking = table.sort_values("ST", ascending=False)["parameter"].tolist()
    assert ranking == sorted(truth, key=truth.get, reverse=True)


def test_ishigami_indices_through_the_ppf_mapping() -> None:
    # Ishigami's inputs are uniform on [-pi, pi]: drawn here through Uniform.ppf.
    names = ["x1", "x2", "x3"]
    inputs = {name: uniform(-math.pi, math.pi) for name in names}
    unit = sa.design(names, "sobol", 4096, seed=7)
    drawn = sa.to_model_units(unit, inputs, names, "sobol")
    y = Ishigami.evaluate(np.column_stack([drawn[n] for n in names]))
    table = sa.indices(unit, y, "sobol", names, seed=7).set_index("parameter")
    # Analytic values (A = 7, B = 0.1): Saltelli et al. (2008), Global Sensitivity Analysis.
    np.testing.assert_allclose(table["S1"], [0.3139, 0.4424, 0.0], atol=0.03)
    np.testing.assert_allclose(table["ST"], [0.5576, 0.4424, 0.2437], atol=0.03)


def test_morris_elementary_effects_of_a_linear_model_are_exact() -> None:
    # Uniform inputs: a grid step Δu moves x_i by Δu (max - min)(L - 1)/L, so every elementary
    # effect of a_i x_i is a_i (max - min)(L - 1)/L and sigma is 0.
    inputs = {"p": uniform(0.0, 4.0), "q": uniform(10.0, 11.0), "r": uniform(-2.0, 2.0)}
    coefficients = {"p": 1.0, "q": -3.0, "r": 0.25}
    names = sorted(inputs)
    unit = sa.design(names, "morris", 20, seed=3)
    assert unit.shape == (sa.design_size("morris", 20, 3), 3)
    drawn = sa.to_model_units(unit, inputs, names, "morris")
    table = sa.indices(unit, linear_model(drawn, coefficients), "morris", names, seed=3)
    factor = (sa.MORRIS_LEVELS - 1) / sa.MORRIS_LEVELS
    for row in table.itertuples(index=False):
        low, high = inputs[row.parameter].support()
        expected = coefficients[row.parameter] * (high - low) * factor
        assert row.mu == pytest.approx(expected)
        assert row.mu_star == pytest.approx(abs(expected))
        assert row.sigma == pytest.approx(0, abs=1e-9)


def test_probabilities_stay_inside_the_open_interval() -> None:
    names = ["n", "k"]
    inputs = {
        "n": Normal(distribution="normal", mean=0, sd=1, reasoning="test"),
        "k": Choice(distribution="choice", values=[1, 2, 3], reasoning="test"),
    }
    for method in sa.METHODS:
        unit = sa.design(names, method, 8, seed=0)
        probabilities = sa.to_probabilities(unit, method)
        assert ((probabilities > 0) & (probabilities < 1)).all()
        drawn = sa.to_model_units(unit, inputs, names, method)
        assert np.isfinite(drawn["n"]).all()
        assert set(np.unique(drawn["k"])) <= {1.0, 2.0, 3.0}
    levels = np.unique(sa.to_probabilities(np.array([[0.0], [1 / 3], [2 / 3], [1.0]]), "morris"))
    np.testing.assert_allclose(levels, [0.125, 0.375, 0.625, 0.875])


@pytest.mark.parametrize("method", sa.METHODS)
def test_indices_are_reproducible_for_every_seed(method: str) -> None:
    names = ["a", "b", "c"]
    unit = sa.design(names, method, 16, seed=0)
    y = unit[:, 0] + unit[:, 1] * unit[:, 2]
    first = sa.indices(unit, y, method, names, seed=0)
    assert first.equals(sa.indices(unit, y, method, names, seed=0))
    assert not first.equals(sa.indices(unit, y, method, names, seed=1))


def test_constant_output_has_no_indices() -> None:
    names = ["a", "b"]
    unit = sa.design(names, "sobol", 16, seed=0)
    table = sa.indices(unit, np.full(len(unit), 3.0), "sobol", names)
    assert table["parameter"].tolist() == names
    assert table[["S1", "S1_conf", "ST", "ST_conf"]].isna().all().all()


def test_non_finite_output_is_refused() -> None:
    names = ["a", "b"]
    unit = sa.design(names, "sobol", 16, seed=0)
    y = np.arange(len(unit), dtype=float)
    y[3] = np.nan
    with pytest.raises(ValueError, match="1 runs"):
        sa.indices(unit, y, "sobol", names)


@pytest.mark.parametrize(
    ("method", "samples", "message"),
    [
        ("sobol", 6, "power of two"),
        ("sobol", 1, "power of two"),
        ("morris", 1, "at least 2"),
        ("fast", 8, "unknown method"),
    ],
)
def test_bad_settings(method: str, samples: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sa.design(["a"], method, samples, seed=0)


def test_sensitivity_table_has_a_row_per_target_output_and_parameter() -> None:
    inputs, coefficients = linear_inputs()
    names = sorted(inputs)
    unit = sa.design(names, "sobol", 64, seed=2)
    y = linear_model(sa.to_model_units(unit, inputs, names, "sobol"), coefficients)
    target = Target(
        name="y_high",
        variable="Y",
        year=2025,
        direction="at_least",
        threshold=float(np.median(y)),
        label={"zh": "y", "en": "y"},
        unit={"zh": "-", "en": "-"},
        source="test",
    )
    always = target.model_copy(update={"name": "y_any", "threshold": float(y.min()) - 1})
    values = {"y_high": y, "y_any": y}
    table = sa.sensitivity_table(unit, values, [target, always], "sobol", names, seed=2)
    assert list(table.columns) == sa.table_columns("sobol")
    assert len(table) == 2 * 2 * len(names)
    counts = table.groupby(["target", "output"]).size()
    assert (counts == len(names)).all()
    reached_always = table[(table["target"] == "y_any") & (table["output"] == "reached")]
    assert reached_always["ST"].isna().all()
    assert table[table["target"] == "y_high"]["ST"].notna().all()

    top = sa.top_parameters(table, "sobol", 2)
    assert len(top) == 4 * 2  # two per (target, output); y_any reached: NaN rows
    widths = sa.interval_widths(table, "sobol")
    assert set(zip(widths["target"], widths["output"], strict=True)) == {
        ("y_high", "value"),
        ("y_high", "reached"),
        ("y_any", "value"),
    }
    assert (widths["widest"] > 0).all()


def test_sobol_without_variance_in_the_base_runs_has_no_indices() -> None:
    """A reached-or-not output that varies only in the mixed runs (AB) of a small design: the
    estimators' normaliser (the variance of the A and B runs) is zero, so no index, no warning."""
    names = ["a", "b"]
    unit = sa.design(names, "sobol", 4, seed=1)
    y = np.zeros(len(unit))
    y[1] = 1.0  # the first AB row of the first base sample
    frame = sa.indices(unit, y, "sobol", names)
    assert frame.drop(columns="parameter").isna().all().all()
