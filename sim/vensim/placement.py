"""Placement check of Vensim's type-defining ("first") functions.

Vensim decides what kind of variable an equation defines (Level, Initial, Auxiliary with
initial ...) from the function that opens its right-hand side. Those functions must therefore
*be* the right-hand side: the first thing after the ``=`` with nothing after their closing
parenthesis. PySD translates a nested ``INITIAL(...)`` or ``INTEG(...)`` without complaint, but
Vensim (and compilers that follow its documentation) refuse the file. This module reports every
such misplaced call so that ``innosim check`` fails before Vensim would.

What Vensim's reference says (Vensim Help, *Reference Guide > Functions*)
-------------------------------------------------------------------------
Documented to stand alone (a *Restrictions* paragraph on the function's page):

* ``INTEG`` - https://www.vensim.com/documentation/fn_integ.html: "INTEG must directly follow
  the equal sign"; the page lists ``L = A + INTEG( R, 0.0 )`` and ``L = INTEG( B, 0.0 ) + 1`` as
  invalid: "it cannot be part of a more complex mathematical expression".
* ``INITIAL`` - https://www.vensim.com/documentation/fn_initial.html: "Must appear first on the
  right of the = sign and not be followed by anything else."
* ``ACTIVE INITIAL`` - https://vensim.com/documentation/fn_active_initial.html: the same words.
* ``DELAY FIXED`` - https://vensim.com/documentation/fn_delay_fixed.html: "must directly follow
  the equal sign ... it cannot be part of a more complex mathematical expression".
* ``DELAY INFORMATION`` - https://www.vensim.com/documentation/fn_delay_information.html and
  ``DELAY MATERIAL`` - https://vensim.com/documentation/fn_delay_material.html: "must directly
  follow the equal sign".
* ``DELAY N`` - https://vensim.com/documentation/fn_delay_n.html: "must directly follow the
  equal sign and nothing else can appear on the right".
* ``SMOOTH N`` - https://vensim.com/documentation/fn_smooth_n.html: "must directly follow the
  equal sign".
* ``SINTEG`` - https://vensim.com/documentation/fn_sinteg.html: "must directly follow the
  equation sign".
* ``NET PRESENT VALUE`` - https://vensim.com/documentation/fn_net_present_value.html: "must
  directly follow the equal sign and there can be nothing else on the right hand side".

Treated as standalone although their own page was not available to us (the conservative
choice): ``REINITIAL``, ``SAMPLE IF TRUE`` and ``GAME``. The Equation Editor page,
https://vensim.com/documentation/variable_information.html, lists them next to the documented
ones as functions that define the variable's type: "Initial Normal to use the INITIAL function,
Reinitial to use the REINITIAL function", "Level Normal to use the INTEG function, Sample if True
to use the SAMPLE IF TRUE function, Fixed Delay to use the DELAY FIXED function ...",
"Auxiliary Normal, Gaming to use the GAME function, with Initial to use the ACTIVE INITIAL
function".

May be nested (their pages give units and "Equivalent to the equations" but no restriction,
whereas the pages above state one): ``SMOOTH``/``SMOOTHI`` (fn_smooth.html), ``SMOOTH3``/
``SMOOTH3I`` (fn_smooth3.html), ``DELAY1``/``DELAY1I`` (fn_delay1.html), ``DELAY3``/``DELAY3I``
(fn_delay3.html), ``TREND`` (fn_trend.html), ``FORECAST`` (fn_forecast.html) and ``NPV``
(fn_npv.html; contrast ``NET PRESENT VALUE`` above). The SMOOTH walk-through,
https://vensim.com/documentation/20480.html, explains why: the variable "is treated as an
Auxiliary that is equal to a Level made up by Vensim called #SMOOTH(...)#", so the call is an
ordinary value. These are not checked. Neither are functions we did not research (``DELAY
BATCH``, ``DELAY CONVEYOR``, the ``QUEUE`` and ``ALLOCATE`` families ...).

The rule
--------
A call of a standalone function is accepted only as the whole right-hand side of an equation
(``=``, ``==`` or ``:=``). Anywhere else it is reported, as

* ``followed``: the call opens the right-hand side but more terms follow its closing
  parenthesis (``x = INITIAL(y) * 2``);
* ``nested``: anything precedes it, including an enclosing function call, parentheses, a sign,
  or another standalone function whose argument it is (``x = ZIDZ(y, INITIAL(y))``,
  ``s = INTEG(r, INITIAL(y) / 2)``): Vensim requires it "first on the right of the = sign".

The equations are read from the ``.mdl`` text with a tokenizer that skips quoted names,
``'...'`` strings and ``{...}`` comments, and treats a run of words as one name, so that
``Initial Firms`` or a lookup called ``initial effect(x)`` is never taken for ``INITIAL``.
Function names are matched like Vensim names: case-insensitively, with ``_`` equal to a space.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Literal

from sim.errors import ModelError
from sim.vensim.model import _GROUP_RE, _equation_entries, _resolve

__all__ = [
    "STANDALONE_FUNCTIONS",
    "PlacementIssue",
    "PlacementRule",
    "check_placement",
    "equation_placement",
    "placement_problems",
]

_DOCS = "https://vensim.com/documentation/"


@dataclass(frozen=True)
class PlacementRule:
    """Why a function must be the whole right-hand side of its equation.

    Attributes:
        function: Vensim name of the function, upper case (``ACTIVE INITIAL``).
        source: page of Vensim's documentation the rule is taken from.
        documented: ``True`` if that page states the restriction; ``False`` if the rule is the
            conservative choice for a type-defining function whose page we could not read.
    """

    function: str
    source: str
    documented: bool = True


def _rules(*rules: PlacementRule) -> dict[str, PlacementRule]:
    return {rule.function: rule for rule in rules}


#: Functions that Vensim accepts only as the whole right-hand side, by upper-case name.
STANDALONE_FUNCTIONS: dict[str, PlacementRule] = _rules(
    PlacementRule("INTEG", _DOCS + "fn_integ.html"),
    PlacementRule("INITIAL", _DOCS + "fn_initial.html"),
    PlacementRule("ACTIVE INITIAL", _DOCS + "fn_active_initial.html"),
    PlacementRule("DELAY FIXED", _DOCS + "fn_delay_fixed.html"),
    PlacementRule("DELAY INFORMATION", _DOCS + "fn_delay_information.html"),
    PlacementRule("DELAY MATERIAL", _DOCS + "fn_delay_material.html"),
    PlacementRule("DELAY N", _DOCS + "fn_delay_n.html"),
    PlacementRule("SMOOTH N", _DOCS + "fn_smooth_n.html"),
    PlacementRule("SINTEG", _DOCS + "fn_sinteg.html"),
    PlacementRule("NET PRESENT VALUE", _DOCS + "fn_net_present_value.html"),
    PlacementRule("REINITIAL", _DOCS + "variable_information.html", documented=False),
    PlacementRule("SAMPLE IF TRUE", _DOCS + "variable_information.html", documented=False),
    PlacementRule("GAME", _DOCS + "variable_information.html", documented=False),
)

PlacementKind = Literal["nested", "followed"]

_WHAT = {
    "nested": "is nested inside an expression",
    "followed": "is followed by more terms",
}


@dataclass(frozen=True)
class PlacementIssue:
    """A standalone function used where Vensim does not accept it.

    Attributes:
        variable: Vensim name of the variable whose equation holds the call.
        function: the function's Vensim name, upper case (``INITIAL``).
        rule: ``nested`` (something precedes the call) or ``followed`` (the call opens the
            right-hand side but more terms follow it).
        message: a readable sentence naming the variable, the function and the rule.
    """

    variable: str
    function: str
    rule: PlacementKind
    message: str

    def __str__(self) -> str:
        return self.message


def _issue(variable: str, function: str, rule: PlacementKind) -> PlacementIssue:
    message = (
        f"{variable}: {function} {_WHAT[rule]}; Vensim requires {function}(...) to be the "
        "whole right-hand side (lift it into a variable of its own)"
    )
    return PlacementIssue(variable=variable, function=function, rule=rule, message=message)


# --- tokenizer ------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"""
      (?P<skip>\s+|\{[^}]*\}?)                 # white space, {comment}
    | (?P<quoted>"(?:[^"\\]|\\.)*"?)           # "quoted name"
    | (?P<string>'[^']*'?)                     # 'string' (GET XLS ... arguments)
    | (?P<keyword>:[A-Za-z][A-Za-z ]*:)        # :AND:, :NA:, :EXCEPT: ...
    | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<name>[^\W\d](?:[\w$'&%]|\s+(?=[\w$&%]))*)  # words joined by spaces: one name
    | (?P<open>[(\[])
    | (?P<close>[)\]])
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


def _tokens(text: str) -> list[_Token]:
    """Significant tokens of an equation (white space and comments dropped)."""
    found = []
    for match in _TOKEN_RE.finditer(text):
        kind = match.lastgroup or "other"
        if kind != "skip":
            found.append(_Token(kind, match.group()))
    return found


def _function_key(name: str) -> str:
    return re.sub(r"[\s_]+", " ", name).strip().upper()


def _closing(tokens: list[_Token], start: int) -> int:
    """Index of the bracket closing the one opened at ``start`` (last index if unclosed)."""
    depth = 0
    for index in range(start, len(tokens)):
        kind = tokens[index].kind
        if kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
            if depth == 0:
                return index
    return len(tokens) - 1


def _rhs_issues(variable: str, rhs: list[_Token]) -> list[PlacementIssue]:
    issues = []
    for index, token in enumerate(rhs[:-1]):
        if token.kind != "name" or rhs[index + 1].text != "(":
            continue
        function = _function_key(token.text)
        if function not in STANDALONE_FUNCTIONS:
            continue
        if index > 0:
            issues.append(_issue(variable, function, "nested"))
        elif _closing(rhs, 1) < len(rhs) - 1:
            issues.append(_issue(variable, function, "followed"))
    return issues


def equation_placement(variable: str, rhs: str) -> list[PlacementIssue]:
    """Misplaced standalone-function calls in one right-hand side (text after the ``=``)."""
    return _rhs_issues(variable, _tokens(rhs))


# --- equations of a model file --------------------------------------------------------------

_MACRO_HEADER_RE = re.compile(r"^:MACRO:[^\n]*\n?|^:END OF MACRO:\s*")
_NOT_EQUATIONS = (":THE CONDITION:", ":TEST INPUT:")


def _split_equation(entry: str) -> tuple[str, list[_Token]] | None:
    """``(variable name, right-hand side tokens)`` of an entry, or ``None`` if it has none."""
    tokens = _tokens(entry)
    if not tokens or tokens[0].kind not in ("name", "quoted"):
        return None
    depth = 0
    for index, token in enumerate(tokens):
        if token.kind == "open":
            depth += 1
        elif token.kind == "close":
            depth -= 1
        elif depth == 0 and token.text == "~":
            return None
        elif depth == 0 and token.text == "=":
            start = index + 1
            if start < len(tokens) and tokens[start].text == "=":
                start += 1  # unchangeable constant: x == ...
            rhs = []
            for item in tokens[start:]:
                if item.text == "~":
                    break
                rhs.append(item)
            return " ".join(tokens[0].text.split()), rhs
    return None


def _equations(text: str) -> list[tuple[str, list[_Token]]]:
    equations = []
    for raw in _equation_entries(text):
        entry = _MACRO_HEADER_RE.sub("", raw, count=1).strip()
        if not entry or _GROUP_RE.match(entry) or any(key in entry for key in _NOT_EQUATIONS):
            continue
        equation = _split_equation(entry)
        if equation is not None:
            equations.append(equation)
    return equations


def check_placement(path: str | os.PathLike[str] | None = None) -> list[PlacementIssue]:
    """Misplaced standalone-function calls in a Vensim model, in the order of the file.

    ``path`` defaults to the default model. A call repeated in several equations of one
    variable (subscript elements) is reported once. Raises ``ModelError`` if the file is
    missing, not a ``.mdl`` or not UTF-8 text.
    """
    model_path = _resolve(path)
    try:
        text = model_path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ModelError(f"Vensim model is not UTF-8 text: {model_path}: {exc}") from exc
    issues: dict[tuple[str, str, str], PlacementIssue] = {}
    for variable, rhs in _equations(text):
        for issue in _rhs_issues(variable, rhs):
            issues.setdefault((issue.variable, issue.function, issue.rule), issue)
    return list(issues.values())


def placement_problems(path: str | os.PathLike[str] | None = None) -> list[str]:
    """``check_placement`` as readable lines, one a problem (for ``innosim check``)."""
    return [issue.message for issue in check_placement(path)]
