"""``innosim calibrate``: condition a scenario on observed data; ``innosim backtest``: forecasts
from past origins scored against the later observations. ``register(app)`` adds the commands
to a typer app."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

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
    """The observations the model does not reproduce, for the console (zh or en)."""
    if misfits.empty:
        return []
    n = len(misfits)
    lines = [
        f"模型在3个标准差内(测量误差与模型偏差)无法再现 {n} 个观测值，详见 misfits.csv："
        if lang == "zh"
        else f"{n} observation(s) not reproduced within 3 sd (measurement error and model "
        "discrepancy), see misfits.csv:"
    ]
    for row in misfits.itertuples(index=False):
        if lang == "zh":
            text = (
                f"  {row.variable} {row.year}: {row.value:g}，最接近的模型值 "
                f"{row.closest_value:.4g}（相差 {abs(row.closest_residual):.1f} 个标准差）；"
                f"可能有问题的结构 {row.suspect_structure}"
            )
            if pd.notna(row.suggested_value):
                text += f"；模型单位为比例，{row.value:g} 像是百分数，应为 {row.suggested_value:g}"
        else:
            text = (
                f"  {row.variable} {row.year}: {row.value:g}, closest model value "
                f"{row.closest_value:.4g} ({abs(row.closest_residual):.1f} sd away); structure "
                f"to suspect {row.suspect_structure}"
            )
            if pd.notna(row.suggested_value):
                text += (
                    f"; the model's unit is a fraction: {row.value:g} looks like a percentage, "
                    f"give {row.suggested_value:g}"
                )
        lines.append(text)
    return lines


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
) -> None:
    """Condition a scenario's uncertainties on observed data. Writes posterior.nc (prior draws
    and weights, posterior sample), parameters.csv, targets.csv and fit/parameter charts."""
    from sim.analysis.importance_weighting import joint_identification, parameter_table
    from sim.report.calibration_outputs import calibration_figures, label, write_calibration_outputs
    from sim.report.console import format_table
    from sim.results import slug
    from sim.scenario import load_scenario
    from sim.scenario.observed import load_observed
    from sim.vensim.catalogue import model_info
    from sim.workflows.calibrate import (
        condition,
        conditioned_ensembles,
        posterior_dataset,
        target_comparison,
    )

    language = lang.value
    target_dir = out if out is not None else default_out("calibrate", scenario)
    with claimed_out(target_dir):
        try:
            loaded = load_scenario(scenario, model=model)
            path = observed if observed is not None else loaded.history
            if path is None:
                raise typer.BadParameter(
                    f"{scenario} names no history file; give the observed data",
                    param_hint="--observed",
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
                strict=strict,
                progress=progress_echo,
            )
            prior, posterior = conditioned_ensembles(loaded, conditioned, model=model)
            targets = target_comparison(prior, posterior, loaded.targets, conditioned)
            parameters = parameter_table(conditioned.prior, conditioned.draws, conditioned.weights)
            dataset = posterior_dataset(conditioned, loaded, path, model)
            sample, _, _ = conditioned.posterior_sample()
            pairs = joint_identification(conditioned.prior, sample)
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
                target_dir,
                dataset,
                parameters,
                targets,
                figures,
                conditioned.misfits,
                pairs,
            )
        except InnosimError as exc:
            raise fail(exc) from None
    method = (
        "importance weighting"
        if conditioned.method == "importance"
        else "sequential Monte Carlo through the observed years"
    )
    typer.echo(
        f"{scenario.name}: {method}, effective sample size {conditioned.ess:.0f} of "
        f"{conditioned.n_draws} draws "
        f"(plain importance weighting: {conditioned.importance_ess:.1f})"
    )
    top = parameters.head(5)[
        [
            "parameter",
            "hellinger",
            "contraction",
            "prior_mean",
            "posterior_mean",
            "posterior_p05",
            "posterior_p95",
        ]
    ]
    typer.echo(format_table(top.round(4)))
    typer.echo("")
    if not pairs.empty:
        typer.echo("pairs the data inform together (rank correlation prior -> posterior):")
        typer.echo(format_table(pairs.head(5).round(2)))
        typer.echo("")
    shown = targets[["target", "prior_probability", "calibrated_probability"]]
    typer.echo(format_table(shown.round(3)))
    typer.echo("")
    for line in misfit_lines(conditioned.misfits, language):
        typer.echo(line)
    for written_path in written:
        typer.echo(f"wrote {written_path}")


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
) -> None:
    """Backtest: condition on the observations up to each origin, forecast, and score every
    later observation (median, 5-95 %, PIT, 50 %/90 % coverage, CRPS). Writes backtest.csv,
    coverage.csv, backtest.json, pit.png, a chart per variable and backtest.html."""
    from sim.report.backtest_outputs import (
        backtest_figures,
        console_lines,
        render_backtest,
        write_backtest_outputs,
    )
    from sim.scenario import load_scenario
    from sim.workflows.backtest import backtest as run_backtest

    language = lang.value
    target_dir = out if out is not None else default_out("backtest", scenario)
    with claimed_out(target_dir):
        try:
            loaded = load_scenario(scenario, model=model)
            settings = monte_carlo_or_exit(loaded, draws, seed)
            result = run_backtest(
                loaded,
                observed,
                origin,
                draws=settings.draws,
                seed=settings.seed,
                model=model,
                progress=progress_echo,
                note=note,
            )
            title = loaded.title.text(language) if loaded.title else scenario.stem
            written = write_backtest_outputs(
                target_dir,
                result,
                backtest_figures(result, language),
                lambda images: render_backtest(result, images, language, title),
            )
        except InnosimError as exc:
            raise fail(exc) from None
    for line in console_lines(result, language):
        typer.echo(line)
    typer.echo("")
    for path in written:
        typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add ``calibrate`` and ``backtest`` to ``app``."""
    app.command(name="calibrate")(calibrate)
    app.command(name="backtest")(backtest)


if __name__ == "__main__":  # pragma: no cover - for trying the commands on their own
    standalone = typer.Typer(add_completion=False)
    register(standalone)
    standalone(sys.argv[1:])
