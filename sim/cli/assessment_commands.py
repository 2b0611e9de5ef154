"""``innosim assess``: the plan's mid-term assessment (each target's status on the plan's
path, its probability given the data, the lever change that restores P ≥ 0.8): parses the
flags, calls ``sim.workflows.assess.run_assessment`` and prints what it returns.
``register(app)`` adds the command to a typer app."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sim.cli.data_commands import StrictOption, progress_echo
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
    echo_report,
    executor_from,
    note,
)
from sim.cli.policy_commands import option_errors, parse_levers
from sim.paths import default_out


def assess(
    scenario: ScenarioArgument = DEFAULT_SCENARIO,
    observed: Annotated[
        Path,
        typer.Option(
            "--observed", help="Observed-data CSV with the new observations.", dir_okay=False
        ),
    ] = ...,  # type: ignore[assignment]
    as_of: Annotated[
        int | None,
        typer.Option("--as-of", help="Assessment year (default: the last year observed)."),
    ] = None,
    lever: Annotated[
        str | None,
        typer.Option(
            "--lever",
            help="Lever to search: NAME (from its setting to the upper end of its plausible "
            "policy range, the Vensim range stated in the model) or NAME=LO:HI (from LO "
            "towards HI, inside that range); NAME is the Vensim name or Chinese label, values "
            "may be percentages (2%:5%). Default: Fiscal Innovation Share Floor.",
        ),
    ] = None,
    draws: DrawsOption = None,
    seed: SeedOption = None,
    out: OutOption = None,
    lang: LangOption = Lang.zh,
    strict: StrictOption = False,
    executor: ExecutorOption = ExecutorChoice.serial,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    model: ModelOption = None,
) -> None:
    """Mid-term assessment: each target's status against the plan's path, its probability
    given the data, the growth needed, and the lever change restoring P ≥ 80 %. Writes
    assess.csv, assess.html and a chart per target."""
    from sim.workflows.assess import run_assessment

    search = parse_levers([lever], points=False, model=model)[0] if lever is not None else None
    runner = executor_from(executor, workers, scheduler)
    target_dir = out if out is not None else default_out("assess", scenario)
    with claimed_out(target_dir), option_errors():
        report = run_assessment(
            scenario,
            observed,
            target_dir,
            as_of=as_of,
            lever=search,
            draws=draws,
            seed=seed,
            lang=lang.value,
            strict=strict,
            model=model,
            executor=runner,
            progress=progress_echo,
            note=note,
        )
    echo_report(report.text, report.written)


def register(app: typer.Typer) -> None:
    """Add ``assess`` to ``app``."""
    app.command(name="assess")(assess)
