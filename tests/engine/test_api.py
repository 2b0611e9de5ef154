"""The engine's API: names, shapes, chunk invariance, refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.engine import EngineError, TimePath, compile_model, simulate
from sim.errors import ModelError

FIXTURES = Path(__file__).parent / "fixtures"
OUTPUTS = ["High Tech Enterprises", "Technology Contract Turnover", "RD Intensity", "GDP"]


def _drawn(n: int, seed: int = 1) -> dict[str, np.ndarray]:
    compiled = compile_model()
    rng = np.random.default_rng(seed)
    names = ["Fund Leverage Ratio", "Base HTE Conversion Rate", "Contract Reporting Delay"]
    return {name: compiled.constants[name] * rng.uniform(0.7, 1.3, n) for name in names}


def test_compiled_model_describes_the_model(real_model: Path) -> None:
    compiled = compile_model(real_model)
    assert compiled.constants["Initial GDP"] == pytest.approx(1195.1)
    assert "High Tech Enterprises" in compiled.variables
    assert compiled.kinds["Non Resource Real GDP"] == "stock"
    times = compiled.times()
    assert times[0] == 2015 and times[-1] == 2035 and len(times) == 21
    assert list(compiled.times(saveper=5)) == [2015, 2020, 2025, 2030, 2035]


def test_generated_module_is_cached_and_inspectable(real_model: Path) -> None:
    compiled = compile_model(real_model)
    simulate(compiled, 1)
    source = compiled.default_cache_path().read_text(encoding="utf-8")
    assert "def run(" in source and compiled.sha256 in source


def test_result_shapes_and_times(real_model: Path) -> None:
    compiled = compile_model(real_model)
    result = simulate(compiled, 7, outputs=OUTPUTS)
    assert list(result) == OUTPUTS
    assert result["GDP"].shape == (7, 21)
    assert list(result.times) == list(compiled.times())
    assert np.allclose(result["GDP"][:, 0], 1195.1)


def test_chunks_are_bit_identical(real_model: Path) -> None:
    compiled = compile_model(real_model)
    params = _drawn(1000)
    whole = simulate(compiled, 1000, params, OUTPUTS)
    first = simulate(compiled, 500, {k: v[:500] for k, v in params.items()}, OUTPUTS)
    second = simulate(compiled, 500, {k: v[500:] for k, v in params.items()}, OUTPUTS)
    single = simulate(compiled, 1, {k: v[123:124] for k, v in params.items()}, OUTPUTS)
    for name in OUTPUTS:
        assert np.array_equal(whole[name], np.concatenate([first[name], second[name]]))
        assert np.array_equal(whole[name][123], single[name][0])


def test_scalar_and_per_draw_params_agree(real_model: Path) -> None:
    compiled = compile_model(real_model)
    scalar = simulate(compiled, 3, {"Fund Leverage Ratio": 3.0}, OUTPUTS)
    per_draw = simulate(compiled, 3, {"Fund Leverage Ratio": np.full(3, 3.0)}, OUTPUTS)
    default = simulate(compiled, 3, {}, OUTPUTS)
    for name in OUTPUTS:
        # Scalars take Python's float ``**`` (as PySD), arrays numpy's: equal to an ulp or so.
        assert np.allclose(scalar[name], per_draw[name], rtol=1e-14, atol=0)
    assert not np.array_equal(scalar["High Tech Enterprises"], default["High Tech Enterprises"])


def test_time_path_constant_outside_its_points(real_model: Path) -> None:
    compiled = compile_model(real_model)
    path = TimePath([2020, 2030], [0.02, 0.04])
    assert path(2000) == 0.02 and path(2040) == 0.04 and path(2025) == pytest.approx(0.03)
    result = simulate(compiled, 2, {"Fiscal Innovation Share": path}, ["Fiscal Innovation Share"])
    assert np.allclose(result["Fiscal Innovation Share"][0], path(result.times))


def test_unknown_param_is_refused_with_a_suggestion(real_model: Path) -> None:
    compiled = compile_model(real_model)
    with pytest.raises(EngineError, match="did you mean 'Fund Leverage Ratio'"):
        simulate(compiled, 2, {"Fund Leverage Ration": 2.0})
    with pytest.raises(EngineError, match="not a variable"):
        simulate(compiled, 2, outputs=["No Such Thing At All"])


def test_bad_params_are_refused(real_model: Path) -> None:
    compiled = compile_model(real_model)
    with pytest.raises(EngineError, match=r"shape \(3,\)"):
        simulate(compiled, 3, {"Fund Leverage Ratio": np.ones(4)})
    with pytest.raises(EngineError, match="finite"):
        simulate(compiled, 3, {"Fund Leverage Ratio": np.array([1.0, np.nan, 2.0])})
    with pytest.raises(EngineError, match="not a constant"):
        simulate(compiled, 3, {"High Tech Enterprises": 5.0})
    with pytest.raises(EngineError, match="TimePath can replace"):
        simulate(compiled, 3, {"Non Resource Real GDP": TimePath([2015, 2020], [1, 2])})
    with pytest.raises(EngineError, match="increasing"):
        TimePath([2020, 2015], [1, 2])
    with pytest.raises(EngineError, match="positive integer"):
        simulate(compiled, 0)
    # Case, space and underscore insensitive, like PySD.
    simulate(compiled, 1, {"fund_leverage_ratio": 2.0})


@pytest.mark.parametrize(
    ("fixture", "construct"),
    [
        ("unsupported_function.mdl", "the function MODULO"),
        ("unsupported_delay_fixed.mdl", "DELAY FIXED"),
    ],
)
def test_unsupported_construct_is_refused(fixture: str, construct: str) -> None:
    with pytest.raises(EngineError, match=f"variable 'Inflow': {construct}") as info:
        compile_model(FIXTURES / fixture)
    assert isinstance(info.value, ModelError)
