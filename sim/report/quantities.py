"""Quantities as a person reads them: a model value with its Vensim units, written in Chinese
or English, shares as percentages.

The model keeps every value in its Vensim units (shares as fractions, money in 亿元 =
``CNY100M`` or 万元 = ``CNY10K``); files keep those units. What a person reads goes through
here: ``unit_text`` writes a Vensim unit string in a language (``CNY100M/Year`` → ``亿元/年`` or
``CNY 100M/yr``), ``format_quantity`` a value with its unit, a dimensionless lever or share
(``Dmnl``) as a percentage (``0.02`` → ``2 %``) and its changes in percentage points. The
words of the units are the catalogue's section ``units`` (one entry per unit name).

Only policy settings and shares are dimensionless quantities shown as percentages here; a
dimensionless elasticity is not a share, so callers pass ``percent=False`` for such constants
(``shown_as_percent`` answers for levers, whose dimensionless settings are all shares or
rates of the plan).
"""

from __future__ import annotations

import math
import re

from sim.report.i18n import text
from sim.scenario import Language
from sim.scenario.fields import DIMENSIONLESS_UNITS, accepts_percent

#: A unit name inside a Vensim unit string (``CNY100M``, ``Year``).
_ATOM = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def is_dimensionless(units: str) -> bool:
    """Whether a Vensim unit string is dimensionless (``Dmnl``, ``1`` or empty)."""
    return "".join(units.split()).lower() in DIMENSIONLESS_UNITS


def per_time(units: str) -> str:
    """The time unit of a dimensionless rate per time (``1/Year`` → ``Year``), else ``""``."""
    if is_dimensionless(units) or not accepts_percent(units):
        return ""
    return "".join(units.split()).partition("/")[2]


def shown_as_percent(units: str) -> bool:
    """Whether a lever with these Vensim units is shown as a percentage: every dimensionless
    lever of the plan is a share or a rate (of budget revenue, of the budget, of an
    investment), and a dimensionless rate per year is a percentage per year: the quantities
    a scenario may also write as ``3%`` (``sim.scenario.fields.accepts_percent``)."""
    return accepts_percent(units)


def is_date(units: str, value: float) -> bool:
    """Whether a value in ``Year`` is a point in time (a start time such as 2020), not a
    duration: model time is the calendar year."""
    return "".join(units.split()) == "Year" and abs(value) >= 1000


def unit_text(units: str, lang: Language) -> str:
    """A Vensim unit string in ``lang``: each unit name from the catalogue's ``units`` section
    (an unknown name is kept as written), ``*`` as ``·``; dimensionless as ``""``.

    >>> unit_text("CNY100M/Year", "zh")
    '亿元/年'
    """
    if is_dimensionless(units):
        return ""
    words = text(lang, "units")
    written = _ATOM.sub(lambda match: words.get(match.group(0), match.group(0)), units.strip())
    return written.replace("*", "·").replace(" ", "" if lang == "zh" else " ")


def format_number(value: float) -> str:
    """A number with 3 to 4 significant digits and thousands separators (``1,369``, ``31.4``,
    ``1.38``, ``0.0450``); ``nan`` as ``–``."""
    if value is None or not math.isfinite(value):
        return "–"
    magnitude = abs(value)
    if magnitude == 0:
        return "0"
    decimals = 0 if magnitude >= 100 else 1 if magnitude >= 10 else 2 if magnitude >= 1 else 3
    if magnitude < 0.01:
        return f"{value:.3g}"
    return f"{value:,.{decimals}f}"


def format_percent(value: float, decimals: int = 1) -> str:
    """A fraction as a percentage (``0.623`` → ``62.3%``); ``nan`` as ``–``."""
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value * 100:.{decimals}f}%"


def _percent_of(value: float) -> str:
    """A share as a percentage with the digits it needs (``0.02`` → ``2``, ``0.001`` → ``0.1``,
    ``0.02375`` → ``2.38``)."""
    scaled = value * 100
    return f"{scaled:.3g}" if abs(scaled) < 1000 else f"{scaled:,.0f}"


def format_quantity(
    value: float, units: str, lang: Language, *, percent: bool | None = None, change: bool = False
) -> str:
    """``value`` (model units ``units``) as a person reads it in ``lang``.

    Args:
        value: the value in the model's units; ``nan`` is written ``–``.
        units: its Vensim units.
        percent: show a dimensionless value as a percentage (``None``: when dimensionless).
        change: ``value`` is a difference: a sign, and percentage points for a percentage.

    A rate per year (``1/Year``) is a percentage per year; a date (``Year``, 2020) the year.

    >>> format_quantity(0.02, "Dmnl", "en"), format_quantity(10, "CNY100M", "zh")
    ('2 %', '10.0 亿元')
    """
    if value is None or not math.isfinite(value):
        return "–"
    as_percent = shown_as_percent(units) if percent is None else percent
    sign = "+" if change and value > 0 else ""
    if as_percent:
        unit = text(lang, "units")["percentage_points"] if change else "%"
        per = per_time(units)
        per_text = f"/{unit_text(per, lang)}" if per else ""
        return f"{sign}{_percent_of(value)} {unit}{per_text}"
    if not change and is_date(units, value):
        return f"{value:g}"
    unit = unit_text(units, lang)
    return f"{sign}{format_number(value)} {unit}".rstrip()
