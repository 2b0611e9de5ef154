"""Noise shown as noise: a sensitivity index whose interval is wider than the estimate, or a
target reached in almost every run, is not ranked (sim.analysis.sensitivity_indices
.ranking_quality) but said to be not measurable on the chart, the console and the page."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import Rectangle

from sim.analysis import sensitivity_indices as sa
from sim.report.sensitivity_charts import sensitivity_chart
from sim.scenario import Target
from sim.workflows.sensitivity import SensitivityRun, driver_answer, ranking_table

TARGET = Target.model_validate(
    {
        "name": "firms_2025",
        "variable": "High Tech Enterprises",
        "year": 2025,
        "direction": "at_least",
        "threshold": 300,
        "label": {"zh": "高新技术企业", "en": "High-tech enterprises"},
        "unit": {"zh": "家", "en": "firms"},
        "source": "test",
    }
)
NAMES = ["A", "B", "C"]


def _rows(kind: str, st: list[float], conf: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "target": TARGET.name,
            "output": kind,
            "parameter": NAMES,
            "S1": np.array(st) / 2,
            "S1_conf": conf,
            "ST": st,
            "ST_conf": conf,
        }
    )


def _table(reached_st: list[float], reached_conf: list[float]) -> pd.DataFrame:
    value = _rows("value", [0.6, 0.3, 0.05], [0.04, 0.03, 0.01])
    return pd.concat([value, _rows("reached", reached_st, reached_conf)], ignore_index=True)


def _run(table: pd.DataFrame, reached: float) -> SensitivityRun:
    return SensitivityRun(
        table=table,
        method="sobol",
        samples=64,
        seed=1,
        runs=320,
        labels_zh={name: name for name in NAMES},
        reached={TARGET.name: reached},
    )


@pytest.mark.parametrize(
    ("st", "conf", "reached", "expected"),
    [
        ([0.6, 0.3, 0.05], [0.04, 0.03, 0.01], None, sa.MEASURABLE),
        ([1.2, 0.5, 0.1], [1.9, 0.4, 0.1], 0.4, sa.NOISE),  # the chart's 1.2 ± 1.9
        ([0.7, 0.3, 0.1], [0.4, 0.1, 0.1], 0.4, sa.NOISE),  # interval 0.3-1.1 wider than 0.7
        ([0.6, 0.3, 0.05], [0.04, 0.03, 0.01], 0.999, sa.RARE),
        ([0.6, 0.3, 0.05], [0.04, 0.03, 0.01], 0.001, sa.RARE),
        ([np.nan] * 3, [np.nan] * 3, 1.0, sa.CONSTANT),
    ],
)
def test_ranking_quality(st, conf, reached, expected) -> None:
    assert sa.ranking_quality(_rows("reached", st, conf), "sobol", reached) == expected


def test_the_minority_threshold_is_a_share_of_runs() -> None:
    rows = _rows("reached", [0.6, 0.3, 0.05], [0.04, 0.03, 0.01])
    edge = sa.MIN_MINORITY_SHARE
    assert sa.ranking_quality(rows, "sobol", edge) == sa.MEASURABLE
    assert sa.ranking_quality(rows, "sobol", 1 - edge / 2) == sa.RARE


@pytest.mark.parametrize(("lang", "said"), [("en", "too little variation"), ("zh", "变化太少")])
def test_a_noisy_panel_is_words_not_bars(lang: str, said: str) -> None:
    """A target reached in 99.9 % of runs with ST = 1.2 ± 1.9: no bars on its panel."""
    table = _table([1.2, 0.5, 0.1], [1.9, 0.4, 0.1])
    figure = sensitivity_chart(table, TARGET, "sobol", lang, {}, 320, 64, 3, 0.999)
    value, reached = figure.axes[:2]
    assert any(isinstance(patch, Rectangle) for patch in value.patches)  # ranked
    assert not any(isinstance(patch, Rectangle) for patch in reached.patches)
    assert any(said in text.get_text().replace("\n", "") for text in reached.texts)


@pytest.mark.parametrize(("lang", "said"), [("en", "too little variation"), ("zh", "变化太少")])
def test_console_and_answer_say_noise_is_not_measurable(lang: str, said: str) -> None:
    run = _run(_table([1.2, 0.5, 0.1], [1.9, 0.4, 0.1]), reached=0.3)
    console = ranking_table(run, [TARGET], lang).to_string()
    assert said in console and "1.2±1.9" not in console
    assert "0.6±0.04" in console  # the measurable output is still ranked
    answer = driver_answer(run, TARGET, lang)
    assert said in answer and "A" in answer


def test_answer_names_only_drivers_that_are_not_noise() -> None:
    run = _run(_table([0.6, 0.5, 0.1], [0.05, 0.4, 0.05]), reached=0.3)
    answer = driver_answer(run, TARGET, "en")
    reached = answer.split(";")[1]
    assert "A" in reached and "B" not in reached  # 0.5 ± 0.4 is noise
