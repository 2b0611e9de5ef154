"""The levers of a scenario: which constants of the model a command may set, their plausible
policy range, the values to try, how to keep a constraint's sum, and the money a lever moves.

One description serves every command that sets a lever (``sweep``, ``solve``, ``assess``):

* ``LeverRange`` is a lever and the values to try; ``parse_lever_range`` reads it from the
  command line (``NAME``, ``NAME=START:STOP`` or ``NAME=START:STOP:N``), naming the option in
  its errors. NAME is a Vensim name in any case or spacing or the constant's Chinese label
  (``sim.scenario.names.resolve_lever``), given back as the Vensim name; a value may be a
  percentage (``1%:4%``) where the constant is a share or a rate.
* ``lever_info`` is the one check that a name can be a lever (a constant of the model that
  the scenario neither draws nor imposes as data) and describes it (``LeverInfo``: label,
  units, current value, Vensim range); it accepts the same names. The model states each
  lever's plausible policy range as its Vensim range: searches default to it and never leave
  it (``LeverInfo.check_range``).
* ``rebalanced_settings`` keeps a scenario constraint's sum (shares adding to 1) when some of
  its members move; ``nearest_money`` finds, from the model's structure, the money a lever
  moves.

Nothing here runs the model: the model's facts come from ``sim.vensim``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.errors import InnosimError
from sim.scenario import Constraint, Scenario
from sim.scenario.fields import accepts_percent, percent_value
from sim.scenario.names import resolve_lever
from sim.vensim import ModelVariable, variable_key
from sim.vensim.catalogue import ModelInfo, UnresolvedName, model_info

#: ``--rebalance`` value that scales the other members of a constraint together.
PROPORTIONAL = "proportional"
#: The command-line option a lever comes from.
LEVER_OPTION = "--lever"
#: Most points of a swept lever.
MAX_POINTS = 1001
#: Units of a money flow in the model (亿元 per year).
MONEY_FLOW_UNITS = "CNY100M/Year"
#: Units of an amount of money in the model (亿元).
MONEY_UNITS = "CNY100M"


class LeverError(InnosimError, ValueError):
    """A lever, its range or a rule to keep a constraint is bad.

    Attributes:
        option: the command-line option the problem concerns (``--lever``), or ``""``.
        message: what was wrong and what was expected.
    """

    def __init__(self, message: str, option: str = LEVER_OPTION) -> None:
        self.option = option
        self.message = message
        super().__init__(f"{option}: {message}" if option else message)


# --- the values to try ----------------------------------------------------------------------


@dataclass(frozen=True)
class LeverRange:
    """A lever and the values to try, in the constant's model units.

    Attributes:
        name: Vensim name of the constant.
        start, stop: the ends of the range (``None``: not given, the command's default, e.g.
            the plausible policy range); ``stop`` may lie below ``start`` where a command
            searches from ``start`` (``assess``: from the current setting, downwards).
        points: evenly spaced values from ``start`` to ``stop`` (a sweep), else ``None``.
    """

    name: str
    start: float | None = None
    stop: float | None = None
    points: int | None = None

    @property
    def given(self) -> bool:
        """Whether the range was given (``NAME=START:STOP``) rather than left to a default."""
        return self.start is not None and self.stop is not None

    def values(self) -> np.ndarray:
        """The ``points`` values from ``start`` to ``stop``, evenly spaced."""
        if not self.given or self.points is None:
            raise LeverError(f"'{self.name}': a range START:STOP:N is needed to list values")
        return np.linspace(self.start, self.stop, self.points)


def _number(text: str, what: str, option: str) -> tuple[float, bool]:
    """The number ``text`` and whether it was written as a percentage (``3%`` → 0.03)."""
    fraction = percent_value(text)
    if fraction is not None:
        value = fraction
    else:
        try:
            value = float(text)
        except ValueError:
            raise LeverError(
                f"{what} must be a number (or a percentage, e.g. 3%); got {text.strip()!r}",
                option,
            ) from None
    if not math.isfinite(value):
        raise LeverError(f"{what} must be finite; got {text.strip()!r}", option)
    return value, fraction is not None


def lever_name(
    text: str, model: str | Path | ModelInfo | None = None, option: str = LEVER_OPTION
) -> str:
    """The Vensim name of the constant ``text`` names (its Vensim name in any case or spacing,
    or its Chinese label: ``sim.scenario.names.resolve_lever``).

    Raises:
        LeverError: naming ``option``: an ambiguous label (the candidates listed) or an
            unknown name (close matches suggested).
    """
    try:
        return resolve_lever(text, model)
    except UnresolvedName as exc:
        raise LeverError(exc.message, option) from None


def _checked_percent(
    name: str, given: Sequence[str], percent: bool, info: ModelInfo, option: str
) -> None:
    """Refuse a percentage for a constant that is no share or rate (a count, money, a year)."""
    units = info.docs[name].units if name in info.docs else ""
    if percent and not accepts_percent(units):
        raise LeverError(
            f"'{name}' is in {units or 'no units'}, not a share or a rate: give "
            f"{':'.join(part.strip() for part in given)} as numbers in {units or 'its units'}, "
            "without %",
            option,
        )


def parse_lever_range(
    text: str,
    *,
    points: bool = False,
    option: str = LEVER_OPTION,
    model: str | Path | ModelInfo | None = None,
) -> LeverRange:
    """A lever and its range from the command line.

    Args:
        text: ``NAME=START:STOP:N`` when ``points`` (a sweep), else ``NAME`` (the command's
            default range) or ``NAME=LO:HI``. NAME is the constant's Vensim name (any case or
            spacing) or its Chinese label; a value may be a percentage (``1%``: 0.01) where
            the constant is a share or a rate (``sim.scenario.fields.accepts_percent``).
        points: whether ``N``, the number of points (2 to ``MAX_POINTS``), is expected.
        option: the option named in errors.
        model: the ``.mdl`` file (or its catalogue) the name is looked up in (default: the
            project's model).

    Returns:
        The range with the constant's Vensim name and the values in its model units.

    Raises:
        LeverError: the text does not have that form, a number is not a finite number, the
            name is unknown or ambiguous, or a percentage is given for a count or money.
    """
    name, sep, spec = text.rpartition("=")
    name = name.strip()
    parts = spec.split(":")
    if points:
        if not sep or not name or len(parts) != 3:
            example = "'Fiscal Innovation Share Floor=1%:4%:7'"
            raise LeverError(f"expected NAME=START:STOP:N (e.g. {example}); got {text!r}", option)
        try:
            count = int(parts[2])
        except ValueError:
            raise LeverError(
                f"N must be a whole number of points; got {parts[2].strip()!r}", option
            ) from None
        if not 2 <= count <= MAX_POINTS:
            raise LeverError(f"N must be between 2 and {MAX_POINTS} points; got {count}", option)
        (start, start_pct), (stop, stop_pct) = (
            _number(parts[0], "START", option),
            _number(parts[1], "STOP", option),
        )
        info = model if isinstance(model, ModelInfo) else model_info(model)
        canonical = lever_name(name, info, option)
        _checked_percent(canonical, parts[:2], start_pct or stop_pct, info, option)
        return LeverRange(canonical, start, stop, count)
    if not sep:
        if not text.strip():
            raise LeverError("expected NAME or NAME=LO:HI; got an empty name", option)
        return LeverRange(lever_name(text.strip(), model, option))
    if not name or len(parts) != 2:
        example = "'Fiscal Innovation Share Floor=2%:6%'"
        raise LeverError(f"expected NAME or NAME=LO:HI (e.g. {example}); got {text!r}", option)
    (low, low_pct), (high, high_pct) = (
        _number(parts[0], "LO", option),
        _number(parts[1], "HI", option),
    )
    info = model if isinstance(model, ModelInfo) else model_info(model)
    canonical = lever_name(name, info, option)
    _checked_percent(canonical, parts, low_pct or high_pct, info, option)
    return LeverRange(canonical, low, high)


# --- what a lever is ------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def _range_text(limits: tuple[float | None, float | None]) -> str:
    return f"[{_fmt(limits[0])}, {_fmt(limits[1])}]"


@dataclass(frozen=True)
class LeverInfo:
    """A constant of the model used as a lever.

    Attributes:
        name: Vensim name.
        value: its value in the scenario (the scenario's lever value, else the model default;
            ``nan`` for a lever the scenario sets by a time path), model units.
        limits: Vensim ``(min, max)``; ``None`` where open. For a lever this is its plausible
            policy range as stated in the model: searches default to it and never leave it.
        units: Vensim units.
        label_zh: Chinese label from the model's comment.
        model_file: file name of the ``.mdl`` (where the range is stated).
    """

    name: str
    value: float
    limits: tuple[float | None, float | None]
    units: str
    label_zh: str
    model_file: str = ""

    def label(self, lang: str) -> str:
        """Display name: the Chinese label (``zh``) or the Vensim name."""
        return self.label_zh if lang == "zh" and self.label_zh else self.name

    def plausible_range(self, option: str = LEVER_OPTION) -> tuple[float, float]:
        """The range searched when none is given: the lever's plausible policy range, the
        constant's Vensim range ``[min, max]`` in the model.

        Raises:
            LeverError: the model leaves an end of the range open (``?``).
        """
        lower, upper = self.limits
        if lower is None or upper is None:
            raise LeverError(
                f"the model states no {'lower' if lower is None else 'upper'} end of the "
                f"plausible policy range of '{self.name}' ({_range_text(self.limits)}); give the "
                f"range as '{self.name}=LO:HI', or state it in the model file",
                option,
            )
        return float(lower), float(upper)

    def check_range(
        self, start: float, stop: float, option: str = LEVER_OPTION, *, ordered: bool = True
    ) -> None:
        """Raise ``LeverError`` unless ``start`` and ``stop`` are finite, ``start < stop``
        (``start != stop`` unless ``ordered``) and both inside the plausible policy range.

        The message of a value outside names the range, says that it is the plausible policy
        range stated in the model, and that widening it means editing that range in the
        ``.mdl``.
        """
        if not (math.isfinite(start) and math.isfinite(stop)):
            raise LeverError(f"the range of '{self.name}' must be finite numbers", option)
        if ordered and not start < stop:
            raise LeverError(
                f"the range of '{self.name}' must have START < STOP; got {start:g}:{stop:g}",
                option,
            )
        if start == stop:
            raise LeverError(
                f"the range of '{self.name}' is empty ({start:g}:{stop:g}); give two different "
                "values",
                option,
            )
        lower, upper = self.limits
        for value in (start, stop):
            if (lower is not None and value < lower) or (upper is not None and value > upper):
                raise LeverError(
                    f"{value:g} is outside the plausible policy range {_range_text(self.limits)} "
                    f"of '{self.name}' stated in the model (its Vensim range); to search beyond "
                    f"it, widen that range in the model file ({self.model_file or 'the .mdl'})",
                    option,
                )

    def search_range(
        self, lever: LeverRange, option: str = LEVER_OPTION, *, from_current: bool = False
    ) -> tuple[float, float]:
        """The ends of the range to search for ``lever``, checked.

        Args:
            lever: the lever as given; a range it gives is checked (``check_range``).
            option: the option named in errors.
            from_current: a search that starts at the current setting (``assess``): without a
                range, from ``value`` to the upper end of the plausible policy range; a given
                range may run downwards (``START > STOP``). Otherwise the default is the whole
                plausible policy range.

        Raises:
            LeverError: a bad range, an open plausible policy range, or (``from_current``) a
                lever the scenario sets by a time path or that is already at the upper end.
        """
        if lever.given:
            start, stop = float(lever.start), float(lever.stop)  # type: ignore[arg-type]
            self.check_range(start, stop, option, ordered=not from_current)
            return start, stop
        low, high = self.plausible_range(option)
        if not from_current:
            return low, high
        if math.isnan(self.value):
            raise LeverError(
                f"'{self.name}' follows a time path in the scenario; give its range as "
                f"'{self.name}=LO:HI'",
                option,
            )
        if not self.value < high:
            raise LeverError(
                f"'{self.name}' is already at the upper end {high:g} of its plausible policy "
                f"range; give the range to search as '{self.name}=LO:HI'",
                option,
            )
        return self.value, high


def current_value(scenario: Scenario, name: str, model: str | Path | None = None) -> float:
    """The value of constant ``name`` in ``scenario`` (model units): its lever value, else the
    model's default; ``nan`` when the scenario sets it by a time path."""
    return _current_value(scenario, name, model_info(model))


def _current_value(scenario: Scenario, name: str, info: ModelInfo) -> float:
    lever = scenario.levers.get(name)
    if lever is None:
        return float(info.defaults[name])
    return float(lever.all_values()[0]) if lever.path is None else math.nan


def _kind_text(kind: str) -> str:
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def lever_info(
    scenario: Scenario, name: str, model: str | Path | None = None, option: str = LEVER_OPTION
) -> LeverInfo:
    """Check that ``name`` can be set as a lever of ``scenario`` and describe it.

    A lever is a constant of the model that the scenario neither draws (an uncertainty) nor
    imposes as data or draws year by year (drivers and paths). ``name`` is its Vensim name in
    any case or spacing or its Chinese label (``lever_name``); ``LeverInfo.name`` is the
    Vensim name.

    Raises:
        LeverError: not a variable (close matches suggested), an ambiguous label, not a
            constant, drawn or imposed by the scenario.
    """
    info = model_info(model)
    name = lever_name(name, info, option)
    kind = info.docs[name].kind
    if kind != "constant":
        raise LeverError(
            f"'{name}' is {_kind_text(kind)}; only a constant of the model can be a lever here",
            option,
        )
    if name in scenario.uncertainties:
        raise LeverError(
            f"'{name}' is an uncertainty of scenario {scenario.path.name} (drawn per draw); "
            "set it as a lever in a variant scenario to vary it here",
            option,
        )
    if name in scenario.exogenous():
        raise LeverError(
            f"'{name}' is imposed as data (drivers) or drawn year by year (paths) in scenario "
            f"{scenario.path.name}; set it as a lever in a variant scenario to vary it here",
            option,
        )
    doc = info.docs[name]
    return LeverInfo(
        name=name,
        value=_current_value(scenario, name, info),
        limits=doc.limits,
        units=doc.units,
        label_zh=doc.label_zh,
        model_file=info.path.name,
    )


# --- keeping a constraint -------------------------------------------------------------------


def _constraint_text(constraint: Constraint) -> str:
    return f"{' + '.join(constraint.sum)} = {constraint.equals:g}"


def _rebalanced(
    constraint: Constraint,
    moving: list[str],
    members: list[str],
    rule: str,
    swept: Mapping[str, np.ndarray],
    base: Mapping[str, float],
) -> dict[str, np.ndarray | float]:
    """The unswept members' values that keep ``constraint`` by ``rule``."""
    paths = [name for name, value in base.items() if math.isnan(value)]
    if paths:
        raise LeverError(
            f"'{paths[0]}' (in constraint '{constraint.name}') is set by a time path in "
            "the scenario; rebalancing needs constant shares",
            "--rebalance",
        )
    remaining = constraint.equals - sum(np.asarray(swept[name], float) for name in moving)
    if rule == PROPORTIONAL:
        share = sum(base.values())
        if not share > 0:
            raise LeverError(
                f"the unswept members of '{constraint.name}' add to 0; they cannot scale "
                "proportionally, name one with --rebalance MEMBER",
                "--rebalance",
            )
        return {name: base[name] * remaining / share for name in members}
    rest = sum(base[name] for name in members if name != rule)
    return {rule: remaining - rest}


def rebalanced_settings(
    scenario: Scenario,
    swept: Mapping[str, np.ndarray],
    rebalance: Sequence[str] = (),
    model: str | Path | None = None,
) -> dict[str, np.ndarray]:
    """Values of the constrained constants that keep the scenario's sums when ``swept`` move.

    Args:
        scenario: the scenario with the constraints.
        swept: lever values per setting, ``{name: array (n_settings,)}`` (model units).
        rebalance: for each constraint a swept lever belongs to, a member that absorbs the
            change, or ``"proportional"`` (the unswept members scale together).
        model: the ``.mdl`` file (defaults and Vensim limits; default: the project's model).

    Returns:
        ``{member: array (n_settings,)}`` for the rebalanced members.

    Raises:
        LeverError: a swept lever's constraint has no rule, a rule names no such member, or a
            rebalanced value leaves its Vensim limits.
    """
    info = model_info(model)
    out: dict[str, np.ndarray] = {}
    used: set[str] = set()
    size = len(next(iter(swept.values()))) if swept else 0
    for constraint in scenario.constraints:
        moving = [name for name in constraint.sum if name in swept]
        if not moving:
            continue
        members = [name for name in constraint.sum if name not in swept]
        rules = [r for r in rebalance if r in members or r == PROPORTIONAL]
        if not rules:
            raise LeverError(
                f"'{moving[0]}' is bound by constraint '{constraint.name}' "
                f"({_constraint_text(constraint)}); say how to keep the sum with "
                f"--rebalance MEMBER (one of: {', '.join(members)}) or --rebalance {PROPORTIONAL}"
            )
        rule = rules[0]
        used.add(rule)
        base = {name: _current_value(scenario, name, info) for name in members}
        values = _rebalanced(constraint, moving, members, rule, swept, base)
        for name, value in values.items():
            value = np.broadcast_to(np.asarray(value, dtype=float), (size,))
            lower, upper = info.limits(name)
            lower = 0.0 if lower is None else lower
            bad = value < lower - 1e-12
            if upper is not None:
                bad |= value > upper + 1e-12
            if bad.any():
                i = int(np.argmax(bad))
                where = ", ".join(f"{n} = {np.asarray(swept[n])[i]:g}" for n in moving)
                raise LeverError(
                    f"at {where}, {name} would be {value[i]:.6g} to keep constraint "
                    f"'{constraint.name}', outside [{lower:g}, {_fmt(upper)}]; narrow the range "
                    "or rebalance another member"
                )
            out[name] = np.array(value)
    unused = [r for r in rebalance if r not in used]
    if unused:
        raise LeverError(
            f"'{unused[0]}' is not an unswept member of a constraint that a swept lever belongs "
            "to; nothing to rebalance",
            "--rebalance",
        )
    return out


# --- the money a lever moves ----------------------------------------------------------------


def units_key(units: str) -> str:
    """Units with their whitespace removed (for comparing unit strings)."""
    return "".join(units.split())


def nearest_money(
    structure: Sequence[ModelVariable],
    units: Mapping[str, str],
    lever: str,
    flow_units: str = MONEY_FLOW_UNITS,
    amount_units: str = MONEY_UNITS,
) -> tuple[str, ...]:
    """The money a lever moves, found from the model's structure (no list of names).

    * A lever whose own units are money (``amount_units``, e.g. ``Initial Fund Size`` in
      亿元, or ``flow_units``) is its own money: ``(lever,)``.
    * Otherwise the walk goes breadth-first through the lever's dependents (a variable depends
      on every variable its equation refers to; a stock also on its inflows and outflows) and
      stops at the first distance where variables with units ``flow_units`` (亿元 per year)
      appear: those are returned, in the order of the model file. The walk does not go past a
      money flow, so money further downstream (a consequence of the nearest) is not returned.
      ``Fiscal Innovation Share Floor`` reaches ``Fiscal Innovation Input`` through
      ``Fiscal Innovation Share``; ``Fund Allocation Share`` reaches ``Fund Budget``.

    Args:
        structure: the model's variables (``sim.vensim.model_variables``).
        units: Vensim units by variable name; names are compared by ``variable_key``, units
            with their whitespace removed.
        lever: Vensim name of the lever.
        flow_units, amount_units: the units of a money flow and of an amount of money.

    Returns:
        The names of the nearest money variables (``()`` when none is reachable or the lever
        is not a variable of ``structure``).
    """
    units_by_key = {variable_key(name): units_key(text) for name, text in units.items()}
    flow, amount = units_key(flow_units), units_key(amount_units)
    by_key = {variable.key: variable for variable in structure}
    order = {variable.key: index for index, variable in enumerate(structure)}
    wanted = variable_key(lever)
    start = next((v for v in structure if v.key == wanted), None)
    if start is None:
        return ()
    if units_by_key.get(start.key) in (flow, amount):
        return (start.name,)
    dependents: dict[str, list[str]] = {}
    for variable in structure:
        for reference in (*variable.references, *variable.inflows, *variable.outflows):
            dependents.setdefault(reference, []).append(variable.key)
    seen = {start.key}
    frontier = [start.key]
    while frontier:
        following: list[str] = []
        for key in frontier:
            for dependent in dependents.get(key, ()):
                if dependent not in seen and dependent in by_key:
                    seen.add(dependent)
                    following.append(dependent)
        money = [k for k in following if units_by_key.get(k) == flow]
        if money:
            return tuple(by_key[k].name for k in sorted(money, key=order.__getitem__))
        frontier = following
    return ()
