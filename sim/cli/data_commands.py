"""``innosim calibrate``: condition a scenario on observed data; ``innosim backtest``: forecasts
from past origins scored against the later observations. ``register(app)`` adds the commands
to a typer app."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sim.cli.options import (
    DEFAULT_SCENARIO,
    DrawsOption,
    ExecutorChoice,
    ExecutorOption,
    Lang,
    LangOption,
    ModelOption,
    OutOption,
    ScenarioArgument,
    SchedulerOption,
    SeedOption,
    WorkersOption,
    claimed_out,
    echo_written,
    executor_from,
    exit_on_error,
    note,
)
from sim.paths import default_out

if TYPE_CHECKING:
    import pandas as pd

StrictOption = Annotated[
    bool,
    typer.Option(
        "--strict",
        help="Refuse (exit 2) when the model does not reproduce an observation within 3 sd "
        "instead of reporting it in misfits.csv.",
    ),
]


def progress_echo(message: str) -> None:
    typer.echo(message, err=True)


def misfit_lines(misfits: pd.DataFrame, lang: str) -> list[str]:
    """The observations the model does not reproduce, for the console (zh or en;
    ``sim.workflows.calibrate.misfit_lines``)."""
    from sim.workflows.calibrate import misfit_lines as lines

    return lines(misfits, lang)


def calibrate(
    scenario: ScenarioArgument = DEFAULT_SCENARIO,
    observed: Annotated[
        Path | None,
        typer.Option(
            "--observed",
            help="Observed-data CSV (default: the scenario's history).",
            dir_okay=False,
        ),
    ] = None,
    draws: DrawsOption = None,
    seed: SeedOption = None,
    out: OutOption = None,
    lang: LangOption = Lang.zh,
    tempering: Annotated[
        bool,
        typer.Option(
            "--tempering/--no-tempering",
            help=(
                "Condition year by year with tempering when plain importance weights are too "
                "uneven (else refuse)."
            ),
        ),
    ] = True,
    strict: StrictOption = False,
    model: ModelOption = None,
    executor: ExecutorOption = ExecutorChoice.serial,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
) -> None:
    """Condition a scenario's uncertainties on observed data. Writes posterior.nc (prior draws
    and weights, posterior sample), parameters.csv, targets.csv and fit/parameter charts."""
    from sim.workflows.calibrate import run_calibration

    runner = executor_from(executor, workers, scheduler)
    target_dir = out if out is not None else default_out("calibrate", scenario)
    with claimed_out(target_dir), exit_on_error():
        report = run_calibration(
            scenario,
            target_dir,
            observed=observed,
            draws=draws,
            seed=seed,
            lang=lang.value,
            tempering=tempering,
            strict=strict,
            model=model,
            executor=runner,
            progress=progress_echo,
            note=note,
        )
    for line in report.console:
        typer.echo(line)
    echo_written(report.written)


def backtest(
    scenario: ScenarioArgument = DEFAULT_SCENARIO,
    observed: Annotated[
        list[Path],
        typer.Option(
            "--observed",
            help="Observed-data CSV (repeat for several; a later file's row replaces an "
            "earlier one of the same variable and year).",
            dir_okay=False,
            metavar="FILE",
        ),
    ] = ...,  # type: ignore[assignment]
    origin: Annotated[
        list[int],
        typer.Option(
            "--origin",
            help="Forecast origin year: condition on the rows up to it, score the later "
            "ones (repeat for rolling origins).",
            metavar="YEAR",
        ),
    ] = ...,  # type: ignore[assignment]
    draws: DrawsOption = None,
    seed: SeedOption = None,
    out: OutOption = None,
    lang: LangOption = Lang.zh,
    model: ModelOption = None,
    executor: ExecutorOption = ExecutorChoice.serial,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
) -> None:
    """Backtest: condition on the observations up to each origin, forecast, and score every
    later observation (median, 5-95 %, PIT, 50 %/90 % coverage, CRPS). Writes backtest.csv,
    coverage.csv, backtest.json, pit.png, a chart per variable and backtest.html."""
    from sim.workflows.backtest import run_backtest

    runner = executor_from(executor, workers, scheduler)
    target_dir = out if out is not None else default_out("backtest", scenario)
    with claimed_out(target_dir), exit_on_error():
        report = run_backtest(
            scenario,
            observed,
            origin,
            target_dir,
            draws=draws,
            seed=seed,
            lang=lang.value,
            model=model,
            executor=runner,
            progress=progress_echo,
            note=note,
        )
    for line in report.console:
        typer.echo(line)
    echo_written(report.written)


def register(app: typer.Typer) -> None:
    """Add ``calibrate`` and ``backtest`` to ``app``."""
    app.command(name="calibrate")(calibrate)
    app.command(name="backtest")(backtest)


if __name__ == "__main__":  # pragma: no cover - for trying the commands on their own
    standalone = typer.Typer(add_completion=False)
    register(standalone)
    standalone(sys.argv[1:])
