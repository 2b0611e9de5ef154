"""Scenario files (YAML): levers, uncertainties, constraints, targets and Monte Carlo settings.

A scenario file is a YAML mapping validated by the pydantic model ``ScenarioFile``; a file may
``extends:`` another one, and ``load_scenario`` returns the resolved ``Scenario`` (parents
merged, every name checked against the model). Every model forbids unknown keys, so a misspelt
key is an error, not a silent default. Errors are ``ScenarioError``s naming the file, the line,
the field path (``uncertainties.Fund Leverage Ratio.max``) and what was expected. Files are
read by ``read_yaml`` in time linear in their text: standard YAML tags only (no
``!!python/...``), aliases counted expanded and bounded (``YAML_MAX_NODES``), dates as text;
a path a file names (``extends``, ``history``, ``posterior``, ``drivers``) may not be a
symbolic link loop.

Sections (all optional in one file; the resolved scenario needs at least one target):

* ``title``, ``description``: ``{zh, en}`` texts of this file (not inherited).
* ``extends``: path of a parent scenario, relative to this file.
* ``levers``: ``{variable: {value: x, source}}`` sets a constant (or holds an auxiliary at x);
  ``{variable: {path: {year: x, ...}, source}}`` replaces a constant or auxiliary by linear
  interpolation over model time, held constant outside the points.
* ``uncertainties``: ``{constant: {distribution: <kind>, <parameters>, source | reasoning}}``,
  see ``DISTRIBUTIONS``; ``correlations``: ``[{between: [A, B], rank: r, source | reasoning}]``
  (Spearman rank correlations, imposed by ``sim.sampling``).
* ``constraints``: ``[{name, sum: [constants], equals, tolerance}]`` checked on the model
  defaults overridden by the levers; constrained constants may not be uncertain.
* ``targets``: the plan's targets (``Target``).
* ``monte_carlo``: ``{draws, seed, sampler}``; ``outputs``: extra variables to save;
  ``history``: observed-data CSV (relative to the file; ``sim.scenario.observed``).
* ``posterior``: a conditioned ensemble written by ``innosim calibrate`` (NetCDF, relative to
  the file; ``sim.scenario.posterior``): the uncertainties are then drawn by resampling its
  posterior sample instead of from their distributions, which must be those it was conditioned on.
* ``drivers``: ``{files: [observed-data CSVs], variables: [constants]}``: the constants' rows
  in those files are imposed as data, year by year (``sim.scenario.observed.driver_series``).
* ``paths``: ``{constant: {process: log_ar1 | ar1, persistence, volatility, ..., source |
  reasoning}}``: a yearly uncertain path per Monte Carlo draw, continuing a driver after its
  last observed year or starting from the constant's value in ``start`` (``ProcessBase``;
  built by ``sim.engine.ensemble.scenario_inputs``).
* ``discrepancy``: ``{variable | default: {relative: r, source | reasoning}}``: the model
  discrepancy of an observed variable, a share of the observed value (``Discrepancy``); the
  likelihood of ``sim.workflows.calibrate`` adds it in quadrature to each observation's measurement
  sd. ``default`` covers the variables not named.
* ``other_instruments``: ``{key: {label: {zh, en}, effect, constants, reason: {zh, en},
  source}}``: the plan's instruments that are not levers of the scenario, with the reason
  (``OtherInstrument``): carried by the model with an effect below the lever minimum
  (``negligible``, naming the constants that carry it), outside the model (``not_modelled``) or
  a national setting the city does not control (``national_setting``).

Inheritance: a child's lever, uncertainty, constraint or target replaces the parent's entry of
the same name; a lever in the child removes the parent's uncertainty of that name and vice
versa (inherited correlations of a removed uncertainty are dropped); correlations merge by
pair, ``monte_carlo`` by field, ``outputs`` add to the parent's; ``history`` and ``posterior``
are replaced; ``drivers`` is replaced as a whole, ``other_instruments`` and ``discrepancy``
merge by key, ``paths`` merge by name (a child's path removes the parent's lever or
uncertainty of that name and vice versa). A driver or a path is a
constant that is neither a lever nor an uncertainty.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import numpy as np
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from scipy import stats

from sim.errors import InnosimError, ScenarioError
from sim.vensim.catalogue import ModelInfo, did_you_mean, model_info, unknown_name

if TYPE_CHECKING:
    from scipy.stats._distn_infrastructure import rv_frozen

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


class Explained(StrictModel):
    """An entry that must say where it comes from: ``source`` and/or ``reasoning``."""

    source: NonEmpty | None = None
    reasoning: NonEmpty | None = None

    @model_validator(mode="after")
    def _explained(self) -> Explained:
        if self.source is None and self.reasoning is None:
            raise ValueError("a 'source' or a 'reasoning' (why these values) is required")
        return self


# --- levers --------------------------------------------------------------------------------


#: key of ``discrepancy`` for the variables not named
DEFAULT_DISCREPANCY = "default"


class Discrepancy(Explained):
    """Model discrepancy of an observed variable: how far the model's structure may miss it.

    Attributes:
        relative: the discrepancy's sd as a share of the observed value (0.1: 10 %); it is
            added in quadrature to the measurement sd in the likelihood.
    """

    relative: Annotated[float, BeforeValidator(reject_bool), Field(ge=0, le=10)]


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


# --- distributions -------------------------------------------------------------------------


def _greater(info: ValidationInfo, value: float, other: str) -> float:
    low = info.data.get(other)
    if low is not None and not value > low:
        raise ValueError(f"must be greater than {other} ({low:g})")
    return value


def call_text(kind: str, fields: Mapping[str, Any]) -> str:
    """``kind(key=value, …)`` of the fields that are set, numbers as ``%g``."""
    arguments = ", ".join(
        f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}"
        for key, value in fields.items()
        if value is not None
    )
    return f"{kind}({arguments})"


class DistributionBase(Explained):
    """An uncertainty's distribution, in the constant's model units (via ``scipy.stats``)."""

    #: Names of the parameters that bound the support, for error locations.
    _bounds: ClassVar[tuple[str | None, str | None]] = (None, None)

    def frozen(self) -> rv_frozen:
        """The frozen ``scipy.stats`` distribution."""
        raise NotImplementedError

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF at probabilities ``u`` (in (0, 1))."""
        return np.asarray(self.frozen().ppf(u), dtype=float)

    def support(self) -> tuple[float, float]:
        """Smallest and largest possible value (infinite when unbounded)."""
        low, high = self.frozen().support()
        return float(low), float(high)

    def mean(self) -> float:
        """Mean of the distribution."""
        return float(self.frozen().mean())

    def describe(self) -> str:
        """Short text of the distribution, e.g. ``pert(min=0.03, mode=0.05, max=0.07)``."""
        fields = self.model_dump(exclude={"source", "reasoning", "distribution"})
        return call_text(self.distribution, fields)


class Uniform(DistributionBase):
    """Uniform on ``[min, max]``."""

    distribution: Literal["uniform"]
    min: Number
    max: Number
    _bounds = ("min", "max")

    @field_validator("max")
    @classmethod
    def _max(cls, value: float, info: ValidationInfo) -> float:
        return _greater(info, value, "min")

    def frozen(self) -> rv_frozen:
        return stats.uniform(loc=self.min, scale=self.max - self.min)


def _mode_inside(info: ValidationInfo, mode: float) -> float:
    low, high = info.data.get("min"), info.data.get("max")
    if low is not None and high is not None and not low <= mode <= high:
        raise ValueError(f"must lie in [min, max] = [{low:g}, {high:g}]")
    return mode


class _ModalRange(DistributionBase):
    """A distribution on ``[min, max]`` with its peak at ``mode`` (``min <= mode <= max``)."""

    min: Number
    max: Number
    mode: Number
    _bounds = ("min", "max")

    @field_validator("max")
    @classmethod
    def _max(cls, value: float, info: ValidationInfo) -> float:
        return _greater(info, value, "min")

    @field_validator("mode")
    @classmethod
    def _mode(cls, value: float, info: ValidationInfo) -> float:
        return _mode_inside(info, value)


class Triangular(_ModalRange):
    """Triangular on ``[min, max]`` with its peak at ``mode``."""

    distribution: Literal["triangular"]

    def frozen(self) -> rv_frozen:
        width = self.max - self.min
        return stats.triang(c=(self.mode - self.min) / width, loc=self.min, scale=width)


class Pert(_ModalRange):
    """PERT on ``[min, max]`` with mode ``mode``: a scaled beta with shape weight ``lambda``.

    ``alpha = 1 + lambda (mode - min) / (max - min)``, ``beta = 1 + lambda (max - mode) /
    (max - min)``; the mean is ``(min + lambda mode + max) / (lambda + 2)``.
    """

    distribution: Literal["pert"]
    lambda_: Annotated[Positive, Field(alias="lambda")] = 4.0

    def frozen(self) -> rv_frozen:
        width = self.max - self.min
        a = 1 + self.lambda_ * (self.mode - self.min) / width
        b = 1 + self.lambda_ * (self.max - self.mode) / width
        return stats.beta(a, b, loc=self.min, scale=width)


class Normal(DistributionBase):
    """Normal with mean ``mean`` and standard deviation ``sd`` (unbounded support)."""

    distribution: Literal["normal"]
    mean_: Annotated[Number, Field(alias="mean")]
    sd: Positive

    def frozen(self) -> rv_frozen:
        return stats.norm(loc=self.mean_, scale=self.sd)


class TruncNormal(DistributionBase):
    """Normal(``mean``, ``sd``) truncated to ``[min, max]``."""

    distribution: Literal["truncnormal"]
    mean_: Annotated[Number, Field(alias="mean")]
    sd: Positive
    min: Number
    max: Number
    _bounds = ("min", "max")

    @field_validator("max")
    @classmethod
    def _max(cls, value: float, info: ValidationInfo) -> float:
        return _greater(info, value, "min")

    def frozen(self) -> rv_frozen:
        a, b = (self.min - self.mean_) / self.sd, (self.max - self.mean_) / self.sd
        return stats.truncnorm(a, b, loc=self.mean_, scale=self.sd)


class LogNormal(DistributionBase):
    """Log-normal with median ``median`` (> 0) and log-scale standard deviation ``sigma``."""

    distribution: Literal["lognormal"]
    median: Positive
    sigma: Positive

    def frozen(self) -> rv_frozen:
        return stats.lognorm(s=self.sigma, scale=self.median)


class Beta(DistributionBase):
    """Beta(``alpha``, ``beta``) scaled to ``[min, max]`` (default ``[0, 1]``)."""

    distribution: Literal["beta"]
    alpha: Positive
    beta: Positive
    min: Number = 0.0
    max: Number = 1.0
    _bounds = ("min", "max")

    @field_validator("max")
    @classmethod
    def _max(cls, value: float, info: ValidationInfo) -> float:
        return _greater(info, value, "min")

    def frozen(self) -> rv_frozen:
        return stats.beta(self.alpha, self.beta, loc=self.min, scale=self.max - self.min)


class Choice(DistributionBase):
    """One of ``values`` with probabilities ``weights`` (default: equal weights)."""

    distribution: Literal["choice"]
    values: Annotated[list[Number], Field(min_length=1)]
    weights: list[Annotated[float, BeforeValidator(reject_bool), Field(ge=0)]] | None = None

    @field_validator("values")
    @classmethod
    def _distinct(cls, values: list[float]) -> list[float]:
        if len(set(values)) != len(values):
            raise ValueError("values must be distinct")
        return values

    @field_validator("weights")
    @classmethod
    def _weights(cls, weights: list[float] | None, info: ValidationInfo) -> list[float] | None:
        values = info.data.get("values")
        if weights is None or values is None:
            return weights
        if len(weights) != len(values):
            raise ValueError(f"{len(weights)} weights for {len(values)} values; one each")
        if not math.isclose(math.fsum(weights), 1.0, rel_tol=0, abs_tol=1e-9):
            raise ValueError(f"weights must add to 1 (they add to {math.fsum(weights):g})")
        return weights

    @property
    def probabilities(self) -> np.ndarray:
        """Probability of each value (normalised weights)."""
        n = len(self.values)
        weights = np.full(n, 1.0 / n) if self.weights is None else np.asarray(self.weights)
        return weights / weights.sum()

    def frozen(self) -> rv_frozen:
        """Discrete distribution of the *index* into ``values``."""
        return stats.rv_discrete(values=(np.arange(len(self.values)), self.probabilities))

    def ppf(self, u: np.ndarray) -> np.ndarray:
        index = np.asarray(self.frozen().ppf(u)).astype(int)
        return np.asarray(self.values, dtype=float)[index]

    def support(self) -> tuple[float, float]:
        return float(min(self.values)), float(max(self.values))

    def mean(self) -> float:
        return float(np.dot(self.probabilities, self.values))


Distribution = Annotated[
    Uniform | Triangular | Pert | Normal | TruncNormal | LogNormal | Beta | Choice,
    Field(discriminator="distribution"),
]

#: The distribution kinds a scenario may use.
DISTRIBUTIONS: tuple[str, ...] = (
    "uniform",
    "triangular",
    "pert",
    "normal",
    "truncnormal",
    "lognormal",
    "beta",
    "choice",
)


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


Persistence = Annotated[float, BeforeValidator(reject_bool), Field(ge=0, lt=1)]


class ProcessBase(Explained):
    """A yearly uncertain path of a constant, one per Monte Carlo draw.

    ``persistence`` (in [0, 1)) and ``volatility`` (> 0, per year) define an AR(1) process
    driven by independent standard normal shocks; ``start`` is the first drawn year (default:
    the year after a driver's last observed year); ``min``/``max`` clip the values (not the
    process). Subclasses define the process.
    """

    persistence: Persistence
    volatility: Positive
    start: Year | None = None
    min: Number | None = None
    max: Number | None = None
    _bounds: ClassVar[tuple[str | None, str | None]] = ("min", "max")

    @field_validator("max")
    @classmethod
    def _max(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is None or info.data.get("min") is None:
            return value
        return _greater(info, value, "min")

    def values(self, start_value: float, shocks: np.ndarray) -> np.ndarray:
        """The path's values ``(draws, years)`` in the years after the one where it equals
        ``start_value``, driven by the standard normal ``shocks`` ``(draws, years)``."""
        raise NotImplementedError

    def support(self) -> tuple[float, float]:
        """Smallest and largest value the path can take (after clipping)."""
        raise NotImplementedError

    def _clip(self, values: np.ndarray) -> np.ndarray:
        if self.min is not None or self.max is not None:
            values = np.clip(values, self.min, self.max)
        return values

    def describe(self) -> str:
        """Short text of the process, e.g. ``log_ar1(persistence=0.55, volatility=0.22)``."""
        fields = self.model_dump(exclude={"source", "reasoning", "process"}, by_alias=True)
        return call_text(self.process, fields)


class LogAR1(ProcessBase):
    """``log x_t = log L_t + u_t``, ``u_t = persistence u_{t-1} + volatility eps_t``,
    ``L_t = level exp(trend (t - t0))`` (t0: the year before ``start``; ``level`` defaults
    to the starting value, which is then the median path without ``trend``)."""

    process: Literal["log_ar1"]
    level: Positive | None = None
    trend: Number = 0.0

    def values(self, start_value: float, shocks: np.ndarray) -> np.ndarray:
        if not start_value > 0:
            raise ValueError(f"a log_ar1 path needs a positive starting value; got {start_value:g}")
        level = start_value if self.level is None else self.level
        shocks = np.atleast_2d(np.asarray(shocks, dtype=float))
        out = np.empty_like(shocks)
        u = np.full(shocks.shape[0], math.log(start_value / level))
        for j in range(shocks.shape[1]):
            u = self.persistence * u + self.volatility * shocks[:, j]
            out[:, j] = level * math.exp(self.trend * (j + 1)) * np.exp(u)
        return self._clip(out)

    def support(self) -> tuple[float, float]:
        low = 0.0 if self.min is None else max(self.min, 0.0)
        return low, math.inf if self.max is None else self.max


class AR1(ProcessBase):
    """``x_t = mean + persistence (x_{t-1} - mean) + volatility eps_t`` (``mean`` defaults to
    the starting value)."""

    process: Literal["ar1"]
    mean_: Annotated[Number | None, Field(alias="mean")] = None

    def values(self, start_value: float, shocks: np.ndarray) -> np.ndarray:
        mean = start_value if self.mean_ is None else self.mean_
        shocks = np.atleast_2d(np.asarray(shocks, dtype=float))
        out = np.empty_like(shocks)
        x = np.full(shocks.shape[0], float(start_value))
        for j in range(shocks.shape[1]):
            x = mean + self.persistence * (x - mean) + self.volatility * shocks[:, j]
            out[:, j] = x
        return self._clip(out)

    def support(self) -> tuple[float, float]:
        return (
            -math.inf if self.min is None else self.min,
            math.inf if self.max is None else self.max,
        )


Process = Annotated[LogAR1 | AR1, Field(discriminator="process")]

#: The processes a path may follow.
PROCESSES: tuple[str, ...] = ("log_ar1", "ar1")


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


# --- reading files ------------------------------------------------------------------------


#: What a path whose symbolic links lead back to themselves is called in messages.
SYMLINK_LOOP = "symbolic link loop (the links lead back to themselves)"


def read_input_text(
    path: Path,
    expected: str = "a YAML scenario file",
    error: type[ScenarioError] = ScenarioError,
    encoding: str = "utf-8",
) -> str:
    """The text of a file a person wrote; an unreadable one raises ``error`` naming it."""
    try:
        return path.read_text(encoding=encoding)
    except FileNotFoundError:
        raise error(path, f"file not found; expected {expected}") from None
    except IsADirectoryError:
        raise error(path, f"is a directory; expected {expected}") from None
    except UnicodeDecodeError as exc:
        raise error(path, f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise error(path, f"{SYMLINK_LOOP}; expected {expected}") from None
        raise error(path, f"cannot be read: {exc.strerror or exc}") from None


def resolved_path(path: Path) -> Path | None:
    """``path`` made absolute with its symbolic links resolved; ``None`` if they form a loop.

    A path that does not exist (or cannot be examined) is returned resolved as far as it can
    be: whoever opens it reports that.
    """
    try:
        resolved = path.resolve()
    except RuntimeError:  # Python < 3.13: "Symlink loop from ..."
        return None
    except OSError as exc:
        return None if exc.errno == errno.ELOOP else path.absolute()
    try:
        resolved.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # Python >= 3.13 leaves a loop unresolved
            return None
    return resolved


# --- reading YAML with positions, in bounded time ------------------------------------------

#: Most nodes (mappings, lists, keys and values) a YAML file may expand to, each alias counted
#: at the size of what it repeats: bounds the time of every later walk (a "billion laughs"
#: file of nested aliases is refused while it is read). The baseline has about 1,900.
YAML_MAX_NODES = 100_000
#: Deepest nesting of mappings and lists (aliases counted expanded); the schema needs 6.
YAML_MAX_DEPTH = 50

_CORE = "tag:yaml.org,2002:"
#: Tags a file may write explicitly (``!!str 2025``); any other (``!!python/object``, ``!foo``,
#: ``!!binary``, ``!!set`` …) is refused. ``!`` (non-specific) is plain text.
_ALLOWED_TAGS = {_CORE + name for name in ("str", "int", "float", "bool", "null", "seq", "map")}
#: Implicit types each allowed scalar tag accepts (``!!float 2`` is a number, ``!!int abc`` is
#: not), and what it expects.
_TAG_ACCEPTS = {
    _CORE + "int": ({_CORE + "int"}, "a whole number"),
    _CORE + "float": ({_CORE + "int", _CORE + "float"}, "a number"),
    _CORE + "bool": ({_CORE + "bool"}, "true or false"),
    _CORE + "null": ({_CORE + "null"}, "null, ~ or nothing"),
}


def _is_number(text: str) -> bool:
    """Whether ``!!float`` can read ``text`` where YAML 1.1 has no implicit float (``1e3``)."""
    try:
        float(text.replace("_", ""))
    except ValueError:
        return False
    return True


def _tag_text(tag: str) -> str:
    return "!!" + tag.removeprefix(_CORE) if tag.startswith(_CORE) else tag


class _Refused(Exception):
    """A YAML construct ``_BoundedLoader`` does not read: message, 1-based line, field."""

    def __init__(self, message: str, line: int, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.field = field


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, checked while it composes the node tree: only standard tags;
    no recursive alias; at most ``YAML_MAX_NODES`` nodes and ``YAML_MAX_DEPTH`` levels once
    aliases are expanded (computed once per anchor, so the check is linear in the text).
    Dates and ``=`` stay text (the schema has no dates; PyYAML cannot construct ``=``)."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, Any]]]] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag in _ALLOWED_TAGS]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    } | {"<": yaml.SafeLoader.yaml_implicit_resolvers.get("<", [])}

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._nodes = 0
        self._trail: list[str | None] = []  # field path of the collections being composed
        self._open: list[str] = []  # anchors of the collections being composed
        self._extent: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded size, height)

    def _refuse(self, message: str, event: yaml.Event, part: str | None) -> _Refused:
        parts = [name for name in (*self._trail, part) if name is not None]
        if len(parts) > 8:  # a field nested too deeply: its start says where
            parts = [*parts[:8], "…"]
        return _Refused(message, event.start_mark.line + 1, ".".join(parts))

    def _measure(self, node: yaml.Node) -> tuple[int, int]:
        """Expanded size and height of a composed node (memoised: aliases share nodes)."""
        known = self._extent.get(id(node))
        if known is not None:
            return known
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        size, height = 1, 0
        for child in children:
            child_size, child_height = self._measure(child)
            size += child_size
            height = max(height, child_height + 1)
        self._extent[id(node)] = (size, height)
        return size, height

    def _count(self, size: int, event: yaml.Event, part: str | None, what: str) -> None:
        self._nodes += size
        if self._nodes > YAML_MAX_NODES:
            raise self._refuse(
                f"{what} makes the file more than {YAML_MAX_NODES:,} YAML nodes with its "
                "aliases expanded (nested aliases repeat their anchors exponentially: a "
                f"'billion laughs' file?); expected at most {YAML_MAX_NODES:,} (the baseline "
                "has about 1,900)",
                event,
                part,
            )

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        # the field part of this node: a mapping value's key, a list item's index
        if isinstance(index, yaml.ScalarNode):
            part: str | None = str(index.value)
        elif isinstance(index, int) and not isinstance(index, bool):
            part = str(index)
        else:
            part = None  # the root, or a mapping key
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open:
                raise self._refuse(
                    f"alias '*{event.anchor}' repeats a mapping or list that contains it (a "
                    "recursive alias); expected an alias to an anchor defined before, outside it",
                    event,
                    part,
                )
            target = self.anchors.get(event.anchor)
            if target is not None:
                size, height = self._measure(target)
                if len(self._trail) + height > YAML_MAX_DEPTH:
                    raise self._refuse(
                        f"alias '*{event.anchor}' nests the file more than {YAML_MAX_DEPTH} "
                        "levels deep once expanded; expected a scenario written out",
                        event,
                        part,
                    )
                self._count(size, event, part, f"alias '*{event.anchor}'")
            return super().compose_node(parent, index)
        tag = getattr(event, "tag", None)
        if tag is not None and tag != "!":
            if tag not in _ALLOWED_TAGS:
                raise self._refuse(
                    f"YAML tag '{_tag_text(tag)}' not allowed; expected plain YAML values "
                    "(mappings, lists, text, numbers, true/false, null) without tags other "
                    "than !!str, !!int, !!float, !!bool, !!null, !!seq and !!map",
                    event,
                    part,
                )
            if tag in _TAG_ACCEPTS and isinstance(event, yaml.ScalarEvent):
                accepts, expected = _TAG_ACCEPTS[tag]
                implicit = self.resolve(yaml.ScalarNode, event.value, (True, False))
                number = tag == _CORE + "float" and _is_number(event.value)
                if implicit not in accepts and not number:
                    raise self._refuse(
                        f"{event.value!r} is not a valid {_tag_text(tag)} value; expected "
                        f"{expected}",
                        event,
                        part,
                    )
        self._count(1, event, part, "this value")
        if not isinstance(event, yaml.CollectionStartEvent):
            return super().compose_node(parent, index)
        if len(self._trail) >= YAML_MAX_DEPTH:
            raise self._refuse(
                f"mappings and lists nested more than {YAML_MAX_DEPTH} levels deep; expected "
                "a scenario's few levels of sections and entries",
                event,
                part,
            )
        self._trail.append(part)
        if event.anchor is not None:
            self._open.append(event.anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._trail.pop()
            if event.anchor is not None:
                self._open.pop()


def _check_keys(path: Path, root: yaml.Node | None, error: type[ScenarioError]) -> None:
    """Every mapping key is a single value, given once (each shared node walked once)."""
    walked: set[int] = set()

    def walk(node: yaml.Node | None, trail: tuple[str, ...]) -> None:
        if node is None or id(node) in walked:
            return
        walked.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    raise error(
                        path,
                        "a key must be a single value (a name), not a mapping or a list",
                        field=".".join(trail),
                        line=key.start_mark.line + 1,
                    )
                field = ".".join((*trail, str(key.value)))
                if key.value in seen and key.tag != _CORE + "merge":
                    raise error(
                        path,
                        "duplicate key; each key may appear once",
                        field=field,
                        line=key.start_mark.line + 1,
                    )
                seen.add(key.value)
                walk(value, (*trail, str(key.value)))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*trail, str(index)))

    walk(root, ())


def read_yaml(
    path: Path, text: str, error: type[ScenarioError] = ScenarioError
) -> tuple[yaml.Node | None, Any]:
    """The node tree (with line numbers) and the data of a YAML text a person wrote.

    Read in time linear in the text: only standard tags (``!!python/object`` and the like are
    refused), no recursive alias, at most ``YAML_MAX_NODES`` nodes and ``YAML_MAX_DEPTH`` levels
    with aliases expanded, every key a single value given once. Dates stay text.

    Returns:
        ``(root node, data)``; ``(None, None)`` for an empty document.

    Raises:
        error: naming ``path``, the line, the field (when known) and what was expected.
    """
    loader = _BoundedLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None
        _check_keys(path, root, error)
        data = loader.construct_document(root)
    except InnosimError:
        raise
    except _Refused as exc:
        raise error(path, exc.message, field=exc.field, line=exc.line) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(part for part in (exc.context, exc.problem) if part)
        raise error(path, f"invalid YAML: {problem}", line=line) from None
    except yaml.YAMLError as exc:
        raise error(path, f"invalid YAML: {exc}") from None
    except (ValueError, TypeError, RecursionError) as exc:  # a value PyYAML cannot construct
        raise error(path, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    return root, data


def locate(root: yaml.Node | None, loc: Sequence[str | int]) -> tuple[str, int | None]:
    """Dotted field path and 1-based line of the YAML node at pydantic location ``loc``.

    Discriminator tags that pydantic inserts (``uniform`` in ``(…, 'X', 'uniform', 'max')``)
    are dropped; a missing key gives the line of its nearest parent.
    """
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    parts: list[str] = []
    tagged: yaml.Node | None = None  # the node whose discriminator tag was passed
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(node, yaml.MappingNode):
            if node is not tagged and _is_tag(node, part):
                tagged = node
                continue  # the discriminator tag of a distribution or a process
            match = next((pair for pair in node.value if pair[0].value == str(part)), None)
            if match is None:
                parts.append(str(part))
                node = None
                continue
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if 0 <= part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                node = None
        else:
            node = None
        parts.append(str(part))
    return ".".join(parts), line


def _is_tag(node: yaml.MappingNode, part: str | int) -> bool:
    """Whether ``part`` of a pydantic location is the discriminator tag of the distribution or
    process ``node`` (``beta`` in ``(…, 'X', 'beta', 'alpha')``, not its parameter ``beta``)."""
    if part not in DISTRIBUTIONS and part not in PROCESSES:
        return False
    key = "distribution" if part in DISTRIBUTIONS else "process"
    tags = [value.value for name, value in node.value if name.value == key]
    # without a matching ``distribution``/``process`` value, a part that is no key is the tag
    return tags == [part] or not any(pair[0].value == part for pair in node.value)


def node_line(root: yaml.Node | None, loc: Sequence[str | int]) -> int | None:
    """1-based line of the YAML node at ``loc`` (keys and indices), or of its nearest parent."""
    return locate(root, loc)[1]


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


@dataclass(frozen=True)
class _Where:
    """Where an entry was declared: file, its YAML tree, and the entry's location."""

    path: Path
    root: yaml.Node | None
    loc: tuple[str | int, ...]

    def error(self, message: str, *sub: str | int) -> ScenarioError:
        field, line = locate(self.root, (*self.loc, *sub))
        return ScenarioError(self.path, message, field=field, line=line)


def _validation_error(path: Path, root: yaml.Node | None, exc: ValidationError) -> ScenarioError:
    errors = exc.errors(include_url=False)
    # a misspelt key is also a missing one: name the misspelling (with its suggestion) first
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    message = describe_error(first)
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem(s) in the file)"
    return _Where(path, root, ()).error(message, *first["loc"])


def _read_file(path: Path) -> tuple[ScenarioFile, yaml.Node]:
    """Parse and schema-check one file (no inheritance, no model)."""
    text = read_input_text(path)
    root, data = read_yaml(path, text)
    if root is None:
        raise ScenarioError(
            path, "empty file; expected a YAML mapping of scenario sections (targets, levers …)"
        )
    if not isinstance(root, yaml.MappingNode):
        kind = "a list" if isinstance(root, yaml.SequenceNode) else "a single value"
        raise ScenarioError(
            path,
            f"expected a YAML mapping of scenario sections (targets, levers …) at the top "
            f"level; got {kind}",
            line=root.start_mark.line + 1,
        )
    try:
        parsed = ScenarioFile.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(path, root, exc) from None
    here = _Where(path, root, ())
    for section, names in (
        ("targets", [t.name for t in parsed.targets]),
        ("constraints", [c.name for c in parsed.constraints]),
        ("outputs", list(parsed.outputs)),
        ("correlations", [" and ".join(sorted(c.pair)) for c in parsed.correlations]),
    ):
        seen: dict[str, int] = {}
        for index, name in enumerate(names):
            if name in seen:
                sub = (index, "name") if section in ("targets", "constraints") else (index,)
                raise here.error(
                    f"duplicate entry '{name}' (first at {section}.{seen[name]})", section, *sub
                )
            seen[name] = index
    for name in parsed.levers:
        if name in parsed.uncertainties:
            raise here.error(
                f"'{name}' is both a lever and an uncertainty in this file; "
                "a constant is either set (lever) or drawn (uncertainty)",
                "uncertainties",
                name,
            )
    for name in parsed.paths:
        for kind, entries in (("a lever", parsed.levers), ("an uncertainty", parsed.uncertainties)):
            if name in entries:
                raise here.error(
                    f"'{name}' is both a path and {kind} in this file; a constant is set "
                    "(lever), drawn once per draw (uncertainty) or drawn year by year (path)",
                    "paths",
                    name,
                )
    return parsed, root


# --- resolving and checking --------------------------------------------------------------

_Origins = dict[tuple[str, Any], _Where]


#: What a scenario's ``posterior`` must point to.
POSTERIOR_EXPECTED = "a conditioned ensemble written by `innosim calibrate` (posterior.nc)"


def _input_file(path: Path, where: _Where, expected: str, *sub: str | int) -> Path:
    """The absolute path of a file a scenario names (``where``); a symbolic link loop is
    refused there (a missing file is reported by the checks that need it)."""
    resolved = resolved_path(path)
    if resolved is None:
        raise where.error(
            f"{path} is a {SYMLINK_LOOP}; expected {expected}, relative to the scenario file",
            *sub,
        )
    return resolved


def _merge(
    path: Path,
    root: yaml.Node,
    own: ScenarioFile,
    parent: Scenario | None,
    parent_origins: _Origins,
) -> tuple[dict[str, Any], _Origins]:
    """The merged fields of a scenario and where each entry was declared."""
    origins: _Origins = dict(parent_origins)
    levers = dict(parent.levers) if parent else {}
    uncertainties: dict[str, Any] = dict(parent.uncertainties) if parent else {}
    paths: dict[str, Any] = dict(parent.paths) if parent else {}
    for name in own.uncertainties:
        levers.pop(name, None)
    for name in own.levers:
        uncertainties.pop(name, None)
    for name in [*own.levers, *own.uncertainties]:
        paths.pop(name, None)
    for name, process in own.paths.items():
        levers.pop(name, None)
        uncertainties.pop(name, None)
        paths[name] = process
        origins[("paths", name)] = _Where(path, root, ("paths", name))
    for name, lever in own.levers.items():
        levers[name] = lever
        origins[("levers", name)] = _Where(path, root, ("levers", name))
    for name, dist in own.uncertainties.items():
        uncertainties[name] = dist
        origins[("uncertainties", name)] = _Where(path, root, ("uncertainties", name))

    correlations = {c.pair: c for c in (parent.correlations if parent else [])}
    correlations = {pair: c for pair, c in correlations.items() if pair <= uncertainties.keys()}
    for index, corr in enumerate(own.correlations):
        correlations[corr.pair] = corr
        origins[("correlations", corr.pair)] = _Where(path, root, ("correlations", index))

    constraints = {c.name: c for c in (parent.constraints if parent else [])}
    for index, constraint in enumerate(own.constraints):
        constraints[constraint.name] = constraint
        origins[("constraints", constraint.name)] = _Where(path, root, ("constraints", index))

    targets = {t.name: t for t in (parent.targets if parent else [])}
    for index, target in enumerate(own.targets):
        targets[target.name] = target
        origins[("targets", target.name)] = _Where(path, root, ("targets", index))

    settings = parent.monte_carlo.model_dump() if parent else MonteCarlo().model_dump()
    if own.monte_carlo is not None:
        for key in own.monte_carlo.model_fields_set:
            settings[key] = getattr(own.monte_carlo, key)
            origins[("monte_carlo", key)] = _Where(path, root, ("monte_carlo", key))

    outputs = list(parent.outputs) if parent else []
    for index, name in enumerate(own.outputs):
        if name not in outputs:
            outputs.append(name)
            origins[("outputs", name)] = _Where(path, root, ("outputs", index))

    history = parent.history if parent else None
    if own.history is not None:
        where = _Where(path, root, ("history",))
        history = _input_file(path.parent / own.history, where, "the observed-data CSV")
        origins[("history",)] = where

    posterior = parent.posterior if parent else None
    if own.posterior is not None:
        where = _Where(path, root, ("posterior",))
        posterior = _input_file(path.parent / own.posterior, where, POSTERIOR_EXPECTED)
        origins[("posterior",)] = where

    drivers = parent.drivers if parent else None
    if own.drivers is not None:
        files = _Where(path, root, ("drivers", "files"))
        drivers = DriverSet(
            files=tuple(
                _input_file(path.parent / name, files, "an observed-data CSV", index)
                for index, name in enumerate(own.drivers.files)
            ),
            variables=tuple(own.drivers.variables),
        )
        origins[("drivers",)] = _Where(path, root, ("drivers",))

    discrepancy = dict(parent.discrepancy) if parent else {}
    for name, entry in own.discrepancy.items():
        discrepancy[name] = entry
        origins[("discrepancy", name)] = _Where(path, root, ("discrepancy", name))

    instruments = dict(parent.other_instruments) if parent else {}
    for key, instrument in own.other_instruments.items():
        instruments[key] = instrument
        origins[("other_instruments", key)] = _Where(path, root, ("other_instruments", key))

    merged = {
        "title": own.title,
        "description": own.description,
        "levers": levers,
        "uncertainties": uncertainties,
        "correlations": list(correlations.values()),
        "constraints": list(constraints.values()),
        "targets": list(targets.values()),
        "monte_carlo": MonteCarlo(**settings),
        "outputs": outputs,
        "history": history,
        "posterior": posterior,
        "drivers": drivers,
        "paths": paths,
        "other_instruments": instruments,
        "discrepancy": discrepancy,
    }
    return merged, origins


def _check_model(scenario: Scenario, origins: _Origins, info: ModelInfo) -> None:
    """Names, kinds, limits and years against the model."""
    start, stop = info.initial_time, info.final_time

    def known(name: str, where: _Where, *sub: str | int) -> None:
        if name not in info.docs:
            raise where.error(info.unknown(name), *sub)

    def inside_limits(name: str, values: Iterable[float], where: _Where, *sub: str | int) -> None:
        low, high = info.limits(name)
        for value in values:
            if (low is not None and value < low) or (high is not None and value > high):
                raise where.error(
                    f"{value:g} is outside the Vensim limits [{_fmt(low)}, {_fmt(high)}] of "
                    f"'{name}'",
                    *sub,
                )

    for name, lever in scenario.levers.items():
        where = origins[("levers", name)]
        known(name, where)
        kind = info.kind(name)
        if kind not in ("constant", "auxiliary"):
            raise where.error(
                f"'{name}' is a {kind}; a lever sets a constant or replaces an auxiliary"
                + (" (a stock changes only through its flows)" if kind == "stock" else "")
            )
        if lever.path is not None:
            for year in lever.path:
                if not start <= year <= stop:
                    raise where.error(
                        f"year {year} is outside the model's horizon [{start:g}, {stop:g}]",
                        "path",
                        year,
                    )
            for year, value in lever.path.items():
                inside_limits(name, [value], where, "path", year)
        else:
            inside_limits(name, lever.all_values(), where, "value")

    for name, dist in scenario.uncertainties.items():
        where = origins[("uncertainties", name)]
        known(name, where)
        kind = info.kind(name)
        if kind != "constant":
            raise where.error(
                f"'{name}' is {'an' if kind[0] in 'aeiou' else 'a'} {kind}; only constants can "
                "be uncertain (make the constants it depends on uncertain, or use a lever path)"
            )
        low, high = info.limits(name)
        s_low, s_high = dist.support()
        lower_field, upper_field = dist._bounds
        if low is not None and s_low < low:
            raise where.error(
                f"the distribution reaches {s_low:g}, below the Vensim limits "
                f"[{_fmt(low)}, {_fmt(high)}] of '{name}'; its support must lie inside them",
                *((lower_field,) if lower_field else ()),
            )
        if high is not None and s_high > high:
            raise where.error(
                f"the distribution reaches {s_high:g}, above the Vensim limits "
                f"[{_fmt(low)}, {_fmt(high)}] of '{name}'; its support must lie inside them",
                *((upper_field,) if upper_field else ()),
            )

    for name in scenario.discrepancy:
        if name != DEFAULT_DISCREPANCY:
            where = origins[("discrepancy", name)]
            known(name, where)
            if info.kind(name) in ("lookup", "control"):
                raise where.error(f"'{name}' is not a model output that can be observed")

    for key, instrument in scenario.other_instruments.items():
        where = origins[("other_instruments", key)]
        for index, name in enumerate(instrument.constants):
            known(name, where, "constants", index)
            if info.kind(name) != "constant":
                raise where.error(
                    f"'{name}' is {_article(info.kind(name))}; an instrument is carried by "
                    "constants",
                    "constants",
                    index,
                )

    for constraint in scenario.constraints:
        where = origins[("constraints", constraint.name)]
        for index, name in enumerate(constraint.sum):
            known(name, where, "sum", index)
            if info.kind(name) != "constant":
                raise where.error(
                    f"'{name}' is a {info.kind(name)}; constraints bind constants", "sum", index
                )

    for target in scenario.targets:
        where = origins[("targets", target.name)]
        known(target.variable, where, "variable")
        if info.kind(target.variable) in ("lookup", "control"):
            raise where.error(f"'{target.variable}' is not a model output", "variable")
        if not start <= target.year <= stop:
            raise where.error(
                f"year {target.year} is outside the model's horizon [{start:g}, {stop:g}]", "year"
            )

    for name in scenario.outputs:
        where = origins[("outputs", name)]
        known(name, where)
        if info.kind(name) in ("lookup", "control"):
            raise where.error(f"'{name}' is a {info.kind(name)}, not a model output")


def _fmt(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def _check_correlations(scenario: Scenario, origins: _Origins, leaf: _Where) -> None:
    from sim.sampling import correlation_matrix

    for corr in scenario.correlations:
        where = origins[("correlations", corr.pair)]
        for index, name in enumerate(corr.between):
            if name not in scenario.uncertainties:
                message = unknown_name(
                    name, scenario.uncertainties, what="an uncertainty of the scenario"
                )
                raise where.error(message, "between", index)
    if scenario.correlations:
        try:
            correlation_matrix(scenario.correlations)
        except ValueError as exc:
            own = [
                key
                for key, where in origins.items()
                if key[0] == "correlations" and where.path == leaf.path
            ]
            where = origins[own[0]] if own else leaf
            raise _Where(where.path, where.root, ()).error(str(exc), "correlations") from None


def _check_constraints(
    scenario: Scenario, origins: _Origins, info: ModelInfo | None, leaf: _Where
) -> None:
    for constraint in scenario.constraints:
        cwhere = origins[("constraints", constraint.name)]
        for name in constraint.sum:
            if name in scenario.uncertainties:
                raise origins[("uncertainties", name)].error(
                    f"'{name}' is bound by constraint '{constraint.name}' (its members must add "
                    f"to {constraint.equals:g}); drawing it independently would break the sum. "
                    "Set it as a lever instead and adjust another member"
                )
        if info is None:
            continue
        paths = [scenario.levers[n] for n in constraint.sum if n in scenario.levers]
        times = sorted({y for lever in paths if lever.path for y in lever.path}) or [math.nan]
        total = np.zeros(len(times))
        for name in constraint.sum:
            if name in scenario.levers:
                total += scenario.levers[name].at(times)
            else:
                total += info.defaults[name]
        bad = np.abs(total - constraint.equals) > constraint.tolerance
        if not bad.any():
            continue
        at = "" if math.isnan(times[0]) else f" in {times[int(np.argmax(bad))]:g}"
        parts = []
        for name in constraint.sum:
            if name in scenario.levers:
                parts.append(f"{name} {scenario.levers[name].at([times[0]])[0]:g} (lever)")
            else:
                parts.append(f"{name} {info.defaults[name]:g}")
        message = (
            f"constraint '{constraint.name}' is broken{at}: {' + '.join(parts)} = "
            f"{total[int(np.argmax(bad))]:.12g}; expected {constraint.equals:g} "
            f"± {constraint.tolerance:g}"
        )
        mine = [
            name
            for name in constraint.sum
            if ("levers", name) in origins and origins[("levers", name)].path == leaf.path
        ]
        if mine:
            raise origins[("levers", mine[0])].error(message)
        raise cwhere.error(message)


def _article(word: str) -> str:
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def _check_exogenous(
    scenario: Scenario, origins: _Origins, info: ModelInfo | None, leaf: _Where
) -> None:
    """Drivers and paths: files, rows, names, kinds, conflicts, years and limits."""
    from sim.scenario.observed import driver_series

    constants = [n for n in info.docs if info.kind(n) == "constant"] if info is not None else []

    def check_name(name: str, role: str, where: _Where, *sub: str | int) -> None:
        if info is not None:
            if name not in info.docs:
                raise where.error(
                    unknown_name(name, constants, what="a constant of the model"), *sub
                )
            kind = info.kind(name)
            if kind != "constant":
                raise where.error(
                    f"'{name}' is {_article(kind)}; {role} replaces a constant of the model "
                    "(make the constants it depends on drivers or paths)",
                    *sub,
                )
        for section, what in (("levers", "a lever"), ("uncertainties", "an uncertainty")):
            if name in getattr(scenario, section):
                other = origins[(section, name)]
                message = (
                    f"'{name}' is both {role} and {what}; a constant is imposed as data "
                    "(driver), drawn year by year (path), set (lever) or drawn once per draw "
                    "(uncertainty)"
                )
                if other.path == leaf.path and where.path != leaf.path:
                    raise other.error(message)
                raise where.error(message, *sub)

    series = {}
    drivers = scenario.drivers
    if drivers is not None:
        where = origins[("drivers",)]
        for index, file in enumerate(drivers.files):
            if not file.is_file():
                raise where.error(
                    f"file not found: {file}; expected an observed-data CSV (data/README.md), "
                    "relative to the scenario file",
                    "files",
                    index,
                )
        for index, name in enumerate(drivers.variables):
            check_name(name, "a driver", where, "variables", index)
        series = driver_series(drivers.files, drivers.variables, info=info)
        for index, name in enumerate(drivers.variables):
            if name not in series:
                files = ", ".join(file.name for file in drivers.files)
                raise where.error(
                    f"'{name}' has no row in {files}; a driver needs observed values (rows "
                    "'variable,year,value,sd,source' with its exact Vensim name)",
                    "variables",
                    index,
                )

    for name, process in scenario.paths.items():
        where = origins[("paths", name)]
        check_name(name, "a path", where)
        if name in series:
            last = series[name].last_year
            if process.start is not None and process.start <= last:
                raise where.error(
                    f"start {process.start} is not after the last observed year {last} of the "
                    f"driver '{name}'; a path continues the observed series",
                    "start",
                )
            first = last + 1 if process.start is None else process.start
            start_value: float | None = series[name].last_value
            origin = f"its last observed value ({last})"
        elif process.start is None:
            raise where.error(
                f"'start' is required: '{name}' is not a driver, so the first drawn year must "
                "be given",
                "start",
            )
        else:
            first = process.start
            start_value = info.defaults[name] if info is not None else None
            origin = "the constant's value in the model"
        if info is None:
            continue
        if not info.initial_time <= first <= info.final_time:
            raise where.error(
                f"the path would start in {first}, outside the model's horizon "
                f"[{info.initial_time:g}, {info.final_time:g}]"
                + ("" if process.start is not None else f" (the driver is observed to {last})"),
                *(("start",) if process.start is not None else ()),
            )
        if process.process == "log_ar1" and start_value is not None and not start_value > 0:
            raise where.error(
                f"a log_ar1 path starts from {origin}, {start_value:g}; it must be positive "
                "(use ar1 for a variable that can be 0 or negative)",
                "process",
            )
        low, high = info.limits(name)
        s_low, s_high = process.support()
        if low is not None and s_low < low:
            raise where.error(
                f"the path can reach {s_low:g}, below the Vensim limits [{_fmt(low)}, "
                f"{_fmt(high)}] of '{name}'; give 'min' (at least {low:g}) to clip it",
                "min",
            )
        if high is not None and s_high > high:
            raise where.error(
                f"the path can reach {s_high:g}, above the Vensim limits [{_fmt(low)}, "
                f"{_fmt(high)}] of '{name}'; give 'max' (at most {high:g}) to clip it",
                "max",
            )

    exogenous = set(scenario.exogenous())
    for constraint in scenario.constraints:
        for index, name in enumerate(constraint.sum):
            if name not in exogenous:
                continue
            message = (
                f"'{name}' is bound by constraint '{constraint.name}' (its members must add to "
                f"{constraint.equals:g}) but imposed as data or drawn as a path, which would "
                "break the sum; set it as a lever instead"
            )
            if name in scenario.paths and origins[("paths", name)].path == leaf.path:
                raise origins[("paths", name)].error(message)
            declared = origins.get(("drivers",))
            if drivers is not None and declared is not None and declared.path == leaf.path:
                position = drivers.variables.index(name) if name in drivers.variables else None
                if position is not None:
                    raise declared.error(message, "variables", position)
            raise origins[("constraints", constraint.name)].error(message, "sum", index)


def _latest(scenario: Scenario, declared: Sequence[_Where | None], leaf: _Where) -> _Where:
    """Of the declarations of settings that clash, the one in the file nearest the scenario
    (its own before its parent's; the first given on a tie); ``leaf`` if none was declared."""
    order = {path: rank for rank, path in enumerate(scenario.chain)}
    found = [where for where in declared if where is not None]
    return max(found, key=lambda where: order.get(where.path, -1), default=leaf)


def _check_settings(scenario: Scenario, origins: _Origins, leaf: _Where) -> None:
    settings = scenario.monte_carlo
    if settings.sampler == "sobol" and settings.draws & (settings.draws - 1):
        lower = 1 << (settings.draws.bit_length() - 1)
        where = _latest(
            scenario, [origins.get(("monte_carlo", key)) for key in ("draws", "sampler")], leaf
        )
        message = (
            f"the sobol sampler needs a power of two draws (scrambled Sobol points are balanced "
            f"only in blocks of 2^m); got {settings.draws}, use {lower} or {lower * 2}"
        )
        if where is leaf:
            raise leaf.error(message, "monte_carlo")
        raise where.error(message)
    if scenario.history is not None and not scenario.history.is_file():
        raise origins[("history",)].error(
            f"file not found: {scenario.history}; expected the observed-data CSV, relative to "
            "the scenario file"
        )
    if scenario.posterior is not None:
        _check_posterior(scenario.posterior, scenario, origins)


def _check_posterior(path: Path, scenario: Scenario, origins: _Origins) -> None:
    """The posterior file exists, reads, and was conditioned on this scenario's uncertainties."""
    from sim.scenario.posterior import PosteriorError, posterior_mismatch, read_posterior

    declared = origins[("posterior",)]
    if not path.is_file():
        raise declared.error(
            f"file not found: {path}; expected {POSTERIOR_EXPECTED}, relative to the scenario file"
        )
    try:
        sample = read_posterior(path)
    except PosteriorError as exc:
        raise declared.error(exc.message) from None
    problem = posterior_mismatch(
        sample, scenario.uncertainties, [*scenario.levers, *scenario.exogenous()]
    )
    if problem is not None:
        name, message = problem
        where = origins.get(("uncertainties", name), declared) if name else declared
        raise where.error(message)


def _resolve(
    path: Path, chain: tuple[Path, ...], info: ModelInfo | None
) -> tuple[Scenario, _Origins]:
    own, root = _read_file(path)
    leaf = _Where(path, root, ())
    parent: Scenario | None = None
    parent_origins: _Origins = {}
    if own.extends is not None:
        parent_path = path.parent / own.extends
        visited = (*chain, path.resolve())
        resolved = _input_file(parent_path, leaf, "another scenario file", "extends")
        if resolved in visited:
            cycle = [p.name for p in visited[visited.index(resolved) :]]
            raise leaf.error(
                f"extends cycle: {' → '.join([*cycle, parent_path.name])}; a scenario cannot "
                "extend itself through its parents",
                "extends",
            )
        if not parent_path.is_file():
            raise leaf.error(
                f"file not found: {parent_path}; expected another scenario file, relative to "
                "this one",
                "extends",
            )
        parent, parent_origins = _resolve(parent_path, visited, info)
    merged, origins = _merge(path, root, own, parent, parent_origins)
    if not merged["targets"]:
        raise leaf.error(
            "no targets: the scenario (with its parents) needs at least one entry in 'targets'",
            "targets",
        )
    scenario = Scenario(path=path, chain=(*(parent.chain if parent else ()), path), **merged)
    if info is not None:
        _check_model(scenario, origins, info)
    _check_correlations(scenario, origins, leaf)
    _check_constraints(scenario, origins, info, leaf)
    _check_settings(scenario, origins, leaf)
    _check_exogenous(scenario, origins, info, leaf)
    declared = origins.get(("history",))
    if scenario.history is not None and declared is not None and declared.path == path:
        from sim.scenario.observed import load_observed

        load_observed(scenario.history, info=info, check_model=info is not None)
    return scenario, origins


def load_scenario(
    path: str | Path, *, model: str | Path | None = None, check_model: bool = True
) -> Scenario:
    """Read a scenario file, merge its ``extends`` chain and check it (against the model).

    Args:
        path: scenario YAML file.
        model: Vensim model to check names, kinds, limits and years against (default: the
            project's model).
        check_model: ``False`` skips the model checks (schema, inheritance and the checks
            that need no model still run).

    Raises:
        ScenarioError: naming the file, the line, the field path and what was expected.
        ModelError: the model needed for the checks cannot be read.
    """
    info = model_info(model) if check_model else None
    scenario, _ = _resolve(Path(path), (), info)
    return scenario


def check_variables(
    path: str | Path,
    targets: Sequence[Target],
    variables: Iterable[str],
    root: yaml.Node | None = None,
) -> None:
    """Raise ``ScenarioError`` if a target names a variable that is not in ``variables``."""
    known = list(variables)
    for index, target in enumerate(targets):
        if target.variable not in known:
            raise ScenarioError(
                path,
                unknown_name(target.variable, known, what="a variable of the model"),
                field=f"targets.{index}.variable",
                line=node_line(root, ("targets", index, "variable")),
            )


def load_targets(
    path: str | Path,
    *,
    variables: Iterable[str] | None = None,
    model: str | Path | None = None,
) -> list[Target]:
    """The targets of a scenario file (``extends`` resolved), checked against the model.

    Args:
        path: scenario YAML file.
        variables: names of the model's variables; if given, only the targets' variable
            names are checked against them (no model is read).
        model: Vensim model file (default: the project's model) for the full check
            (``load_scenario``) when ``variables`` is not given.

    Raises:
        ScenarioError: unreadable file, bad YAML, schema violation or unknown variable.
        ModelError: the model needed for the check cannot be read.
    """
    if variables is None:
        return list(load_scenario(path, model=model).targets)
    path = Path(path)
    scenario = load_scenario(path, check_model=False)
    _, root = _read_file(path)
    check_variables(path, scenario.targets, variables, root)
    return list(scenario.targets)


# --- schema and provenance ----------------------------------------------------------------


def scenario_schema() -> dict[str, Any]:
    """JSON Schema of one scenario file (for editors), generated by pydantic."""
    schema = ScenarioFile.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "innosim scenario"
    return schema


def canonical_content(scenario: Scenario) -> dict[str, Any]:
    """The resolved content that defines a scenario's results, as plain JSON data.

    File locations are left out (moving a checkout does not change it); the history, posterior
    and drivers files are represented by the sha256 of their bytes. Sections a scenario does not
    use (drivers, paths, posterior) are left out, so adding them to the format changed no
    existing digest.
    """
    data = scenario.model_dump(
        mode="json",
        by_alias=True,
        exclude={"path", "chain", "history", "posterior", "drivers", "paths"},
    )
    data["history_sha256"] = (
        hashlib.sha256(scenario.history.read_bytes()).hexdigest() if scenario.history else None
    )
    if scenario.posterior is not None:  # absent otherwise: digests without a posterior unchanged
        data["posterior_sha256"] = hashlib.sha256(scenario.posterior.read_bytes()).hexdigest()
    if scenario.drivers is not None:  # absent otherwise, like the posterior's
        data["drivers"] = {
            "variables": list(scenario.drivers.variables),
            "files_sha256": [file_sha256(path) for path in scenario.drivers.files],
        }
    if scenario.paths:
        data["paths"] = {
            name: process.model_dump(mode="json", by_alias=True)
            for name, process in scenario.paths.items()
        }
    return data


def file_sha256(path: Path) -> str:
    """sha256 (hex) of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def scenario_digest(scenario: Scenario | str | Path) -> str:
    """sha256 (hex) of the canonical resolved content; a parent's change changes it."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, check_model=False)
    text = json.dumps(
        canonical_content(scenario), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
