"""``innosim assess``: the plan's mid-term assessment (each target's status on the plan's
path, its probability given the data, the lever change that restores P ≥ 0.8).
``register(app)`` adds the command to a typer app."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sim.cli.data_commands import StrictOption, misfit_lines, progress_echo
from sim.cli.options import (
    DEFAULT_SCENARIO,
    DrawsOption,
    Lang,
    LangOption,
    ModelOption,
    OutOption,
    ScenarioArgument,
    SeedOption,
    claimed_out,
    fail,
    monte_carlo_or_exit,
    note,
)
from sim.errors import InnosimError
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
            help="Lever to search, NAME=LO:HI (default: Fiscal Innovation "
            "Share Floor from its setting to 0.10).",
        ),
    ] = None,
    draws: DrawsOption = None,
    seed: SeedOption = None,
    out: OutOption = None,
    lang: LangOption = Lang.zh,
    strict: StrictOption = False,
    model: ModelOption = None,
) -> None:
    """Mid-term assessment: each target's status against the plan's path, its probability
    given the data, the growth needed, and the lever change restoring P ≥ 80 %. Writes
    assess.csv, assess.html and a chart per target."""
    from sim.analysis.lever_bisection import DEFAULT_GOAL
    from sim.report.assessment_outputs import (
        assessment_chart,
        chart_file,
        console_rows,
        render_assessment,
        write_assessment_outputs,
    )
    from sim.report.console import format_table
    from sim.report.track_record import scenario_track_record
    from sim.scenario import load_scenario, scenario_digest
    from sim.scenario.observed import load_observed
    from sim.workflows.assess import assess as run_assessment
    from sim.workflows.assess import default_lever, parse_lever

    language = lang.value
    target_dir = out if out is not None else default_out("assess", scenario)
    with claimed_out(target_dir):
        try:
            loaded = load_scenario(scenario, model=model)
            data = load_observed(observed, model=model, note=note)
            history = (
                load_observed(loaded.history, model=model, note=note) if loaded.history else None
            )
            settings = monte_carlo_or_exit(loaded, draws, seed)
            search = parse_lever(lever) if lever is not None else default_lever(loaded, model)
            year = as_of if as_of is not None else int(data["year"].max())
            result = run_assessment(
                loaded,
                data,
                year,
                history=history,
                lever=search,
                draws=settings.draws,
                seed=settings.seed,
                model=model,
                strict=strict,
                progress=progress_echo,
            )
            charts = {
                chart_file(target): assessment_chart(
                    target,
                    result.table.iloc[index].to_dict(),
                    result.prior,
                    result.posterior,
                    result.weights,
                    result.observations,
                    result.as_of,
                    result.plan_start,
                    language,
                )
                for index, target in enumerate(loaded.targets)
            }
            record_text = scenario_track_record(
                scenario,
                str(result.prior.attrs.get("model_sha256", "")),
                scenario_digest(loaded),
                language,
            )
            context = {
                "track_record": record_text,
                "scenario": loaded.title.text(language) if loaded.title else scenario.stem,
                "as_of": result.as_of,
                "plan_start": result.plan_start,
                "method": result.conditioned.method,
                "ess": result.conditioned.ess,
                "draws": settings.draws,
                "seed": settings.seed,
                "goal": DEFAULT_GOAL,
                "lever": search.name,
                "low": search.low,
                "high": search.high,
            }
            provenance = {
                "scenario": scenario.name,
                "scenario_sha256": scenario_digest(loaded),
                "observed": observed.name,
                "model_sha256": result.prior.attrs.get("model_sha256", ""),
                "importance_ess": f"{result.conditioned.importance_ess:.1f}",
                "created_at": result.prior.attrs.get("created_at", ""),
            }
            written = write_assessment_outputs(
                target_dir,
                result.table,
                charts,
                lambda images: render_assessment(
                    result.table,
                    loaded.targets,
                    result.observations,
                    images,
                    language,
                    context,
                    provenance,
                ),
                result.conditioned.misfits,
            )
        except InnosimError as exc:
            raise fail(exc) from None
    typer.echo(
        f"{scenario.name} as of {result.as_of}: {result.conditioned.method}, effective sample "
        f"size {result.conditioned.ess:.0f} of {settings.draws} draws"
    )
    for line in result.notes:
        typer.echo(f"note: {line}")
    typer.echo(
        format_table(
            console_rows(
                result.table, loaded.targets, language, search.name, DEFAULT_GOAL, search.high
            )
        )
    )
    typer.echo("")
    typer.echo(record_text)
    for line in misfit_lines(result.conditioned.misfits, language):
        typer.echo(line)
    for path in written:
        typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add ``assess`` to ``app``."""
    app.command(name="assess")(assess)
