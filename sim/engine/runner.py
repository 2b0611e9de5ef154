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
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    as_completed,
    wait,
)
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from sim.engine.api import CompiledModel, TimePath, compile_model, simulate
from sim.errors import EngineError

#: Draws simulated together; bounds memory (results are independent of it).
DEFAULT_CHUNK_SIZE = 10_000
#: Chunks handed to each local worker process at a time.
IN_FLIGHT_PER_WORKER = 2

Progress = Callable[[int], None]
PerDraw = np.ndarray | TimePath
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
    """

    kind: ExecutorKind = "serial"
    workers: int | None = None
    scheduler: str | None = None

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
        with ProcessPoolExecutor(
            max_workers=executor.worker_count, mp_context=_process_context()
        ) as pool:
            yield pool.map
    else:
        with _dask_client(executor, executor.worker_count) as client:

            def mapped(function: Callable[..., Any], *iterables: Iterable[Any]) -> Iterator[Any]:
                return iter(client.gather(client.map(function, *iterables, pure=False)))

            yield mapped


def _process_context() -> multiprocessing.context.BaseContext:
    """Worker processes started by a fork server that has imported the runner: not forked from
    this process, whose other threads (a Dask client's, a progress bar's) may hold locks."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["sim.engine.runner"])
    return context


def _chunks(n_draws: int, chunk_size: int) -> list[tuple[int, int]]:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError("chunk_size must be a positive number of draws")
    return [(start, min(start + chunk_size, n_draws)) for start in range(0, n_draws, chunk_size)]


def _run_chunk(
    model: CompiledModel | str,
    n_draws: int,
    params: dict[str, Any],
    outputs: tuple[str, ...],
    final_time: float | None,
    columns: Mapping[str, Sequence[int]] | None,
) -> dict[str, np.ndarray]:
    """One chunk's values ``{output: (draws, times or columns)}``; a worker is given the model
    file and compiles it (from the disk cache)."""
    compiled = model if isinstance(model, CompiledModel) else compile_model(model)
    result = simulate(compiled, n_draws, params, outputs, final_time=final_time)
    if columns is None:
        return {name: result[name] for name in outputs}
    return {name: result[name][:, list(index)] for name, index in columns.items()}


def run_draws(
    compiled: CompiledModel,
    n_draws: int,
    fixed: Mapping[str, float | TimePath],
    drawn: Mapping[str, PerDraw] | Callable[[int, int], Mapping[str, PerDraw]],
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
            (built chunk by chunk, e.g. settings × draws without holding them all).
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
    chunks = _chunks(n_draws, chunk_size)

    local = executor.kind == "serial" or len(chunks) == 1
    model: CompiledModel | str = compiled if local else str(compiled.path)

    def tasks() -> Iterator[tuple[Any, ...]]:
        for start, stop in chunks:
            if callable(drawn):
                rows = drawn(start, stop)
            else:
                rows = {name: draw_rows(column, start, stop) for name, column in drawn.items()}
            params = dict(fixed) | dict(rows)
            yield model, stop - start, params, outputs, final_time, columns

    def store(index: int, result: Mapping[str, np.ndarray]) -> None:
        start, stop = chunks[index]
        for name, array in result.items():
            values[name][start:stop] = array
        if progress is not None:
            progress(stop - start)

    if local:
        for index, task in enumerate(tasks()):
            store(index, _run_chunk(*task))
    elif executor.kind == "processes":
        workers = min(executor.worker_count, len(chunks))
        with ProcessPoolExecutor(max_workers=workers, mp_context=_process_context()) as pool:
            # a few chunks in flight: their parameters are pickled while others run, and
            # memory holds a few chunks' parameters, not all of them
            pending: dict[Future[dict[str, np.ndarray]], int] = {}
            for index, task in enumerate(tasks()):
                if len(pending) >= IN_FLIGHT_PER_WORKER * workers:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        store(pending.pop(future), future.result())
                pending[pool.submit(_run_chunk, *task)] = index
            for future in as_completed(pending):
                store(pending[future], future.result())
    else:
        _run_on_dask(executor, list(tasks()), store)
    return times, values


@contextlib.contextmanager
def _dask_client(executor: Executor, workers: int) -> Iterator[Any]:
    """A client of the executor's scheduler, or of a local cluster of ``workers`` processes
    started (and closed) for the run."""
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
    executor: Executor,
    tasks: list[tuple[Any, ...]],
    store: Callable[[int, Mapping[str, np.ndarray]], None],
) -> None:
    from distributed import as_completed

    with _dask_client(executor, min(executor.worker_count, len(tasks))) as client:
        futures = [client.submit(_run_chunk, *task, pure=False) for task in tasks]
        order = {future.key: index for index, future in enumerate(futures)}
        for future in as_completed(futures):
            store(order[future.key], future.result())
