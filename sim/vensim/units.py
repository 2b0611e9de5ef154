"""Dimensional-consistency check of a Vensim model, equivalent to Vensim's *Units Check*.

The ``.mdl`` file is parsed with PySD's own parser (``VensimFile``) and every equation's
abstract syntax tree is evaluated on units with a private :mod:`pint` registry.

Units
-----
* Every unit name is a separate **base dimension**: ``Year``, ``CNY100M`` (亿元, 1e8 yuan),
  ``CNY10K`` (万元), ``Firm``, ``Patent``, ``Contract``, ``Centre``, ``Lab``, ``Platform``,
  ``Person``, ``Carrier`` and any other name that appears in the model (defined on first use,
  so the checker works for any city or model). ``CNY10K`` and ``CNY100M`` are therefore *not*
  interchangeable; converting needs a constant declared in e.g. ``CNY10K/CNY100M``.
* ``Dmnl``, ``dmnl``, ``dimensionless`` and ``1`` are dimensionless. Unit names are
  case-sensitive; Vensim's default plural equivalents of the names above (``Years``, ``Firms``,
  ``People``, ...) and ``亿元``/``万元`` are accepted as aliases.
* Unit strings use ``*``, ``/``, ``^`` (number exponent) and parentheses, e.g. ``CNY100M/Year``,
  ``1/Year``, ``CNY10K/(Firm*Year)``. Range limits (``Year [0,?]``) are ignored.
* The time unit is the declared unit of ``TIME STEP`` (``Year`` if that is missing or unusable).

Rules
-----
* A reference has the declared units of the referenced variable; ``Time`` and the control
  variables (``INITIAL TIME``, ``FINAL TIME``, ``TIME STEP``, ``SAVEPER``) have the time unit,
  and each control variable must be declared in the time unit. A subscript name is ``Dmnl``.
* ``+``, ``-``, comparisons, ``MIN``, ``MAX``, ``MODULO``, ``QUANTUM`` and the two branches of
  ``IF THEN ELSE`` need operands of the same units. A bare number literal (or a sub-expression
  made only of literals, such as ``1/12`` or ``-3``) takes whatever units its partners have in
  these positions, so ``MAX(0, x)`` is fine; in ``*`` and ``/`` a literal is dimensionless.
* ``a ^ b``: ``b`` must be dimensionless; when ``a`` has units, ``b`` must be a number literal
  (or literal-only expression) and the result is ``units(a) ^ b``. ``POWER(a, b)`` likewise.
* ``:AND:``, ``:OR:``, ``:NOT:`` and the condition of ``IF THEN ELSE`` need dimensionless
  operands; comparisons and logical operators give ``Dmnl``.
* Functions: ``LN``, ``EXP``, ``LOG``, trigonometric and hyperbolic functions need
  dimensionless arguments and return ``Dmnl``; ``ABS``, ``INTEGER``, ``SUM``, ``VMIN``,
  ``VMAX`` keep units; ``PROD`` needs ``Dmnl``; ``SQRT`` halves the exponents;
  ``XIDZ(a, b, x)`` is ``a/b`` and ``x`` must match it; ``ZIDZ(a, b)`` is ``a/b``;
  ``STEP(height, t)`` has the units of ``height``; ``PULSE(start, width)`` and
  ``PULSE TRAIN(start, width, interval, end)`` are ``Dmnl``; ``RAMP(slope, start[, end])`` is
  ``units(slope) * time``; all their time arguments must be in the time unit.
  ``ACTIVE INITIAL(x, init)``: ``init`` matches ``x``. ``RANDOM UNIFORM/NORMAL/EXPONENTIAL``:
  the value arguments share units, the seed is ``Dmnl``. ``PI``, ``RANDOM 0 1``,
  ``ELMCOUNT`` are ``Dmnl``. Any other function (including macros) is reported as an issue.
* ``INTEG(rate, init)``: ``units(rate) * time`` and ``units(init)`` must equal the stock's
  declared units.
* ``SMOOTH``/``SMOOTHI``/``SMOOTH3``/``SMOOTH3I``/``SMOOTH N``, ``DELAY1``/``DELAY1I``/
  ``DELAY3``/``DELAY3I``/``DELAY N``/``DELAY FIXED``: the delay or smoothing time is in the time
  unit, the initial value matches the input, the order is ``Dmnl`` and the result has the
  input's units. ``TREND(input, time, init)`` is ``1/time`` (``init`` too); ``FORECAST`` has the
  input's units; ``SAMPLE IF TRUE(cond, input, init)`` has the input's units.
  ``INITIAL(x)`` has the units of ``x``.
* Lookups: a lookup table's declared units are its *output* units. ``table(x)`` has those
  units and ``x`` must be dimensionless, unless it is exactly ``Time`` (time-path lookups).
  ``WITH LOOKUP(x, ...)`` follows the same rule for ``x``; as a whole equation it has the
  declared units of the variable it defines, nested in a larger expression its table is
  treated like a number literal.
* The units of each equation must equal the variable's declared units (same dimensionality;
  as every unit is a base dimension this also rules out scale differences).
* A variable without units, or with a unit string that cannot be parsed, is an issue.

Only the model's main section is checked (macros are not supported).
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pint

from sim.errors import ModelError, UnitsError
from sim.vensim.model import variable_key

__all__ = [
    "BASE_UNITS",
    "UnitsIssue",
    "assert_units_consistent",
    "check_units",
]

#: Unit names that are always defined as base dimensions.
BASE_UNITS: tuple[str, ...] = (
    "Year",
    "CNY100M",
    "CNY10K",
    "Firm",
    "Patent",
    "Contract",
    "Centre",
    "Lab",
    "Platform",
    "Person",
    "Carrier",
)

#: Unit names that are dimensionless (compared case-insensitively).
_DIMENSIONLESS_NAMES = frozenset({"dmnl", "dimensionless", "1"})

#: Accepted alternative spellings of unit names.
_ALIASES: dict[str, str] = {
    **{f"{name}s": name for name in BASE_UNITS if not name.startswith("CNY")},
    "People": "Person",
    "Persons": "Person",
    "Centers": "Centre",
    "Center": "Centre",
    "Months": "Month",
    "Days": "Day",
    "Weeks": "Week",
    "Hours": "Hour",
    "亿元": "CNY100M",
    "万元": "CNY10K",
}

_CONTROL_VARIABLES = frozenset({"initial_time", "final_time", "time_step", "saveper"})

_DEFAULT_TIME_UNIT = "Year"


@dataclass(frozen=True)
class UnitsIssue:
    """One dimensional inconsistency (or unchecked construct) in a model.

    Attributes:
        variable: Vensim name of the variable whose equation or declaration is at fault.
        expression: the offending (sub-)expression in Vensim syntax, or a short description
            such as ``"units declaration"``.
        expected: the units required there (Vensim unit string), or ``None``.
        found: the units found there, or ``None``.
        message: a readable sentence naming the variable.
        code: kind of issue: ``mismatch`` (operands disagree), ``equation`` (equation vs
            declared units), ``integ-rate``, ``integ-init``, ``argument`` (a function argument
            in the wrong units), ``lookup-argument``, ``exponent``, ``control``,
            ``missing-units``, ``bad-units``, ``undefined``, ``unsupported``.
    """

    variable: str
    expression: str
    expected: str | None
    found: str | None
    message: str
    code: str

    def __str__(self) -> str:
        return self.message


# --------------------------------------------------------------------------------------
# Units algebra
# --------------------------------------------------------------------------------------


class _Marker:
    """Pseudo-units: a bare number (adapts to its partners) or an unknown (already reported)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


_LITERAL = _Marker("LITERAL")
_UNKNOWN = _Marker("UNKNOWN")

Units = Any  # pint.Unit | _Marker


class _BadUnits(ValueError):
    """A unit string that cannot be parsed."""


_UNIT_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?)(?![\w$%])|(?P<op>[*/^()\-])"
    r"|(?P<name>[^\s*/^()]+(?:[ \t]+[^\s*/^()\d\-][^\s*/^()]*)*))"
)


class _UnitSystem:
    """A private pint registry where every unit name is its own base dimension."""

    def __init__(self) -> None:
        self.ureg = pint.UnitRegistry(None)
        self._pint_name: dict[str, str] = {}
        self._vensim_name: dict[str, str] = {}
        self.dimensionless = self.ureg.dimensionless
        for name in BASE_UNITS:
            self.base(name)

    def base(self, name: str) -> pint.Unit:
        """The pint unit of a Vensim unit name, defining it as a new base dimension if new."""
        name = " ".join(name.split())
        if name.lower() in _DIMENSIONLESS_NAMES:
            return self.dimensionless
        name = _ALIASES.get(name, name)
        if name not in self._pint_name:
            safe = f"vu{len(self._pint_name)}"
            self.ureg.define(f"{safe} = [{safe}]")
            self._pint_name[name] = safe
            self._vensim_name[safe] = name
        return self.ureg.Unit(self._pint_name[name])

    def parse(self, text: str) -> pint.Unit:
        """Parse a Vensim unit string (``CNY100M/Year``, ``1/Year``, ``Dmnl`` ...)."""
        tokens = self._tokenize(text)
        if not tokens:
            raise _BadUnits("empty unit string")
        pos, unit = self._expr(tokens, 0)
        if pos != len(tokens):
            raise _BadUnits(f"unexpected {tokens[pos][1]!r}")
        return unit

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, str]]:
        tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            match = _UNIT_TOKEN.match(text, pos)
            if not match or match.end() == pos:
                raise _BadUnits(f"unexpected character {text[pos]!r}")
            kind = match.lastgroup or ""
            tokens.append((kind, match.group(kind)))
            pos = match.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        return tokens

    def _expr(self, tokens: list[tuple[str, str]], pos: int) -> tuple[int, pint.Unit]:
        pos, unit = self._power(tokens, pos)
        while pos < len(tokens) and tokens[pos][1] in ("*", "/"):
            op = tokens[pos][1]
            pos, other = self._power(tokens, pos + 1)
            unit = unit * other if op == "*" else unit / other
        return pos, unit

    def _power(self, tokens: list[tuple[str, str]], pos: int) -> tuple[int, pint.Unit]:
        pos, unit = self._atom(tokens, pos)
        if pos < len(tokens) and tokens[pos][1] == "^":
            pos, exponent = self._exponent(tokens, pos + 1)
            unit = unit**exponent
        return pos, unit

    def _exponent(self, tokens: list[tuple[str, str]], pos: int) -> tuple[int, float]:
        sign = 1.0
        if pos < len(tokens) and tokens[pos][1] == "-":
            sign, pos = -1.0, pos + 1
        if pos < len(tokens) and tokens[pos][0] == "num":
            return pos + 1, sign * float(tokens[pos][1])
        if pos < len(tokens) and tokens[pos][1] == "(":
            end = pos + 1
            while end < len(tokens) and tokens[end][1] != ")":
                end += 1
            inner = "".join(tok for _, tok in tokens[pos + 1 : end])
            if end < len(tokens) and re.fullmatch(r"-?\d+(\.\d*)?(/\d+(\.\d*)?)?", inner):
                num, _, den = inner.partition("/")
                return end + 1, sign * float(num) / float(den or 1)
        raise _BadUnits("an exponent must be a number")

    def _atom(self, tokens: list[tuple[str, str]], pos: int) -> tuple[int, pint.Unit]:
        if pos >= len(tokens):
            raise _BadUnits("unit string ends too early")
        kind, text = tokens[pos]
        if kind == "name":
            return pos + 1, self.base(text)
        if kind == "num" and float(text) == 1:
            return pos + 1, self.dimensionless
        if text == "(":
            pos, unit = self._expr(tokens, pos + 1)
            if pos >= len(tokens) or tokens[pos][1] != ")":
                raise _BadUnits("missing ')'")
            return pos + 1, unit
        raise _BadUnits(f"unexpected {text!r}")

    def format(self, unit: Units) -> str:
        """Vensim spelling of a unit: ``Dmnl``, ``CNY100M/Year``, ``1/(Firm*Year)`` ..."""
        if unit is _LITERAL:
            return "a number"
        if unit is _UNKNOWN:
            return "unknown"
        items = sorted(
            ((self._vensim_name.get(name, name), exp) for name, exp in unit._units.items()),
            key=lambda item: item[0].lower(),
        )
        if not items:
            return "Dmnl"

        def part(name: str, exp: float) -> str:
            if exp == 1:
                return name
            shown = int(exp) if float(exp).is_integer() else round(exp, 6)
            return f"{name}^{shown}"

        num = [part(name, exp) for name, exp in items if exp > 0]
        den = [part(name, -exp) for name, exp in items if exp < 0]
        text = "*".join(num) or "1"
        if len(num) > 1 and den:
            text = f"({text})"
        if den:
            text += "/" + (den[0] if len(den) == 1 else f"({'*'.join(den)})")
        return text

    @staticmethod
    def same(a: pint.Unit, b: pint.Unit) -> bool:
        return bool(a.dimensionality == b.dimensionality)


def _is_marker(unit: Units) -> bool:
    return isinstance(unit, _Marker)


# --------------------------------------------------------------------------------------
# Rendering PySD's AST back to Vensim text
# --------------------------------------------------------------------------------------

_PRECEDENCE = {
    ":OR:": 0,
    ":AND:": 0,
    ":NOT:": 1,
    "=": 2,
    "<>": 2,
    "<": 2,
    "<=": 2,
    ">": 2,
    ">=": 2,
    "+": 3,
    "-": 3,
    "*": 4,
    "/": 4,
    "negative": 5,
    "^": 6,
}


def _function_name(name: str) -> str:
    return name.replace("_", " ").upper()


def _is_number(node: Any) -> bool:
    return isinstance(node, (int, float, np.integer, np.floating, np.ndarray, bool, np.bool_))


# --------------------------------------------------------------------------------------
# The checker
# --------------------------------------------------------------------------------------


@dataclass
class _Entry:
    name: str
    units: pint.Unit | None
    is_lookup: bool


class _Checker:
    def __init__(self, abstract_model: Any) -> None:
        from pysd.translators.structures import abstract_expressions as ae

        self.ae = ae
        self.us = _UnitSystem()
        self.issues: list[UnitsIssue] = []
        self.section = abstract_model.sections[0]
        self.table: dict[str, _Entry] = {}
        self.declared_text: dict[str, str] = {}
        self.subscripts: set[str] = set()
        for sub_range in self.section.subscripts:
            self.subscripts.add(variable_key(sub_range.name))
            if isinstance(sub_range.subscripts, list):
                self.subscripts.update(variable_key(str(sub)) for sub in sub_range.subscripts)
        self.variable = ""
        self.declared: pint.Unit | None = None
        self.unit_errors: dict[str, str] = {}
        for element in self.section.elements:
            units: pint.Unit | None = None
            text = (element.units or "").strip()
            if text:
                try:
                    units = self.us.parse(text)
                except _BadUnits as exc:
                    self.unit_errors[element.name] = f"{text!r} ({exc})"
            is_lookup = any(
                isinstance(comp.ast, (ae.LookupsStructure, ae.GetLookupsStructure))
                for comp in element.components
            )
            self.table[variable_key(element.name)] = _Entry(element.name, units, is_lookup)
        time_step = self.table.get("time_step")
        if time_step and time_step.units is not None and time_step.units._units:
            self.time: pint.Unit = time_step.units
        else:
            self.time = self.us.base(_DEFAULT_TIME_UNIT)

    # ---- reporting -------------------------------------------------------------------

    def fmt(self, unit: Units) -> str:
        return self.us.format(unit)

    def report(
        self,
        code: str,
        node: Any,
        message: str,
        expected: Units | None = None,
        found: Units | None = None,
    ) -> None:
        expression = node if isinstance(node, str) else self.text(node)
        self.issues.append(
            UnitsIssue(
                variable=self.variable,
                expression=expression,
                expected=None if expected is None else self.fmt(expected),
                found=None if found is None else self.fmt(found),
                message=f"{self.variable!r}: {message}",
                code=code,
            )
        )

    def same(self, a: Units, b: Units) -> bool:
        """True when compatible: equal units, or either is a literal or unknown."""
        return _is_marker(a) or _is_marker(b) or self.us.same(a, b)

    def expect(self, node: Any, unit: Units, expected: Units, what: str) -> None:
        """Report when ``unit`` (of ``node``) is not ``expected``."""
        if not self.same(unit, expected):
            self.report(
                "argument",
                node,
                f"{what} `{self.text(node)}` is in {self.fmt(unit)} "
                f"but must be in {self.fmt(expected)}",
                expected,
                unit,
            )

    def unify(self, nodes: Sequence[Any], what: str, whole: Any) -> Units:
        """Units shared by ``nodes`` (literals adapt); report those that disagree."""
        units = [self.eval(node) for node in nodes]
        known = [
            (node, unit) for node, unit in zip(nodes, units, strict=True) if not _is_marker(unit)
        ]
        if not known:
            return _UNKNOWN if any(unit is _UNKNOWN for unit in units) else _LITERAL
        first_node, first = known[0]
        result: Units = first
        for node, unit in known[1:]:
            if not self.us.same(unit, first):
                self.report(
                    "mismatch",
                    whole,
                    f"{what} must have the same units, but `{self.text(first_node)}` is in "
                    f"{self.fmt(first)} and `{self.text(node)}` is in {self.fmt(unit)} "
                    f"(in `{self.text(whole)}`)",
                    first,
                    unit,
                )
                result = _UNKNOWN
        return result

    # ---- elements --------------------------------------------------------------------

    def check(self) -> list[UnitsIssue]:
        ae = self.ae
        for element in self.section.elements:
            self.variable = element.name
            entry = self.table[variable_key(element.name)]
            self.declared = entry.units
            where = "units declaration"
            if element.name in self.unit_errors:
                self.report(
                    "bad-units", where, f"cannot parse units {self.unit_errors[element.name]}"
                )
            elif entry.units is None:
                self.report("missing-units", where, "no units declared")
            elif variable_key(element.name) in _CONTROL_VARIABLES and not self.us.same(
                entry.units, self.time
            ):
                self.report(
                    "control",
                    where,
                    f"control variable is declared in {self.fmt(entry.units)} "
                    f"but must be in the time unit {self.fmt(self.time)}",
                    self.time,
                    entry.units,
                )
            for component in element.components:
                ast = component.ast
                if isinstance(ast, ae.IntegStructure):
                    self.check_integ(ast)
                    continue
                if isinstance(ast, ae.InlineLookupsStructure):
                    # WITH LOOKUP(x, table) as the whole equation: in the declared units
                    self.check_lookup_argument(ast.argument, "WITH LOOKUP")
                    continue
                if isinstance(
                    ast,
                    (
                        ae.LookupsStructure,
                        ae.GetLookupsStructure,
                        ae.GetDataStructure,
                        ae.GetConstantsStructure,
                        ae.DataStructure,
                    ),
                ):
                    continue
                found = self.eval(ast)
                if self.declared is not None and not self.same(found, self.declared):
                    self.report(
                        "equation",
                        ast,
                        f"equation `{self.text(ast)}` has units {self.fmt(found)} "
                        f"but the variable is declared in {self.fmt(self.declared)}",
                        self.declared,
                        found,
                    )
        unique: list[UnitsIssue] = []
        for issue in self.issues:
            if issue not in unique:
                unique.append(issue)
        return unique

    def check_integ(self, node: Any) -> None:
        rate = self.eval(node.flow)
        init = self.eval(node.initial)
        stock = self.declared
        if stock is None:
            if not _is_marker(rate) and not self.same(rate * self.time, init):
                self.report(
                    "integ-init",
                    node,
                    f"INTEG rate `{self.text(node.flow)}` is in {self.fmt(rate)} but the "
                    f"initial value `{self.text(node.initial)}` is in {self.fmt(init)}",
                    rate * self.time,
                    init,
                )
            return
        expected_rate = stock / self.time
        if not self.same(rate, expected_rate):
            self.report(
                "integ-rate",
                node.flow,
                f"INTEG rate `{self.text(node.flow)}` is in {self.fmt(rate)} but a stock in "
                f"{self.fmt(stock)} needs a rate in {self.fmt(expected_rate)}",
                expected_rate,
                rate,
            )
        if not self.same(init, stock):
            self.report(
                "integ-init",
                node.initial,
                f"INTEG initial value `{self.text(node.initial)}` is in {self.fmt(init)} "
                f"but the stock is declared in {self.fmt(stock)}",
                stock,
                init,
            )

    # ---- expressions -----------------------------------------------------------------

    def eval(self, node: Any) -> Units:
        ae = self.ae
        if _is_number(node) or isinstance(node, str):
            return _LITERAL
        if isinstance(node, ae.ReferenceStructure):
            return self.eval_reference(node)
        if isinstance(node, ae.ArithmeticStructure):
            return self.eval_arithmetic(node)
        if isinstance(node, ae.LogicStructure):
            return self.eval_logic(node)
        if isinstance(node, ae.CallStructure):
            return self.eval_call(node)
        if isinstance(node, ae.IntegStructure):
            rate = self.eval(node.flow)
            init = self.eval(node.initial)
            if _is_marker(rate):
                return init
            return rate * self.time
        if isinstance(node, ae.InitialStructure):
            return self.eval(node.initial)
        if isinstance(node, ae.GameStructure):
            return self.eval(node.expression)
        if isinstance(node, (ae.SmoothStructure, ae.SmoothNStructure)):
            return self.eval_delay(node, node.smooth_time, "smoothing time")
        if isinstance(node, (ae.DelayStructure, ae.DelayNStructure, ae.DelayFixedStructure)):
            return self.eval_delay(node, node.delay_time, "delay time")
        if isinstance(node, ae.TrendStructure):
            self.eval(node.input)
            self.expect(node.average_time, self.eval(node.average_time), self.time, "TREND time")
            rate = self.us.dimensionless / self.time
            self.expect(
                node.initial_trend, self.eval(node.initial_trend), rate, "TREND initial trend"
            )
            return rate
        if isinstance(node, ae.ForecastStructure):
            result = self.eval(node.input)
            for arg, what in ((node.average_time, "average time"), (node.horizon, "horizon")):
                self.expect(arg, self.eval(arg), self.time, f"FORECAST {what}")
            rate = self.us.dimensionless / self.time
            self.expect(
                node.initial_trend, self.eval(node.initial_trend), rate, "FORECAST initial trend"
            )
            return result
        if isinstance(node, ae.SampleIfTrueStructure):
            self.expect_dimensionless(node.condition, "SAMPLE IF TRUE condition")
            return self.unify([node.input, node.initial], "SAMPLE IF TRUE input and initial", node)
        if isinstance(node, ae.InlineLookupsStructure):
            # the whole equation is handled in check(); nested, the table is just numbers
            self.check_lookup_argument(node.argument, "WITH LOOKUP")
            return _LITERAL
        self.report(
            "unsupported",
            node,
            f"the units checker does not support {type(node).__name__} (`{self.text(node)}`)",
        )
        return _UNKNOWN

    def expect_dimensionless(self, node: Any, what: str) -> Units:
        unit = self.eval(node)
        self.expect(node, unit, self.us.dimensionless, what)
        return unit

    def eval_reference(self, node: Any) -> Units:
        name = node.reference
        if name == "time" or name in _CONTROL_VARIABLES:
            return self.time
        entry = self.table.get(name)
        if entry is not None:
            return entry.units if entry.units is not None else _UNKNOWN
        if name in self.subscripts:
            return self.us.dimensionless
        self.report("undefined", node, f"reference to undefined variable `{self.text(node)}`")
        return _UNKNOWN

    def eval_arithmetic(self, node: Any) -> Units:
        ops = list(node.operators)
        args = list(node.arguments)
        if ops == ["negative"]:
            return self.eval(args[0])
        if ops[0] in ("+", "-"):
            return self.unify(args, "terms of '+'/'-'", node)
        if ops[0] in ("*", "/"):
            units = [self.eval(arg) for arg in args]
            result = units[0]
            for op, unit in zip(ops, units[1:], strict=True):
                result = self.multiply(result, unit, op)
            return result
        # exponentiation, folded from the left as PySD does
        result = self.eval(args[0])
        base_node = args[0]
        for exponent_node in args[1:]:
            result = self.power(base_node, result, exponent_node, node)
            base_node = node
        return result

    def multiply(self, a: Units, b: Units, op: str) -> Units:
        if a is _UNKNOWN or b is _UNKNOWN:
            return _UNKNOWN
        if a is _LITERAL and b is _LITERAL:
            return _LITERAL
        a = self.us.dimensionless if a is _LITERAL else a
        b = self.us.dimensionless if b is _LITERAL else b
        return a * b if op == "*" else a / b

    def power(self, base_node: Any, base: Units, exponent_node: Any, whole: Any) -> Units:
        exponent = self.eval(exponent_node)
        if not self.same(exponent, self.us.dimensionless):
            self.report(
                "exponent",
                whole,
                f"exponent `{self.text(exponent_node)}` is in {self.fmt(exponent)} "
                f"but must be dimensionless (in `{self.text(whole)}`)",
                self.us.dimensionless,
                exponent,
            )
            return _UNKNOWN
        if base is _UNKNOWN:
            return _UNKNOWN
        if base is _LITERAL:
            return _LITERAL if exponent is _LITERAL else self.us.dimensionless
        if not base._units:
            return self.us.dimensionless
        value = self.constant(exponent_node)
        if value is None:
            self.report(
                "exponent",
                whole,
                f"`{self.text(base_node)}` is in {self.fmt(base)}, so its exponent "
                f"`{self.text(exponent_node)}` must be a number (in `{self.text(whole)}`)",
                _LITERAL,
                exponent,
            )
            return _UNKNOWN
        return base**value

    def constant(self, node: Any) -> float | None:
        """Value of a literal-only expression, or ``None``."""
        ae = self.ae
        if _is_number(node) and not isinstance(node, np.ndarray):
            return float(node)
        if isinstance(node, ae.ArithmeticStructure):
            values = [self.constant(arg) for arg in node.arguments]
            if any(value is None for value in values):
                return None
            if list(node.operators) == ["negative"]:
                return -values[0]  # type: ignore[operator]
            result = values[0]
            ops: dict[str, Callable[[float, float], float]] = {
                "+": lambda x, y: x + y,
                "-": lambda x, y: x - y,
                "*": lambda x, y: x * y,
                "/": lambda x, y: x / y if y else math.nan,
                "^": lambda x, y: x**y,
            }
            for op, value in zip(node.operators, values[1:], strict=True):
                if op not in ops:
                    return None
                result = ops[op](result, value)  # type: ignore[arg-type]
            return result
        return None

    def eval_logic(self, node: Any) -> Units:
        ops = list(node.operators)
        if ops[0] in (":AND:", ":OR:", ":NOT:"):
            for arg in node.arguments:
                self.expect_dimensionless(arg, f"operand of {ops[0]}")
            return self.us.dimensionless
        result = self.unify(list(node.arguments), f"operands of '{ops[0]}'", node)
        return _UNKNOWN if result is _UNKNOWN else self.us.dimensionless

    def eval_delay(self, node: Any, time_node: Any, what: str) -> Units:
        self.expect(time_node, self.eval(time_node), self.time, what)
        order = getattr(node, "order", None)
        if order is not None and not _is_number(order):
            self.expect_dimensionless(order, "order")
        if node.initial is node.input:
            return self.eval(node.input)
        return self.unify([node.input, node.initial], "input and initial value", node)

    def check_lookup_argument(self, arg: Any, what: str) -> None:
        ae = self.ae
        if isinstance(arg, ae.ReferenceStructure) and arg.reference == "time":
            return
        unit = self.eval(arg)
        if not self.same(unit, self.us.dimensionless):
            self.report(
                "lookup-argument",
                arg,
                f"{what} is called with `{self.text(arg)}` in {self.fmt(unit)}; a lookup "
                "argument must be dimensionless (or exactly Time)",
                self.us.dimensionless,
                unit,
            )

    # ---- function calls --------------------------------------------------------------

    def eval_call(self, node: Any) -> Units:
        name = node.function.reference
        args = list(node.arguments)
        entry = self.table.get(name)
        if entry is not None and entry.is_lookup:
            if len(args) != 1:
                self.report("unsupported", node, f"lookup `{entry.name}` needs one argument")
                return _UNKNOWN
            self.check_lookup_argument(args[0], f"lookup `{entry.name}`")
            return entry.units if entry.units is not None else _UNKNOWN
        spec = _FUNCTIONS.get(name)
        if spec is None or not spec[0] <= len(args) <= spec[1]:
            for arg in args:
                self.eval(arg)
            problem = (
                "a function the units checker does not support"
                if spec is None
                else f"called with {len(args)} arguments"
            )
            self.report(
                "unsupported",
                node,
                f"`{_function_name(name)}` is {problem} (in `{self.text(node)}`)",
            )
            return _UNKNOWN
        return spec[2](self, node, args)

    def fn_same(self, node: Any, args: list[Any]) -> Units:
        return self.eval(args[0])

    def fn_dimensionless(self, node: Any, args: list[Any]) -> Units:
        for arg in args:
            self.expect_dimensionless(arg, f"argument of {_function_name(node.function.reference)}")
        return self.us.dimensionless

    def fn_constant(self, node: Any, args: list[Any]) -> Units:
        return self.us.dimensionless

    def fn_sqrt(self, node: Any, args: list[Any]) -> Units:
        unit = self.eval(args[0])
        return unit if _is_marker(unit) else unit**0.5

    def fn_unify(self, node: Any, args: list[Any]) -> Units:
        what = f"arguments of {_function_name(node.function.reference)}"
        return self.unify(args, what, node)

    def fn_if_then_else(self, node: Any, args: list[Any]) -> Units:
        self.expect_dimensionless(args[0], "IF THEN ELSE condition")
        return self.unify(args[1:], "IF THEN ELSE branches", node)

    def fn_xidz(self, node: Any, args: list[Any]) -> Units:
        ratio = self.multiply(self.eval(args[0]), self.eval(args[1]), "/")
        if len(args) == 3:
            self.expect(args[2], self.eval(args[2]), ratio, "XIDZ fallback value")
        return ratio

    def fn_step(self, node: Any, args: list[Any]) -> Units:
        self.expect(args[1], self.eval(args[1]), self.time, "STEP time")
        return self.eval(args[0])

    def fn_pulse(self, node: Any, args: list[Any]) -> Units:
        what = _function_name(node.function.reference)
        for arg in args:
            self.expect(arg, self.eval(arg), self.time, f"{what} argument")
        return self.us.dimensionless

    def fn_ramp(self, node: Any, args: list[Any]) -> Units:
        slope = self.eval(args[0])
        for arg in args[1:]:
            self.expect(arg, self.eval(arg), self.time, "RAMP start/end time")
        return slope if _is_marker(slope) else slope * self.time

    def fn_power(self, node: Any, args: list[Any]) -> Units:
        return self.power(args[0], self.eval(args[0]), args[1], node)

    def fn_prod(self, node: Any, args: list[Any]) -> Units:
        return self.expect_dimensionless(args[0], "argument of PROD")

    def fn_random(self, node: Any, args: list[Any]) -> Units:
        *values, seed = args
        self.expect_dimensionless(seed, "random seed")
        return self.unify(values, f"arguments of {_function_name(node.function.reference)}", node)

    # ---- text ------------------------------------------------------------------------

    def text(self, node: Any, parent_precedence: int = -1) -> str:
        ae = self.ae
        if isinstance(node, str):
            return repr(node)
        if isinstance(node, np.ndarray):
            return np.array2string(node, separator=",")
        if _is_number(node):
            value = float(node)
            if math.isnan(value):
                return ":NA:"
            return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:g}"
        if isinstance(node, ae.ReferenceStructure):
            if node.reference == "time":
                text = "Time"
            else:
                entry = self.table.get(node.reference)
                text = entry.name if entry else node.reference.replace("_", " ")
            if node.subscripts is not None:
                text += "[" + ", ".join(node.subscripts.subscripts) + "]"
            return text
        if isinstance(node, (ae.ArithmeticStructure, ae.LogicStructure)):
            ops = list(node.operators)
            precedence = _PRECEDENCE.get(ops[0], 0)
            if ops in (["negative"], [":NOT:"]):
                prefix = "-" if ops == ["negative"] else ":NOT: "
                text = prefix + self.text(node.arguments[0], precedence)
            else:
                parts = [self.text(node.arguments[0], precedence)]
                for op, arg in zip(ops, node.arguments[1:], strict=True):
                    parts.append(f"{op} {self.text(arg, precedence)}")
                text = " ".join(parts)
            return f"({text})" if precedence <= parent_precedence else text
        if isinstance(node, ae.CallStructure):
            entry = self.table.get(node.function.reference)
            name = entry.name if entry else _function_name(node.function.reference)
            return f"{name}({', '.join(self.text(arg) for arg in node.arguments)})"
        fields = {
            ae.IntegStructure: ("INTEG", ("flow", "initial")),
            ae.InitialStructure: ("INITIAL", ("initial",)),
            ae.GameStructure: ("GAME", ("expression",)),
            ae.DelayFixedStructure: ("DELAY FIXED", ("input", "delay_time", "initial")),
            ae.DelayNStructure: ("DELAY N", ("input", "delay_time", "initial", "order")),
            ae.SmoothNStructure: ("SMOOTH N", ("input", "smooth_time", "initial", "order")),
            ae.TrendStructure: ("TREND", ("input", "average_time", "initial_trend")),
            ae.ForecastStructure: ("FORECAST", ("input", "average_time", "horizon")),
            ae.SampleIfTrueStructure: ("SAMPLE IF TRUE", ("condition", "input", "initial")),
            ae.InlineLookupsStructure: ("WITH LOOKUP", ("argument",)),
        }
        if isinstance(node, ae.SmoothStructure):
            fields[type(node)] = (
                f"SMOOTH{'3' if node.order == 3 else ''}",
                ("input", "smooth_time") + (() if node.initial is node.input else ("initial",)),
            )
        if isinstance(node, ae.DelayStructure):
            fields[type(node)] = (
                f"DELAY{int(node.order)}",
                ("input", "delay_time") + (() if node.initial is node.input else ("initial",)),
            )
        if type(node) in fields:
            name, attrs = fields[type(node)]
            args = ", ".join(self.text(getattr(node, attr)) for attr in attrs)
            if isinstance(node, ae.InlineLookupsStructure):
                args += ", (...)"
            return f"{name}({args})"
        return type(node).__name__


_FunctionSpec = tuple[int, int, Callable[[_Checker, Any, list[Any]], Units]]

#: PySD function name -> (min args, max args, handler).
_FUNCTIONS: dict[str, _FunctionSpec] = {
    "abs": (1, 1, _Checker.fn_same),
    "integer": (1, 1, _Checker.fn_same),
    "sum": (1, 1, _Checker.fn_same),
    "vmin": (1, 1, _Checker.fn_same),
    "vmax": (1, 1, _Checker.fn_same),
    "prod": (1, 1, _Checker.fn_prod),
    "sqrt": (1, 1, _Checker.fn_sqrt),
    **{
        name: (1, 1, _Checker.fn_dimensionless)
        for name in (
            "ln",
            "exp",
            "sin",
            "cos",
            "tan",
            "arcsin",
            "arccos",
            "arctan",
            "sinh",
            "cosh",
            "tanh",
        )
    },
    "log": (2, 2, _Checker.fn_dimensionless),
    "pi": (0, 0, _Checker.fn_constant),
    "random_0_1": (0, 0, _Checker.fn_constant),
    "elmcount": (1, 1, _Checker.fn_constant),
    "power": (2, 2, _Checker.fn_power),
    "min": (2, 2, _Checker.fn_unify),
    "max": (2, 2, _Checker.fn_unify),
    "modulo": (2, 2, _Checker.fn_unify),
    "quantum": (2, 2, _Checker.fn_unify),
    "active_initial": (2, 2, _Checker.fn_unify),
    "if_then_else": (3, 3, _Checker.fn_if_then_else),
    "xidz": (3, 3, _Checker.fn_xidz),
    "zidz": (2, 2, _Checker.fn_xidz),
    "step": (2, 2, _Checker.fn_step),
    "pulse": (2, 2, _Checker.fn_pulse),
    "pulse_train": (4, 4, _Checker.fn_pulse),
    "ramp": (2, 3, _Checker.fn_ramp),
    "random_uniform": (3, 3, _Checker.fn_random),
    "random_normal": (5, 5, _Checker.fn_random),
    "random_exponential": (5, 5, _Checker.fn_random),
}


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


def _abstract_model(path: Path) -> Any:
    from parsimonious.exceptions import ParsimoniousError
    from pysd.translators.vensim.vensim_file import VensimFile

    if not path.is_file():
        raise ModelError(f"Vensim model file not found: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            vensim_file = VensimFile(str(path))
            vensim_file.parse()
            return vensim_file.get_abstract_model()
    except (ParsimoniousError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise ModelError(f"cannot parse Vensim model {path}: {exc}") from exc


def check_units(mdl_path: str | os.PathLike[str]) -> list[UnitsIssue]:
    """Check every equation of a Vensim model for dimensional consistency.

    Returns the issues in model order (empty when the model is consistent).
    Raises :class:`~sim.errors.ModelError` if the file is missing or cannot be parsed.
    """
    checker = _Checker(_abstract_model(Path(mdl_path)))
    return checker.check()


def assert_units_consistent(mdl_path: str | os.PathLike[str]) -> None:
    """Raise :class:`~sim.errors.UnitsError` listing every units issue of the model.

    The exception's ``issues`` attribute holds the :class:`UnitsIssue` objects.
    """
    issues = check_units(mdl_path)
    if issues:
        lines = "\n".join(f"  - {issue.message}" for issue in issues)
        error = UnitsError(f"{len(issues)} units issue(s) in {mdl_path}:\n{lines}")
        error.issues = tuple(issues)  # type: ignore[attr-defined]
        raise error
