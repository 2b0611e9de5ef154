"""``innosim compare | sweep | solve``: is 3 % better than 2 %, and what would it take?

Each command parses its flags, calls its workflow (``sim.workflows.compare``, ``.sweep``,
``.solve``: common random numbers, tables, charts, files written through
``sim.report.writer.write_outputs``) and prints the answer it returns with the files written.
Bad input (flag, file, value) exits with code 2 naming it, before any run and without writing
anything.
"""

from __future__ import annotations

import contextlib
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
    echo_report,
    executor_from,
    fail,
    note,
    target_options,
)
from sim.errors import InnosimError
from sim.paths import default_out

if TYPE_CHECKING:
    from sim.scenario.levers import LeverRange

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
def option_errors() -> Iterator[None]:
    """An innosim error that names an option (``LeverError``, ``PolicyQuestionError``)
    becomes a usage error naming it (exit 2); any other innosim error an ``innosim: error:``
    line (exit 2)."""
    try:
        yield
    except InnosimError as exc:
        option = getattr(exc, "option", "")
        if option:
            raise _bad(str(getattr(exc, "message", exc)), option) from None
        raise fail(exc) from None


def parse_levers(
    texts: Sequence[str], *, points: bool, model: Path | None = None
) -> list[LeverRange]:
    """``--lever`` values as ``LeverRange``s (``sim.scenario.levers.parse_lever_range``: the
    Vensim name in any case or spacing or the Chinese label, values as numbers or percentages;
    a bad one exits 2 naming ``--lever``)."""
    from sim.scenario.levers import parse_lever_range

    with option_errors():
        return [parse_lever_range(text, points=points, model=model) for text in texts]


def parse_rebalance(texts: Sequence[str] | None, model: Path | None = None) -> list[str]:
    """``--rebalance`` values: ``proportional`` or a constant by its Vensim name (any case or
    spacing) or Chinese label, given back as the Vensim name (exit 2 naming the option)."""
    from sim.scenario.levers import PROPORTIONAL, lever_name

    with option_errors():
        return [
            text if text.strip() == PROPORTIONAL else lever_name(text, model, "--rebalance")
            for text in texts or []
        ]


def _number(text: str, what: str, option: str) -> float:
    from sim.scenario.fields import percent_value

    fraction = percent_value(text)
    if fraction is not None:
        return fraction
    try:
        value = float(text)
    except ValueError:
        raise _bad(
            f"{what} must be a number (or a percentage, e.g. 5%); got {text!r}", option
        ) from None
    if not math.isfinite(value):
        raise _bad(f"{what} must be finite; got {text!r}", option)
    return value


def parse_share_bounds(
    values: Sequence[str], option: str, model: Path | None = None
) -> float | dict[str, float] | None:
    """``--min-share``/``--max-share``: one number for every share, or ``NAME=VALUE`` items
    (NAME as for ``--lever``; a value as a fraction or a percentage, ``0.05`` or ``5%``)."""
    from sim.scenario.levers import lever_name

    if not values:
        return None
    if len(values) == 1 and "=" not in values[0]:
        return _number(values[0], "the bound", option)
    bounds: dict[str, float] = {}
    for item in values:
        name, sep, value = item.rpartition("=")
        if not sep or not name.strip():
            raise _bad(f"expected one number, or NAME=VALUE for each share; got {item!r}", option)
        with option_errors():
            canonical = lever_name(name.strip(), model, option)
        bounds[canonical] = _number(value, f"the bound of '{name.strip()}'", option)
    return bounds


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
    from sim.workflows.compare import run_compare

    if len(scenarios) < 2:
        raise _bad(
            "at least two scenario files are needed (the first is the reference)", "SCENARIOS"
        )
    resolved = [path.resolve() for path in scenarios]
    for index, path in enumerate(scenarios):
        if resolved[index] in resolved[:index]:
            raise _bad(f"'{path}' is given twice; compare different scenario files", "SCENARIOS")
    runner = executor_from(executor, workers, scheduler)
    target_dir = out if out is not None else default_out("compare", scenarios[0])
    with claimed_out(target_dir), option_errors():
        report = run_compare(
            scenarios,
            target_dir,
            draws=draws,
            seed=seed,
            lang=lang.value,
            model=model,
            executor=runner,
            note=note,
        )
    echo_report(report.text, report.written)


# --- sweep ----------------------------------------------------------------------------------


def sweep(
    scenario: ScenarioArgument = DEFAULT_SCENARIO,
    lever: Annotated[
        list[str] | None,
        typer.Option(
            "--lever",
            help="NAME=START:STOP:N (a constant of the model by its Vensim name or Chinese "
            "label, N points; shares as 0.03 or 3%); give it once for curves, twice for heat "
            "maps. `innosim levers` lists them.",
        ),
    ] = None,
    rebalance: RebalanceOption = None,
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target",
            help="Chart only these targets, by id, variable or label ('all': every target at "
            "once; `innosim targets` lists them).",
        ),
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
    from sim.workflows.sweep import run_sweep

    if not lever:
        raise _bad("give --lever NAME=START:STOP:N once or twice", "--lever")
    if len(lever) > 2:
        raise _bad(f"one or two levers can be swept; got {len(lever)}", "--lever")
    ranges = parse_levers(lever, points=True, model=model)
    members = parse_rebalance(rebalance, model)
    targets = target_options(scenario, target or [])
    runner = executor_from(executor, workers, scheduler)
    target_dir = out if out is not None else default_out("sweep", scenario)
    with claimed_out(target_dir), option_errors():
        report = run_sweep(
            scenario,
            ranges,
            target_dir,
            rebalance=members,
            targets=targets,
            draws=draws,
            seed=seed,
            lang=lang.value,
            model=model,
            executor=runner,
        )
    echo_report(report.text, report.written)


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
            help="Target by id, model variable or Chinese or English label (`innosim targets` "
            "lists them), or 'all' (every target met in the same draw; the default of "
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
            help="NAME or NAME=LO:HI: the constant to solve for (Vensim name or Chinese label; "
            "shares as 0.03 or 3%). The search stays in its plausible policy range, the Vensim "
            "range stated in the model (the default); LO:HI must lie inside it.",
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
    from sim.workflows.solve import BudgetQuestion, run_solve

    if prob is not None and not 0 < prob <= 1:
        raise _bad(f"the required probability must lie in (0, 1]; got {prob:g}", "--prob")
    question = None
    ranges: list[LeverRange] = []
    if budget:
        _only("--lever", lever is not None, "a lever search (without --budget)")
        _only("--rebalance", bool(rebalance), "a lever search (without --budget)")
        if objective is not None and target is not None:
            raise _bad("give either --target or --objective with --budget", "--objective")
        lower = parse_share_bounds(min_share or [], "--min-share", model)
        upper = parse_share_bounds(max_share or [], "--max-share", model)
        question = BudgetQuestion(
            constraint=constraint,
            objective=objective,
            lower=0.0 if lower is None else lower,
            upper=1.0 if upper is None else upper,
            search_draws=search_draws,
            maxiter=maxiter,
        )
    else:
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
        ranges = parse_levers([lever], points=False, model=model)
    if target is not None:
        target = target_options(scenario, [target])[0]
    members = parse_rebalance(rebalance, model)
    runner = executor_from(executor, workers, scheduler)
    target_dir = out if out is not None else default_out("budget" if budget else "solve", scenario)
    with claimed_out(target_dir), option_errors():
        report = run_solve(
            scenario,
            target_dir,
            target=target,
            level=prob,
            lever=ranges[0] if ranges else None,
            rebalance=members,
            grid_points=grid,
            budget=question,
            draws=draws,
            seed=seed,
            lang=lang.value,
            model=model,
            executor=runner,
            note=note,
        )
    echo_report(report.text, report.written)


def register(app: typer.Typer) -> None:
    """Add ``compare``, ``sweep`` and ``solve`` to the ``innosim`` app."""
    app.command(name="compare")(compare)
    app.command(name="sweep")(sweep)
    app.command(name="solve")(solve)
