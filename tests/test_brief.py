"""The one-page brief at the top of ``innosim run``'s report.html: every target with its
status, probability, drivers and what it would take; the search on the run's own draws; the
CJK glyphs embedded; the page printed to PDF with the brief on page 1."""

from __future__ import annotations

import base64
import io
import re
import subprocess
from html import escape as html_escape
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from sim.engine.ensemble import EnsembleRun
from sim.errors import ScenarioError
from sim.paths import DEFAULT_SCENARIO_PATH
from sim.report.brief import AMBER_FROM, GREEN_FROM, status_of
from sim.report.fonts import EMBEDDED_FAMILY, cjk_font_path
from sim.report.i18n import text
from sim.results import at_year
from sim.scenario import load_scenario
from sim.scenario.levers import rebalanced_settings
from sim.workflows.brief import first_draws
from sim.workflows.lever_runs import LeverRuns
from sim.workflows.run import run_scenario

DRAWS, SEED, SEARCH_DRAWS = 300, 11, 200


@pytest.fixture(scope="module")
def zh_run(tmp_path_factory: pytest.TempPathFactory, real_model: Path):
    out = tmp_path_factory.mktemp("brief") / "zh"
    report = run_scenario(
        DEFAULT_SCENARIO_PATH, out, draws=DRAWS, seed=SEED, lang="zh", search_draws=SEARCH_DRAWS
    )
    return out, report, (out / "report.html").read_text(encoding="utf-8")


def _brief_rows(html: str) -> list[str]:
    """The HTML of each row of the brief's table, in order."""
    table = html[html.index('<table class="brief-table">') :]
    table = table[: table.index("</table>")]
    return table.split('<tr class="status-')[1:]


def test_the_brief_opens_the_report_with_every_target(zh_run) -> None:
    _, report, html = zh_run
    scenario = load_scenario(DEFAULT_SCENARIO_PATH)
    b = text("zh", "brief")
    assert html.index(b["heading"]) < html.index("<h2>目标达成概率</h2>")
    rows = _brief_rows(html)
    assert len(rows) == len(scenario.targets)
    for row, target, record in zip(
        rows, scenario.targets, report.table.to_dict("records"), strict=True
    ):
        assert record["target"] == target.name
        status = status_of(record["probability"])
        assert row.startswith(status) and b[status] in row
        assert html_escape(target.label.zh) in row
        assert f"{record['probability'] * 100:.0f}%" in row
    # the rule of the colours is stated with its thresholds
    assert b["status_rule"].format(green=f"{GREEN_FROM:.0%}", amber=f"{AMBER_FROM:.0%}") in html


def test_each_target_names_its_top_drivers_measured_on_the_run(zh_run) -> None:
    _, report, html = zh_run
    facts = report.brief
    scenario = load_scenario(DEFAULT_SCENARIO_PATH)
    assert facts is not None
    for row, target in zip(_brief_rows(html), scenario.targets, strict=True):
        ranking = facts.drivers[target.name]
        assert ranking.draws == DRAWS
        top = ranking.table.iloc[0]
        label = facts.inputs[top["input"]]
        assert html_escape(label.text("zh")) in row and f'title="{top["input"]}: ' in row
        assert ("↑" if top["direction"] > 0 else "↓") in row
        assert "R² = " in row


def test_what_it_would_take_is_searched_on_the_runs_own_draws(zh_run) -> None:
    out, report, html = zh_run
    scenario = load_scenario(DEFAULT_SCENARIO_PATH)
    question = scenario.what_it_would_take
    facts = report.brief
    assert question is not None and facts.goal == question.goal
    assert facts.search_draws == SEARCH_DRAWS and f"{SEARCH_DRAWS:,}" in html
    run = EnsembleRun(scenario, DRAWS, SEED)
    inputs = first_draws(run, SEARCH_DRAWS)
    runs = LeverRuns(scenario, inputs=inputs, settings=run.settings)
    # the search's draws are the run's first draws, bit for bit (common random numbers)
    with xr.open_dataset(out / "ensemble.nc") as results:
        here = runs.values({})
        for target in scenario.targets:
            expected = at_year(results, target.variable, target.year)[:SEARCH_DRAWS]
            np.testing.assert_array_equal(here[target.name][0], expected)
    probabilities = dict(zip(report.table["target"], report.table["probability"], strict=True))
    below = [t for t in scenario.targets if probabilities[t.name] < question.goal]
    assert set(facts.options) == {t.name for t in below}
    reached = 0
    rows = dict(zip([t.name for t in scenario.targets], _brief_rows(html), strict=True))
    for target in below:
        options = facts.options[target.name]
        assert [o.lever for o in options] == list(question.levers)
        for option in options:
            bound = any(option.lever in c.sum for c in scenario.constraints)
            rules = [question.rebalance] if bound else []

            def hits(value: float, option=option, rules=rules, name=target.name) -> float:
                settings = {option.lever: np.array([value])}
                settings |= rebalanced_settings(scenario, settings, rules)
                return float(runs.hits(settings)[name].mean())

            if option.reached:
                reached += 1
                assert option.value > option.current
                assert hits(option.value) >= question.goal > hits(option.current)
                assert html_escape(option.label_zh) in rows[target.name]
                assert np.isfinite(option.money_change) and option.money_change > 0
            else:
                assert hits(option.current) < question.goal
        if not any(o.reached for o in options):
            assert "无法达到" in rows[target.name]
    assert reached, "no target below the goal has a lever that reaches it"


def test_levers_and_distributions_are_written_as_a_person_reads_them(zh_run) -> None:
    _, _, html = zh_run
    levers = html[html.index("<h2>政策杠杆</h2>") :]
    levers = levers[: levers.index("</table>")]
    assert "财政创新投入占收入比重下限" in levers and "Fiscal Innovation Share Floor" in levers
    assert "2 %" in levers and "10.0 亿元" in levers
    uncertainties = html[html.index("<h2>不确定参数</h2>") :]
    uncertainties = uncertainties[: uncertainties.index("</table>")]
    assert "pert(" not in uncertainties and "lambda" not in uncertainties
    assert "PERT 分布" in uncertainties and "最可能" in uncertainties


def test_the_page_embeds_a_glyph_for_every_chinese_character(zh_run) -> None:
    from fontTools.ttLib import TTFont

    _, _, html = zh_run
    match = re.search(
        rf'@font-face {{ font-family: "{EMBEDDED_FAMILY}";.*?base64,([A-Za-z0-9+/=]+)\) '
        r'format\("(woff2?)"\)',
        html,
    )
    assert match, "no embedded font"
    embedded = TTFont(io.BytesIO(base64.b64decode(match.group(1))))
    assert embedded.flavor == match.group(2)
    glyphs = set(embedded.getBestCmap())
    page = html.replace(match.group(0), "")
    chinese = {c for c in page if "\u4e00" <= c <= "\u9fff" or "\u3000" <= c <= "\u303f"}
    assert len(chinese) > 100
    missing = sorted(c for c in chinese if ord(c) not in glyphs)
    assert not missing, f"no glyph for {''.join(missing)}"
    with TTFont(cjk_font_path(), lazy=True) as font:
        source = set(font.getBestCmap())
    other = {c for c in page if ord(c) > 127 and ord(c) in source}
    assert {ord(c) for c in other} <= glyphs
    assert f'font-family: "{EMBEDDED_FAMILY}"' in html[html.index("body {") :]


def test_a_bad_lever_in_what_it_would_take_names_the_file_line_and_field(
    tmp_path: Path, real_model: Path
) -> None:
    variant = tmp_path / "variant.yaml"
    variant.write_text(
        f"extends: {DEFAULT_SCENARIO_PATH.resolve()}\n"
        "what_it_would_take:\n  levers:\n    - Initial Fund Size\n    - Fiscal Innovation Shar\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as caught:
        run_scenario(variant, tmp_path / "out", draws=20, seed=1, search_draws=20)
    error = caught.value
    assert error.path == variant and error.line == 5
    assert error.field == "what_it_would_take.levers.1"
    assert "Fiscal Innovation Share Floor" in error.message  # the suggestion
    assert not (tmp_path / "out").exists()


def test_the_report_prints_to_pdf_with_the_brief_on_page_one(
    zh_run, tmp_path: Path, chromium: Path, chromium_args: list[str]
) -> None:
    import pypdf

    out, report, _ = zh_run
    pdf = tmp_path / "report.pdf"
    subprocess.run(
        [
            str(chromium),
            *chromium_args,
            "--no-pdf-header-footer",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--print-to-pdf={pdf}",
            (out / "report.html").resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    reader = pypdf.PdfReader(pdf)
    assert len(reader.pages) > 1
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (210, 297)  # A4
    first = re.sub(r"\s+", "", reader.pages[0].extract_text())
    assert text("zh", "brief")["heading"] in first
    scenario = load_scenario(DEFAULT_SCENARIO_PATH)
    for target in scenario.targets:  # the whole brief on page 1
        assert re.sub(r"\s+", "", target.label.zh) in first, target.name
    assert re.sub(r"\s+", "", text("zh", "brief")["track_record"]) in first
    assert report.brief is not None


def test_status_colours_follow_the_stated_thresholds() -> None:
    assert status_of(GREEN_FROM) == "green" and status_of(1.0) == "green"
    assert status_of(AMBER_FROM) == "amber" and status_of(GREEN_FROM - 1e-9) == "amber"
    assert status_of(AMBER_FROM - 1e-9) == "red" and status_of(0.0) == "red"


@pytest.mark.parametrize(
    ("spec", "units", "zh", "en"),
    [
        ({"distribution": "pert", "min": 0.5, "max": 0.9, "mode": 0.7}, "Dmnl",
         "PERT 分布，0.5–0.9，最可能 0.7", "PERT, 0.5–0.9, most likely 0.7"),
        ({"distribution": "pert", "min": 2, "max": 10, "mode": 5, "lambda": 2}, "Dmnl",
         "PERT 分布，2–10，最可能 5（形状参数 2）", "PERT, 2–10, most likely 5 (shape 2)"),
        ({"distribution": "uniform", "min": 2018, "max": 2020}, "Year",
         "均匀分布，2018–2020 年", "uniform, 2018–2020 yr"),
        ({"distribution": "triangular", "min": 0.5, "max": 4, "mode": 2}, "CNY100M",
         "三角分布，0.5–4 亿元，最可能 2", "triangular, 0.5–4 CNY 100M, most likely 2"),
        ({"distribution": "normal", "mean": 1.5, "sd": 0.25}, "CNY100M",
         "正态分布，均值 1.5 亿元，标准差 0.25 亿元",
         "normal, mean 1.5 CNY 100M, sd 0.25 CNY 100M"),
        ({"distribution": "truncnormal", "mean": 0.5, "sd": 0.1, "min": 0, "max": 1}, "Dmnl",
         "截断正态分布，均值 0.5，标准差 0.1，截断于 0–1",
         "normal truncated to 0–1, mean 0.5, sd 0.1"),
        ({"distribution": "lognormal", "median": 3, "sigma": 0.4}, "Dmnl",
         "对数正态分布，中位数 3，对数标准差 0.4", "lognormal, median 3, log sd 0.4"),
        ({"distribution": "beta", "alpha": 2, "beta": 5}, "Dmnl",
         "Beta 分布（α = 2，β = 5），0–1", "beta (α = 2, β = 5) on 0–1"),
        ({"distribution": "choice", "values": [1, 2, 3], "weights": [0.2, 0.5, 0.3]}, "Dmnl",
         "取值之一：1、2、3（权重 0.2、0.5、0.3）", "one of 1, 2, 3 (weights 0.2, 0.5, 0.3)"),
        ({"distribution": "choice", "values": [0, 1]}, "Dmnl",
         "取值之一：0、1（等概率）", "one of 0, 1 (equally likely)"),
    ],
)  # fmt: skip
def test_distributions_are_written_in_words(spec, units, zh, en) -> None:
    from pydantic import TypeAdapter

    from sim.report.brief import distribution_text
    from sim.scenario.distributions import Distribution

    distribution = TypeAdapter(Distribution).validate_python(spec | {"source": "test"})
    assert distribution_text(distribution, units, "zh") == zh
    assert distribution_text(distribution, units, "en") == en


def test_lever_values_carry_their_units() -> None:
    from sim.report.brief import lever_value_text

    assert lever_value_text(0.02, "Dmnl", "zh") == "2 %"
    assert lever_value_text(10, "CNY100M", "zh") == "10.0 亿元"
    assert lever_value_text(2020, "Year", "en") == "2020"
    assert lever_value_text(0.001, "1/Year", "zh") == "0.1 %/年"
    assert lever_value_text({2021: 0.02, 2025: 0.03}, "Dmnl", "en") == "2021: 2 %; 2025: 3 %"


def test_a_main_lever_the_scenario_draws_is_not_searched(tmp_path: Path, real_model: Path) -> None:
    variant = tmp_path / "drawn_fund.yaml"
    variant.write_text(
        f"extends: {DEFAULT_SCENARIO_PATH.resolve()}\n"
        "uncertainties:\n  Initial Fund Size:\n"
        "    {distribution: uniform, min: 5, max: 15, source: a test}\n",
        encoding="utf-8",
    )
    report = run_scenario(variant, tmp_path / "out", draws=30, seed=1, search_draws=30)
    facts = report.brief
    assert facts is not None and list(facts.skipped_levers) == ["Initial Fund Size"]
    assert "Initial Fund Size" not in facts.levers and facts.options
    assert all("Initial Fund Size" not in [o.lever for o in o_] for o_ in facts.options.values())
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "按时间路径设定的主要杠杆：Initial Fund Size" in html
