"""``innosim sensitivity`` and ``innosim discover``: which uncertainties decide whether a
target is reachable? (register them on an app with ``register(app)``; the work is done by
``sim.workflows.sensitivity`` and ``sim.workflows.discover``)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from enum import StrEnum
from typing import Annotated

import typer

from sim.cli.options import (
    DEFAULT_SCENARIO,
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
    target_options,
)
from sim.paths import default_out


class Method(StrEnum):
    """Global sensitivity method."""

    sobol = "sobol"
    morris = "morris"


def progress_bar(label: str) -> Callable[[int], AbstractContextManager[Callable[[int], None]]]:
    """A progress bar on stderr labelled ``label``, for a workflow's ``progress``."""

    @contextlib.contextmanager
    def start(total: int) -> Iterator[Callable[[int], None]]:
        with typer.progressbar(length=total, label=label, file=sys.stderr) as bar:
            yield bar.update

    return start


def sensitivity(
    scenario: ScenarioArgument = DEFAULT_SCENARIO,
    method: Annotated[
        Method, typer.Option("--method", help="sobol (variance-based) or morris (screening).")
    ] = Method.sobol,
    samples: Annotated[
        int | None,
        typer.Option(
            "--samples",
            min=2,
            help="Base samples (sobol: a power of two, runs = N × (uncertainties + 2); "
            "default 2048) or trajectories (morris: runs = N × (uncertainties + 1); default "
            "1000).",
        ),
    ] = None,
    seed: SeedOption = None,
    top: Annotated[
        int, typer.Option("--top", min=1, help="Parameters shown per chart panel.")
    ] = 10,
    out: OutOption = None,
    lang: LangOption = Lang.zh,
    executor: ExecutorOption = ExecutorChoice.serial,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    model: ModelOption = None,
) -> None:
    """Global sensitivity of each target (its value, and reaching it) to every uncertainty
    of the scenario: Sobol' first- and total-order indices or Morris screening (SALib).
    Writes sensitivity.csv and a ranked chart per target."""
    from sim.analysis.sensitivity_indices import check_samples
    from sim.workflows.sensitivity import sensitivity_analysis

    if samples is not None:
        try:
            check_samples(method.value, samples)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--samples") from None
    runner = executor_from(executor, workers, scheduler)
    target_dir = out if out is not None else default_out("sensitivity", scenario)
    with claimed_out(target_dir), exit_on_error():
        report = sensitivity_analysis(
            scenario,
            target_dir,
            method=method.value,
            samples=samples,
            seed=seed,
            top=top,
            lang=lang.value,
            executor=runner,
            model=model,
            progress=progress_bar(scenario.name),
        )
    typer.echo(report.console)
    typer.echo("")
    for line in report.notes:
        note(line)
    echo_written(report.written)


def discover(
    target: Annotated[
        str,
        typer.Option(
            "--target",
            help="The target by id, model variable or Chinese or English label "
            "(`innosim targets` lists them).",
        ),
    ],
    scenario: ScenarioArgument = DEFAULT_SCENARIO,
    missed: Annotated[
        bool, typer.Option("--missed", help="Find the draws that miss the target.")
    ] = False,
    threshold: Annotated[
        float,
        typer.Option(
            "--threshold", min=0.0, max=1.0, help="Minimum density of the chosen box (0-1]."
        ),
    ] = 0.8,
    draws: Annotated[
        int | None,
        typer.Option("--draws", min=1, help="Monte Carlo draws (default: the scenario's)."),
    ] = None,
    seed: SeedOption = None,
    box: Annotated[
        int | None,
        typer.Option("--box", min=0, help="Choose this box of the trajectory instead."),
    ] = None,
    out: OutOption = None,
    lang: LangOption = Lang.zh,
    executor: ExecutorOption = ExecutorChoice.serial,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    model: ModelOption = None,
) -> None:
    """Scenario discovery with PRIM: the box of uncertainty ranges where the target is
    reached (or, --missed, missed). Writes the peeling trajectory and the box as CSV and a
    chart of the coverage-density trade-off and the box's limits."""

    from sim.workflows.discover import UnknownTargetError, scenario_discovery

    if threshold <= 0:
        raise typer.BadParameter("must lie in (0, 1]", param_hint="--threshold")
    target = target_options(scenario, [target], allow_all=False)[0]
    runner = executor_from(executor, workers, scheduler)
    target_dir = out if out is not None else default_out("discover", scenario)
    with claimed_out(target_dir), exit_on_error():
        try:
            report = scenario_discovery(
                scenario,
                target,
                target_dir,
                missed=missed,
                threshold=threshold,
                draws=draws,
                seed=seed,
                box=box,
                lang=lang.value,
                executor=runner,
                model=model,
                progress=progress_bar(scenario.name),
            )
        except UnknownTargetError as exc:
            raise typer.BadParameter(str(exc), param_hint="--target") from None
    typer.echo(report.summary)
    for line in report.notes:
        note(line)
    if report.console:
        typer.echo(report.console)
    typer.echo("")
    echo_written(report.written)


def register(app: typer.Typer) -> None:
    """Add ``sensitivity`` and ``discover`` to ``app``."""
    app.command(name="sensitivity")(sensitivity)
    app.command(name="discover")(discover)
