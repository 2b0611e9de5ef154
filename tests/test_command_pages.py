"""Every command writes its HTML page, opening with its answer in a sentence whose numbers are
the command's own results (read back from its CSV files), in Chinese and English; lever
shares are shown as percentages (issue 12, part 2).

The commands run through their workflow functions on the small test scenario
(``tests/fixtures/calibration_small.yaml``) with few draws."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from sim.analysis import sensitivity_indices as sa
from sim.report.columns import read_table
from sim.report.quantities import format_quantity
from sim.scenario import load_scenario
from sim.scenario.levers import LeverRange
from sim.workflows.assess import run_assessment
from sim.workflows.backtest import run_backtest
from sim.workflows.calibrate import run_calibration, synthetic_observations
from sim.workflows.compare import run_compare
from sim.workflows.discover import scenario_discovery
from sim.workflows.sensitivity import sensitivity_analysis
from sim.workflows.solve import run_solve
from sim.workflows.sweep import run_sweep

FIXTURE = Path(__file__).parent / "fixtures" / "calibration_small.yaml"
OBSERVED = ["Innovation Carriers", "Technology Contract Turnover", "Effective Invention Patents"]
FLOOR = "Fiscal Innovation Share Floor"
LANGS = ["en", "zh"]


def answer(page: Path) -> str:
    """The page's first sentence in bold (its answer), unescaped."""
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "data:image/png;base64," in text
    found = re.search(r"<p><strong>(.*?)</strong></p>", text, re.S)
    assert found, f"{page.name} opens with no answer"
    return html.unescape(found.group(1))


def pct(value: float) -> str:
    """A probability as the pages write it."""
    return f"{value * 100:.1f}%"


def lever(value: float, lang: str) -> str:
    """A share lever's value as the pages write it (``0.02375`` → ``2.38 %``)."""
    return format_quantity(value, "Dmnl", lang)


@pytest.fixture(scope="module")
def labels(real_model: Path) -> dict[str, dict[str, str]]:
    targets = load_scenario(FIXTURE).targets
    return {lang: {t.name: t.label.text(lang) for t in targets} for lang in LANGS}


@pytest.fixture(scope="module")
def observed(real_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic observations of the test scenario, 2018-2022."""
    data = synthetic_observations(load_scenario(FIXTURE), {}, OBSERVED, [2018, 2020, 2022], 0.1, 1)
    path = tmp_path_factory.mktemp("observed") / "synthetic.csv"
    data.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("lang", LANGS)
def test_compare_page(tmp_path: Path, real_model: Path, labels, lang: str) -> None:
    variant = tmp_path / "higher.yaml"
    variant.write_text(
        f"extends: {FIXTURE}\nlevers:\n  {FLOOR}: {{value: 0.09, source: test}}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    report = run_compare([FIXTURE, variant], out, draws=48, seed=2, lang=lang)
    said = answer(out / "compare.html")
    table = read_table(out / "compare.csv")
    mine = table[(table["scenario"] == "higher") & (table["target"] != "all")]
    assert said.startswith("higher") and "calibration_small" in said
    rises = mine[mine["diff_low"] > 0]
    if rises.empty:
        assert ("no target" if lang == "en" else "没有目标") in said
    else:
        top = rises.loc[rises["difference"].idxmax()]
        assert labels[lang][top["target"]] in said and pct(top["probability"]) in said
    assert said in report.text


@pytest.mark.parametrize("lang", LANGS)
def test_sweep_page_and_percentages(tmp_path: Path, real_model: Path, labels, lang: str) -> None:
    out = tmp_path / "out"
    ranges = [LeverRange(FLOOR, 0.01, 0.09, 5)]
    report = run_sweep(FIXTURE, ranges, out, targets=["patents_2025"], draws=32, lang=lang)
    said = answer(out / "sweep.html")
    table = read_table(out / "sweep.csv")
    curve = table[table["target"] == "patents_2025"]
    assert labels[lang]["patents_2025"] in said
    assert pct(curve["probability"].iloc[0]) in said and pct(curve["probability"].iloc[-1]) in said
    assert lever(0.01, lang) in said and lever(0.09, lang) in said  # 1 % and 9 %, not 0.01
    assert "0.01" not in report.text and lever(0.09, lang) in report.text
    assert list(table[FLOOR].drop_duplicates()) == pytest.approx([0.01, 0.03, 0.05, 0.07, 0.09])


@pytest.mark.parametrize("lang", LANGS)
def test_solve_page_and_percentages(tmp_path: Path, real_model: Path, labels, lang: str) -> None:
    out = tmp_path / "out"
    report = run_solve(
        FIXTURE, out, target="patents_2025", level=0.6, lever=LeverRange(FLOOR), draws=32, lang=lang
    )
    said = answer(out / "solve.html")
    record = read_table(out / "solve.csv").iloc[0]
    at = record["best_value"] if record["status"] == "not_reachable" else record["value"]
    assert labels[lang]["patents_2025"] in said and "60%" in said
    assert lever(at, lang) in said and lever(at, lang) in report.text
    assert lever(record["range_high"], lang) in report.text  # the plausible range in %
    assert said in report.text


@pytest.mark.parametrize("lang", LANGS)
def test_sensitivity_page(tmp_path: Path, real_model: Path, labels, lang: str) -> None:
    out = tmp_path / "out"
    sensitivity_analysis(FIXTURE, out, samples=32, lang=lang)
    said = answer(out / "sensitivity.html")
    table = read_table(out / "sensitivity.csv")
    first = load_scenario(FIXTURE).targets[0]
    rows = table[(table["target"] == first.name) & (table["output"] == "value")]
    assert said.startswith(labels[lang][first.name])
    if sa.ranking_quality(rows, "sobol") == sa.MEASURABLE:
        top = sa.ranked(rows, "sobol", 2)
        top = top[[not sa.is_noise(i, c) for i, c in zip(top["ST"], top["ST_conf"], strict=True)]]
        if lang == "en":
            assert top["parameter"].iloc[0] in said
        assert f"{top['ST'].sum():.2g}" in said.split("；")[0].split(";")[0]
    else:
        assert ("too little variation" if lang == "en" else "变化太少") in said


@pytest.mark.parametrize("lang", LANGS)
def test_discover_page(tmp_path: Path, real_model: Path, labels, lang: str) -> None:
    out = tmp_path / "out"
    report = scenario_discovery(FIXTURE, "patents_2025", out, draws=200, lang=lang)
    page = out / "patents_2025_reached.html"
    said = answer(page)
    trajectory = read_table(out / "patents_2025_reached_trajectory.csv")
    chosen = trajectory[trajectory["chosen"]].iloc[0]
    assert labels[lang]["patents_2025"] in said
    assert pct(chosen["density"]) in said and pct(chosen["mass"]) in said
    assert said == report.answer


@pytest.mark.parametrize("lang", LANGS)
def test_calibrate_page(tmp_path: Path, observed: Path, lang: str) -> None:
    out = tmp_path / "out"
    report = run_calibration(FIXTURE, out, observed=observed, draws=300, seed=2, lang=lang)
    said = answer(out / "calibrate.html")
    targets = read_table(out / "targets.csv")
    assert f"{targets['calibrated_ess'].iloc[0]:,.0f}" in said
    assert "9" in said  # nine observations (three variables, three years)
    parameters = read_table(out / "parameters.csv")
    page = html.unescape((out / "calibrate.html").read_text(encoding="utf-8"))
    if lang == "en":
        assert parameters["parameter"].iloc[0] in page
    assert ("effective sample size" if lang == "en" else "有效样本量") in report.console[0]


@pytest.mark.parametrize("lang", LANGS)
def test_assess_page(tmp_path: Path, observed: Path, lang: str) -> None:
    out = tmp_path / "out"
    report = run_assessment(FIXTURE, observed, out, as_of=2020, draws=120, seed=5, lang=lang)
    said = answer(out / "assess.html")
    table = read_table(out / "assess.csv")
    on_track = int((table["status"] == "on_track").sum())
    assert "2020" in said
    assert (f"{on_track} on track" if lang == "en" else f"{on_track} 个按计划推进") in said
    assert said in report.text


@pytest.mark.parametrize("lang", LANGS)
def test_backtest_page(tmp_path: Path, observed: Path, lang: str) -> None:
    out = tmp_path / "out"
    report = run_backtest(FIXTURE, [observed], [2020], out, draws=300, seed=5, lang=lang)
    said = answer(out / "backtest.html")
    table = read_table(out / "backtest.csv")
    inside, total = int(table["inside_90"].sum()), len(table)
    expected = (
        f"{inside} of {total} held-out" if lang == "en" else f"{total} 个预留观测中有 {inside} 个"
    )
    assert expected in said and said == report.console[0]
    provenance = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
    assert provenance["command"] == "innosim backtest"
