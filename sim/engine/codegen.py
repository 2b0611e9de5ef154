"""Generate a vectorised simulator (Python source) from PySD's abstract model.

The input is PySD's format-neutral ``AbstractModel`` (what PySD builds from Vensim and XMILE);
this module only reads its structures, dispatching on their class names, and never imports
PySD. Each construct is translated to the numpy expression that gives, draw by draw, what the
Python code PySD builds from the same structure computes (``pysd.builders.python`` and
``pysd.py_backend``): same operator chains and evaluation order, same functions, same statefuls
(INTEG, SMOOTH family, DELAY1/DELAY3 family, INITIAL) and the same Euler scheme. A construct
without such a translation raises ``EngineError`` naming the variable.

The generated ``run`` function has three parts: initialisation (everything, in dependency
order, at INITIAL TIME), the per-step section (only the time-varying variables the derivatives
of the needed statefuls depend on) and the save section (time-varying variables only the
requested outputs need, evaluated at save times only). Whatever depends on neither time nor a
state is evaluated once at initialisation; per-draw parameters flow through as arrays, the rest
stays scalar.
"""

from __future__ import annotations

import keyword
import math
import re
from dataclasses import dataclass, field
from typing import Any

from sim.errors import EngineError
from sim.vensim.model import variable_key

#: Bumped whenever generated code changes; part of the cache key.
ENGINE_VERSION = "1"

CONTROL_KEYS = {
    "initial_time": "t0",
    "final_time": "tf",
    "time_step": "dt",
    "saveper": "saveper",
}

_CONSTRUCT_NAMES = {
    "DelayNStructure": "DELAY N",
    "DelayFixedStructure": "DELAY FIXED",
    "SmoothNStructure": "SMOOTH N",
    "TrendStructure": "TREND",
    "ForecastStructure": "FORECAST",
    "SampleIfTrueStructure": "SAMPLE IF TRUE",
    "AllocateAvailableStructure": "ALLOCATE AVAILABLE",
    "AllocateByPriorityStructure": "ALLOCATE BY PRIORITY",
    "DataStructure": "data variable",
    "GetLookupsStructure": "GET LOOKUPS",
    "GetDataStructure": "GET DATA",
    "GetConstantsStructure": "GET CONSTANTS",
    "SubscriptsReferenceStructure": "subscripts",
}

_COMPARISONS = {"=": "==", "<>": "!=", ">=": ">=", ">": ">", "<=": "<=", "<": "<"}
_ARITHMETIC = {"+": "+", "-": "-", "*": "*", "/": "/", "^": "**"}
_LOGIC = {":AND:": "np.logical_and", ":OR:": "np.logical_or"}

# name: (number of arguments, template, uses time)
_FUNCTIONS: dict[str, tuple[tuple[int, ...], str, bool]] = {
    "abs": ((1,), "np.abs({0})", False),
    "min": ((2,), "np.minimum({0}, {1})", False),
    "max": ((2,), "np.maximum({0}, {1})", False),
    "exp": ((1,), "np.exp({0})", False),
    "ln": ((1,), "np.log({0})", False),
    "log": ((2,), "(np.log({0})/np.log({1}))", False),
    "sqrt": ((1,), "np.sqrt({0})", False),
    "power": ((2,), "np.power({0}, {1})", False),
    "sin": ((1,), "np.sin({0})", False),
    "cos": ((1,), "np.cos({0})", False),
    "tan": ((1,), "np.tan({0})", False),
    "arcsin": ((1,), "np.arcsin({0})", False),
    "arccos": ((1,), "np.arccos({0})", False),
    "arctan": ((1,), "np.arctan({0})", False),
    "sinh": ((1,), "np.sinh({0})", False),
    "cosh": ((1,), "np.cosh({0})", False),
    "tanh": ((1,), "np.tanh({0})", False),
    "pi": ((0,), "np.pi", False),
    "integer": ((1,), "_rt.integer({0})", False),
    "zidz": ((2,), "_rt.zidz({0}, {1})", False),
    "xidz": ((3,), "_rt.xidz({0}, {1}, {2})", False),
    "if_then_else": ((3,), "_rt.ite({0}, lambda: {1}, lambda: {2})", False),
    "pulse": ((2,), "_rt.pulse(t, dt, {0}, {1})", True),
    "pulse_train": ((4,), "_rt.pulse_train(t, dt, {0}, {1}, {2}, {3})", True),
    "step": ((2,), "_rt.step(t, dt, {0}, {1})", True),
    "ramp": ((3,), "_rt.ramp(t, {0}, {1}, {2})", True),
}

_LOOKUP_FUNCTIONS = {
    "interpolate": "_rt.lookup",
    "hold_backward": "_rt.lookup_hold_backward",
    "extrapolate": "_rt.lookup_extrapolate",
}


def _cls(node: Any) -> str:
    return type(node).__name__


@dataclass
class Variable:
    """One model variable as the engine sees it."""

    name: str
    key: str
    ident: str
    kind: str  # constant, auxiliary, stock, stateful, lookup, control
    ast: Any


@dataclass
class _State:
    sid: int
    kind: str  # integ, nonneg_integ, smooth, delay
    owner: str
    order: int = 1
    init: str = ""
    init_deps: set[tuple[str, Any]] = field(default_factory=set)
    parts: dict[str, str] = field(default_factory=dict)
    step_deps: set[tuple[str, Any]] = field(default_factory=set)
    ref: str = ""
    ref_deps: set[tuple[str, Any]] = field(default_factory=set)


@dataclass
class _Initial:
    iid: int
    owner: str
    code: str
    deps: set[tuple[str, Any]]


@dataclass
class ModelStructure:
    """The variables of a model, checked for what the engine supports."""

    variables: dict[str, Variable]
    control: dict[str, float]


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return repr(int(value))
    if isinstance(value, int) or (hasattr(value, "dtype") and value.dtype.kind in "iu"):
        return repr(int(value))
    number = float(value)
    if math.isnan(number):
        return "np.nan"
    if math.isinf(number):
        return "np.inf" if number > 0 else "(-np.inf)"
    return repr(number)


def _is_number(node: Any) -> bool:
    return isinstance(node, int | float) or (
        hasattr(node, "dtype") and getattr(node, "ndim", 1) == 0
    )


def _literal_value(node: Any) -> float | None:
    """Value of an expression made only of numbers (None if it references anything)."""
    if _is_number(node):
        return float(node)
    if _cls(node) == "ArithmeticStructure":
        values = [_literal_value(a) for a in node.arguments]
        if any(v is None for v in values):
            return None
        code = _flat_chain(node.operators, [repr(v) for v in values])
        try:
            return float(eval(code, {"__builtins__": {}}, {}))  # noqa: S307 - numbers only
        except (ArithmeticError, TypeError):
            return None
    return None


def _flat_chain(operators: list[str], arguments: list[str]) -> str:
    if list(operators) == ["negative"]:
        return f"-({arguments[0]})"
    parts = [f"({arguments[0]})"]
    for operator, argument in zip(operators, arguments[1:], strict=True):
        parts.append(f" {_ARITHMETIC[operator]} ({argument})")
    return "".join(parts)


def model_structure(abstract_model: Any, source: str) -> ModelStructure:
    """Collect the variables of an abstract model, refusing what the engine cannot run."""
    sections = list(abstract_model.sections)
    if len(sections) != 1:
        raise EngineError(f"{source}: macros are not supported by the ensemble engine")
    section = sections[0]
    if getattr(section, "subscripts", None):
        raise EngineError(f"{source}: subscripts are not supported by the ensemble engine")
    variables: dict[str, Variable] = {}
    control: dict[str, float] = {}
    used: set[str] = set()
    for element in section.elements:
        name = element.name
        key = variable_key(name)
        components = list(element.components)
        if len(components) != 1 or components[0].subscripts not in (None, ([], []), [[], []]):
            raise EngineError(
                f"variable '{name}': subscripted definitions are not supported by the engine"
            )
        component = components[0]
        ast = component.ast
        if _cls(element) == "AbstractControlElement":
            value = _literal_value(ast)
            if value is None:
                raise EngineError(f"control variable '{name}' must be a number")
            control[key] = value
            continue
        component_class = _cls(component)
        if component_class == "AbstractData" or component.type == "Data":
            raise EngineError(f"variable '{name}': data variables are not supported")
        if component_class == "AbstractLookup" or _cls(ast) in (
            "LookupsStructure",
            "GetLookupsStructure",
        ):
            if _cls(ast) != "LookupsStructure":
                raise EngineError(f"variable '{name}': external lookups are not supported")
            kind = "lookup"
        elif _is_number(ast) or _literal_value(ast) is not None:
            kind = "constant"
        elif _cls(ast) in ("IntegStructure", "SmoothStructure", "DelayStructure"):
            kind = "stock" if _cls(ast) == "IntegStructure" else "stateful"
        else:
            kind = "auxiliary"
        ident = "v_" + re.sub(r"\W", "_", key.encode("ascii", "ignore").decode()).strip("_")
        if keyword.iskeyword(ident) or ident in used:
            index = 2
            while f"{ident}_{index}" in used:
                index += 1
            ident = f"{ident}_{index}"
        used.add(ident)
        variables[key] = Variable(
            name=name,
            key=key,
            ident=ident,
            kind=kind,
            ast=ast,
        )
    for needed in CONTROL_KEYS:
        if needed not in control:
            raise EngineError(f"{source}: control variable {needed.upper()} is missing")
    structure = ModelStructure(variables=variables, control=control)
    # Translate every equation once, so that an unsupported construct is refused now.
    _Translator(structure, frozenset()).translate()
    return structure


class _Translator:
    """Translate the expressions of one variant (set of time-path overrides) of a model."""

    def __init__(self, structure: ModelStructure, time_paths: frozenset[str]) -> None:
        self.variables = structure.variables
        self.time_paths = time_paths
        self.states: list[_State] = []
        self.initials: list[_Initial] = []
        self.lookups: dict[str, tuple[str, Any]] = {}
        self.code: dict[str, str] = {}
        self.deps: dict[str, set[tuple[str, Any]]] = {}
        self.owner = ""

    # -- expressions -----------------------------------------------------------------------

    def refuse(self, construct: str) -> EngineError:
        name = self.variables[self.owner].name if self.owner in self.variables else self.owner
        return EngineError(
            f"variable '{name}': {construct} is not supported by the ensemble engine"
        )

    def expr(self, node: Any, deps: set[tuple[str, Any]]) -> str:
        if _is_number(node):
            return _number(node)
        kind = _cls(node)
        method = getattr(self, f"_x_{kind}", None)
        if method is None:
            raise self.refuse(_CONSTRUCT_NAMES.get(kind, kind))
        return method(node, deps)

    def _x_ArithmeticStructure(self, node: Any, deps: set[tuple[str, Any]]) -> str:
        operators = list(node.operators)
        arguments = [self.expr(a, deps) for a in node.arguments]
        if len(arguments) == 1:
            if operators != ["negative"]:
                raise self.refuse(f"the unary operator {operators}")
        elif any(op not in _ARITHMETIC for op in operators):
            raise self.refuse(f"the operator {operators}")
        return _flat_chain(operators, arguments)

    def _x_LogicStructure(self, node: Any, deps: set[tuple[str, Any]]) -> str:
        operators = list(node.operators)
        arguments = [self.expr(a, deps) for a in node.arguments]
        if operators == [":NOT:"] and len(arguments) == 1:
            return f"np.logical_not({arguments[0]})"
        if len(arguments) == 2 and operators[0] in _COMPARISONS:
            return f"({arguments[0]}) {_COMPARISONS[operators[0]]} ({arguments[1]})"
        if all(op in _LOGIC for op in operators) and len(arguments) == len(operators) + 1:
            # PySD nests from the right: a AND (b AND c).
            right = arguments[-1]
            for operator, left in zip(reversed(operators), reversed(arguments[:-1]), strict=True):
                right = f"{_LOGIC[operator]}({left}, {right})"
            return right
        raise self.refuse(f"the logical expression {operators}")

    def _x_GameStructure(self, node: Any, deps: set[tuple[str, Any]]) -> str:
        return self.expr(node.expression, deps)

    def _x_ReferenceStructure(self, node: Any, deps: set[tuple[str, Any]]) -> str:
        if node.subscripts:
            raise self.refuse("subscripts")
        key = node.reference
        if key == "time":
            deps.add(("t", None))
            return "t"
        if key in CONTROL_KEYS:
            return CONTROL_KEYS[key]
        variable = self.variables.get(key)
        if variable is None:
            raise self.refuse(f"the reference to unknown '{key}'")
        if variable.kind == "lookup":
            raise self.refuse(f"using lookup '{variable.name}' without an argument")
        deps.add(("v", key))
        return variable.ident

    def _x_CallStructure(self, node: Any, deps: set[tuple[str, Any]]) -> str:
        function = node.function.reference
        arguments = [self.expr(a, deps) for a in node.arguments]
        variable = self.variables.get(function)
        if variable is not None and variable.kind == "lookup":
            if len(arguments) != 1:
                raise self.refuse(f"calling lookup '{variable.name}' with {len(arguments)} args")
            name = self._lookup_tables(variable.key, variable.ast)
            return f"{name[0]}({name[1]}_x, {name[1]}_y, {arguments[0]})"
        if function not in _FUNCTIONS:
            raise self.refuse(f"the function {function.upper()}")
        arities, template, uses_time = _FUNCTIONS[function]
        if len(arguments) not in arities:
            raise self.refuse(f"{function.upper()} with {len(arguments)} arguments")
        if uses_time:
            deps.add(("t", None))
        return template.format(*arguments)

    def _x_InlineLookupsStructure(self, node: Any, deps: set[tuple[str, Any]]) -> str:
        argument = self.expr(node.argument, deps)
        index = len(self.lookups)
        name = self._lookup_tables(f"{self.owner}#inline{index}", node.lookups)
        return f"{name[0]}({name[1]}_x, {name[1]}_y, {argument})"

    def _lookup_tables(self, key: str, lookups: Any) -> tuple[str, str]:
        if _cls(lookups) != "LookupsStructure":
            raise self.refuse(_CONSTRUCT_NAMES.get(_cls(lookups), _cls(lookups)))
        function = _LOOKUP_FUNCTIONS.get(lookups.type)
        if function is None:
            raise self.refuse(f"lookups of type '{lookups.type}'")
        xs = [float(x) for x in lookups.x]
        if len(xs) < 2 or any(b <= a for a, b in zip(xs, xs[1:], strict=False)):
            raise self.refuse("a lookup whose x values are not strictly increasing")
        if key not in self.lookups:
            self.lookups[key] = (f"L{len(self.lookups)}", lookups)
        return function, self.lookups[key][0]

    def _x_InitialStructure(self, node: Any, deps: set[tuple[str, Any]]) -> str:
        inner: set[tuple[str, Any]] = set()
        code = self.expr(node.initial, inner)
        initial = _Initial(iid=len(self.initials), owner=self.owner, code=code, deps=inner)
        self.initials.append(initial)
        deps.add(("i", initial.iid))
        return f"i{initial.iid}"

    def _x_IntegStructure(self, node: Any, deps: set[tuple[str, Any]]) -> str:
        state = _State(sid=len(self.states), kind="integ", owner=self.owner)
        if node.non_negative:
            state.kind = "nonneg_integ"
        self.states.append(state)
        state.init = self.expr(node.initial, state.init_deps)
        state.parts["flow"] = self.expr(node.flow, state.step_deps)
        state.ref = f"s{state.sid}"
        state.ref_deps = {("s", state.sid)}
        deps |= state.ref_deps
        return state.ref

    def _x_SmoothStructure(self, node: Any, deps: set[tuple[str, Any]]) -> str:
        order = _literal_value(node.order)
        if order is None or order != int(order) or order < 1:
            raise self.refuse("a SMOOTH whose order is not a positive integer number")
        state = _State(sid=len(self.states), kind="smooth", owner=self.owner, order=int(order))
        self.states.append(state)
        state.init = self.expr(node.initial, state.init_deps)
        state.parts["input"] = self.expr(node.input, state.step_deps)
        state.parts["time"] = self.expr(node.smooth_time, state.step_deps)
        state.ref = f"s{state.sid}_{state.order - 1}"
        state.ref_deps = {("s", state.sid)}
        deps |= state.ref_deps
        return state.ref

    def _x_DelayStructure(self, node: Any, deps: set[tuple[str, Any]]) -> str:
        order = _literal_value(node.order)
        if order is None or order != int(order) or order < 1:
            raise self.refuse("a DELAY whose order is not a positive integer number")
        state = _State(sid=len(self.states), kind="delay", owner=self.owner, order=int(order))
        self.states.append(state)
        state.init = self.expr(node.initial, state.init_deps)
        state.parts["init_time"] = self.expr(node.delay_time, state.init_deps)
        state.parts["input"] = self.expr(node.input, state.step_deps)
        time_deps: set[tuple[str, Any]] = set()
        state.parts["time"] = self.expr(node.delay_time, time_deps)
        state.step_deps |= time_deps
        state.ref = f"(s{state.sid}[-1] / ({state.parts['time']}))"
        state.ref_deps = {("s", state.sid)} | time_deps
        deps |= state.ref_deps
        return state.ref

    # -- variables -------------------------------------------------------------------------

    def translate(self) -> None:
        for key, variable in self.variables.items():
            if variable.kind == "lookup":
                continue
            self.owner = key
            deps: set[tuple[str, Any]] = set()
            if key in self.time_paths:
                self.code[key] = f"_rt.time_path(tpx_{variable.ident}, tpy_{variable.ident}, t)"
                deps.add(("t", None))
            elif variable.kind == "constant":
                value = self.expr(variable.ast, set())
                self.code[key] = f"c[{key!r}] if {key!r} in c else {value}"
            else:
                self.code[key] = self.expr(variable.ast, deps)
            self.deps[key] = deps


def _closure_order(
    roots: list[tuple[str, Any]],
    edges: dict[tuple[str, Any], set[tuple[str, Any]]],
    names: dict[tuple[str, Any], str],
    stop: set[tuple[str, Any]] | None = None,
) -> list[tuple[str, Any]]:
    """Nodes reachable from ``roots``, dependencies first; refuses cycles."""
    order: list[tuple[str, Any]] = []
    done: set[tuple[str, Any]] = set()
    active: list[tuple[str, Any]] = []
    on_path: set[tuple[str, Any]] = set()
    for root in roots:
        if root in done:
            continue
        stack = [(root, iter(sorted(edges.get(root, ()), key=repr)))]
        on_path.add(root)
        active.append(root)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                active.pop()
                on_path.discard(node)
                done.add(node)
                order.append(node)
                continue
            if child in done or (stop is not None and child in stop):
                continue
            if child in on_path:
                cycle = active[active.index(child) :] + [child]
                raise EngineError(
                    "simultaneous equations (a loop without a stock): "
                    + " -> ".join(names.get(n, str(n)) for n in cycle)
                )
            on_path.add(child)
            active.append(child)
            stack.append((child, iter(sorted(edges.get(child, ()), key=repr))))
    return order


def generate(
    structure: ModelStructure,
    outputs: tuple[str, ...],
    time_paths: frozenset[str],
    header: str,
) -> str:
    """Python source of ``run(c, tp, n, times, save, dt, saveper, out)`` for one variant.

    ``outputs`` are variable keys, ``time_paths`` the keys replaced by time paths.
    """
    translator = _Translator(structure, time_paths)
    translator.translate()
    variables = structure.variables
    states = {s.sid: s for s in translator.states}
    initials = {i.iid: i for i in translator.initials}
    names: dict[tuple[str, Any], str] = {}
    for key, variable in variables.items():
        names[("v", key)] = variable.name
    for state in translator.states:
        names[("s", state.sid)] = f"{variables[state.owner].name} (state)"
    for initial in translator.initials:
        names[("i", initial.iid)] = f"INITIAL in {variables[initial.owner].name}"

    # Dynamic: depends on time or a state, other than through INITIAL.
    dynamic: dict[str, bool] = {}

    def is_dynamic(key: str, seen: tuple[str, ...] = ()) -> bool:
        if key in dynamic:
            return dynamic[key]
        result = False
        for kind, ref in translator.deps.get(key, ()):
            if kind in ("t", "s") or (
                kind == "v" and key not in seen and is_dynamic(ref, (*seen, key))
            ):
                result = True
                break
        dynamic[key] = result
        return result

    for key in translator.code:
        is_dynamic(key)

    # Initialisation graph: everything at INITIAL TIME, states before what reads them.
    init_edges: dict[tuple[str, Any], set[tuple[str, Any]]] = {}
    for key, deps in translator.deps.items():
        init_edges[("v", key)] = {d for d in deps if d[0] != "t"}
    for state in translator.states:
        init_edges[("s", state.sid)] = {d for d in state.init_deps if d[0] != "t"}
    for initial in translator.initials:
        init_edges[("i", initial.iid)] = {d for d in initial.deps if d[0] != "t"}

    # What the outputs need: states (whose derivatives need more states), then variables.
    def step_needs(state: _State) -> set[tuple[str, Any]]:
        return set(state.step_deps)

    dyn_edges: dict[tuple[str, Any], set[tuple[str, Any]]] = {
        ("v", key): {d for d in deps if d[0] == "v" and dynamic[d[1]]}
        for key, deps in translator.deps.items()
        if dynamic[key]
    }

    def uses(nodes: set[tuple[str, Any]]) -> set[tuple[str, Any]]:
        """All variables, states and initials ``nodes`` read at run time (transitively)."""
        seen: set[tuple[str, Any]] = set()
        todo = list(nodes)
        while todo:
            node = todo.pop()
            if node in seen or node[0] == "t":
                continue
            seen.add(node)
            if node[0] == "v":
                todo.extend(translator.deps.get(node[1], ()))
            elif node[0] == "s":
                todo.extend(step_needs(states[node[1]]))
        return seen

    output_nodes = {("v", key) for key in outputs}
    used = uses(output_nodes)
    needed_states = sorted(n[1] for n in used if n[0] == "s")
    step_roots: set[tuple[str, Any]] = set()
    for sid in needed_states:
        step_roots |= {d for d in states[sid].step_deps if d[0] == "v" and dynamic[d[1]]}
    step_order = [
        n for n in _closure_order(sorted(step_roots, key=repr), dyn_edges, names) if n[0] == "v"
    ]
    step_set = set(step_order)
    save_roots = {n for n in output_nodes if dynamic[n[1]]}
    save_order = [
        n
        for n in _closure_order(sorted(save_roots, key=repr), dyn_edges, names, stop=step_set)
        if n[0] == "v" and n not in step_set
    ]
    # Initialisation: the needed states, the initials and the static variables used anywhere.
    init_roots = [("s", sid) for sid in needed_states]
    init_roots += sorted((n for n in used if n[0] in ("i", "v")), key=repr)
    init_order = _closure_order(init_roots, init_edges, names)

    lines: list[str] = [
        header,
        "",
        "import numpy as np",
        "",
        "from sim.engine import runtime as _rt",
        "",
    ]
    for _key, (ident, lookups) in translator.lookups.items():
        xs = ", ".join(_number(float(x)) for x in lookups.x)
        ys = ", ".join(_number(float(y)) for y in lookups.y)
        lines.append(f"{ident}_x = np.array([{xs}])")
        lines.append(f"{ident}_y = np.array([{ys}])")
    lines += [
        "",
        "OUTPUTS = " + repr(tuple(outputs)),
        "TIME_PATHS = " + repr(tuple(sorted(time_paths))),
        "",
        "",
        "def run(c, tp, n, times, save, dt, saveper, out):",
        '    """Simulate; ``out`` holds one (n, n_save) array per entry of OUTPUTS."""',
        "    t0 = times[0]",
        f"    tf = {_number(structure.control['final_time'])}",
        "    t = t0",
    ]
    for key in sorted(time_paths):
        ident = variables[key].ident
        lines.append(f"    tpx_{ident}, tpy_{ident} = tp[{key!r}]")
    for index, key in enumerate(outputs):
        lines.append(f"    o{index} = out[{index}]  # {variables[key].name}")
    lines.append("    # --- initialisation, at INITIAL TIME")
    for node in init_order:
        lines += _init_lines(node, translator, states, initials, variables)
    lines += [
        "    j = 0",
        "    last = len(times) - 1",
        "    for k in range(last + 1):",
        "        t = times[k]",
        "        # --- what the derivatives need, every step",
    ]
    for node in step_order:
        variable = variables[node[1]]
        lines.append(f"        {variable.ident} = {translator.code[node[1]]}")
    lines.append("        if save[k]:")
    lines.append("            # --- what only the outputs need, at save times")
    for node in save_order:
        variable = variables[node[1]]
        lines.append(f"            {variable.ident} = {translator.code[node[1]]}")
    for index, key in enumerate(outputs):
        lines.append(f"            o{index}[:, j] = {variables[key].ident}")
    lines += ["            j += 1", "        if k == last:", "            break"]
    lines.append("        # --- derivatives, then the Euler update of every state")
    for sid in needed_states:
        lines += _ddt_lines(states[sid])
    for sid in needed_states:
        lines += _update_lines(states[sid])
    lines.append("")
    return "\n".join(lines)


def _init_lines(
    node: tuple[str, Any],
    translator: _Translator,
    states: dict[int, _State],
    initials: dict[int, _Initial],
    variables: dict[str, Variable],
) -> list[str]:
    kind, ref = node
    if kind == "v":
        return [f"    {variables[ref].ident} = {translator.code[ref]}"]
    if kind == "i":
        return [f"    i{ref} = {initials[ref].code}"]
    state = states[ref]
    sid = state.sid
    if state.kind in ("integ", "nonneg_integ"):
        return [f"    s{sid} = {state.init}"]
    if state.kind == "smooth":
        lines = [f"    s{sid}_0 = {state.init}"]
        # PySD stores the state as np.array([init] * order): an integer initial value makes an
        # integer array, which truncates the input assigned into it at the first step.
        lines.append(f"    int{sid} = isinstance(s{sid}_0, (int, np.integer))")
        lines += [f"    s{sid}_{k} = s{sid}_0" for k in range(1, state.order)]
        return lines
    return [
        f"    o_s{sid} = _rt.delay_order({state.order}, dt, {state.parts['init_time']})",
        f"    s{sid} = _rt.delay_init({state.order}, o_s{sid}, {state.init}, "
        f"{state.parts['init_time']}, n)",
    ]


def _ddt_lines(state: _State) -> list[str]:
    sid = state.sid
    if state.kind in ("integ", "nonneg_integ"):
        return [f"        d{sid} = {state.parts['flow']}"]
    if state.kind == "smooth":
        order = state.order
        lines = [
            f"        in{sid} = {state.parts['input']}",
            f"        if k == 0 and int{sid}:",
            f"            in{sid} = np.trunc(in{sid})",
            f"        st{sid} = {state.parts['time']}",
        ]
        previous = f"in{sid}"
        for k in range(order):
            lines.append(f"        d{sid}_{k} = ({previous} - s{sid}_{k}) * {order} / st{sid}")
            previous = f"s{sid}_{k}"
        return lines
    return [
        f"        d{sid} = _rt.delay_ddt(s{sid}, o_s{sid}, {state.parts['input']}, "
        f"{state.parts['time']})"
    ]


def _update_lines(state: _State) -> list[str]:
    sid = state.sid
    if state.kind == "integ":
        return [f"        s{sid} = s{sid} + d{sid} * dt"]
    if state.kind == "nonneg_integ":
        return [f"        s{sid} = np.maximum(s{sid} + d{sid} * dt, 0)"]
    if state.kind == "smooth":
        return [f"        s{sid}_{k} = s{sid}_{k} + d{sid}_{k} * dt" for k in range(state.order)]
    return [f"        s{sid} = s{sid} + d{sid} * dt"]
