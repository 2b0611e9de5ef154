"""Options, types and error handling shared by every ``innosim`` command."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from sim.errors import InnosimError
from sim.paths import DEFAULT_SCENARIO_PATH

#: Exit code for bad input (unreadable scenario or model, bad option value).
EXIT_BAD_INPUT = 2


class Lang(StrEnum):
    """Language of labels in tables and figures."""

    zh = "zh"
    en = "en"


ModelOption = Annotated[
    Path | None,
    typer.Option(
        "--model",
        help="Vensim model file (default: $INNOSIM_MODEL or model/innovation_ecosystem.mdl).",
        dir_okay=False,
    ),
]
LangOption = Annotated[Lang, typer.Option("--lang", help="Language of labels.")]
ScenarioArgument = Annotated[
    Path, typer.Argument(help="Scenario file (default: scenarios/baseline.yaml).")
]
DEFAULT_SCENARIO = DEFAULT_SCENARIO_PATH


def fail(exc: InnosimError) -> typer.Exit:
    """Print ``exc`` on stderr and return the exit (code 2) to raise."""
    typer.echo(f"innosim: error: {exc}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


def default_out(command: str, scenario: Path) -> Path:
    """Default output directory of a command: ``out/<scenario name>/<command>``."""
    return Path("out") / scenario.stem / command
