"""The scenario schema: pydantic models of a scenario file (``ScenarioFile``) and of a resolved
scenario (``Scenario``), its JSON Schema, and validation errors described as a person reads
them."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
import yaml
from pydantic import (
    BeforeValidator,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.errors import ScenarioError
from sim.scenario.distributions import (
    AR1,
    DISTRIBUTIONS,
    PROCESSES,
    Beta,
    Choice,
    Distribution,
    LogAR1,
    LogNormal,
    Normal,
    Pert,
    Process,
    Triangular,
    TruncNormal,
    Uniform,
)
from sim.scenario.fields import (
    Direction,
    Explained,
    Identifier,
    Localized,
    NonEmpty,
    Number,
    Positive,
    Sampler,
    StrictModel,
    Year,
    number_input,
    reject_bool,
)
from sim.scenario.yaml_reader import _Where
from sim.vensim.catalogue import did_you_mean

if TYPE_CHECKING:
    pass


class Target(StrictModel):
    """A quantitative target of the plan for one model variable in one year.

    Attributes:
        name: identifier of the target (lower case, digits, underscores).
        variable: exact Vensim name of the model variable.
        year: the year the target applies to (model time, end of that calendar year).
        direction: ``at_least`` (value >= threshold) or ``at_most`` (value <= threshold).
        threshold: the target value, in the model variable's units.
        label: display name of the indicator.
        unit: display unit, for values multiplied by ``scale``.
        scale: display multiplier (100 shows a fraction in %).
        source: where in the plan (or another public source) the target comes from.
    """

    name: Identifier
    variable: NonEmpty
    year: Year
    direction: Direction
    threshold: Number
    label: Localized
    unit: Localized
    scale: Positive = 1.0
    source: NonEmpty

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


#: key of ``discrepancy`` for the variables not named
DEFAULT_DISCREPANCY = "default"


class Discrepancy(Explained):
    """Model discrepancy of an observed variable: how far the model's structure may miss it.

    Attributes:
        relative: the discrepancy's sd as a share of the observed value (0.1: 10 %); it is
            added in quadrature to the measurement sd in the likelihood.
    """

    relative: Annotated[float, BeforeValidator(number_input), Field(ge=0, le=10)]


class OtherInstrument(StrictModel):
    """One of the plan's instruments that a scenario does not offer as a lever, and why.

    Attributes:
        label: its name in Chinese and English.
        effect: ``negligible`` (in the model, but over its plausible policy range it moves no
            target's median by the lever minimum; ``constants`` names what carries it),
            ``not_modelled`` (outside the model's boundary) or ``national_setting`` (set by the
            state, not the city).
        constants: the model constants that carry a ``negligible`` instrument (empty otherwise).
        reason: why, in Chinese and English.
        source: where the instrument and the evidence come from.
    """

    label: Localized
    effect: Literal["negligible", "not_modelled", "national_setting"]
    constants: list[NonEmpty] = []
    reason: Localized
    source: NonEmpty

    @model_validator(mode="after")
    def _constants_match_effect(self) -> OtherInstrument:
        if self.effect == "negligible" and not self.constants:
            raise ValueError("a 'negligible' instrument names the model 'constants' that carry it")
        if self.effect != "negligible" and self.constants:
            raise ValueError(
                f"'constants' are for instruments in the model ('negligible'), not "
                f"'{self.effect}' ones"
            )
        return self


class Lever(StrictModel):
    """A policy setting: a constant ``value`` or a time ``path`` ``{year: value}``.

    A path replaces the variable by linear interpolation over model time (year t = end of
    calendar year t), held at its first/last value outside its points. Values are in the
    variable's model units.
    """

    value: Number | None = None
    path: Annotated[dict[int, Number], Field(min_length=1)] | None = None
    source: NonEmpty

    @model_validator(mode="after")
    def _one_of(self) -> Lever:
        if (self.value is None) == (self.path is None):
            raise ValueError(
                "exactly one of 'value' (a constant) or 'path' ({year: value, ...}) is expected"
            )
        return self

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """``(years, values)`` of a path lever, sorted by year (one point for a value lever)."""
        if self.path is None:
            return np.array([math.nan]), np.array([float(self.value or 0.0)])
        years = sorted(self.path)
        return np.array(years, dtype=float), np.array([self.path[y] for y in years], dtype=float)

    def at(self, times: Sequence[float] | np.ndarray) -> np.ndarray:
        """Value of the lever at model times ``times`` (interpolated, held outside)."""
        if self.path is None:
            return np.full(len(times), float(self.value or 0.0))
        years, values = self.points()
        return np.interp(np.asarray(times, dtype=float), years, values)

    def all_values(self) -> list[float]:
        """Every value the lever takes (its value, or its path's values)."""
        return [float(self.value)] if self.path is None else list(self.path.values())


class Correlation(Explained):
    """A Spearman rank correlation ``rank`` (|rank| < 1) between two uncertainties."""

    between: tuple[NonEmpty, NonEmpty]
    rank: Annotated[float, BeforeValidator(reject_bool), Field(gt=-1, lt=1)]

    @field_validator("between")
    @classmethod
    def _two(cls, between: tuple[str, str]) -> tuple[str, str]:
        if between[0] == between[1]:
            raise ValueError("two different uncertainties are expected")
        return between

    @property
    def pair(self) -> frozenset[str]:
        """The two names, unordered."""
        return frozenset(self.between)


class WhatItWouldTake(StrictModel):
    """The question the brief of ``innosim run`` answers for each target: the least change of
    each of the plan's main ``levers`` (one at a time, within its plausible policy range) that
    brings the probability of the target to ``goal``.

    Attributes:
        levers: Vensim names of the plan's main levers (constants of the model).
        goal: the probability to reach, in (0, 1].
        rebalance: how a lever bound by a constraint keeps the sum: ``proportional`` (the
            other members scale together) or the member that absorbs the change.
    """

    levers: Annotated[list[NonEmpty], Field(min_length=1)]
    goal: Annotated[Number, Field(gt=0, le=1)] = 0.8
    rebalance: NonEmpty = "proportional"

    @field_validator("levers")
    @classmethod
    def _once(cls, names: list[str]) -> list[str]:
        return _distinct(names)


class Constraint(StrictModel):
    """The named constants must add to ``equals`` (within ``tolerance``)."""

    name: Identifier
    sum: Annotated[list[NonEmpty], Field(min_length=2)]
    equals: Number
    tolerance: Annotated[Number, Field(ge=0)] = 1e-9
    source: NonEmpty | None = None

    @field_validator("sum")
    @classmethod
    def _distinct(cls, names: list[str]) -> list[str]:
        if len(set(names)) != len(names):
            raise ValueError("each constant may appear once")
        return names


# --- drivers and paths ----------------------------------------------------------------------


def _distinct(values: list[str]) -> list[str]:
    repeated = sorted({value for value in values if values.count(value) > 1})
    if repeated:
        raise ValueError(f"each entry may appear once ('{repeated[0]}' is repeated)")
    return values


class Drivers(StrictModel):
    """Observed series of exogenous constants imposed as data.

    ``files`` are observed-data CSVs (``sim.scenario.observed``, relative to the scenario file);
    ``variables`` the model constants whose rows in them are imposed, year by year.
    """

    files: Annotated[list[NonEmpty], Field(min_length=1)]
    variables: Annotated[list[NonEmpty], Field(min_length=1)]

    @field_validator("files", "variables")
    @classmethod
    def _once(cls, values: list[str]) -> list[str]:
        return _distinct(values)


class DriverSet(StrictModel):
    """The resolved ``drivers`` of a scenario: absolute file paths and the constants."""

    files: tuple[Path, ...]
    variables: tuple[str, ...]


class MonteCarlo(StrictModel):
    """Ensemble settings: number of draws, seed and sampler.

    ``sobol`` needs a power of two draws (scrambled Sobol points are balanced only in blocks
    of 2^m); other counts are refused, not rounded, so the count run is the count written.
    """

    draws: Annotated[int, BeforeValidator(reject_bool), Field(ge=1, le=1_000_000)] = 1000
    seed: Annotated[int, BeforeValidator(reject_bool), Field(ge=0, le=2**63 - 1)] = 0
    sampler: Sampler = "lhs"


class ScenarioFile(StrictModel):
    """One scenario file as written (before ``extends`` is resolved); see the module doc."""

    title: Localized | None = None
    description: Localized | None = None
    extends: NonEmpty | None = None
    levers: dict[NonEmpty, Lever] = {}
    uncertainties: dict[NonEmpty, Distribution] = {}
    correlations: list[Correlation] = []
    constraints: list[Constraint] = []
    targets: list[Target] = []
    monte_carlo: MonteCarlo | None = None
    outputs: list[NonEmpty] = []
    history: NonEmpty | None = None
    posterior: NonEmpty | None = None
    drivers: Drivers | None = None
    paths: dict[NonEmpty, Process] = {}
    other_instruments: dict[Identifier, OtherInstrument] = {}
    discrepancy: dict[NonEmpty, Discrepancy] = {}
    what_it_would_take: WhatItWouldTake | None = None


class Scenario(StrictModel):
    """A resolved scenario: its file merged over its ancestors and checked against the model.

    Attributes:
        path: the scenario file.
        chain: the files merged, oldest ancestor first, ``path`` last.
        history: absolute path of the observed-data CSV, if any.
        posterior: absolute path of the conditioned ensemble (``innosim calibrate``) whose
            posterior sample the uncertainties are resampled from, if any.
        drivers: the observed series imposed as data (absolute file paths), if any.
        paths: the yearly uncertain paths, by constant.
        other_instruments: the plan's instruments that are not levers, by key.
        discrepancy: model discrepancy by observed variable (``default`` for the others).
        (the other fields as in ``ScenarioFile``; ``targets`` has at least one entry.)
    """

    path: Path
    chain: tuple[Path, ...]
    title: Localized | None = None
    description: Localized | None = None
    levers: dict[str, Lever] = {}
    uncertainties: dict[str, Distribution] = {}
    correlations: list[Correlation] = []
    constraints: list[Constraint] = []
    targets: list[Target]
    monte_carlo: MonteCarlo = MonteCarlo()
    outputs: list[str] = []
    history: Path | None = None
    posterior: Path | None = None
    drivers: DriverSet | None = None
    paths: dict[str, Process] = {}
    other_instruments: dict[str, OtherInstrument] = {}
    discrepancy: dict[str, Discrepancy] = {}
    what_it_would_take: WhatItWouldTake | None = None

    def relative_discrepancy(self, variable: str) -> float:
        """The model discrepancy of ``variable`` as a share of its observed value: its own
        entry, else ``default``, else 0."""
        entry = self.discrepancy.get(variable, self.discrepancy.get(DEFAULT_DISCREPANCY))
        return 0.0 if entry is None else entry.relative

    def saved_variables(self) -> list[str]:
        """Variables to save: the targets' variables, then ``outputs`` (no repeats)."""
        return list(dict.fromkeys([t.variable for t in self.targets] + list(self.outputs)))

    def exogenous(self) -> list[str]:
        """The constants imposed as data or drawn as paths: drivers, then other paths."""
        drivers = list(self.drivers.variables) if self.drivers is not None else []
        return list(dict.fromkeys([*drivers, *self.paths]))


def scenario_schema() -> dict[str, Any]:
    """JSON Schema of one scenario file (for editors), generated by pydantic."""
    schema = ScenarioFile.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "innosim scenario"
    return schema


_KEY_NAMES = sorted(
    {
        name
        for model in (
            ScenarioFile,
            Lever,
            Target,
            Localized,
            Correlation,
            Constraint,
            MonteCarlo,
            Uniform,
            Triangular,
            Pert,
            Normal,
            TruncNormal,
            LogNormal,
            Beta,
            Choice,
            Drivers,
            WhatItWouldTake,
            LogAR1,
            AR1,
        )
        for key, info in model.model_fields.items()
        for name in (info.alias or key,)
    }
)


def describe_error(error: Mapping[str, Any]) -> str:
    """What pydantic expected, in words, plus what it got."""
    kind = error.get("type", "")
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        guess = did_you_mean(key, _KEY_NAMES)
        hint = f"; did you mean '{guess}'?" if guess else ""
        return f"unknown field (not part of the scenario schema){hint}"
    if kind in ("union_tag_not_found", "union_tag_invalid"):
        process = "process" in str(error.get("ctx", {}).get("discriminator", ""))
        key, kinds = ("process", PROCESSES) if process else ("distribution", DISTRIBUTIONS)
        if kind == "union_tag_not_found":
            return f"'{key}' is missing; expected one of {', '.join(kinds)}"
        return f"unknown {key} {error['ctx']['tag']!r}; expected one of {', '.join(kinds)}"
    text = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if "input" in error and not isinstance(error["input"], dict | list):
        text += f"; got {error['input']!r}"
    if error["loc"] and error["loc"][-1] == "[key]":
        text += " (in a key)"
    return text


def _validation_error(path: Path, root: yaml.Node | None, exc: ValidationError) -> ScenarioError:
    errors = exc.errors(include_url=False)
    # a misspelt key is also a missing one: name the misspelling (with its suggestion) first
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    message = describe_error(first)
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem(s) in the file)"
    return _Where(path, root, ()).error(message, *first["loc"])
