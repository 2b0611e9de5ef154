"""Probability distributions of the uncertainties and stochastic processes of the yearly paths
(``uncertainties`` and ``paths`` of a scenario file)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import (
    BeforeValidator,
    Field,
    ValidationInfo,
    field_validator,
)

from sim.scenario.fields import Explained, Number, Positive, Year, reject_bool

if TYPE_CHECKING:
    from types import ModuleType

    from scipy.stats._distn_infrastructure import rv_frozen


def _stats() -> ModuleType:
    """``scipy.stats``, imported when first needed (it takes about 0.7 s to import, and a
    scenario is loaded and checked without it: see ``DistributionBase.support``)."""
    from scipy import stats

    return stats


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
        """Smallest and largest possible value (infinite when unbounded).

        What the frozen distribution's ``support()`` gives, bit for bit, without importing
        ``scipy.stats``: its standard support ``(a, b)`` as ``a * scale + loc``, ``b * scale +
        loc`` (``_scaled_support``); subclasses that cannot say fall back to scipy.
        """
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
        return _stats().uniform(loc=self.min, scale=self.max - self.min)

    def support(self) -> tuple[float, float]:
        return _scaled_support(0.0, 1.0, self.min, self.max - self.min)


def _scaled_support(a: float, b: float, loc: float, scale: float) -> tuple[float, float]:
    """``scipy.stats``' support of a distribution with standard support ``[a, b]`` at ``loc`` and
    ``scale`` (``rv_continuous.support``: the same arithmetic, so the same bits)."""
    return a * scale + loc, b * scale + loc


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
        return _stats().triang(c=(self.mode - self.min) / width, loc=self.min, scale=width)

    def support(self) -> tuple[float, float]:
        return _scaled_support(0.0, 1.0, self.min, self.max - self.min)


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
        return _stats().beta(a, b, loc=self.min, scale=width)

    def support(self) -> tuple[float, float]:
        return _scaled_support(0.0, 1.0, self.min, self.max - self.min)


class Normal(DistributionBase):
    """Normal with mean ``mean`` and standard deviation ``sd`` (unbounded support)."""

    distribution: Literal["normal"]
    mean_: Annotated[Number, Field(alias="mean")]
    sd: Positive

    def frozen(self) -> rv_frozen:
        return _stats().norm(loc=self.mean_, scale=self.sd)

    def support(self) -> tuple[float, float]:
        return _scaled_support(-math.inf, math.inf, self.mean_, self.sd)


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
        return _stats().truncnorm(a, b, loc=self.mean_, scale=self.sd)

    def support(self) -> tuple[float, float]:
        a, b = (self.min - self.mean_) / self.sd, (self.max - self.mean_) / self.sd
        if not a < b:  # the bounds meet once standardised: scipy's support is undefined
            return math.nan, math.nan
        return _scaled_support(a, b, self.mean_, self.sd)


class LogNormal(DistributionBase):
    """Log-normal with median ``median`` (> 0) and log-scale standard deviation ``sigma``."""

    distribution: Literal["lognormal"]
    median: Positive
    sigma: Positive

    def frozen(self) -> rv_frozen:
        return _stats().lognorm(s=self.sigma, scale=self.median)

    def support(self) -> tuple[float, float]:
        return _scaled_support(0.0, math.inf, 0.0, self.median)


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
        return _stats().beta(self.alpha, self.beta, loc=self.min, scale=self.max - self.min)

    def support(self) -> tuple[float, float]:
        return _scaled_support(0.0, 1.0, self.min, self.max - self.min)


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
        return _stats().rv_discrete(values=(np.arange(len(self.values)), self.probabilities))

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
