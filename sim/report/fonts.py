"""Matplotlib set-up for figures with Chinese and English labels."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import matplotlib
from matplotlib import font_manager

#: Font file shipped by the ``mplfonts`` package that we use for CJK text.
CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"


@functools.cache
def cjk_font_path() -> Path:
    """Path of the Noto Sans CJK SC font file inside the installed ``mplfonts`` package."""
    spec = importlib.util.find_spec("mplfonts")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / "fonts" / CJK_FONT_FILE
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"{CJK_FONT_FILE} not found: install the 'mplfonts' package (a dependency of innosim)"
    )


def use_cjk_font() -> str:
    """Make matplotlib draw Chinese text with Noto Sans CJK SC; return the font family name.

    Registers the font file with matplotlib's font manager (without mplfonts' global
    installer), puts the family first in ``font.sans-serif`` and selects sans-serif text with
    an ASCII minus sign (the CJK font lacks U+2212). Safe to call repeatedly.
    """
    family = _registered_family(font_manager.fontManager)
    rc = matplotlib.rcParams
    rc["font.sans-serif"] = [family] + [name for name in rc["font.sans-serif"] if name != family]
    rc["font.family"] = ["sans-serif"]
    rc["axes.unicode_minus"] = False
    return family


@functools.cache
def _registered_family(manager: font_manager.FontManager) -> str:
    """Register the CJK font file with ``manager`` (once per manager) and return its family."""
    path = cjk_font_path()
    registered = {Path(entry.fname).resolve() for entry in manager.ttflist}
    if path.resolve() not in registered:
        manager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()
