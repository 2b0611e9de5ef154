from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

from sim.report.fonts import cjk_font_path, use_cjk_font


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
