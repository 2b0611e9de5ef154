"""Compile a model into a vectorised simulator and run many draws of it at once."""

from __future__ import annotations

import difflib
import functools
import hashlib
import math
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from sim.atomic import atomic_write_text
from sim.engine import codegen
from sim.engine.runtime import RuntimeArithmeticError, time_path
from sim.errors import EngineError
from sim.vensim import (
    abstract_model,
    cache_root,
    default_model_path,
    model_sha256,
    variable_key,
)


class TimePath:
    """A time-varying replacement for a constant or an auxiliary, shared or one per draw.

    The value at model time ``t`` is the linear interpolation of ``values`` over ``times``
    (model time, e.g. years), held at the first and last value outside them: exactly what
    PySD's ``Model.run(params={name: pandas.Series(values, index=times)})`` does (it calls
    ``np.interp`` and does not warn outside the series). ``values`` are in the variable's
    units; ``times`` must be strictly increasing and every number finite.

    ``values`` of shape ``(len(times),)`` give one path shared by all draws; of shape
    ``(n_draws, len(times))`` one path per draw (row ``i`` for draw ``i``), all over the same
    ``times``. Paths are immutable, hashable and compare by value.
    """

    __slots__ = ("_hash", "_times", "_xs", "_ys")

    def __init__(self, times: Sequence[float] | np.ndarray, values: Any) -> None:
        try:
            xs = np.array(times, dtype=float)
            ys = np.array(values, dtype=float)
        except (TypeError, ValueError) as exc:
            raise EngineError(f"a TimePath needs numeric times and values: {exc}") from exc
        if xs.ndim != 1 or xs.size == 0:
            raise EngineError(
                f"a TimePath's times must be a non-empty 1-D sequence (got shape {xs.shape})"
            )
        if ys.ndim not in (1, 2) or ys.shape[-1] != xs.size or (ys.ndim == 2 and not ys.shape[0]):
            raise EngineError(
                f"a TimePath's values must have shape ({xs.size},) (one path for all draws) or "
                f"(n_draws, {xs.size}) (one path per draw) for {xs.size} times, got {ys.shape}"
            )
        if not (np.isfinite(xs).all() and np.isfinite(ys).all()):
            raise EngineError("a TimePath's times and values must be finite")
        if (np.diff(xs) <= 0).any():
            raise EngineError("a TimePath's times must be strictly increasing")
        # + 0.0 turns -0.0 into 0.0, so that equal values have equal bytes (hash, ==).
        xs += 0.0
        ys += 0.0
        xs.flags.writeable = False
        ys.flags.writeable = False
        self._xs = xs
        self._ys = ys
        self._times = tuple(xs.tolist())
        self._hash = hash((ys.shape, xs.tobytes(), ys.tobytes()))

    def __setattr__(self, name: str, value: Any) -> None:
        if hasattr(self, "_hash"):
            raise AttributeError("a TimePath is immutable")
        object.__setattr__(self, name, value)

    @property
    def times(self) -> tuple[float, ...]:
        """Times of the points (model time), strictly increasing."""
        return self._times

    @property
    def values(self) -> tuple[float, ...] | tuple[tuple[float, ...], ...]:
        """Values at ``times`` (variable's units): a tuple, or one tuple per draw."""
        if self._ys.ndim == 1:
            return tuple(self._ys.tolist())
        return tuple(tuple(row) for row in self._ys.tolist())

    @property
    def array(self) -> np.ndarray:
        """Values as a read-only array of shape ``(len(times),)`` or ``(n_draws, len(times))``."""
        return self._ys

    @property
    def per_draw(self) -> bool:
        """Whether the path has one row per draw (2-D ``values``)."""
        return self._ys.ndim == 2

    @property
    def n_draws(self) -> int | None:
        """Number of draws of a per-draw path; ``None`` for a path shared by all draws."""
        return int(self._ys.shape[0]) if self._ys.ndim == 2 else None

    def rows(self, start: int, stop: int) -> TimePath:
        """The paths of draws ``start`` to ``stop - 1`` (a shared path is returned as is)."""
        if self._ys.ndim == 1:
            return self
        n = self._ys.shape[0]
        if not 0 <= start < stop <= n:
            raise EngineError(f"rows({start}, {stop}) is not a non-empty range of {n} draws")
        return TimePath(self._xs, self._ys[start:stop])

    def take(self, indices: Sequence[int] | np.ndarray) -> TimePath:
        """The paths of the draws at ``indices``, in that order (a shared path as is)."""
        if self._ys.ndim == 1:
            return self
        index = np.asarray(indices)
        n = self._ys.shape[0]
        if index.ndim != 1 or not index.size or index.dtype.kind not in "iu":
            raise EngineError("take() needs a non-empty 1-D sequence of integer draw indices")
        if (index < -n).any() or (index >= n).any():
            raise EngineError(f"take(): a draw index is out of range for {n} draws")
        return TimePath(self._xs, self._ys[index])

    def row(self, index: int) -> TimePath:
        """The 1-D path of draw ``index`` (a shared path is returned as is)."""
        if self._ys.ndim == 1:
            return self
        n = self._ys.shape[0]
        if not -n <= index < n:
            raise EngineError(f"row({index}) is out of range for {n} draws")
        return TimePath(self._xs, self._ys[index])

    @classmethod
    def stack(cls, paths: Sequence[TimePath]) -> TimePath:
        """One per-draw path from shared paths over the same times (row ``i``: ``paths[i]``)."""
        if not paths:
            raise EngineError("TimePath.stack needs at least one path")
        first = paths[0]
        for path in paths:
            if path.per_draw:
                raise EngineError("TimePath.stack takes paths shared by all draws (1-D values)")
            if path._times != first._times:
                raise EngineError(
                    f"TimePath.stack needs paths over the same times: {first._times} "
                    f"vs {path._times}"
                )
        return cls(first._xs, np.stack([path._ys for path in paths]))

    def __call__(self, t: float | np.ndarray) -> float | np.ndarray:
        """Value at model time ``t``: shaped like ``t`` for a shared path; for a per-draw one
        of shape ``(n_draws,)`` for a scalar ``t``, ``(n_draws, len(t))`` for a 1-D array."""
        if self._ys.ndim == 1:
            return np.interp(t, self._xs, self._ys)
        at = np.asarray(t, dtype=float)
        if at.ndim == 0:
            return time_path(self._xs, self._ys, float(at))
        return np.stack([np.interp(at, self._xs, row) for row in self._ys])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TimePath):
            return NotImplemented
        return (
            self._hash == other._hash
            and self._ys.shape == other._ys.shape
            and self._xs.tobytes() == other._xs.tobytes()
            and self._ys.tobytes() == other._ys.tobytes()
        )

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        if self._ys.ndim == 1:
            return f"TimePath(times={self._times}, values={self.values})"
        return (
            f"TimePath(times={self._times}, values=<{self._ys.shape[0]} draws x "
            f"{self._ys.shape[1]} points>)"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (TimePath, (self._xs, self._ys))


@dataclass(frozen=True)
class CompiledModel:
    """A model ready for ``simulate`` (build it with ``compile_model``).

    Attributes:
        path: the ``.mdl`` file.
        sha256: hex digest of its bytes.
        constants: default value of each constant, by Vensim name (model units).
        variables: every variable's Vensim name, in the order of the file (lookups included).
        kinds: ``constant``, ``auxiliary``, ``stock``, ``stateful`` or ``lookup`` by name.
        initial_time, final_time, time_step, saveper: the model's control values (model time).
    """

    path: Path
    sha256: str
    constants: Mapping[str, float]
    variables: tuple[str, ...]
    kinds: Mapping[str, str]
    initial_time: float
    final_time: float
    time_step: float
    saveper: float
    _structure: codegen.ModelStructure = field(repr=False, compare=False)
    _keys: Mapping[str, str] = field(repr=False, compare=False)

    def times(
        self,
        saveper: float | None = None,
        time_step: float | None = None,
        final_time: float | None = None,
    ) -> np.ndarray:
        """Save times of a run (model time, years, rounded as PySD reports them); arguments as
        for ``simulate``."""
        grid = _time_grid(self, time_step, saveper, final_time)
        return np.array([t for t, saved in zip(grid.times, grid.save, strict=True) if saved])

    def default_cache_path(self) -> Path:
        """Where the generated simulator of all outputs is cached (inspectable)."""
        return _cache_dir(self) / "all.py"


class SimulationResult(Mapping[str, np.ndarray]):
    """Outputs of ``simulate``: ``result[name]`` has shape ``(n_draws, len(result.times))``."""

    def __init__(self, times: np.ndarray, values: dict[str, np.ndarray]) -> None:
        self.times = times
        self._values = values

    def __getitem__(self, name: str) -> np.ndarray:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        shape = next(iter(self._values.values())).shape if self._values else ()
        return f"SimulationResult({len(self)} outputs, shape {shape})"


@functools.lru_cache(maxsize=8)
def _compile(path: str, sha256: str) -> CompiledModel:
    structure = codegen.model_structure(abstract_model(path), path)
    variables = structure.variables
    constants: dict[str, float] = {}
    for variable in variables.values():
        if variable.kind == "constant":
            value = codegen._literal_value(variable.ast)
            constants[variable.name] = float(value) if value is not None else math.nan
    control = structure.control
    return CompiledModel(
        path=Path(path),
        sha256=sha256,
        constants=MappingProxyType(constants),
        variables=tuple(v.name for v in variables.values()),
        kinds=MappingProxyType({v.name: v.kind for v in variables.values()}),
        initial_time=control["initial_time"],
        final_time=control["final_time"],
        time_step=control["time_step"],
        saveper=control["saveper"],
        _structure=structure,
        _keys=MappingProxyType({v.name: v.key for v in variables.values()}),
    )


def compile_model(path: str | os.PathLike[str] | None = None) -> CompiledModel:
    """Parse a model (default: ``default_model_path()``) and check the engine can run it.

    Raises ``ModelError`` for a missing or unparseable file and ``EngineError`` naming the
    variable and construct the engine does not support.
    """
    model_path = Path(path) if path is not None else default_model_path()
    return _compile(str(model_path.resolve()), model_sha256(model_path))


def _cache_dir(compiled: CompiledModel) -> Path:
    key = f"{compiled.path.stem}-{compiled.sha256[:20]}-engine{codegen.ENGINE_VERSION}"
    return cache_root() / "engine" / key


_modules: dict[tuple[str, tuple[str, ...], frozenset[str]], Any] = {}
_modules_lock = threading.Lock()


def _runner(compiled: CompiledModel, outputs: tuple[str, ...], time_paths: frozenset[str]) -> Any:
    """The generated ``run`` for these outputs and time paths (generated once, cached)."""
    memo_key = (compiled.sha256, outputs, time_paths)
    with _modules_lock:
        if memo_key in _modules:
            return _modules[memo_key]
    all_outputs = tuple(v.key for v in compiled._structure.variables.values() if v.kind != "lookup")
    if outputs == all_outputs and not time_paths:
        variant = "all"
    else:
        digest = hashlib.sha256(repr((outputs, sorted(time_paths))).encode()).hexdigest()
        variant = f"variant-{digest[:16]}"
    target = _cache_dir(compiled) / f"{variant}.py"
    source = target.read_text(encoding="utf-8") if target.is_file() else None
    if source is None:
        header = (
            f'"""Ensemble simulator generated by sim.engine {codegen.ENGINE_VERSION} from '
            f"{compiled.path.name}\n(sha256 {compiled.sha256}). Do not edit: regenerated "
            'from the model."""'
        )
        source = codegen.generate(compiled._structure, outputs, time_paths, header)
        atomic_write_text(target, source)
    namespace: dict[str, Any] = {"__name__": f"innosim_engine_{variant}"}
    exec(compile(source, str(target), "exec"), namespace)  # noqa: S102 - our own generated code
    run = namespace["run"]
    with _modules_lock:
        _modules[memo_key] = run
    return run


@dataclass(frozen=True)
class _Grid:
    times: list[float]
    save: list[bool]
    reported: np.ndarray


def _stop_time(compiled: CompiledModel, final_time: float | None) -> float:
    """Where the run stops (model time, years): ``final_time``, checked, or FINAL TIME."""
    if final_time is None:
        return compiled.final_time
    if isinstance(final_time, bool) or not isinstance(
        final_time, int | float | np.integer | np.floating
    ):
        raise EngineError(f"final_time must be a number (model time, years), got {final_time!r}")
    stop = float(final_time)
    t0, tf = compiled.initial_time, compiled.final_time
    if not (math.isfinite(stop) and t0 <= stop <= tf):
        raise EngineError(
            f"final_time must be from INITIAL TIME {t0:g} to the FINAL TIME {tf:g} "
            f"of {compiled.path.name} (got {stop:g})"
        )
    return stop


def _time_grid(
    compiled: CompiledModel,
    time_step: float | None,
    saveper: float | None,
    final_time: float | None = None,
) -> _Grid:
    """PySD's time stepping: ``t += dt`` while ``t + dt*1e-5 < tf``; save test too.

    ``tf`` is ``final_time`` (model time, years; ``None``: the model's FINAL TIME): an earlier
    one gives a prefix of the full run's grid (same float additions), ending at the first
    step at or after it.
    """
    dt = compiled.time_step if time_step is None else float(time_step)
    every = compiled.saveper if saveper is None else float(saveper)
    if not (math.isfinite(dt) and dt > 0 and math.isfinite(every) and every > 0):
        raise EngineError(f"time_step and saveper must be positive (got {dt}, {every})")
    t0, tf = compiled.initial_time, _stop_time(compiled, final_time)
    prec = dt * 1e-5
    times = [t0]
    t = t0
    while t + dt * 1e-5 < tf:
        t = t + dt
        times.append(t)
    save = []
    for t in times:
        delay = t - t0
        save.append(bool(delay % every < prec or -delay % every < prec))
    if abs(every / dt - round(every / dt)) > 1e-9:
        raise EngineError(f"saveper {every} is not a multiple of the time step {dt}")
    decimals = -int(np.log10(dt * 1e-5))
    reported = np.round(np.array([t for t, s in zip(times, save, strict=True) if s]), decimals)
    return _Grid(times=times, save=save, reported=reported)


def _resolve_name(compiled: CompiledModel, name: str) -> str:
    """Vensim name of ``name`` (matched like PySD: case-, space- and underscore-insensitive)."""
    if name in compiled._keys:
        return name
    wanted = variable_key(name)
    for candidate in compiled.variables:
        if variable_key(candidate) == wanted:
            return candidate
    close = difflib.get_close_matches(name, compiled.variables, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise EngineError(f"'{name}' is not a variable of {compiled.path.name}{hint}")


def _check_params(
    compiled: CompiledModel, n_draws: int, params: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, tuple[np.ndarray, np.ndarray]]]:
    constants: dict[str, Any] = {}
    paths: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for raw_name, value in params.items():
        name = _resolve_name(compiled, raw_name)
        key = compiled._keys[name]
        kind = compiled.kinds[name]
        if isinstance(value, TimePath):
            if kind not in ("constant", "auxiliary"):
                raise EngineError(
                    f"'{name}' is a {kind}: a TimePath can replace a constant or an auxiliary"
                )
            if value.per_draw and value.n_draws != n_draws:
                raise EngineError(
                    f"parameter '{name}': a per-draw TimePath needs values of shape "
                    f"({n_draws}, {len(value.times)}) for {n_draws} draws, "
                    f"got {value.array.shape}"
                )
            xs = np.array(value.times)
            ys = np.asfortranarray(value.array) if value.per_draw else np.array(value.array)
            ys.flags.writeable = False  # the run returns views of it: none may write into it
            paths[key] = (xs, ys)
            continue
        if kind != "constant":
            raise EngineError(
                f"'{name}' is a {kind}, not a constant: give a TimePath to replace it"
            )
        if isinstance(value, bool) or not isinstance(value, int | float | np.ndarray | np.number):
            raise EngineError(
                f"parameter '{name}': expected a number, an array of shape ({n_draws},) "
                f"or a TimePath, got {type(value).__name__}"
            )
        array = np.asarray(value, dtype=float)
        if array.ndim == 0:
            number = float(array)
            if not math.isfinite(number):
                raise EngineError(f"parameter '{name}' must be finite (got {number})")
            constants[key] = number
            continue
        if array.shape != (n_draws,):
            raise EngineError(
                f"parameter '{name}': per-draw values must have shape ({n_draws},), "
                f"got {array.shape}"
            )
        if not np.isfinite(array).all():
            raise EngineError(f"parameter '{name}' has non-finite values")
        constants[key] = np.ascontiguousarray(array)
    return constants, paths


def simulate(
    compiled: CompiledModel,
    n_draws: int,
    params: Mapping[str, float | np.ndarray | TimePath] | None = None,
    outputs: Sequence[str] | None = None,
    time_step: float | None = None,
    saveper: float | None = None,
    final_time: float | None = None,
) -> SimulationResult:
    """Run ``n_draws`` draws of a compiled model together (Euler, as PySD).

    Args:
        compiled: from ``compile_model``.
        n_draws: number of draws (>= 1).
        params: overrides by Vensim name (PySD-style insensitive names accepted), in the
            model's units: a constant's value as a number (all draws) or an array of shape
            ``(n_draws,)`` (one value per draw); a ``TimePath`` for a constant or auxiliary,
            shared by all draws or per draw (``values`` of shape ``(n_draws, len(times))``).
        outputs: variables to keep (default: every variable but lookups).
        time_step, saveper: override the model's TIME STEP and SAVEPER (model time).
        final_time: stop the run there (model time, years; after INITIAL TIME, at most the
            model's FINAL TIME; default: FINAL TIME). Only the time loop stops early (at the
            first time step at or after it): FINAL TIME in the model's equations keeps the
            model's value, so the result is exactly the first columns of the full run's.

    Returns:
        ``SimulationResult``: ``result[name]`` of shape ``(n_draws, n_save_times)`` in the
        variable's units, ``result.times`` the save times. Draws are independent: the result
        for a draw does not depend on which other draws are run with it.

    Raises:
        EngineError: unknown name (with a suggestion), bad shape or non-finite value, a
            ``final_time`` outside (INITIAL TIME, FINAL TIME], or a draw whose run cannot be
            computed.
    """
    if isinstance(n_draws, bool) or not isinstance(n_draws, int | np.integer) or n_draws < 1:
        raise EngineError(f"n_draws must be a positive integer (got {n_draws!r})")
    n = int(n_draws)
    constants, paths = _check_params(compiled, n, params or {})
    if outputs is None:
        names = [v for v in compiled.variables if compiled.kinds[v] != "lookup"]
    else:
        if isinstance(outputs, str):
            raise EngineError("outputs must be a sequence of variable names, not one string")
        names = list(dict.fromkeys(_resolve_name(compiled, o) for o in outputs))
        lookups = [o for o in names if compiled.kinds[o] == "lookup"]
        if lookups:
            raise EngineError(f"lookups have no value over time: {', '.join(lookups)}")
    grid = _time_grid(compiled, time_step, saveper, final_time)
    keys = tuple(compiled._keys[name] for name in names)
    run = _runner(compiled, keys, frozenset(paths))
    n_save = len(grid.reported)
    buffers = [np.empty((n, n_save)) for _ in keys]
    dt = compiled.time_step if time_step is None else float(time_step)
    every = compiled.saveper if saveper is None else float(saveper)
    try:
        with np.errstate(all="ignore"):
            run(constants, paths, n, grid.times, grid.save, dt, every, buffers)
    except (RuntimeArithmeticError, ZeroDivisionError, OverflowError) as exc:
        raise EngineError(f"the run of {compiled.path.name} failed: {exc}") from exc
    return SimulationResult(grid.reported, dict(zip(names, buffers, strict=True)))
