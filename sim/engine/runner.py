"""The runner: many draws of a compiled model, in chunks, on one core, several, or a cluster.

``run_draws`` is the one place where draws are split into chunks and where the chunks run:

* ``Executor("serial")`` runs them one after the other in this process;
* ``Executor("processes", workers=k)`` in ``k`` local worker processes;
* ``Executor("dask", scheduler=ADDRESS)`` on an existing Dask cluster (``distributed``), or on a
  local one of ``workers`` processes when no address is given.

Every draw's run depends only on its own parameters (``sim.engine.simulate``), so the results
are bit-identical whatever the executor, the number of workers and the chunk size
(``tests/engine/test_runner.py``). A chunk's parameters are the shared ones and its rows of the
per-draw ones; workers compile the model from its file (cached on disk, ``sim.engine.api``).

The per-draw parameters are given whole (arrays, per-draw ``TimePath``s: the runner sends
each chunk its rows), built chunk by chunk in this process (a function of ``(start, stop)``),
or drawn by the chunk where it runs (a ``ChunkDraws``: this process makes a small recipe per
chunk, the worker draws the chunk's parameters from it, e.g. from the seed, so neither the
parameters of every draw nor their pickles are ever made here). ``stream_draws`` gives the
chunks as they finish, so a caller can write them out without holding every draw;
``run_draws`` gathers them. At most ``IN_FLIGHT_PER_WORKER`` chunks per worker are submitted
at a time, which bounds the memory their recipes and results take.
"""

from __future__ import annotations

import abc
import contextlib
import functools
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

import numpy as np

from sim.engine.api import CompiledModel, TimePath, compile_model, simulate
from sim.errors import EngineError

#: Draws simulated together; bounds memory (results are independent of it).
DEFAULT_CHUNK_SIZE = 10_000
#: Chunks submitted to each worker (local process or Dask worker) at a time.
IN_FLIGHT_PER_WORKER = 2

Progress = Callable[[int], None]
PerDraw = np.ndarray | TimePath
T = TypeVar("T")
ExecutorKind = Literal["serial", "processes", "dask"]


@dataclass(frozen=True)
class Executor:
    """Where the chunks of a run go.

    Attributes:
        kind: ``serial``, ``processes`` or ``dask``.
        workers: worker processes (``processes``, or a local Dask cluster); default: the
            number of CPUs.
        scheduler: address of an existing Dask scheduler (``dask`` only), e.g.
            ``tcp://10.0.0.5:8786``; default: a local cluster started for the run.
        live: the process pool or Dask client that ``kept_workers`` started and keeps for
            every run inside its block (``None``: each run starts and stops its own).
    """

    kind: ExecutorKind = "serial"
    workers: int | None = None
    scheduler: str | None = None
    live: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in ("serial", "processes", "dask"):
            raise EngineError(f"executor must be serial, processes or dask (got {self.kind!r})")
        if self.workers is not None and (
            isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1
        ):
            raise EngineError(f"workers must be a positive integer (got {self.workers!r})")
        if self.scheduler is not None and self.kind != "dask":
            raise EngineError("a scheduler address goes with the dask executor")

    @property
    def worker_count(self) -> int:
        """The number of workers it uses (1 for ``serial``)."""
        if self.kind == "serial":
            return 1
        return self.workers or os.cpu_count() or 1


SERIAL = Executor()


def chunk_size_for(n_draws: int, executor: Executor) -> int:
    """Draws per chunk for a run of ``n_draws``: ``DEFAULT_CHUNK_SIZE`` on one core; on several
    workers the draws split evenly among them (at most the default), so that a small run
    keeps every worker busy. Results do not depend on the chunk size."""
    if executor.worker_count == 1:
        return DEFAULT_CHUNK_SIZE
    return max(1, min(DEFAULT_CHUNK_SIZE, -(-n_draws // executor.worker_count)))


@contextlib.contextmanager
def kept_workers(executor: Executor, preload: Sequence[str] = ()) -> Iterator[Executor]:
    """``executor`` with its workers started once and kept for every run and task map inside
    the block (a conditioning's many small runs, a lever search's settings), instead of each
    run starting workers that import and compile the model anew. ``preload``: modules the
    worker processes import when they start."""
    if executor.live is not None or executor.worker_count == 1:
        yield executor
    elif executor.kind == "processes":
        pool = ProcessPoolExecutor(
            max_workers=executor.worker_count, mp_context=_process_context(preload)
        )
        try:
            yield replace(executor, live=pool)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    else:
        with _dask_client(executor, executor.worker_count) as client:
            yield replace(executor, live=client)


def keeps_workers(function: Callable[..., T]) -> Callable[..., T]:
    """Decorator: ``function``'s keyword ``executor`` (``None`` or absent: serial) keeps its
    workers for the whole call (``kept_workers``), so every run inside shares them."""

    @functools.wraps(function)
    def wrapper(*args: Any, executor: Executor | None = None, **kwargs: Any) -> T:
        with kept_workers(executor or SERIAL) as live:
            return function(*args, executor=live, **kwargs)

    return wrapper


def draw_rows(value: PerDraw, start: int, stop: int) -> PerDraw:
    """Draws ``start`` to ``stop - 1`` of a per-draw parameter: an array of one value per draw
    or a per-draw ``TimePath`` (``TimePath.rows``; a shared one as it is)."""
    return value.rows(start, stop) if isinstance(value, TimePath) else value[start:stop]


def draw_take(value: PerDraw, index: np.ndarray) -> PerDraw:
    """The draws at ``index`` (integers, in that order) of a per-draw parameter."""
    index = np.asarray(index, dtype=np.intp)
    return value.take(index) if isinstance(value, TimePath) else np.asarray(value)[index]


@contextlib.contextmanager
def task_map(executor: Executor) -> Iterator[Callable[..., Iterator[Any]]]:
    """A ``map``-like function that runs independent tasks on ``executor`` and gives their
    results in order (for work other than model runs, e.g. SALib's estimators). The function
    and its arguments must be picklable for ``processes`` and ``dask``."""
    if executor.kind == "serial" or (executor.kind == "processes" and executor.worker_count == 1):
        yield map
    elif executor.kind == "processes":
        with kept_workers(executor) as live:
            yield live.live.map
    else:
        with _dask_client(executor, executor.worker_count) as client:

            def mapped(function: Callable[..., Any], *iterables: Iterable[Any]) -> Iterator[Any]:
                return iter(client.gather(client.map(function, *iterables, pure=False)))

            yield mapped


def _process_context(preload: Sequence[str] = ()) -> multiprocessing.context.BaseContext:
    """Worker processes started by a fork server that has imported the runner (and the modules
    ``preload`` names, e.g. that of a ``ChunkDraws``' recipes): not forked from this process,
    whose other threads (a Dask client's, a progress bar's) may hold locks. The preload list
    takes effect when the fork server starts (the first pool of this process)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(dict.fromkeys(["sim.engine.runner", *preload])))
    return context


class ChunkDraws(abc.ABC):
    """Per-draw parameters that each chunk draws where it runs.

    ``chunk(start, stop)`` is called here, once per chunk in increasing order of ``start``, and
    returns a small picklable recipe; the recipe, called with no arguments in the process that
    runs the chunk, returns the parameters of draws ``start`` to ``stop - 1`` (arrays of
    ``stop - start`` values, per-draw ``TimePath``s of as many rows): the same, bit for bit,
    as those rows of the whole run's parameters.
    """

    @abc.abstractmethod
    def chunk(self, start: int, stop: int) -> Callable[[], Mapping[str, PerDraw]]:
        """The recipe of draws ``start`` to ``stop - 1``."""


@dataclass(frozen=True)
class FinishedChunk:
    """Draws ``start`` to ``stop - 1`` of a run (``stream_draws``).

    Attributes:
        start, stop: the draws.
        values: ``{output: array (stop - start, times or columns)}``.
        drawn: the per-draw parameters asked for with ``keep``, ``{name: (stop - start,)}``.
    """

    start: int
    stop: int
    values: dict[str, np.ndarray] = field(repr=False)
    drawn: dict[str, np.ndarray] = field(repr=False, default_factory=dict)


def _chunks(n_draws: int, chunk_size: int) -> list[tuple[int, int]]:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError("chunk_size must be a positive number of draws")
    return [(start, min(start + chunk_size, n_draws)) for start in range(0, n_draws, chunk_size)]


Rows = Mapping[str, PerDraw] | Callable[[], Mapping[str, PerDraw]]


def _run_chunk(
    model: CompiledModel | str,
    n_draws: int,
    fixed: Mapping[str, Any],
    rows: Rows,
    outputs: tuple[str, ...],
    final_time: float | None,
    columns: Mapping[str, Sequence[int]] | None,
    keep: tuple[str, ...] = (),
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """One chunk's values ``{output: (draws, times or columns)}`` and the per-draw parameters
    named in ``keep``; a worker is given the model file and compiles it (from the disk cache),
    and draws the chunk's parameters when given their recipe."""
    compiled = model if isinstance(model, CompiledModel) else compile_model(model)
    drawn = rows() if callable(rows) else rows
    params = dict(fixed) | dict(drawn)
    result = simulate(compiled, n_draws, params, outputs, final_time=final_time)
    kept = {name: np.asarray(drawn[name]) for name in keep}
    if columns is None:
        return {name: result[name] for name in outputs}, kept
    return {name: result[name][:, list(index)] for name, index in columns.items()}, kept


def stream_draws(
    compiled: CompiledModel,
    n_draws: int,
    fixed: Mapping[str, float | TimePath],
    drawn: Mapping[str, PerDraw] | Callable[[int, int], Mapping[str, PerDraw]] | ChunkDraws,
    outputs: Sequence[str],
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    executor: Executor = SERIAL,
    final_time: float | None = None,
    columns: Mapping[str, Sequence[int]] | None = None,
    keep: Sequence[str] = (),
) -> Iterator[FinishedChunk]:
    """Simulate ``n_draws`` draws of ``compiled`` in chunks, giving each chunk as it finishes
    (in any order; ``run_draws`` for every draw at once). Arguments as for ``run_draws``;
    ``drawn`` may also be a ``ChunkDraws`` (each chunk drawn where it runs), and ``keep``
    names per-draw parameters (one value per draw) to return with each chunk."""
    outputs = tuple(dict.fromkeys(outputs))
    keep = tuple(dict.fromkeys(keep))
    chunks = _chunks(n_draws, chunk_size)
    local = executor.kind == "serial" or len(chunks) == 1
    model: CompiledModel | str = compiled if local else str(compiled.path)
    fixed = dict(fixed)

    def tasks() -> Iterator[tuple[Any, ...]]:
        for start, stop in chunks:
            if isinstance(drawn, ChunkDraws):
                rows: Rows = drawn.chunk(start, stop)
            elif callable(drawn):
                rows = drawn(start, stop)
            else:
                rows = {name: draw_rows(column, start, stop) for name, column in drawn.items()}
            yield model, stop - start, fixed, rows, outputs, final_time, columns, keep

    def finished(index: int, result: tuple[dict, dict]) -> FinishedChunk:
        start, stop = chunks[index]
        return FinishedChunk(start, stop, result[0], result[1])

    if local:
        for index, task in enumerate(tasks()):
            yield finished(index, _run_chunk(*task))
    elif executor.kind == "processes":
        preload = [type(drawn).__module__] if isinstance(drawn, ChunkDraws) else []
        workers = min(executor.worker_count, len(chunks))
        pool = executor.live or ProcessPoolExecutor(
            max_workers=workers, mp_context=_process_context(preload)
        )
        try:
            pending: dict[Future[Any], int] = {}
            limit = IN_FLIGHT_PER_WORKER * workers
            for index, task in enumerate(tasks()):
                while len(pending) >= limit:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        yield finished(pending.pop(future), future.result())
                pending[pool.submit(_run_chunk, *task)] = index
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield finished(pending.pop(future), future.result())
        finally:
            if pool is not executor.live:
                pool.shutdown(wait=True, cancel_futures=True)
    else:
        for index, result in _run_on_dask(executor, tasks(), len(chunks)):
            yield finished(index, result)


def run_draws(
    compiled: CompiledModel,
    n_draws: int,
    fixed: Mapping[str, float | TimePath],
    drawn: Mapping[str, PerDraw] | Callable[[int, int], Mapping[str, PerDraw]] | ChunkDraws,
    outputs: Sequence[str],
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    executor: Executor = SERIAL,
    progress: Progress | None = None,
    final_time: float | None = None,
    columns: Mapping[str, Sequence[int]] | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Simulate ``n_draws`` draws of ``compiled`` in chunks.

    Args:
        fixed: parameters shared by every draw (numbers or ``TimePath``s, model units).
        drawn: per-draw parameters: arrays of length ``n_draws`` or per-draw ``TimePath``s of
            ``n_draws`` rows; or a function ``(start, stop) -> parameters of those draws``
            (built here chunk by chunk, e.g. settings × draws without holding them all); or a
            ``ChunkDraws`` (each chunk's drawn where it runs, from a small recipe).
        outputs: the variables to keep.
        chunk_size: draws simulated together (bounds memory; results do not depend on it).
        executor: where the chunks run (``Executor``).
        progress: called with the number of draws finished after each chunk.
        final_time: stop the runs there (model time, years; default: FINAL TIME).
        columns: keep only these save-time columns of each output (``{output: indices}``;
            default: every save time of every output).

    Returns:
        The save times (model time, years) and ``{output: array (n_draws, times or
        columns)}``, the same whatever the executor and the chunk size.
    """
    outputs = tuple(dict.fromkeys(outputs))
    times = compiled.times(final_time=final_time)
    kept = {name: len(columns[name]) for name in columns} if columns is not None else None
    shapes = kept or dict.fromkeys(outputs, times.size)
    values = {name: np.empty((n_draws, size)) for name, size in shapes.items()}
    for chunk in stream_draws(
        compiled,
        n_draws,
        fixed,
        drawn,
        outputs,
        chunk_size=chunk_size,
        executor=executor,
        final_time=final_time,
        columns=columns,
    ):
        for name, array in chunk.values.items():
            values[name][chunk.start : chunk.stop] = array
        if progress is not None:
            progress(chunk.stop - chunk.start)
    return times, values


@contextlib.contextmanager
def _dask_client(executor: Executor, workers: int) -> Iterator[Any]:
    """A client of the executor's scheduler, or of a local cluster of ``workers`` processes
    started (and closed) for the run; the kept one inside ``kept_workers``."""
    if executor.live is not None:
        yield executor.live
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - distributed is a dependency
        raise EngineError(f"the dask executor needs dask.distributed ({exc})") from None
    cluster = None
    if executor.scheduler is None:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
    try:
        try:
            client = Client(executor.scheduler or cluster, timeout="10s")
        except OSError as exc:
            raise EngineError(
                f"cannot reach the Dask scheduler at {executor.scheduler}: {exc}"
            ) from None
        with client:
            yield client
    finally:
        if cluster is not None:
            cluster.close()


def _run_on_dask(
    executor: Executor, tasks: Iterable[tuple[Any, ...]], n_tasks: int
) -> Iterator[tuple[int, tuple[dict, dict]]]:
    """``(index, result)`` of each task as it finishes on Dask, at most
    ``IN_FLIGHT_PER_WORKER`` tasks per worker submitted at a time."""
    from distributed import wait as dask_wait

    workers = min(executor.worker_count, n_tasks)
    limit = IN_FLIGHT_PER_WORKER * workers
    with _dask_client(executor, workers) as client:
        pending: dict[str, tuple[Any, int]] = {}

        def finished() -> Iterator[tuple[int, tuple[dict, dict]]]:
            done, _ = dask_wait(
                [future for future, _ in pending.values()], return_when="FIRST_COMPLETED"
            )
            for future in done:
                _, index = pending.pop(future.key)
                yield index, future.result()

        for index, task in enumerate(tasks):
            while len(pending) >= limit:
                yield from finished()
            future = client.submit(_run_chunk, *task, pure=False)
            pending[future.key] = (future, index)
        while pending:
            yield from finished()
