"""The model catalogue: every variable of a model with its structure, documentation, kind,
limits and default value, and the one way names are matched.

Built once per model file content from the parsed model (``sim.vensim.model``: one
``ModelVariable`` per variable) and the values of the constants and control variables as the
compiled model gives them (``sim.engine.CompiledModel``; a constant given by an expression is
evaluated by the engine at INITIAL TIME). PySD runs only for a model the engine cannot
compile. Names are compared through ``variable_key`` (case, spaces and underscores ignored).
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sim.vensim.model import variable_key

if TYPE_CHECKING:
    from sim.vensim.model import ModelVariable


@dataclass(frozen=True)
class ModelInfo:
    """The catalogue of one model: its variables, kinds, limits and default constants.

    Attributes:
        path: the ``.mdl`` file.
        docs: every variable (structure and documentation), by Vensim name.
        defaults: value of every constant and control variable, in the model's units.
        initial_time: ``INITIAL TIME`` (year; model time t is the end of calendar year t).
        final_time: ``FINAL TIME`` (year).
    """

    path: Path
    docs: dict[str, ModelVariable] = field(repr=False)
    defaults: dict[str, float] = field(repr=False)
    initial_time: float
    final_time: float

    def kind(self, name: str) -> str:
        """Kind of variable ``name`` (stock, flow, auxiliary, constant, lookup, control)."""
        return self.docs[name].kind

    def limits(self, name: str) -> tuple[float | None, float | None]:
        """Vensim limits ``(min, max)`` of ``name``; ``None`` where open."""
        return self.docs[name].limits

    def find(self, name: str) -> ModelVariable | None:
        """The variable whose name matches ``name`` up to case, spaces and underscores."""
        wanted = variable_key(name)
        return next((doc for doc in self.docs.values() if doc.key == wanted), None)

    def unknown(self, name: str) -> str:
        """Message for a name that is not a variable of the model, with a close match."""
        return unknown_name(name, self.docs, what="a variable of the model")


def did_you_mean(name: str, known: Iterable[str]) -> str | None:
    """The known name closest to ``name`` (a match up to case, spaces and underscores first,
    ``variable_key``), or ``None``."""
    candidates = list(known)
    keyed = {variable_key(candidate): candidate for candidate in candidates}
    if variable_key(name) in keyed:
        return keyed[variable_key(name)]
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return close[0] if close else None


def unknown_name(name: str, known: Iterable[str], *, what: str) -> str:
    """``'name' is not <what> (the exact Vensim name is expected); did you mean '…'?``"""
    guess = did_you_mean(name, known)
    hint = f"; did you mean '{guess}'?" if guess else ""
    return f"'{name}' is not {what} (the exact Vensim name is expected){hint}"


@functools.lru_cache(maxsize=4)
def _load(path: str, sha256: str) -> ModelInfo:
    from sim.engine import EngineError, compile_model, simulate
    from sim.vensim import model_variables, run_yearly

    del sha256  # part of the cache key only
    docs = {doc.name: doc for doc in model_variables(path)}
    fixed = [name for name, doc in docs.items() if doc.kind in ("constant", "control")]
    try:
        compiled = compile_model(path)
    except EngineError:  # a model the engine does not run: PySD evaluates everything
        first = run_yearly(fixed, path=path).iloc[0]
        defaults = {name: float(first[name]) for name in fixed}
    else:
        values = dict(compiled.constants) | {
            "INITIAL TIME": compiled.initial_time,
            "FINAL TIME": compiled.final_time,
            "TIME STEP": compiled.time_step,
            "SAVEPER": compiled.saveper,
        }
        computed = [name for name in fixed if math.isnan(values.get(name, math.nan))]
        defaults = {name: float(values[name]) for name in fixed if name not in computed}
        if computed:  # constants given by an expression: their value at INITIAL TIME
            first_step = compiled.initial_time + compiled.time_step
            run = simulate(compiled, 1, outputs=computed, final_time=first_step)
            defaults |= {name: float(run[name][0, 0]) for name in computed}
    return ModelInfo(
        path=Path(path),
        docs=docs,
        defaults=defaults,
        initial_time=defaults["INITIAL TIME"],
        final_time=defaults["FINAL TIME"],
    )


def model_info(model: str | os.PathLike[str] | None = None) -> ModelInfo:
    """``ModelInfo`` of ``model`` (default: the project's model); cached by file content.

    Raises ``ModelError`` if the model is missing, unparseable or does not run.
    """
    from sim.vensim import default_model_path

    path = Path(model) if model is not None else default_model_path()
    if not path.is_file():
        from sim.errors import ModelError

        raise ModelError(f"Vensim model file not found: {path}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return _load(str(path.resolve()), digest)
