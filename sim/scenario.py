"""Scenario files (YAML): the plan's quantitative targets.

A scenario file is a YAML mapping validated by the pydantic model ``Scenario``. For now it
holds only ``targets``; the full schema (extends, levers, uncertainties, monte_carlo,
outputs) is added to ``Scenario`` as further fields. Every model forbids unknown keys, so a
misspelt key is an error, not a silent default.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sim.errors import ScenarioError

Language = Literal["zh", "en"]
Direction = Literal["at_least", "at_most"]


class StrictModel(BaseModel):
    """Base of the scenario schema: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


NonEmpty = Annotated[str, Field(min_length=1)]


class Localized(StrictModel):
    """A text in Chinese and English, e.g. ``{zh: 高新技术企业, en: High-tech enterprises}``."""

    zh: NonEmpty
    en: NonEmpty

    def text(self, lang: Language) -> str:
        """The text in language ``lang`` (``"zh"`` or ``"en"``)."""
        return self.zh if lang == "zh" else self.en


class Target(StrictModel):
    """A quantitative target of the plan for one model variable in one year.

    Attributes:
        name: identifier of the target (lower case, digits, underscores).
        variable: exact Vensim name of the model variable.
        year: the year the target applies to.
        direction: ``at_least`` (value >= threshold) or ``at_most`` (value <= threshold).
        threshold: the target value, in the model variable's units.
        label: display name of the indicator.
        unit: display unit, for values multiplied by ``scale``.
        scale: display multiplier (100 shows a fraction in %).
        source: where in the plan (or another public source) the target comes from.
    """

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    variable: NonEmpty
    year: Annotated[int, Field(ge=1900, le=2200)]
    direction: Direction
    threshold: float
    label: Localized
    unit: Localized
    scale: Annotated[float, Field(gt=0)] = 1.0
    source: NonEmpty

    @field_validator("threshold", "scale")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("a finite number is expected")
        return value

    def is_met(self, value: float) -> bool:
        """Whether ``value`` (model units) meets the target; NaN never does."""
        if math.isnan(value):
            return False
        return value >= self.threshold if self.direction == "at_least" else value <= self.threshold

    def display(self, value: float) -> float:
        """``value`` in display units (multiplied by ``scale``)."""
        return value * self.scale

    @property
    def symbol(self) -> str:
        """``≥`` or ``≤``, for tables and legends."""
        return "≥" if self.direction == "at_least" else "≤"


class Scenario(StrictModel):
    """A scenario file. Only the ``targets`` part exists so far."""

    targets: Annotated[list[Target], Field(min_length=1)]


# --- reading files ------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(path, "file not found; expected a YAML scenario file") from None
    except IsADirectoryError:
        raise ScenarioError(path, "is a directory; expected a YAML scenario file") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(path, f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise ScenarioError(path, f"cannot be read: {exc.strerror or exc}") from None


def _compose(path: Path, text: str) -> yaml.Node | None:
    """The YAML node tree of ``text`` (keeps line numbers); syntax errors -> ScenarioError."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(part for part in (exc.context, exc.problem) if part)
        raise ScenarioError(path, f"invalid YAML: {problem}", line=line) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(path, f"invalid YAML: {exc}") from None


def _check_duplicate_keys(path: Path, node: yaml.Node | None, trail: tuple[str, ...] = ()) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            field = ".".join((*trail, str(key.value)))
            if key.value in seen:
                raise ScenarioError(
                    path,
                    "duplicate key; each key may appear once",
                    field=field,
                    line=key.start_mark.line + 1,
                )
            seen.add(key.value)
            _check_duplicate_keys(path, value, (*trail, str(key.value)))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _check_duplicate_keys(path, item, (*trail, str(index)))


def node_line(root: yaml.Node | None, loc: Sequence[str | int]) -> int | None:
    """1-based line of the YAML node at ``loc`` (keys and indices), or of its nearest parent."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((pair for pair in node.value if pair[0].value == str(part)), None)
            if match is None:
                return line
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _describe(error: dict[str, Any]) -> str:
    """What pydantic expected, in words, plus what it got."""
    kind = error.get("type", "")
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field (not part of the scenario schema)"
    text = str(error.get("msg", "invalid value"))
    text = text.removeprefix("Value error, ")
    if "input" in error and not isinstance(error["input"], dict | list):
        text += f"; got {error['input']!r}"
    return text


def _validation_error(path: Path, root: yaml.Node | None, exc: ValidationError) -> ScenarioError:
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = tuple(first["loc"])
    message = _describe(first)
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem(s) in the file)"
    return ScenarioError(
        path, message, field=".".join(str(part) for part in loc), line=node_line(root, loc)
    )


def load_scenario(path: str | Path) -> tuple[Scenario, yaml.Node | None]:
    """Read and validate a scenario file; also return its YAML node tree (for line numbers).

    Raises ``ScenarioError`` naming the file, line, field and what was expected.
    """
    path = Path(path)
    text = _read_text(path)
    root = _compose(path, text)
    _check_duplicate_keys(path, root)
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ScenarioError(
            path,
            "expected a YAML mapping with a 'targets' list at the top level",
            line=node_line(root, ()),
        )
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(path, root, exc) from None
    seen: dict[str, int] = {}
    for index, target in enumerate(scenario.targets):
        if target.name in seen:
            raise ScenarioError(
                path,
                f"duplicate target name '{target.name}' "
                f"(first used by targets.{seen[target.name]})",
                field=f"targets.{index}.name",
                line=node_line(root, ("targets", index, "name")),
            )
        seen[target.name] = index
    return scenario, root


def check_variables(
    path: str | Path,
    targets: Sequence[Target],
    variables: Iterable[str],
    root: yaml.Node | None = None,
) -> None:
    """Raise ``ScenarioError`` if a target names a variable that is not in ``variables``."""
    known = list(variables)
    known_set = set(known)
    for index, target in enumerate(targets):
        if target.variable in known_set:
            continue
        folded = {name.casefold(): name for name in known}
        guess = folded.get(target.variable.casefold())
        if guess is None:
            close = difflib.get_close_matches(target.variable, known, n=1, cutoff=0.6)
            guess = close[0] if close else None
        hint = f"; did you mean '{guess}'?" if guess else ""
        raise ScenarioError(
            path,
            f"'{target.variable}' is not a variable of the model "
            f"(the exact Vensim name is expected){hint}",
            field=f"targets.{index}.variable",
            line=node_line(root, ("targets", index, "variable")),
        )


def load_targets(
    path: str | Path,
    *,
    variables: Iterable[str] | None = None,
    model: str | Path | None = None,
) -> list[Target]:
    """Read the targets of a scenario file and check them against the model.

    Args:
        path: scenario YAML file.
        variables: names of the model's variables; if omitted they are read from ``model``.
        model: Vensim model file (default: the project's model), used when ``variables`` is
            not given.

    Raises:
        ScenarioError: unreadable file, bad YAML, schema violation or unknown variable.
        ModelError: the model needed for the variable check cannot be read.
    """
    scenario, root = load_scenario(path)
    if variables is None:
        from sim.vensim import model_documentation

        variables = [doc.name for doc in model_documentation(model)]
    check_variables(path, scenario.targets, variables, root)
    return list(scenario.targets)
