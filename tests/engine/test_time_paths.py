"""Time paths shared by all draws or one per draw: API, exactness, chunking, PySD reference."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from sim.engine import EngineError, TimePath, compile_model, simulate
from sim.engine import reference as reference_module
from sim.engine.reference import compare_with_pysd, engine_run, pysd_run
from sim.engine.runtime import time_path
from sim.vensim.catalogue import model_info

FIXTURES = Path(__file__).parent / "fixtures"
CONSTRUCTS = FIXTURES / "constructs.mdl"
TOLERANCE = 1e-9


def _assert_close(worst: dict[str, float]) -> None:
    bad = {name: diff for name, diff in worst.items() if not diff <= TOLERANCE}
    assert not bad, f"engine differs from PySD: {bad}"


def _step_paths(rng: np.random.Generator, years: range, typical: float, n_draws: int) -> TimePath:
    """One value per year and draw, held over the year: points at ``y - 1 + 1e-6`` and ``y``."""
    levels = typical * rng.uniform(0.7, 1.3, (n_draws, len(years)))
    times = [t for y in years for t in (y - 1 + 1e-6, y)]
    return TimePath(times, np.repeat(levels, 2, axis=1))


# -- TimePath ---------------------------------------------------------------------------------


def test_shared_and_per_draw_paths_describe_themselves() -> None:
    shared = TimePath([2020, 2030], [0.02, 0.04])
    assert not shared.per_draw and shared.n_draws is None
    assert shared.values == (0.02, 0.04) and shared.times == (2020.0, 2030.0)
    assert shared.rows(0, 5) is shared and shared.take([3]) is shared
    per_draw = TimePath([2020, 2030], [[1.0, 2.0], [3.0, 5.0], [0.0, -1.0]])
    assert per_draw.per_draw and per_draw.n_draws == 3
    assert per_draw.array.shape == (3, 2) and not per_draw.array.flags.writeable
    assert per_draw.values == ((1.0, 2.0), (3.0, 5.0), (0.0, -1.0))
    assert per_draw.rows(1, 3) == TimePath([2020, 2030], [[3.0, 5.0], [0.0, -1.0]])
    assert per_draw.take([2, 0]) == TimePath([2020, 2030], [[0.0, -1.0], [1.0, 2.0]])
    assert per_draw.row(1) == TimePath([2020, 2030], [3.0, 5.0])
    stacked = TimePath.stack([per_draw.row(i) for i in range(3)])
    assert stacked == per_draw and hash(stacked) == hash(per_draw)
    assert np.array_equal(per_draw(2025), [1.5, 4.0, -0.5])
    assert np.array_equal(per_draw(2000), [1.0, 3.0, 0.0])
    assert per_draw([2000, 2025, 2040]).shape == (3, 3)
    assert pickle.loads(pickle.dumps(per_draw)) == per_draw


def test_paths_compare_and_hash_by_value() -> None:
    a = TimePath([1, 2], [[0.0, 1.0], [2.0, 3.0]])
    b = TimePath((1.0, 2.0), np.array([[-0.0, 1.0], [2.0, 3.0]]))
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != TimePath([1, 2], [[0.0, 1.0], [2.0, 3.5]])
    assert a != TimePath([1, 2], [0.0, 1.0]) and a != TimePath([1, 2], [[0.0, 1.0]])
    assert TimePath([1, 2], [0.0, 1.0]) == TimePath([1, 2], [0, 1])
    with pytest.raises(AttributeError, match="immutable"):
        a._ys = np.zeros(2)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("times", "values", "message"),
    [
        ([], [], "non-empty"),
        ([1, 2], [1.0], r"shape \(2,\).*got \(1,\)"),
        ([1, 2], [[1.0, 2.0, 3.0]], r"\(n_draws, 2\).*got \(1, 3\)"),
        ([1, 2], np.zeros((0, 2)), r"got \(0, 2\)"),
        ([1, 2], np.zeros((2, 2, 2)), r"got \(2, 2, 2\)"),
        ([1, 1], [[1.0, 2.0]], "strictly increasing"),
        ([1, 2], [[1.0, 2.0], [np.inf, 1.0]], "finite"),
        ([1, 2], [[1.0, 2.0], [1.0]], "numeric"),
    ],
)
def test_bad_paths_are_refused(times: list[float], values: object, message: str) -> None:
    with pytest.raises(EngineError, match=message):
        TimePath(times, values)


def test_bad_subsets_are_refused() -> None:
    path = TimePath([1, 2], [[0.0, 1.0], [2.0, 3.0]])
    with pytest.raises(EngineError, match="range of 2 draws"):
        path.rows(1, 3)
    with pytest.raises(EngineError, match="range of 2 draws"):
        path.rows(1, 1)
    with pytest.raises(EngineError, match="out of range"):
        path.take([0, 2])
    with pytest.raises(EngineError, match="same times"):
        TimePath.stack([path.row(0), TimePath([1, 3], [0.0, 1.0])])
    with pytest.raises(EngineError, match="1-D values"):
        TimePath.stack([path])


def test_runtime_interpolation_is_np_interp_to_the_bit() -> None:
    rng = np.random.default_rng(3)
    for n_points in (1, 2, 7, 40):
        xs = np.sort(rng.choice(np.arange(2000, 2060, 0.25), n_points, replace=False))
        ys = rng.normal(size=(25, n_points)) * 10.0 ** rng.uniform(-6, 6, (25, 1))
        wide = np.asfortranarray(ys)
        for t in [*rng.uniform(1990, 2070, 40), *xs, xs[0] - 1e-9, xs[-1] + 1e-9]:
            expected = np.array([np.interp(t, xs, row) for row in ys])
            assert np.array_equal(time_path(xs, wide, float(t)), expected)
            assert np.array_equal(time_path(xs, ys, float(t)), expected)  # C order too
        shared = time_path(xs, ys[0], float(xs[0]) + 0.1)
        assert type(shared) is float and shared == np.interp(xs[0] + 0.1, xs, ys[0])


# -- simulate ---------------------------------------------------------------------------------


def _constructs_params(n_draws: int, seed: int) -> dict[str, TimePath]:
    rng = np.random.default_rng(seed)
    return {
        "Base Inflow": _step_paths(rng, range(1, 11), 2.0, n_draws),  # a constant
        "Outflow": TimePath(  # an auxiliary
            np.linspace(0, 10, 40), rng.uniform(0.5, 4.0, (n_draws, 40))
        ),
    }


def test_per_draw_paths_equal_each_draw_alone() -> None:
    compiled = compile_model(CONSTRUCTS)
    params = _constructs_params(6, seed=11)
    params_scalar = {"Residence Time": np.linspace(2, 7, 6)}
    together = simulate(compiled, 6, params | params_scalar)
    assert not np.array_equal(together["Stock"][0], together["Stock"][1])
    for i in range(6):
        rows = {name: path.rows(i, i + 1) for name, path in params.items()}
        alone_2d = simulate(
            compiled, 1, rows | {"Residence Time": params_scalar["Residence Time"][i]}
        )
        alone_1d = simulate(
            compiled,
            1,
            {name: path.row(i) for name, path in params.items()}
            | {"Residence Time": float(params_scalar["Residence Time"][i])},
        )
        for name in together:
            assert np.array_equal(together[name][i], alone_2d[name][0]), name
            # A shared path keeps Python scalars (PySD's arithmetic): equal to ~an ulp.
            np.testing.assert_allclose(together[name][i], alone_1d[name][0], rtol=1e-12, atol=0)


def test_per_draw_path_chunks_are_bit_identical() -> None:
    compiled = compile_model(CONSTRUCTS)
    params = _constructs_params(9, seed=5)
    whole = simulate(compiled, 9, params)
    chunks = [
        simulate(compiled, 3, {k: p.rows(s, s + 3) for k, p in params.items()}) for s in (0, 3, 6)
    ]
    picked = simulate(compiled, 2, {k: p.take([7, 2]) for k, p in params.items()})
    for name in whole:
        assert np.array_equal(whole[name], np.concatenate([c[name] for c in chunks]))
        assert np.array_equal(whole[name][[7, 2]], picked[name])


def test_per_draw_path_values_reach_the_outputs() -> None:
    compiled = compile_model(CONSTRUCTS)
    path = TimePath([2, 8], [[1.0, 4.0], [0.0, 2.0]])
    result = simulate(compiled, 2, {"Base Inflow": path}, ["Base Inflow"])
    assert np.array_equal(result["Base Inflow"], path(result.times))


def test_per_draw_path_of_the_wrong_size_is_refused() -> None:
    compiled = compile_model(CONSTRUCTS)
    path = TimePath([2, 8], np.ones((4, 2)))
    with pytest.raises(EngineError, match=r"'Base Inflow'.*\(3, 2\) for 3 draws, got \(4, 2\)"):
        simulate(compiled, 3, {"Base Inflow": path})
    with pytest.raises(EngineError, match="TimePath can replace"):
        simulate(compiled, 4, {"Stock": path})


# -- reference --------------------------------------------------------------------------------


def test_per_draw_paths_run_in_one_engine_call(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = compile_model(CONSTRUCTS)
    params = _constructs_params(4, seed=2)
    draws = [{name: path.row(i) for name, path in params.items()} for i in range(4)]
    draws.append({"Base Inflow": TimePath([2, 8], [1.0, 4.0])})  # other times: its own call
    calls: list[dict[str, object]] = []

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(dict(args[2]))  # type: ignore[call-overload]
        return simulate(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(reference_module, "simulate", spy)
    values = engine_run(compiled, draws, ["Stock", "Outflow"])
    assert len(calls) == 2
    assert calls[0]["Base Inflow"] == params["Base Inflow"]
    assert calls[0]["Outflow"] == params["Outflow"]
    direct = simulate(compiled, 4, params, ["Stock"])
    assert np.array_equal(values["Stock"][:4], direct["Stock"])


def test_one_draw_refuses_a_per_draw_path() -> None:
    compiled = compile_model(CONSTRUCTS)
    path = TimePath([2, 8], np.ones((2, 2)))
    with pytest.raises(EngineError, match="1-D TimePath"):
        engine_run(compiled, [{"Base Inflow": path}], ["Stock"])
    with pytest.raises(EngineError, match="1-D TimePath"):
        pysd_run(CONSTRUCTS, {"Base Inflow": path}, ["Stock"])


def test_per_draw_paths_match_pysd_on_constructs() -> None:
    params = _constructs_params(4, seed=8)
    draws: list[dict[str, float | TimePath]] = [
        {name: path.row(i) for name, path in params.items()} for i in range(4)
    ]
    draws[1]["Residence Time"] = 3.5
    draws[2]["Delay Time"] = 0.5
    _assert_close(compare_with_pysd(CONSTRUCTS, draws))


def test_per_draw_step_paths_match_pysd_on_the_model(real_model: Path) -> None:
    """A constant (chosen by name: the model changes) replaced by yearly steps, per draw."""
    compiled = compile_model(real_model)
    candidates = [n for n, v in compiled.constants.items() if "growth" in n.lower() and v != 0]
    candidates += [n for n, v in compiled.constants.items() if 0 < abs(v) < 1000]
    rng = np.random.default_rng(17)
    for name in candidates:  # the first whose path moves another variable
        low, high = model_info(real_model).limits(name)
        steps = _step_paths(rng, range(2015, 2036), compiled.constants[name], 5)
        path = TimePath(steps.times, np.clip(steps.array, low, high))
        result = simulate(compiled, 5, {name: path})
        if any(k != name and np.ptp(v[:, -1]) > 0 for k, v in result.items()):
            break
    else:
        pytest.fail("no constant of the model moves another variable")
    draws: list[dict[str, float | TimePath]] = [{name: path.row(i)} for i in range(5)]
    _assert_close(compare_with_pysd(real_model, draws))
