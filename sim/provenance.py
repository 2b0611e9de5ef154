"""Provenance of a result: the command, scenario, model, Monte Carlo settings and software
that produced it, as one flat mapping that every output records (``sim.report.writer``)."""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.scenario import MonteCarlo, Scenario

PACKAGES = ("innosim", "pysd", "numpy", "scipy", "xarray", "pydantic")


def package_versions() -> dict[str, str]:
    """``{<package>_version: version}`` of the packages a result depends on, and Python's."""
    found = {}
    for package in PACKAGES:
        try:
            found[f"{package}_version"] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[f"{package}_version"] = "not installed"
    found["python_version"] = platform.python_version()
    return found


def provenance(
    command: str | None,
    *,
    scenario: Scenario | None = None,
    model: Path | None = None,
    model_sha256: str | None = None,
    settings: MonteCarlo | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What produced a result: ``command`` (e.g. ``"run"``; ``None`` for a part of one), the
    scenario file and its content digest, the model file and its sha256, draws, seed and sampler,
    the time (UTC), ``extra`` (the command's own facts) and the package versions."""
    from sim.scenario import scenario_digest

    record: dict[str, Any] = {} if command is None else {"command": f"innosim {command}"}
    if scenario is not None:
        record["scenario"] = scenario.path.name
        record["scenario_sha256"] = scenario_digest(scenario)
    if model is not None:
        record["model"] = Path(model).name
    if model_sha256 is not None:
        record["model_sha256"] = model_sha256
    if settings is not None:
        record |= {"draws": settings.draws, "seed": settings.seed, "sampler": settings.sampler}
    record["created_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    record |= dict(extra or {})
    return record | package_versions()


def netcdf_attrs(provenance: Mapping[str, Any]) -> dict[str, str | int | float]:
    """Provenance as NetCDF attributes: numbers and text as they are, the rest as JSON."""
    return {
        key: value
        if isinstance(value, str | int | float) and not isinstance(value, bool)
        else json.dumps(value, ensure_ascii=False, default=str)
        for key, value in provenance.items()
        if value is not None
    }
