"""Field types and base models shared by the scenario schema: languages, strict models, bilingual
texts, entries that cite a source, numbers written as percentages (``3%`` is 0.03)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

if TYPE_CHECKING:
    pass


Language = Literal["zh", "en"]
Direction = Literal["at_least", "at_most"]
Sampler = Literal["random", "lhs", "sobol"]


class StrictModel(BaseModel):
    """Base of the scenario schema: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def reject_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a number is expected, not true/false")
    return value


#: A number followed by a per cent sign (``3%``, ``3 %``, ``0.5％``, ``-1.2e1 %``).
_PERCENT = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*[%％]\s*$")
#: Vensim units of a dimensionless quantity (compared without spaces, in lower case).
DIMENSIONLESS_UNITS = frozenset({"dmnl", "1", "", "fraction"})
#: Vensim units of the time in a rate (``1/Year``).
_TIME_UNITS = frozenset({"year", "years", "yr"})


#: A percentage as text in the JSON Schema (for editors).
_PERCENT_TEXT = {"type": "string", "pattern": _PERCENT.pattern}


def percent_value(value: object) -> float | None:
    """The fraction a percentage text stands for (``"3%"``, ``"3 %"``, ``"3％"`` → 0.03), or
    ``None`` when ``value`` is not such a text."""
    if not isinstance(value, str):
        return None
    match = _PERCENT.match(value)
    # the exact decimal divided by 100, then rounded once: '1.152%' is 0.01152, as written
    return float(Decimal(match.group(1)) / 100) if match else None


def is_percent(value: object) -> bool:
    """Whether ``value`` is a number written as a percentage (``"3%"``)."""
    return percent_value(value) is not None


def accepts_percent(units: str) -> bool:
    """Whether a quantity with these Vensim units may be written as a percentage: a
    dimensionless one (a share, ``Dmnl``) or a rate per year (``1/Year``); not a count, an
    amount of money or a year."""
    compact = "".join(units.split()).lower()
    if compact in DIMENSIONLESS_UNITS:
        return True
    numerator, slash, denominator = compact.partition("/")
    return bool(slash) and numerator in DIMENSIONLESS_UNITS - {""} and denominator in _TIME_UNITS


def number_input(value: Any) -> Any:
    """A number field's input: true/false refused, a percentage text as its fraction
    (whether the quantity may be a percentage is checked against the model's units)."""
    value = reject_bool(value)
    fraction = percent_value(value)
    return value if fraction is None else fraction


NonEmpty = Annotated[str, Field(min_length=1)]
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
#: A finite number (YAML ``1e-3`` is a string to PyYAML; it is accepted as 0.001; ``3%`` is
#: accepted as 0.03).
Number = Annotated[
    float,
    BeforeValidator(number_input),
    Field(allow_inf_nan=False),
    WithJsonSchema({"anyOf": [{"type": "number"}, _PERCENT_TEXT]}),
]
Positive = Annotated[
    float,
    BeforeValidator(number_input),
    Field(gt=0, allow_inf_nan=False),
    WithJsonSchema({"anyOf": [{"type": "number", "exclusiveMinimum": 0}, _PERCENT_TEXT]}),
]
Year = Annotated[int, BeforeValidator(reject_bool), Field(ge=1900, le=2200)]


class Localized(StrictModel):
    """A text in Chinese and English, e.g. ``{zh: 高新技术企业, en: High-tech enterprises}``."""

    zh: NonEmpty
    en: NonEmpty

    def text(self, lang: Language) -> str:
        """The text in language ``lang`` (``"zh"`` or ``"en"``)."""
        return self.zh if lang == "zh" else self.en


class Explained(StrictModel):
    """An entry that must say where it comes from: ``source`` and/or ``reasoning``."""

    source: NonEmpty | None = None
    reasoning: NonEmpty | None = None

    @model_validator(mode="after")
    def _explained(self) -> Explained:
        if self.source is None and self.reasoning is None:
            raise ValueError("a 'source' or a 'reasoning' (why these values) is required")
        return self
