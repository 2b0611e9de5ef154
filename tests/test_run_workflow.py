"""sim.workflows.run: the run streamed chunk by chunk gives the outputs of one chunk, on every
executor; NaN results are refused with the whole run's counts; nothing is written then."""

from __future__ import annotations

from pathlib import Path

import pytest
import xarray as xr

from sim.engine.runner import Executor
from sim.errors import NonFiniteResultError
from sim.paths import DEFAULT_SCENARIO_PATH
from sim.workflows.run import run_scenario

FIXTURES = Path(__file__).parent / "fixtures"


def _ensemble(out: Path) -> xr.Dataset:
    dataset = xr.load_dataset(out / "ensemble.nc")
    dataset.attrs.pop("created_at")
    return dataset


@pytest.fixture(scope="module")
def one_chunk(tmp_path_factory: pytest.TempPathFactory, real_model: Path):
    out = tmp_path_factory.mktemp("run") / "one"
    progress: list[tuple[int, int]] = []
    report = run_scenario(
        DEFAULT_SCENARIO_PATH,
        out,
        draws=40,
        seed=2,
        lang="en",
        progress=lambda *call: progress.append(call),
    )
    return out, report, progress


def test_the_report_says_what_was_written(one_chunk) -> None:
    out, report, progress = one_chunk
    assert progress == [(40, 40)]
    assert report.title == "Baseline: the plan as written"
    assert report.written == sorted(out.iterdir())
    assert "High-tech enterprises" in report.console
    assert "of 40 draws" in report.track_record  # the history the draws reproduce
    assert list(report.table["target"]) == [line.split(",")[0] for line in (
        out / "targets.csv").read_text().splitlines()[1:]]  # fmt: skip


@pytest.mark.parametrize(
    ("executor", "chunk_size"),
    [(Executor("serial"), 15), (Executor("processes", workers=2), 7)],
)
def test_chunks_streamed_to_the_file_are_the_run_in_one(one_chunk, tmp_path, executor, chunk_size):
    out, report, _ = one_chunk
    progress: list[tuple[int, int]] = []
    chunked = run_scenario(
        DEFAULT_SCENARIO_PATH,
        tmp_path / "chunked",
        draws=40,
        seed=2,
        lang="en",
        executor=executor,
        chunk_size=chunk_size,
        progress=lambda *call: progress.append(call),
    )
    assert sum(count for count, _ in progress) == 40 and {total for _, total in progress} == {40}
    xr.testing.assert_identical(_ensemble(tmp_path / "chunked"), _ensemble(out))
    assert chunked.console == report.console and chunked.track_record == report.track_record
    for name in ("targets.csv", "report.html"):
        ours = (tmp_path / "chunked" / name).read_text(encoding="utf-8")
        theirs = (out / name).read_text(encoding="utf-8")
        if name == "report.html":  # the time of each run is in its provenance table
            ours, theirs = (
                "\n".join(line for line in text.splitlines() if "created_at" not in line)
                for text in (ours, theirs)
            )
        assert ours == theirs, name
    for chart in out.glob("fan_*.png"):
        assert (tmp_path / "chunked" / chart.name).read_bytes() == chart.read_bytes()


def test_nan_in_a_later_chunk_is_refused_with_the_whole_runs_counts(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "targets:\n"
        "  - {name: gdp_2025, variable: GDP, year: 2025, direction: at_least, threshold: 2000,\n"
        "     label: {zh: 生产总值, en: GDP}, unit: {zh: 亿元, en: CNY 100M}, source: test}\n"
        "uncertainties:\n"
        "  Initial GDP: {distribution: uniform, min: 1000, max: 1.7e308, source: test}\n",
        encoding="utf-8",
    )
    messages = []
    for chunk_size in (20, 6):
        with pytest.raises(NonFiniteResultError) as caught:
            run_scenario(
                scenario,
                tmp_path / "out",
                draws=20,
                seed=1,
                lang="en",
                model=FIXTURES / "economy.mdl",
                chunk_size=chunk_size,
            )
        messages.append(str(caught.value))
    assert messages[0] == messages[1]  # the draws' numbers and counts are the whole run's
    assert "of 20 draw(s)" in messages[0]
    assert not (tmp_path / "out").exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["s.yaml"]
