"""``innosim calibrate`` and ``innosim assess``: condition a scenario on observed data, and the
plan's mid-term assessment. ``register(app)`` adds both commands to a typer app."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sim.commands.common import (
    DEFAULT_SCENARIO,
    DrawsOption,
    Lang,
    LangOption,
    ModelOption,
    OutOption,
    ScenarioArgument,
    SeedOption,
    default_out,
    fail,
    monte_carlo_or_exit,
    note,
)
from sim.errors import InnosimError

if TYPE_CHECKING:
    pass


def _echo(message: str) -> None:
    typer.echo(message, err=True)


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
            help="Temper when plain importance weights are too uneven (else refuse).",
        ),
    ] = True,
    model: ModelOption = None,
) -> None:
    """Condition a scenario's uncertainties on observed data. Writes posterior.nc (prior draws
    and weights, posterior sample), parameters.csv, targets.csv and fit/parameter charts."""
    from sim.analysis.weighting import parameter_table
    from sim.calibration import (
        condition,
        conditioned_ensembles,
        posterior_dataset,
        target_comparison,
    )
    from sim.modelinfo import model_info
    from sim.observed import load_observed
    from sim.report.calibration import calibration_figures, label, write_calibration_outputs
    from sim.report.console import format_table
    from sim.results import slug
    from sim.scenario import load_scenario

    language = lang.value
    try:
        loaded = load_scenario(scenario, model=model)
        path = observed if observed is not None else loaded.history
        if path is None:
            raise typer.BadParameter(
                f"{scenario} names no history file; give the observed data", param_hint="--observed"
            )
        data = load_observed(path, model=model, note=note)
        settings = monte_carlo_or_exit(loaded, draws, seed)
        conditioned = condition(
            loaded,
            data,
            draws=settings.draws,
            seed=settings.seed,
            model=model,
            tempering=tempering,
            progress=_echo,
        )
        prior, posterior = conditioned_ensembles(loaded, conditioned, model=model)
        targets = target_comparison(prior, posterior, loaded.targets, conditioned)
        parameters = parameter_table(conditioned.prior, conditioned.draws, conditioned.weights)
        dataset = posterior_dataset(conditioned, loaded, path, model)
        sample, _ = conditioned.posterior_sample()
        labels = {name: label(dataset[slug(name)].attrs, language) for name in sample}
        plan_start = model_info(model).defaults.get("Plan Start Time")
        last_year = max(int(data["year"].max()), max(t.year for t in loaded.targets))
        figures = calibration_figures(
            prior,
            posterior,
            conditioned.weights,
            data,
            conditioned.prior,
            sample,
            parameters,
            labels,
            language,
            last_year,
            plan_start,
        )
        written = write_calibration_outputs(
            out if out is not None else default_out("calibrate", scenario),
            dataset,
            parameters,
            targets,
            figures,
        )
    except InnosimError as exc:
        raise fail(exc) from None
    method = "importance weighting" if conditioned.method == "importance" else "tempering"
    typer.echo(
        f"{scenario.name}: {method}, effective sample size {conditioned.ess:.0f} of "
        f"{conditioned.n_draws} draws "
        f"(plain importance weighting: {conditioned.importance_ess:.1f})"
    )
    top = parameters.head(5)[
        ["parameter", "hellinger", "prior_mean", "posterior_mean", "posterior_p05", "posterior_p95"]
    ]
    typer.echo(format_table(top.round(4)))
    typer.echo("")
    shown = targets[["target", "prior_probability", "calibrated_probability"]]
    typer.echo(format_table(shown.round(3)))
    typer.echo("")
    for written_path in written:
        typer.echo(f"wrote {written_path}")


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
    model: ModelOption = None,
) -> None:
    """Mid-term assessment: each target's status against the plan's path, its probability
    given the data, the growth needed, and the lever change restoring P ≥ 80 %. Writes
    assess.csv, assess.html and a chart per target."""
    from sim.analysis.lever_search import DEFAULT_GOAL
    from sim.assessment import assess as run_assessment
    from sim.assessment import default_lever, parse_lever
    from sim.observed import load_observed
    from sim.report.assessment import (
        assessment_chart,
        chart_file,
        console_rows,
        render_assessment,
        write_assessment_outputs,
    )
    from sim.report.console import format_table
    from sim.scenario import load_scenario, scenario_digest

    language = lang.value
    try:
        loaded = load_scenario(scenario, model=model)
        data = load_observed(observed, model=model, note=note)
        history = load_observed(loaded.history, model=model, note=note) if loaded.history else None
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
            progress=_echo,
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
        context = {
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
            out if out is not None else default_out("assess", scenario),
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
    for path in written:
        typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add ``calibrate`` and ``assess`` to ``app``."""
    app.command(name="calibrate")(calibrate)
    app.command(name="assess")(assess)


if __name__ == "__main__":  # pragma: no cover - for trying the commands on their own
    standalone = typer.Typer(add_completion=False)
    register(standalone)
    standalone(sys.argv[1:])
