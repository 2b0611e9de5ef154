from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib
import matplotlib.text
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.figure import Figure

from sim.report.figures import (
    FAN_CHART_BYTES,
    FanCharts,
    fan_chart,
    fan_quantiles,
    figure_png,
)
from sim.report.fonts import cjk_font_path, use_cjk_font
from sim.results import OUTCOME, slug, variable
from sim.scenario import Target


def test_use_cjk_font_is_idempotent() -> None:
    family = use_cjk_font()
    assert cjk_font_path().name == "NotoSansCJKsc-Regular.otf"
    assert use_cjk_font() == family
    assert matplotlib.rcParams["font.sans-serif"].count(family) == 1
    assert matplotlib.rcParams["font.sans-serif"][0] == family
    assert matplotlib.rcParams["axes.unicode_minus"] is False


def test_chinese_labels_render_without_missing_glyphs(tmp_path: Path) -> None:
    use_cjk_font()
    figure = Figure(figsize=(4, 3))
    axis = figure.subplots()
    axis.plot([2020, 2025], [-1.5, 300], label="确定性运行")
    axis.set_title("高新技术企业（家）≥ 300 – R&D经费投入强度")
    axis.set_xlabel("年份")
    axis.set_ylabel("技术合同交易额 (亿元/年)")
    axis.legend()
    out = tmp_path / "zh.png"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font" would fail the test
        figure.savefig(out)
    assert out.stat().st_size > 1000
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _results(values: np.ndarray) -> xr.Dataset:
    times = 2015.0 + np.arange(values.shape[1])
    data = xr.DataArray(
        values,
        dims=("draw", "time"),
        coords={"draw": np.arange(values.shape[0]), "time": times},
        attrs={"long_name": "High Tech Enterprises", "role": OUTCOME},
    )
    return xr.Dataset({slug("High Tech Enterprises"): data})


def _target(**changes) -> Target:
    fields = {
        "name": "hte_2025",
        "variable": "High Tech Enterprises",
        "year": 2025,
        "direction": "at_least",
        "threshold": 300.0,
        "label": {"zh": "高新技术企业", "en": "High-tech enterprises"},
        "unit": {"zh": "家", "en": "firms"},
        "source": "test",
        "scale": 1.7,
    }
    return Target(**(fields | changes))


@pytest.mark.parametrize("max_bytes", [FAN_CHART_BYTES, 8 * 21 * 10, 1])
def test_fan_quantiles_are_nanquantiles_bit_for_bit(tmp_path: Path, max_bytes: int) -> None:
    rng = np.random.default_rng(3)
    values = rng.lognormal(3, 1, size=(997, 21)).round(1)  # ties, like counts of firms
    values[rng.random(values.shape) < 0.05] = np.nan
    values[:, 0] = 250.0  # a column of one value
    values[:, 1] = np.nan  # and one of none
    _results(values).to_netcdf(tmp_path / "ensemble.nc")
    quantiles = [[0.05, 0.95], [0.25, 0.75], 0.5]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN column
        expected = [np.nanquantile(values * 1.7, q, axis=0) for q in quantiles]
        with xr.open_dataset(tmp_path / "ensemble.nc", cache=False) as lazy:
            got = fan_quantiles(variable(lazy, "High Tech Enterprises"), 1.7, quantiles, max_bytes)
    for mine, numpy in zip(got, expected, strict=True):
        assert mine.shape == numpy.shape
        assert mine.tobytes() == numpy.tobytes()


def _inside(figure: Figure) -> bool:
    """Whether everything a draw of ``figure`` shows (tick labels, titles, legend) lies in it."""
    renderer = figure.canvas.get_renderer()
    drawn = figure.axes[0].get_tightbbox(renderer)
    frame = figure.bbox
    return (
        frame.x0 - 0.5 <= drawn.x0
        and drawn.x1 <= frame.x1 + 0.5
        and frame.y0 - 0.5 <= drawn.y0
        and drawn.y1 <= frame.y1 + 0.5
    )


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("scale", [1.0, 1e-4, 3e5])
def test_fan_chart_text_fits_the_figure(lang: str, scale: float) -> None:
    rng = np.random.default_rng(1)
    values = np.cumsum(rng.uniform(0, 40, size=(200, 21)), axis=1) + 100
    history = pd.DataFrame(
        {"variable": ["High Tech Enterprises"], "year": [2020], "value": [150.0], "sd": [5.0]}
    )
    figure = fan_chart(_results(values), _target(scale=scale), lang, history)
    assert _inside(figure)
    axes = figure.axes[0]
    assert figure.get_layout_engine() is None
    assert 0.05 < axes.get_position().x0 < 0.2 and axes.get_position().x1 > 0.9
    assert axes.get_position().y1 > 0.85
    png = figure_png(figure)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_fan_chart_shows_the_bands_median_target_and_history() -> None:
    values = np.tile(np.linspace(0, 100, 101)[:, None], (1, 21))
    figure = fan_chart(_results(values), _target(scale=2.0), "en")
    axes = figure.axes[0]
    labels = [text.get_text() for text in axes.get_legend().get_texts()]
    assert labels == ["5–95 % band", "25–75 % band", "median", "Target 2025"]
    median = axes.get_lines()[0].get_ydata()
    np.testing.assert_array_equal(median, np.full(21, 100.0))
    star = axes.get_lines()[1]
    assert (star.get_xdata()[0], star.get_ydata()[0]) == (2025, 600.0)


def test_fan_charts_on_one_figure_are_fan_charts_byte_for_byte() -> None:
    rng = np.random.default_rng(4)
    history = pd.DataFrame(
        {"variable": ["High Tech Enterprises"], "year": [2020], "value": [150.0], "sd": [5.0]}
    )
    series = [
        np.cumsum(rng.uniform(0, 40, size=(300, 21)), axis=1) + 100,
        rng.normal(3.2, 0.1, size=(300, 21)),
        rng.uniform(0, 5e5, size=(300, 21)),
        np.cumsum(rng.uniform(0, 4, size=(300, 21)), axis=1),
    ]
    variables = [f"Variable {index}" for index in range(len(series))]
    results = xr.merge(
        [
            _results(values).rename({slug("High Tech Enterprises"): slug(name)})
            for name, values in zip(variables, series, strict=True)
        ]
    )
    history = history.assign(variable=variables[0])
    targets = [
        _target(name="a", variable=variables[0]),
        _target(name="b", variable=variables[1], scale=1.0, threshold=3.0),
        _target(name="c", variable=variables[2], scale=1e-4, year=2030),
        _target(name="d", variable=variables[3], scale=100.0),
    ]
    for lang in ("en", "zh"):
        alone = {t.name: figure_png(fan_chart(results, t, lang, history)) for t in targets}
        charts = FanCharts()
        assert {t.name: charts.png(results, t, lang, history) for t in targets} == alone
        assert FanCharts().pngs(results, targets, lang, history) == alone


@pytest.mark.parametrize("years", [4, 6, 11, 16, 21])
def test_fan_chart_year_ticks_are_whole_years(years: int) -> None:
    values = np.tile(np.linspace(0, 100, 101)[:, None], (1, years))
    figure = fan_chart(_results(values), _target(year=2014 + years), "en")
    axes = figure.axes[0]
    low, high = axes.get_xlim()
    ticks = [t for t in axes.get_xticks() if low <= t <= high]
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks), ticks
