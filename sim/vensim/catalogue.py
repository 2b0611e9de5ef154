"""The model catalogue: every variable of a model with its structure, documentation, kind,
limits and default value, and the one way names are matched.

Built once per model file content from the parsed model (``sim.vensim.model``: one
``ModelVariable`` per variable) and the values of the constants and control variables as the
compiled model gives them (``sim.engine.CompiledModel``; a constant given by an expression is
evaluated by the engine at INITIAL TIME). PySD runs only for a model the engine cannot
compile. Names are compared through ``variable_key`` (case, spaces and underscores ignored).

Names as people write them (a Vensim name in any case or spacing, a Chinese label, a target's
id) are matched by ``resolve_name``: one canonical name, or an ``UnresolvedName`` that lists
the candidates of an ambiguous name or the close matches of an unknown one (``close_names``).
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import math
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sim.errors import InnosimError
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


#: Most close matches a message suggests.
MAX_SUGGESTIONS = 5


class UnresolvedName(InnosimError, LookupError):
    """A name written by a person matches no entry, or several.

    Attributes:
        message: what was wrong, with the candidates or close matches.
        candidates: the canonical names it could mean (ambiguous) or that are close (unknown).
        ambiguous: whether it matched several entries exactly.
    """

    def __init__(self, message: str, candidates: Iterable[str] = (), ambiguous: bool = False):
        self.message = message
        self.candidates = tuple(candidates)
        self.ambiguous = ambiguous
        super().__init__(message)


def name_key(text: str) -> str:
    """The form in which names and labels are compared: Unicode-normalised (NFKC: full-width
    letters and digits as ASCII), case-folded, runs of spaces, underscores and hyphens as one
    ``_`` (``"Technology-contract  turnover"`` → ``technology_contract_turnover``); for a
    Vensim name the same as ``variable_key``."""
    text = unicodedata.normalize("NFKC", text).strip().strip('"').strip().casefold()
    return re.sub(r"[\s_\-\u2010-\u2014]+", "_", text).strip("_")


def _aliases(canonical: str, aliases: Mapping[str, Iterable[str]]) -> list[str]:
    return [canonical, *(alias for alias in aliases[canonical] if alias)]


def close_names(
    text: str, aliases: Mapping[str, Iterable[str]], limit: int = MAX_SUGGESTIONS
) -> list[str]:
    """The canonical names close to ``text``, best first: those whose name or an alias holds
    every word of ``text`` (``fiscal share`` → ``Fiscal Innovation Share Floor``; ``财政创新``
    → every label containing it), else those whose name or alias is spelt alike (difflib)."""
    wanted = name_key(text)
    words = [word for word in wanted.split("_") if word]
    if not words:
        return []
    keys = {name: [name_key(alias) for alias in _aliases(name, aliases)] for name in aliases}
    holding = [
        name for name, forms in keys.items() if any(all(w in f for w in words) for f in forms)
    ]
    if holding:
        holding.sort(key=lambda name: min(len(f) for f in keys[name]))
        return holding[:limit]
    scores = {
        name: max(difflib.SequenceMatcher(None, wanted, form).ratio() for form in forms)
        for name, forms in keys.items()
    }
    alike = sorted((n for n, score in scores.items() if score >= 0.6), key=lambda n: -scores[n])
    return alike[:limit]


def _listed(names: Iterable[str], describe: Callable[[str], str]) -> str:
    """``'A' (label), 'B' or 'C'``: names quoted as they are to be written, then what they are."""
    shown = [f"'{name}'" + (f" ({describe(name)})" if describe(name) else "") for name in names]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"


#: Most entries a message lists when nothing written is close to a known one.
MAX_LISTED = 20


def resolve_name(
    text: str,
    aliases: Mapping[str, Iterable[str]],
    *,
    what: str,
    accepted: str,
    describe: Callable[[str], str] = lambda name: "",
) -> str:
    """The canonical name that ``text`` means.

    ``text`` matches an entry when its ``name_key`` equals that of the entry's canonical name
    or of one of its aliases (labels); a canonical name matched as such wins over aliases of
    other entries.

    Args:
        text: the name as written.
        aliases: canonical name → its other names (labels; empty ones are ignored).
        what: what an entry is, for messages (``a lever of the model``).
        accepted: what may be written, for messages (``its Vensim name or Chinese label``).
        describe: what a candidate is, written after it in messages (e.g. its label).

    Raises:
        UnresolvedName: ``text`` matches several entries (the message lists them) or none
            (the message suggests close matches, ``close_names``, or lists the entries when
            there are at most ``MAX_LISTED``).
    """
    wanted = name_key(text)
    if not wanted:
        raise UnresolvedName(f"an empty name is not {what}; give {accepted}")
    exact = [name for name in aliases if name_key(name) == wanted]
    if len(exact) == 1:
        return exact[0]
    matches = exact or [
        name for name in aliases if any(name_key(a) == wanted for a in _aliases(name, aliases))
    ]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise UnresolvedName(
            f"'{text}' is ambiguous: it names {len(matches)} entries: "
            f"{_listed(matches, describe)}; give the one meant by its name",
            matches,
            ambiguous=True,
        )
    close = close_names(text, aliases)
    if close:
        hint = f"; did you mean {_listed(close, describe)}?"
    elif len(aliases) <= MAX_LISTED:
        hint = f"; there are: {', '.join(aliases)}"
    else:
        hint = ""
    raise UnresolvedName(f"'{text}' is not {what} (expected {accepted}){hint}", close)


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
