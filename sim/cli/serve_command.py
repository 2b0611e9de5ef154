"""``innosim serve``: the live planner page in a browser (``sim.serve``).

Flags in, the page served: the scenario is loaded, its draws made and the baseline run before
the server starts, so a bad scenario, port or number of draws exits with code 2 and a message
naming it, and nothing listens.
"""

from __future__ import annotations

from typing import Annotated

import typer

from sim.cli.options import (
    DEFAULT_SCENARIO,
    Lang,
    LangOption,
    ModelOption,
    ScenarioArgument,
    SeedOption,
    exit_on_error,
)

#: Draws of the page unless ``--draws`` says otherwise (``sim.serve.planner.DEFAULT_DRAWS``).
PAGE_DRAWS = 2000
#: The port unless ``--port`` says otherwise (Panel's and Bokeh's usual one).
DEFAULT_PORT = 5006

PortOption = Annotated[
    int,
    typer.Option("--port", min=1, max=65535, help="Port to serve the page on (on this machine)."),
]
PageDrawsOption = Annotated[
    int,
    typer.Option(
        "--draws",
        min=1,
        max=1_000_000,
        help="Monte Carlo draws the page re-runs on each move (2,000 answers in about 0.1 s).",
    ),
]


def serve(
    scenario: ScenarioArgument = DEFAULT_SCENARIO,
    port: PortOption = DEFAULT_PORT,
    draws: PageDrawsOption = PAGE_DRAWS,
    seed: SeedOption = None,
    lang: LangOption = Lang.zh,
    model: ModelOption = None,
) -> None:
    """The live planner page: sliders for the plan's levers; each move re-runs the ensemble
    on common random numbers and shows each target's probability, its difference from the
    scenario and the fan charts. Serves http://localhost:PORT/ until Ctrl-C."""
    from sim.serve.page import serve_page

    def ready(url: str) -> None:
        typer.echo(f"innosim: the planner page is at {url} (Ctrl-C stops it)", err=True)

    with exit_on_error():
        serve_page(
            scenario, port=port, draws=draws, seed=seed, lang=lang.value, model=model, ready=ready
        )


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the ``innosim`` app."""
    app.command(name="serve")(serve)
