"""sim.engine.runner: chunked runs, bit-identical on every executor."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from sim.engine import EngineError, TimePath, compile_model
from sim.engine.runner import ChunkDraws, Executor, run_draws, stream_draws
from sim.paths import DEFAULT_SCENARIO_PATH

OUTPUTS = ["High Tech Enterprises", "GDP", "Technology Contract Turnover"]


def _inputs(compiled, n: int):
    rng = np.random.default_rng(3)
    drawn = {
        "Base HTE Conversion Rate": rng.uniform(0.05, 0.15, n),
        "Coal Price Index": TimePath([2015.0, 2020.0, 2035.0], rng.uniform(0.8, 1.6, (n, 3))),
    }
    return {"RD Subsidy Rate": 0.12}, drawn


@pytest.fixture(scope="module")
def reference(real_model: Path):
    compiled = compile_model(real_model)
    fixed, drawn = _inputs(compiled, 23)
    return compiled, fixed, drawn, run_draws(compiled, 23, fixed, drawn, OUTPUTS)


@pytest.mark.parametrize(
    ("executor", "chunk_size"),
    [
        (Executor("serial"), 5),
        (Executor("processes", workers=2), 4),
        (Executor("processes", workers=3), 23),
        (Executor("dask", workers=2), 6),
    ],
)
def test_every_executor_and_chunk_size_gives_the_same_bits(reference, executor, chunk_size):
    compiled, fixed, drawn, (times, expected) = reference
    done: list[int] = []
    got_times, got = run_draws(
        compiled,
        23,
        fixed,
        drawn,
        OUTPUTS,
        chunk_size=chunk_size,
        executor=executor,
        progress=done.append,
    )
    assert np.array_equal(got_times, times)
    for name in OUTPUTS:
        assert np.array_equal(got[name], expected[name]), name
    assert sum(done) == 23


@pytest.fixture(scope="module")
def baseline_draws(real_model: Path):
    """The baseline's inputs of 23 draws, whole and drawn chunk by chunk."""
    from sim.engine.ensemble import monte_carlo_settings, scenario_inputs
    from sim.scenario import load_scenario

    scenario = load_scenario(DEFAULT_SCENARIO_PATH)
    compiled = compile_model(real_model)
    settings = monte_carlo_settings(scenario, draws=23, seed=11)
    whole = scenario_inputs(scenario, settings, compiled)
    outputs = [target.variable for target in scenario.targets]
    _, expected = run_draws(compiled, 23, whole.fixed, whole.per_draw, outputs)
    return scenario, settings, compiled, whole, outputs, expected


@pytest.mark.parametrize(
    ("executor", "chunk_size"),
    [
        (Executor("serial"), 7),
        (Executor("processes", workers=2), 5),
        (Executor("dask", workers=2), 6),
    ],
)
def test_chunks_that_draw_their_own_inputs_give_the_same_bits(baseline_draws, executor, chunk_size):
    from sim.engine.ensemble import scenario_draws

    scenario, settings, compiled, whole, outputs, expected = baseline_draws
    drawn = scenario_draws(scenario, settings, compiled)
    assert isinstance(drawn, ChunkDraws) and drawn.fixed.keys() == whole.fixed.keys()
    uncertainties = sorted(whole.drawn)
    kept = {name: np.full(23, np.nan) for name in uncertainties}
    got = {name: np.full((23, compiled.times().size), np.nan) for name in outputs}
    for chunk in stream_draws(
        compiled,
        23,
        drawn.fixed,
        drawn,
        outputs,
        chunk_size=chunk_size,
        executor=executor,
        keep=uncertainties,
    ):
        for name, array in chunk.values.items():
            got[name][chunk.start : chunk.stop] = array
        for name, column in chunk.drawn.items():
            kept[name][chunk.start : chunk.stop] = column
    for name in outputs:
        assert np.array_equal(got[name], expected[name]), name
    for name in uncertainties:
        assert np.array_equal(kept[name], whole.drawn[name]), name


def test_a_chunk_recipe_is_small(baseline_draws):
    """A recipe carries the design's rows (LHS strata, correlated uniforms) and the paths'
    stream states, not the chunk's parameters."""
    import pickle

    from sim.engine.ensemble import scenario_draws

    scenario, settings, compiled, whole, _, _ = baseline_draws
    settings = settings.model_copy(update={"draws": 20_000})
    drawn = scenario_draws(scenario, settings, compiled)
    recipe = drawn.chunk(10_000, 20_000)
    parameters = recipe()
    assert len(pickle.dumps(recipe)) < 0.6 * len(pickle.dumps(parameters))


def test_columns_and_final_time_keep_what_is_asked(reference):
    compiled, fixed, drawn, (times, expected) = reference
    columns = {"GDP": [0, 5], "High Tech Enterprises": [10]}
    _, kept = run_draws(compiled, 23, fixed, drawn, OUTPUTS, columns=columns, chunk_size=9)
    assert set(kept) == set(columns)
    assert np.array_equal(kept["GDP"], expected["GDP"][:, [0, 5]])
    assert np.array_equal(kept["High Tech Enterprises"], expected["High Tech Enterprises"][:, [10]])
    short_times, short = run_draws(compiled, 23, fixed, drawn, OUTPUTS, final_time=2020)
    assert np.array_equal(short["GDP"], expected["GDP"][:, : short_times.size])


def test_bad_executors_are_refused():
    with pytest.raises(EngineError, match="serial, processes or dask"):
        Executor("threads")  # type: ignore[arg-type]
    with pytest.raises(EngineError, match="positive integer"):
        Executor("processes", workers=0)
    with pytest.raises(EngineError, match="goes with the dask executor"):
        Executor("processes", scheduler="tcp://127.0.0.1:8786")


def test_an_unreachable_scheduler_is_a_clear_error(reference):
    compiled, fixed, drawn, _ = reference
    with pytest.raises(EngineError, match="cannot reach the Dask scheduler"):
        run_draws(
            compiled,
            23,
            fixed,
            drawn,
            OUTPUTS,
            chunk_size=5,
            executor=Executor("dask", scheduler="tcp://127.0.0.1:9"),
        )


@pytest.mark.parametrize(
    "executor", [Executor("serial"), Executor("processes", workers=2), Executor("dask", workers=2)]
)
def test_task_map_keeps_the_order(executor):
    from sim.engine.runner import task_map

    # a function importable by name in the workers (a test module's is not)
    with task_map(executor) as mapper:
        assert list(mapper(math.factorial, range(7))) == [1, 1, 2, 6, 24, 120, 720]


def test_the_executor_options_of_the_commands(tmp_path, real_model):
    from typer.testing import CliRunner

    from sim.cli import app

    fixture = Path(__file__).parents[1] / "fixtures" / "calibration_small.yaml"
    base = ["run", str(fixture), "--draws", "40", "--lang", "en"]
    runner = CliRunner()
    serial = runner.invoke(app, [*base, "--out", str(tmp_path / "serial")])
    parallel = runner.invoke(
        app, [*base, "--executor", "processes", "--workers", "2", "--out", str(tmp_path / "p")]
    )
    assert serial.exit_code == 0 and parallel.exit_code == 0, parallel.output
    assert (tmp_path / "serial" / "targets.csv").read_text() == (
        tmp_path / "p" / "targets.csv"
    ).read_text()
    # the streamed ensembles too, chunks drawn and written in whatever order they finished
    one, other = (xr.load_dataset(tmp_path / d / "ensemble.nc") for d in ("serial", "p"))
    for dataset in (one, other):
        dataset.attrs.pop("created_at")
    xr.testing.assert_identical(one, other)
    wrong = runner.invoke(app, [*base, "--scheduler", "tcp://127.0.0.1:8786"])
    assert wrong.exit_code == 2 and "--executor dask" in wrong.output
    wrong = runner.invoke(app, [*base, "--workers", "2"])
    assert wrong.exit_code == 2 and "--executor processes or dask" in wrong.output
    for command in ("compare", "sweep", "solve", "sensitivity", "discover"):
        assert "--executor" in runner.invoke(app, [command, "--help"]).output, command


@pytest.mark.parametrize(
    "executor", [Executor("processes", workers=2), Executor("dask", workers=2)], ids=str
)
def test_kept_workers_serve_every_run_inside_the_block(reference, executor, monkeypatch):
    from concurrent.futures import ProcessPoolExecutor

    from sim.engine import runner
    from sim.engine.runner import chunk_size_for, kept_workers, task_map

    started: list[int] = []

    class CountedPool(ProcessPoolExecutor):
        def __init__(self, *args, **kwargs) -> None:
            started.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(runner, "ProcessPoolExecutor", CountedPool)
    compiled, fixed, drawn, (times, expected) = reference
    with kept_workers(executor) as live:
        assert live.live is not None and live == executor  # the same executor, workers kept
        assert chunk_size_for(23, live) == 12  # split evenly: every worker has a chunk
        for _ in range(3):
            got_times, got = run_draws(
                compiled, 23, fixed, drawn, OUTPUTS, chunk_size=chunk_size_for(23, live),
                executor=live,
            )  # fmt: skip
            assert np.array_equal(got_times, times)
            for name in OUTPUTS:
                assert np.array_equal(got[name], expected[name]), name
        with task_map(live) as mapper:
            assert list(mapper(math.factorial, range(4))) == [1, 1, 2, 6]
    assert len(started) == (1 if executor.kind == "processes" else 0)
    assert chunk_size_for(23, Executor("serial")) == 10_000
