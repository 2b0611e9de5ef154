"""Options, types and error handling shared by every ``innosim`` command."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sim.errors import InnosimError
from sim.paths import DEFAULT_SCENARIO_PATH

if TYPE_CHECKING:
    from sim.engine.runner import Executor

#: Exit code for bad input (unreadable scenario or model, bad option value).
EXIT_BAD_INPUT = 2


class Lang(StrEnum):
    """Language of labels in tables and figures."""

    zh = "zh"
    en = "en"


ModelOption = Annotated[
    Path | None,
    typer.Option(
        "--model",
        help="Vensim model file (default: $INNOSIM_MODEL or model/innovation_ecosystem.mdl).",
        dir_okay=False,
    ),
]
LangOption = Annotated[Lang, typer.Option("--lang", help="Language of labels.")]
ScenarioArgument = Annotated[
    Path, typer.Argument(help="Scenario file (default: scenarios/baseline.yaml).")
]
DEFAULT_SCENARIO = DEFAULT_SCENARIO_PATH
DrawsOption = Annotated[
    int | None,
    typer.Option(
        "--draws", min=1, max=1_000_000, help="Monte Carlo draws (default: the scenario's)."
    ),
]
SeedOption = Annotated[
    int | None, typer.Option("--seed", min=0, help="Random seed (default: the scenario's).")
]


class ExecutorChoice(StrEnum):
    """Where the draws run (``sim.engine.runner.Executor``)."""

    serial = "serial"
    processes = "processes"
    dask = "dask"


ExecutorOption = Annotated[
    ExecutorChoice,
    typer.Option(
        "--executor",
        help="Where the draws run: here (serial), in local worker processes, or on Dask "
        "(an existing cluster with --scheduler, else a local one). Results are the same.",
    ),
]
WorkersOption = Annotated[
    int | None,
    typer.Option("--workers", min=1, help="Worker processes (default: the number of CPUs)."),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="ADDRESS",
        help="Address of an existing Dask scheduler, e.g. tcp://10.0.0.5:8786 "
        "(with --executor dask).",
    ),
]


def executor_from(kind: ExecutorChoice, workers: int | None, scheduler: str | None) -> Executor:
    """The ``Executor`` of the command's options (a bad combination: exit 2)."""
    from sim.engine.runner import Executor

    if scheduler is not None and kind is not ExecutorChoice.dask:
        raise typer.BadParameter("goes with --executor dask", param_hint="--scheduler")
    if workers is not None and kind is ExecutorChoice.serial:
        raise typer.BadParameter("goes with --executor processes or dask", param_hint="--workers")
    return Executor(kind.value, workers=workers, scheduler=scheduler)


def output_dir(text: str) -> Path:
    """``--out``'s value as a path; an empty one (the working directory, unmeant) is refused."""
    if not text.strip():
        raise typer.BadParameter(
            "an empty path names no directory; give the output directory, e.g. --out out/run"
        )
    return Path(text)


OutOption = Annotated[
    Path | None,
    typer.Option(
        "--out",
        help="Output directory (default: out/<scenario>/<command>).",
        parser=output_dir,
        metavar="DIR",
    ),
]


def target_options(
    scenario: Path, texts: Sequence[str], option: str = "--target", *, allow_all: bool = True
) -> list[str]:
    """The target ids that ``--target`` values name in ``scenario``: an id, the model
    variable, or the Chinese or English label (``sim.scenario.names.target_ids``); ``all``
    where ``allow_all``. An ambiguous or unknown name exits 2 naming ``option`` (with the
    candidates or close matches); an unreadable scenario exits 2 as every command does."""
    from sim.analysis.paired_difference import ALL_TARGETS
    from sim.scenario.names import target_ids
    from sim.vensim.catalogue import UnresolvedName

    if not texts:
        return []
    try:
        return target_ids(scenario, texts, (ALL_TARGETS,) if allow_all else ())
    except UnresolvedName as exc:
        raise typer.BadParameter(exc.message, param_hint=option) from None
    except InnosimError as exc:
        raise fail(exc) from None


def fail(exc: InnosimError) -> typer.Exit:
    """Print ``exc`` on stderr and return the exit (code 2) to raise."""
    typer.echo(f"innosim: error: {exc}", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


@contextlib.contextmanager
def exit_on_error() -> Iterator[None]:
    """An ``InnosimError`` raised in the ``with`` body becomes ``fail`` (exit 2)."""
    try:
        yield
    except InnosimError as exc:
        raise fail(exc) from None


@contextlib.contextmanager
def claimed_out(out: Path) -> Iterator[Path]:
    """Hold output directory ``out`` for the command (``sim.atomic.claimed_output_dir``:
    checked, locked against other runs, stale staging removed) before anything is run; a
    refusal exits with code 2. Yields its resolved path."""
    from sim.atomic import claimed_output_dir
    from sim.errors import OutputError

    with contextlib.ExitStack() as stack:
        try:
            resolved = stack.enter_context(claimed_output_dir(out))
        except OutputError as exc:
            raise fail(exc) from None
        yield resolved


def note(message: str) -> None:
    """Print ``innosim: note: <message>`` on stderr (a decision or an adjustment made)."""
    typer.echo(f"innosim: note: {message}", err=True)


def echo_written(written: Sequence[Path]) -> None:
    """Print the files a command wrote, one ``wrote PATH`` line each."""
    for path in written:
        typer.echo(f"wrote {path}")


def echo_report(text: str, written: Sequence[Path]) -> None:
    """Print a command's answer, a blank line and the files it wrote."""
    typer.echo(text)
    typer.echo("")
    echo_written(written)
