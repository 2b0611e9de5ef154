"""Field types and base models shared by the scenario schema: languages, strict models, bilingual
texts, entries that cite a source."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
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


NonEmpty = Annotated[str, Field(min_length=1)]
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
#: A finite number (YAML ``1e-3`` is a string to PyYAML; it is accepted as 0.001).
Number = Annotated[float, BeforeValidator(reject_bool), Field(allow_inf_nan=False)]
Positive = Annotated[float, BeforeValidator(reject_bool), Field(gt=0, allow_inf_nan=False)]
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
