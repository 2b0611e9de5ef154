"""The CJK font: matplotlib set-up for figures with Chinese and English labels, and the
subset of it that an HTML page embeds (``font_face_css``).

Subsetting the 16 MB font takes about 0.6 s, so each subset is also kept on disk, in the
user's cache (``$XDG_CACHE_HOME/innosim/fonts``, beside the compiled models), named by the
font file and the characters: a command run again writes its page without subsetting.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.util
import io
from pathlib import Path

import fontTools
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


#: Family name of the embedded subset in a page's CSS (``base.html.j2`` lists it first).
EMBEDDED_FAMILY = "innosim CJK"
#: Character sets whose subsets are kept (a report and its pages share most characters).
FONT_CACHE_SIZE = 32


def font_face_css(page: str) -> str:
    """A CSS ``@font-face`` rule embedding (base64) the glyphs of ``page``'s non-ASCII
    characters that Noto Sans CJK SC has, as family ``EMBEDDED_FAMILY``; ``""`` when the page
    has none, as WOFF (zlib: a third of the time of WOFF2's brotli for a page's subset, about
    10 % larger)."""
    wanted = frozenset(ord(c) for c in page if ord(c) > 127)
    data, kind = _subset(wanted) if wanted else (b"", "")
    if not data:
        return ""
    encoded = base64.b64encode(data).decode("ascii")
    return (
        f'@font-face {{ font-family: "{EMBEDDED_FAMILY}"; font-style: normal; '
        f"font-weight: 400; font-display: block; "
        f'src: url(data:font/{kind};base64,{encoded}) format("{kind}"); }}'
    )


def _cached_subset_path(codepoints: frozenset[int]) -> Path:
    """Where the subset of ``codepoints`` is kept: named by the font file (path, size, time),
    the fontTools version and the characters."""
    from sim.vensim.model import cache_root

    font = cjk_font_path()
    stat = font.stat()
    key = f"{font}|{stat.st_size}|{stat.st_mtime_ns}|{fontTools.version}|"
    key += ",".join(map(str, sorted(codepoints)))
    return cache_root() / "fonts" / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.woff"


@functools.lru_cache(maxsize=FONT_CACHE_SIZE)
def _subset(codepoints: frozenset[int]) -> tuple[bytes, str]:
    """The font file (bytes) holding the glyphs of ``codepoints`` that the CJK font maps,
    and its format (``woff``); ``b""`` when it maps none of them. Read from the disk cache
    when there (``_cached_subset_path``), else made and kept there (best effort: a cache
    that cannot be written is skipped)."""
    from sim.atomic import atomic_write_bytes

    cached = _cached_subset_path(codepoints)
    if cached.is_file():
        return cached.read_bytes(), "woff"
    data, kind = _make_subset(codepoints)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(cached, data)
    except OSError:
        pass  # a read-only or full cache only costs the next run the subsetting
    return data, kind


def _make_subset(codepoints: frozenset[int]) -> tuple[bytes, str]:
    """``_subset`` made with fontTools' subsetter."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    kind = "woff"
    with TTFont(cjk_font_path(), lazy=True) as font:  # reads only the tables subsetting needs
        mapped = sorted(codepoints & font.getBestCmap().keys())
        if not mapped:
            return b"", kind
        options = subset.Options()
        options.flavor = kind
        options.desubroutinize = True  # compresses better; the subset is small anyway
        options.hinting = False
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=mapped)
        subsetter.subset(font)
        out = io.BytesIO()
        font.flavor = kind
        font.save(out)
    return out.getvalue(), kind


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
