"""Exception types raised by innosim for bad models and bad input files."""

from __future__ import annotations

from pathlib import Path


class InnosimError(Exception):
    """Base class of every error innosim raises on purpose."""


class ModelError(InnosimError, ValueError):
    """The model file is missing, unparseable or breaks a convention of the project."""


class UnitsError(ModelError):
    """A model equation or parameter has inconsistent or unknown units."""


class EngineError(ModelError):
    """The ensemble engine cannot run a model construct, or was given bad parameters."""


class ScenarioError(InnosimError, ValueError):
    """A scenario file is unreadable or does not match the scenario schema.

    Attributes:
        path: the scenario file.
        field: dotted path of the offending field (e.g. ``targets.3.direction``), or ``""``
            when the problem concerns the whole file.
        line: 1-based line number in the file, when known.
        message: what was wrong and what was expected.
    """

    def __init__(
        self, path: str | Path, message: str, *, field: str = "", line: int | None = None
    ) -> None:
        self.path = Path(path)
        self.field = field
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = str(self.path) if self.line is None else f"{self.path}:{self.line}"
        if self.field:
            return f"{where}: field '{self.field}': {self.message}"
        return f"{where}: {self.message}"


class OutputError(InnosimError):
    """An output directory cannot be used, or writing into it failed (nothing written)."""


class NonFiniteResultError(InnosimError, ValueError):
    """A simulation gave NaN or an infinite value: no probability is computed from it."""


class SamplingError(InnosimError, ValueError):
    """The draws asked for cannot be made (e.g. too few to induce the scenario's correlations)."""


class SettingsError(InnosimError, ValueError):
    """Monte Carlo settings asked for (``--draws``, ``--seed``) that do not fit the scenario;
    the message names the options."""
