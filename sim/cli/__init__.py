"""The ``innosim`` command line."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated

import typer

from sim.cli.options import (
    DrawsOption,
    ExecutorChoice,
    ExecutorOption,
    Lang,
    ModelOption,
    SchedulerOption,
    SeedOption,
    WorkersOption,
    claimed_out,
    echo_report,
    echo_written,
    executor_from,
    exit_on_error,
    fail,
    note,
    output_dir,
)
from sim.errors import InnosimError
from sim.paths import DEFAULT_SCENARIO_PATH

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="System-dynamics planning of a city's innovation ecosystem.",
)


@app.command()
def simulate(
    lang: Annotated[Lang, typer.Option("--lang", help="Language of labels.")] = Lang.zh,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Directory for simulate.png and simulate.csv.",
            parser=output_dir,
            metavar="DIR",
        ),
    ] = Path("out/simulate"),
    scenario: Annotated[
        Path, typer.Option("--scenario", help="Scenario file with the targets.")
    ] = DEFAULT_SCENARIO_PATH,
    model: ModelOption = None,
) -> None:
    """Run the model once with its defaults, the scenario's drivers as observed and its yearly
    paths on their central values, and compare it with the plan's targets."""
    from sim.workflows.simulate import deterministic_run

    with claimed_out(out), exit_on_error():
        report = deterministic_run(scenario, out, lang=lang.value, model=model)
    echo_report(report.console, report.written)


@app.command()
def doc(
    check: Annotated[
        bool, typer.Option("--check", help="Only check that the table is current (exit 1 if not).")
    ] = False,
    model: ModelOption = None,
    readme: Annotated[
        Path | None,
        typer.Option(
            "--readme",
            help="Markdown file to update (default: README.md beside the model).",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Regenerate the variable table of model/README.md from the model file."""
    from sim.vensim import default_model_path, documentation_problems, model_variables
    from sim.vensim.variable_table import update_variable_table

    model_path = model if model is not None else default_model_path()
    target = readme if readme is not None else model_path.parent / "README.md"
    try:
        docs = model_variables(model_path)
        current = update_variable_table(target, docs, check=check)
    except InnosimError as exc:
        raise fail(exc) from None
    for problem in documentation_problems(docs):
        typer.echo(f"innosim: note: {problem}", err=True)
    if current:
        typer.echo(f"{target}: variable table is current")
    elif check:
        typer.echo(f"{target}: variable table is stale; run `innosim doc` to update it", err=True)
        raise typer.Exit(1)
    else:
        typer.echo(f"{target}: variable table updated ({len(docs)} variables)")


@app.command()
def sketch(
    check: Annotated[
        bool, typer.Option("--check", help="Only check that the sketch is current (exit 1 if not).")
    ] = False,
    model: ModelOption = None,
    previews: Annotated[
        Path | None,
        typer.Option(
            "--previews", help="Directory for PNG previews (default: docs/model).", file_okay=False
        ),
    ] = None,
) -> None:
    """Regenerate the model's Vensim sketch (one view per sector) from its equations."""
    from sim.paths import CHECKOUT_ROOT
    from sim.vensim import default_model_path
    from sim.vensim.sketch import render_previews, sketch_is_current, update_sketch

    model_path = model if model is not None else default_model_path()
    try:
        if check:
            if not sketch_is_current(model_path):
                typer.echo(f"{model_path}: sketch is stale; run `innosim sketch`", err=True)
                raise typer.Exit(1)
            typer.echo(f"{model_path}: sketch is current")
            return
        changed = update_sketch(model_path)
        # the previews belong to a checkout's docs; an installed package writes them here
        written = render_previews(
            model_path, previews or (CHECKOUT_ROOT or Path.cwd()) / "docs" / "model"
        )
    except InnosimError as exc:
        raise fail(exc) from None
    typer.echo(f"{model_path}: sketch {'updated' if changed else 'was current'}")
    echo_written(written)


@app.command()
def check(model: ModelOption = None) -> None:
    """Check the model: units, function placement, documentation, table and sketch current."""
    from sim.vensim import default_model_path, documentation_problems, model_variables
    from sim.vensim.placement import placement_problems
    from sim.vensim.sketch import sketch_is_current
    from sim.vensim.units import check_units
    from sim.vensim.variable_table import update_variable_table

    model_path = model if model is not None else default_model_path()
    try:
        problems = [issue.message for issue in check_units(model_path)]
        problems += placement_problems(model_path)
        docs = model_variables(model_path)
        problems += documentation_problems(docs)
        if not update_variable_table(model_path.parent / "README.md", docs, check=True):
            problems.append("the variable table of README.md is stale: run `innosim doc`")
        if not sketch_is_current(model_path):
            problems.append("the sketch is stale: run `innosim sketch`")
    except InnosimError as exc:
        raise fail(exc) from None
    for problem in problems:
        typer.echo(f"{model_path}: {problem}", err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"{model_path}: units consistent, documented, table and sketch current")


@app.command()
def run(
    scenario: Annotated[
        Path, typer.Argument(help="Scenario file (default: scenarios/baseline.yaml).")
    ] = DEFAULT_SCENARIO_PATH,
    draws: DrawsOption = None,
    seed: SeedOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Output directory (default: out/<scenario name>).",
            parser=output_dir,
            metavar="DIR",
        ),
    ] = None,
    lang: Annotated[Lang, typer.Option("--lang", help="Language of labels.")] = Lang.zh,
    executor: ExecutorOption = ExecutorChoice.serial,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    model: ModelOption = None,
    search: Annotated[
        bool,
        typer.Option(
            "--search/--no-search",
            help="Search the plan's main levers for the brief's 'what it would take' "
            "(3-4 s at the default draws); --no-search skips it.",
        ),
    ] = True,
) -> None:
    """Monte Carlo run of a scenario: how likely is each target? Writes ensemble.nc,
    targets.csv, a fan chart per target, report.html (opening with a one-page brief) and
    provenance.json."""
    from sim.workflows.run import run_scenario

    target_dir = out if out is not None else Path("out") / scenario.stem
    runner = executor_from(executor, workers, scheduler)
    with claimed_out(target_dir), exit_on_error(), contextlib.ExitStack() as bars:
        bar = None

        def progress(finished: int, total: int) -> None:
            nonlocal bar
            if bar is None:
                bar = bars.enter_context(
                    typer.progressbar(length=total, label=scenario.name, file=sys.stderr)
                )
            bar.update(finished)
            if bar.pos >= total:
                bars.close()

        report = run_scenario(
            scenario,
            target_dir,
            draws=draws,
            seed=seed,
            lang=lang.value,
            executor=runner,
            model=model,
            progress=progress,
            note=note,
            search=search,
        )
    typer.echo(report.title)
    typer.echo(report.console)
    echo_report(report.track_record, report.written)


@app.command()
def schema(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Write to this file instead of standard output.", dir_okay=False
        ),
    ] = None,
) -> None:
    """Print the JSON Schema of scenario files (for editors' completion and checking)."""
    import json

    from sim.atomic import atomic_write_text
    from sim.scenario import scenario_schema

    text = json.dumps(scenario_schema(), ensure_ascii=False, indent=2) + "\n"
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        atomic_write_text(out, text)
    except OSError as exc:
        raise fail(InnosimError(f"--out {out}: cannot write: {exc.strerror or exc}")) from None
    typer.echo(f"wrote {out}")


def _register_commands() -> None:
    """Add the commands defined in the ``*_commands`` modules."""
    from sim.cli import assessment_commands, data_commands, driver_commands, policy_commands

    for module in (policy_commands, driver_commands, data_commands, assessment_commands):
        module.register(app)

    from sim.cli import serve_command  # innosim serve: the live planner page

    serve_command.register(app)

    from sim.cli import catalogue_commands  # innosim levers / targets: the names to use

    catalogue_commands.register(app)


_register_commands()


if __name__ == "__main__":
    app()
