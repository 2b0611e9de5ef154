"""``innosim compare | sweep | solve``: is 3 % better than 2 %, and what would it take?

Each command answers on common random numbers (see ``sim.workflows.explore``), writes its table as
CSV and its chart as PNG into ``--out`` (staged: nothing half-written), and prints the answer with
its Monte Carlo error. Bad input (flag, file, value) exits with code 2 naming it, before any run and
without writing anything.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator, Sequence
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
    executor_from,
    fail,
)
from sim.errors import InnosimError
from sim.paths import default_out

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from sim.engine.runner import Executor
    from sim.scenario import Language, MonteCarlo, Scenario
    from sim.workflows.explore import LeverRange

RebalanceOption = Annotated[
    list[str] | None,
    typer.Option(
        "--rebalance",
        help="For a lever bound by a constraint (shares adding to 1): the member that absorbs "
        "the change, or 'proportional' (the other members scale together). Repeatable.",
    ),
]


def _bad(message: str, option: str) -> typer.BadParameter:
    return typer.BadParameter(message, param_hint=option)


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    """An ``ExploreError`` naming an option becomes a usage error naming it (exit 2); any
    other innosim error an ``innosim: error:`` line (exit 2)."""
    from sim.workflows.explore import ExploreError

    try:
        yield
    except ExploreError as exc:
        if exc.option:
            raise _bad(exc.message, exc.option) from None
        raise fail(exc) from None
    except InnosimError as exc:
        raise fail(exc) from None


def _load(path: Path, model: Path | None) -> Scenario:
    from sim.scenario import load_scenario

    with _errors():
        return load_scenario(path, model=model)


def _number(text: str, what: str, option: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _bad(f"{what} must be a number; got {text!r}", option) from None
    if not math.isfinite(value):
        raise _bad(f"{what} must be finite; got {text!r}", option)
    return value


def parse_sweep_lever(text: str) -> LeverRange:
    """``NAME=START:STOP:N`` → ``LeverRange`` (``typer.BadParameter`` naming ``--lever``)."""
    from sim.workflows.explore import LeverRange

    name, sep, spec = text.rpartition("=")
    parts = spec.split(":")
    if not sep or not name.strip() or len(parts) != 3:
        example = "'Fiscal Innovation Share Floor=0.01:0.04:7'"
        raise _bad(f"expected NAME=START:STOP:N (e.g. {example}); got {text!r}", "--lever")
    start = _number(parts[0], "START", "--lever")
    stop = _number(parts[1], "STOP", "--lever")
    try:
        count = int(parts[2])
    except ValueError:
        raise _bad(f"N must be a whole number of points; got {parts[2]!r}", "--lever") from None
    if not 2 <= count <= 1001:
        raise _bad(f"N must be between 2 and 1001 points; got {count}", "--lever")
    return LeverRange(name.strip(), start, stop, count)


def parse_solve_lever(text: str) -> tuple[str, float | None, float | None]:
    """``NAME`` or ``NAME=LO:HI`` → ``(name, lo, hi)`` (``None`` for the default range)."""
    name, sep, spec = text.rpartition("=")
    if not sep:
        return text.strip(), None, None
    parts = spec.split(":")
    if not name.strip() or len(parts) != 2:
        raise _bad(f"expected NAME or NAME=LO:HI; got {text!r}", "--lever")
    return name.strip(), _number(parts[0], "LO", "--lever"), _number(parts[1], "HI", "--lever")


def parse_share_bounds(values: Sequence[str], option: str) -> float | dict[str, float] | None:
    """``--min-share``/``--max-share``: one number for every share, or ``NAME=VALUE`` items."""
    if not values:
        return None
    if len(values) == 1 and "=" not in values[0]:
        return _number(values[0], "the bound", option)
    bounds: dict[str, float] = {}
    for item in values:
        name, sep, value = item.rpartition("=")
        if not sep or not name.strip():
            raise _bad(f"expected one number, or NAME=VALUE for each share; got {item!r}", option)
        bounds[name.strip()] = _number(value, f"the bound of '{name.strip()}'", option)
    return bounds


def _write(out: Path, files: dict[str, bytes | str]) -> list[Path]:
    """Write ``files`` into ``out`` (staged: all or nothing) and return their paths."""
    from sim.atomic import staged_output_dir

    with _errors(), staged_output_dir(out) as stage:
        for name, content in files.items():
            if isinstance(content, bytes):
                (stage / name).write_bytes(content)
            else:
                (stage / name).write_text(content, encoding="utf-8")
    return [out / name for name in files]


def _png(figure: Figure) -> bytes:
    from sim.report.figures import figure_png

    return figure_png(figure)


def _csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False)


def _report(written: Sequence[Path], notes: Sequence[str] = ()) -> None:
    for note in notes:
        typer.echo(f"innosim: note: {note}", err=True)
    typer.echo("")
    for path in written:
        typer.echo(f"wrote {path}")


def _settings_text(settings: MonteCarlo, lang: Language) -> str:
    from sim.report.policy_outputs import TEXT

    return TEXT[lang]["draws"].format(
        draws=settings.draws, sampler=settings.sampler, seed=settings.seed
    )


# --- compare --------------------------------------------------------------------------------


def compare(
    scenarios: Annotated[
        list[Path],
        typer.Argument(help="Two or more scenario files; the first is the reference."),
    ],
    draws: DrawsOption = None,
    seed: SeedOption = None,
    out: OutOption = None,
    lang: LangOption = Lang.zh,
    executor: ExecutorOption = ExecutorChoice.serial,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    model: ModelOption = None,
) -> None:
    """Compare scenarios on common random numbers: each target's probability per scenario and
    the paired difference from the first, with 95 % intervals (Newcombe 1998). Writes
    compare.csv, compare.json and compare.png."""
    from sim.analysis.paired_difference import compare_table
    from sim.report.console import format_table
    from sim.report.policy_outputs import TEXT, compare_chart, compare_console
    from sim.workflows.explore import compare_scenarios

    if len(scenarios) < 2:
        raise _bad(
            "at least two scenario files are needed (the first is the reference)", "SCENARIOS"
        )
    language = lang.value
    target_dir = out if out is not None else default_out("compare", scenarios[0])
    with claimed_out(target_dir):
        loaded = [_load(path, model) for path in scenarios]
        names = [path.stem for path in scenarios]
        if len(set(names)) != len(names):
            names = [str(path) for path in scenarios]
        with _errors():
            comparison = compare_scenarios(
                loaded,
                draws,
                seed,
                model=model,
                executor=executor_from(executor, workers, scheduler),
            )
        table = compare_table(comparison.results, names, comparison.targets)
        targets, settings = comparison.targets, comparison.settings
        titles = [
            s.title.text(language) if s.title else n for s, n in zip(loaded, names, strict=True)
        ]
        subtitle = _settings_text(settings, language)
        figure = compare_chart(table, targets, titles, language, subtitle)
        meta = {
            "scenarios": [str(path) for path in scenarios],
            "names": names,
            "reference": names[0],
            "draws": settings.draws,
            "seed": settings.seed,
            "sampler": settings.sampler,
            "notes": comparison.notes,
            "method": "paired difference P(scenario) - P(reference) on common random numbers; "
            "Wilson intervals for probabilities, Newcombe (1998, method 10) for differences",
            "scenario_sha256": [r.attrs["scenario_sha256"] for r in comparison.results],
        }
        written = _write(
            target_dir,
            {
                "compare.csv": _csv(table),
                "compare.json": json.dumps(meta, ensure_ascii=False, indent=2) + "\n",
                "compare.png": _png(figure),
            },
        )
    typer.echo(TEXT[language]["compare_title"])
    typer.echo(subtitle)
    typer.echo(format_table(compare_console(table, targets, names, language)))
    typer.echo(TEXT[language]["compare_note"].format(ref=names[0]))
    _report(written, comparison.notes)


# --- sweep ----------------------------------------------------------------------------------


def _extremes(table: pd.DataFrame, columns: Sequence[str]) -> tuple[str, str]:
    """Lowest and highest probability in ``table`` with where they are."""
    from sim.report.policy_outputs import percent

    lowest = table.loc[table["probability"].idxmin()]
    highest = table.loc[table["probability"].idxmax()]

    def where(row: pd.Series) -> str:
        return ", ".join(f"{row[c]:.4g}" for c in columns)

    return (
        f"{percent(lowest['probability'])} @ {where(lowest)}",
        f"{percent(highest['probability'])} @ {where(highest)}",
    )


def sweep(
    scenario: ScenarioArgument = DEFAULT_SCENARIO,
    lever: Annotated[
        list[str] | None,
        typer.Option(
            "--lever",
            help="NAME=START:STOP:N (a constant of the model, N points); give it once for "
            "curves, twice for heat maps.",
        ),
    ] = None,
    rebalance: RebalanceOption = None,
    target: Annotated[
        list[str] | None,
        typer.Option("--target", help="Chart only these targets ('all': every target at once)."),
    ] = None,
    draws: DrawsOption = None,
    seed: SeedOption = None,
    out: OutOption = None,
    lang: LangOption = Lang.zh,
    executor: ExecutorOption = ExecutorChoice.serial,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    model: ModelOption = None,
) -> None:
    """Probability of each target along one lever (curves with 95 % bands) or over two (heat
    maps), the same draws at every point. Writes sweep.csv and sweep.png."""
    import pandas as pd

    from sim.report.console import format_table
    from sim.report.policy_outputs import TEXT, sweep_chart, target_label
    from sim.workflows.explore import check_target, sweep_levers

    if not lever:
        raise _bad("give --lever NAME=START:STOP:N once or twice", "--lever")
    if len(lever) > 2:
        raise _bad(f"one or two levers can be swept; got {len(lever)}", "--lever")
    ranges = [parse_sweep_lever(text) for text in lever]
    language = lang.value
    target_dir = out if out is not None else default_out("sweep", scenario)
    with claimed_out(target_dir):
        loaded = _load(scenario, model)
        with _errors():
            keys = [check_target(loaded, name) for name in target or []] or None
            result = sweep_levers(
                loaded,
                ranges,
                list(rebalance or []),
                draws=draws,
                seed=seed,
                model=model,
                executor=executor_from(executor, workers, scheduler),
            )
        table = result.table()
        names = [r.name for r in ranges]
        labels = [info.label(language) for info in result.levers]
        figure = sweep_chart(table, names, labels, loaded.targets, language, keys)
        written = _write(
            target_dir,
            {"sweep.csv": _csv(table), "sweep.png": _png(figure)},
        )
    t = TEXT[language]
    rows = []
    for key, group in table.groupby("target", sort=False):
        if keys is not None and key not in keys:
            continue
        lowest, highest = _extremes(group, names)
        rows.append(
            {
                t["indicator"]: target_label(str(key), loaded.targets, language),
                t["lowest"]: lowest,
                t["highest"]: highest,
            }
        )
    typer.echo(" × ".join(labels))
    typer.echo(_settings_text(result.monte_carlo, language))
    typer.echo(format_table(pd.DataFrame(rows)))
    _report(written)


# --- solve ----------------------------------------------------------------------------------


def _only(flag: str, given: bool, mode: str) -> None:
    if given:
        raise _bad(f"only with {mode}", flag)


def solve(
    scenario: ScenarioArgument = DEFAULT_SCENARIO,
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            help="Target name, or 'all' (every target met in the same draw; the default of "
            "--budget).",
        ),
    ] = None,
    prob: Annotated[
        float | None,
        typer.Option("--prob", help="Required probability, in (0, 1], e.g. 0.8."),
    ] = None,
    lever: Annotated[
        str | None,
        typer.Option(
            "--lever",
            help="NAME or NAME=LO:HI: the constant to solve for. The search stays in its "
            "plausible policy range, the Vensim range stated in the model (the default); "
            "LO:HI must lie inside it.",
        ),
    ] = None,
    rebalance: RebalanceOption = None,
    grid: Annotated[
        int, typer.Option("--grid", min=3, max=101, help="Points of the bracketing grid.")
    ] = 11,
    budget: Annotated[
        bool,
        typer.Option(
            "--budget",
            help="Split the budget shares (a constraint's members) to maximise the probability "
            "of --target (default all) or the --objective.",
        ),
    ] = False,
    objective: Annotated[
        Path | None,
        typer.Option(
            "--objective",
            help="With --budget: YAML 'weights: {target: weight}' to maximise the weighted "
            "mean probability.",
            dir_okay=False,
        ),
    ] = None,
    constraint: Annotated[
        str | None,
        typer.Option(
            "--constraint", help="With --budget: the constraint to split (allocation_shares)."
        ),
    ] = None,
    min_share: Annotated[
        list[str] | None,
        typer.Option(
            "--min-share",
            help="With --budget: a lower bound for every share, or NAME=VALUE (repeatable).",
        ),
    ] = None,
    max_share: Annotated[
        list[str] | None,
        typer.Option(
            "--max-share",
            help="With --budget: an upper bound for every share, or NAME=VALUE (repeatable).",
        ),
    ] = None,
    search_draws: Annotated[
        int,
        typer.Option(
            "--search-draws",
            min=16,
            max=100_000,
            help="With --budget: draws per split during the search.",
        ),
    ] = 1000,
    maxiter: Annotated[
        int,
        typer.Option(
            "--maxiter",
            min=1,
            max=1000,
            help="With --budget: generations of differential evolution.",
        ),
    ] = 40,
    draws: DrawsOption = None,
    seed: SeedOption = None,
    out: OutOption = None,
    lang: LangOption = Lang.zh,
    executor: ExecutorOption = ExecutorChoice.serial,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    model: ModelOption = None,
) -> None:
    """What would it take? The least (or greatest) lever value within its plausible policy
    range (the range stated in the model) at which a target's probability reaches --prob,
    with its interval, or "not reachable within the plausible policy range" with the best
    found; also in money (亿元 per year) where the lever reaches a money flow. With --budget,
    the split of the budget shares that maximises the probability of the targets. Writes
    solve.csv, solve_curve.csv, solve.png and solve.html (budget.csv, budget_targets.csv and
    budget.png with --budget)."""
    if prob is not None and not 0 < prob <= 1:
        raise _bad(f"the required probability must lie in (0, 1]; got {prob:g}", "--prob")
    if budget:
        _only("--lever", lever is not None, "a lever search (without --budget)")
        _only("--rebalance", bool(rebalance), "a lever search (without --budget)")
        if objective is not None and target is not None:
            raise _bad("give either --target or --objective with --budget", "--objective")
        _solve_budget(
            scenario,
            target,
            prob,
            objective,
            constraint,
            min_share,
            max_share,
            search_draws,
            maxiter,
            draws,
            seed,
            out,
            lang.value,
            model,
            executor_from(executor, workers, scheduler),
        )
        return
    for flag, given in (
        ("--objective", objective is not None),
        ("--constraint", constraint is not None),
        ("--min-share", bool(min_share)),
        ("--max-share", bool(max_share)),
    ):
        _only(flag, given, "--budget")
    if lever is None:
        raise _bad("the lever to solve for is required (NAME or NAME=LO:HI)", "--lever")
    if target is None:
        raise _bad("the target is required (a target name or 'all')", "--target")
    if prob is None:
        raise _bad("the required probability is required, e.g. --prob 0.8", "--prob")
    name, low, high = parse_solve_lever(lever)
    language = lang.value
    target_dir = out if out is not None else default_out("solve", scenario)
    with claimed_out(target_dir):
        loaded = _load(scenario, model)
        from sim.report.policy_outputs import (
            render_solve_html,
            solve_chart,
            solve_text,
            target_label,
        )
        from sim.workflows.explore import solve_lever

        with _errors():
            answer = solve_lever(
                loaded,
                name,
                target,
                prob,
                low,
                high,
                list(rebalance or []),
                draws=draws,
                seed=seed,
                model=model,
                grid_points=grid,
                executor=executor_from(executor, workers, scheduler),
            )
        record = answer.record()
        curve = answer.curve()
        lever_label = answer.lever.label(language)
        money_label = answer.money.label(language) if answer.money is not None else ""
        target_text = target_label(target, loaded.targets, language)
        figure = solve_chart(curve, record, lever_label, target_text, language)
        image = _png(figure)
        settings = _settings_text(answer.monte_carlo, language)
        html = render_solve_html(
            record, lever_label, target_text, language, image, settings, money_label
        )
        written = _write(
            target_dir,
            {
                "solve.csv": _csv(answer.table()),
                "solve_curve.csv": _csv(curve),
                "solve.png": image,
                "solve.html": html,
            },
        )
    typer.echo(solve_text(record, lever_label, target_text, language, money_label))
    typer.echo(settings)
    _report(written)


def _solve_budget(
    scenario: Path,
    target: str | None,
    prob: float | None,
    objective: Path | None,
    constraint: str | None,
    min_share: list[str] | None,
    max_share: list[str] | None,
    search_draws: int,
    maxiter: int,
    draws: int | None,
    seed: int | None,
    out: Path | None,
    language: Language,
    model: Path | None,
    executor: Executor,
) -> None:
    import pandas as pd

    from sim.analysis.paired_difference import ALL_TARGETS
    from sim.report.console import format_table
    from sim.report.policy_outputs import TEXT, budget_chart, percent, points, target_label
    from sim.workflows.explore import load_objective, solve_budget

    lower = parse_share_bounds(min_share or [], "--min-share")
    upper = parse_share_bounds(max_share or [], "--max-share")
    target_dir = out if out is not None else default_out("budget", scenario)
    with claimed_out(target_dir):
        loaded = _load(scenario, model)
        with _errors():
            weights = load_objective(objective, loaded.targets) if objective is not None else None
            result = solve_budget(
                loaded,
                constraint=constraint,
                target=target or ALL_TARGETS,
                weights=weights,
                lower=0.0 if lower is None else lower,
                upper=1.0 if upper is None else upper,
                draws=draws,
                seed=seed,
                search_draws=search_draws,
                maxiter=maxiter,
                model=model,
                executor=executor,
            )
        t = TEXT[language]
        objective_text = (
            t["weighted"]
            if result.weights is not None
            else target_label(result.objective, loaded.targets, language)
        )
        shares = result.shares_table()
        numbers = {
            "objective": objective_text,
            "base": percent(result.baseline.value),
            "base_low": percent(result.baseline.low),
            "base_high": percent(result.baseline.high),
            "best": percent(result.best.value),
            "best_low": percent(result.best.low),
            "best_high": percent(result.best.high),
            "diff": points(result.difference.value),
            "diff_low": points(result.difference.low),
            "diff_high": points(result.difference.high),
        }
        summary = t["budget_result"].format(**numbers)
        title = t["budget_title"].format(**numbers)
        subtitle = t["budget_subtitle"].format(**numbers)
        figure = budget_chart(shares, language, f"{title}\n{subtitle}")
        targets_table = result.targets_table()
        targets_table.insert(1, "objective", result.objective)
        written = _write(
            target_dir,
            {
                "budget.csv": _csv(shares),
                "budget_targets.csv": _csv(targets_table),
                "budget.png": _png(figure),
            },
        )
    display = pd.DataFrame(
        {
            t["share"]: [
                label if language == "zh" and label else name
                for name, label in zip(shares["share"], shares["label_zh"], strict=True)
            ],
            t["baseline"]: [percent(v) for v in shares["baseline"]],
            t["best"]: [percent(v) for v in shares["best"]],
        }
    )
    typer.echo(format_table(display))
    typer.echo(summary)
    typer.echo(_settings_text(result.monte_carlo, language))
    notes = [
        f"search: {result.search.evaluations} splits × {result.search_draws} draws, "
        f"{result.search.generations} generations of differential evolution"
        + ("" if result.search.converged else " (stopped at --maxiter before converging)")
    ]
    if prob is not None:
        reached = result.best.value >= prob
        notes.append(
            f"the best split {'reaches' if reached else 'does not reach'} the required "
            f"probability {percent(prob)}"
        )
    _report(written, notes)


def register(app: typer.Typer) -> None:
    """Add ``compare``, ``sweep`` and ``solve`` to the ``innosim`` app."""
    app.command(name="compare")(compare)
    app.command(name="sweep")(sweep)
    app.command(name="solve")(solve)
