"""Well-known locations inside the repository checkout."""

from __future__ import annotations

from pathlib import Path

#: Root of the repository checkout (the directory holding ``pyproject.toml``).
REPO_ROOT: Path = Path(__file__).resolve().parents[1]

#: Directory of scenario files (YAML).
SCENARIO_DIR: Path = REPO_ROOT / "scenarios"

#: Scenario used when none is given on the command line.
DEFAULT_SCENARIO_PATH: Path = SCENARIO_DIR / "baseline.yaml"


def default_out(command: str, scenario: Path) -> Path:
    """Default output directory of a command: ``out/<scenario name>/<command>`` (relative to
    the working directory)."""
    return Path("out") / scenario.stem / command
