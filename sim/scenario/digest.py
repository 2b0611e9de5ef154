"""The content digest of a scenario (``scenario_sha256``): what defines its results, as canonical
JSON."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.scenario.loading import load_scenario
from sim.scenario.schema import Scenario

if TYPE_CHECKING:
    pass


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
