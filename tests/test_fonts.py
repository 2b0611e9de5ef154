"""The CJK font subset a page embeds (``sim.report.fonts``): kept on disk so a command run
again does not subset the font again, and made anyway when the cache cannot be written."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from sim.report import fonts

PAGE = "基准情景：按规划执行，高新技术企业"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    fonts._subset.cache_clear()
    yield tmp_path / "innosim" / "fonts"
    fonts._subset.cache_clear()


def _glyph_characters(css: str) -> set[str]:
    import base64
    import re

    data = base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]+)", css).group(1))
    with TTFont(io.BytesIO(data)) as font:
        return {chr(code) for code in font.getBestCmap()}


def test_a_subset_is_read_back_from_the_disk_cache(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = fonts.font_face_css(PAGE)
    assert {c for c in PAGE if ord(c) > 127} <= _glyph_characters(made)
    assert len(list(cache.glob("*.woff"))) == 1
    fonts._subset.cache_clear()

    def no_subsetting(codepoints: frozenset[int]) -> tuple[bytes, str]:
        raise AssertionError("the subset should have come from the disk cache")

    monkeypatch.setattr(fonts, "_make_subset", no_subsetting)
    assert fonts.font_face_css(PAGE) == made


def test_an_unwritable_cache_only_costs_the_subsetting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # innosim/fonts cannot be made
    fonts._subset.cache_clear()
    try:
        css = fonts.font_face_css(PAGE)
    finally:
        fonts._subset.cache_clear()
    assert {c for c in PAGE if ord(c) > 127} <= _glyph_characters(css)
