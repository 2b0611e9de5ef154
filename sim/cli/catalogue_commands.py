"""``innosim levers`` and ``innosim targets``: the names ``--lever`` and ``--target`` accept,
with labels, units, current values and plausible ranges (``sim.workflows.catalogue``).
``register(app)`` adds the commands to a typer app."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from sim.cli.options import (
    DEFAULT_SCENARIO,
    Lang,
    LangOption,
    ModelOption,
    ScenarioArgument,
    exit_on_error,
)


class Format(StrEnum):
    """How a catalogue is printed."""

    text = "text"
    csv = "csv"


FormatOption = Annotated[
    Format,
    typer.Option(
        "--format",
        help="text: a table in the chosen language; csv: one row per entry, values in the "
        "model's units (the units column says which).",
    ),
]


def levers(
    scenario: ScenarioArgument = DEFAULT_SCENARIO,
    lang: LangOption = Lang.zh,
    output_format: FormatOption = Format.text,
    model: ModelOption = None,
) -> None:
    """List the scenario's levers: Vensim name and Chinese label (both accepted by --lever),
    current value, plausible policy range (the Vensim range in the model), units and the
    constraint each belongs to."""
    from sim.workflows.catalogue import catalogue_csv, lever_catalogue

    with exit_on_error():
        report = lever_catalogue(scenario, lang=lang.value, model=model)
    typer.echo(catalogue_csv(report) if output_format is Format.csv else report.text, nl=False)
    if output_format is Format.text:
        typer.echo("")


def targets(
    scenario: ScenarioArgument = DEFAULT_SCENARIO,
    lang: LangOption = Lang.zh,
    output_format: FormatOption = Format.text,
    model: ModelOption = None,
) -> None:
    """List the scenario's targets: id, Chinese and English labels, model variable (each
    accepted by --target), year, threshold and source."""
    from sim.workflows.catalogue import catalogue_csv, target_catalogue

    with exit_on_error():
        report = target_catalogue(scenario, lang=lang.value, model=model)
    typer.echo(catalogue_csv(report) if output_format is Format.csv else report.text, nl=False)
    if output_format is Format.text:
        typer.echo("")


def register(app: typer.Typer) -> None:
    """Add ``levers`` and ``targets`` to ``app``."""
    app.command(name="levers")(levers)
    app.command(name="targets")(targets)
