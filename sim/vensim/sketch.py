"""Generate the sketch (diagram) section of a Vensim ``.mdl`` file from its equations.

The equation section of the model is the single source of truth; the sketch is derived
from it so that it never drifts. The generated sketch has one view per sector (the Vensim
group a variable is declared under, ``.Economy``, ``.Fund`` ...; the ``Control`` group gets
no view). Within a view:

* every variable of the sector appears exactly once as a *defined* (primary) object;
* every variable of another sector that a variable of this sector refers to appears as a
  *shadow* variable (drawn ``<Name>`` by Vensim);
* there is an influence arrow for every reference in an equation (into the valve of a flow);
* a flow (an additive term of a stock's ``INTEG`` rate) is a valve on a pipe. A flow that
  leaves one stock of the view and enters another is one pipe between the two stocks; a
  flow with a single stock in the view has a cloud at its other end. A flow of another
  sector that changes a stock of this view is drawn as an arrow from its shadow.

Layout: the stocks form a horizontal main row. Stocks joined by flows form chains (ordered
in the direction of their flows) with the valves on the pipes between them; a cloud inflow
of the first stock enters from the left and a cloud outflow of the last stock leaves to the
right, any other cloud flow enters from above or leaves below on a vertical pipe. The other
variables are layered around the row: those that feed the stocks and flows above it, layer
*k* holding the variables whose longest chain of influence into the row has *k* links;
those that only depend on the row (indicators, outputs) below it, by dependency depth.
Within a layer, objects are ordered by the mean position of their neighbours and packed
without overlap. Names are word-wrapped with Times New Roman metrics. The result is
deterministic: the same equations give a byte-identical sketch.

``render_previews`` draws each view of the file's sketch to a PNG with matplotlib, for
readers without Vensim.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.atomic import atomic_write_text
from sim.errors import ModelError

__all__ = [
    "SketchObject",
    "SketchArrow",
    "SketchView",
    "ModelVariable",
    "model_variables",
    "parse_sketch",
    "render_sketch",
    "render_previews",
    "sketch_is_current",
    "split_model_text",
    "update_sketch",
    "wrap_name",
]

# --- file structure ------------------------------------------------------------------------

SKETCH_MARKER = "\\\\\\---///"
SKETCH_END = "///---\\\\\\"
VIEW_HEADER = (
    "\\\\\\---/// Sketch information - do not modify anything except names\n"
    "V300  Do not put anything below this section - it will be ignored\n"
)
VIEW_FONT = (
    "$192-192-192,0,Times New Roman|12||0-0-0|0-0-0|0-0-255|-1--1--1|-1--1--1|96,96,100,0"
)
#: Settings written after the sketch when the file has none (Vensim rewrites them on save).
DEFAULT_SETTINGS = ":L\x7f<%^E!@\n15:0,0,0,0,0,0\n19:100,0\n27:0,\n34:0,\n4:Time\n"

#: Group that holds the simulation control parameters; it gets no view.
CONTROL_GROUP = "Control"
#: View name for variables declared before any group marker.
DEFAULT_VIEW = "Main"


def split_model_text(text: str) -> tuple[str, str]:
    """Split a ``.mdl`` text into its equation part and the settings after the sketch.

    The equation part ends just before the first sketch marker (``\\\\\\---///``) and is
    returned byte for byte. The settings are what follows the sketch terminator
    (``///---\\\\\\``) line, or ``""`` when the file has none.
    """
    start = text.find(SKETCH_MARKER)
    if start < 0:
        return text, ""
    end = text.find(SKETCH_END, start)
    if end < 0:
        return text[:start], ""
    newline = text.find("\n", end)
    return text[:start], "" if newline < 0 else text[newline + 1 :]


# --- reading the model ---------------------------------------------------------------------

Kind = str  # "stock", "flow", "auxiliary", "constant", "lookup", "control"


@dataclass(frozen=True)
class ModelVariable:
    """What the sketch needs to know about one model variable.

    Attributes:
        name: Vensim name as written in the equation.
        key: case-, space- and underscore-insensitive key (PySD's reference form).
        sector: the Vensim group it is declared under.
        kind: stock, flow, auxiliary, constant, lookup or control.
        references: keys of the variables its equation refers to (for a stock: its initial
            value and any rate term that is not a flow), in order of first appearance.
        inflows: for a stock, keys of the flows added to it.
        outflows: for a stock, keys of the flows subtracted from it.
    """

    name: str
    key: str
    sector: str
    kind: Kind
    references: tuple[str, ...] = ()
    inflows: tuple[str, ...] = ()
    outflows: tuple[str, ...] = ()


_GROUP_RE = re.compile(r"^\*+\s*\.(?P<name>[^*~]+?)\s*\*+\s*~", re.DOTALL)
_NAME_RE = re.compile(r'^\s*(?P<name>"(?:[^"\\]|\\.)*"|[^=(\[:~"|]+)')
TIME_KEY = "time"


def _key(name: str) -> str:
    return re.sub(r"[\s_]+", "_", name.strip().strip('"').strip().lower())


def _sectors(equations: str) -> dict[str, str]:
    """Map each variable key to the group it is declared under."""
    text = re.sub(r"\\\s*\n", " ", equations)
    text = re.sub(r"^\s*\{[^}]*\}", "", text)
    sectors: dict[str, str] = {}
    group = ""
    for raw in text.split("|"):
        entry = raw.strip()
        if not entry:
            continue
        match = _GROUP_RE.match(entry)
        if match:
            group = " ".join(match.group("name").split())
            continue
        if entry.startswith(":"):
            continue
        name = _NAME_RE.match(entry.split("~", 1)[0])
        if name and name.group("name").strip():
            sectors.setdefault(_key(" ".join(name.group("name").split())), group)
    return sectors


@contextlib.contextmanager
def _quiet_pysd() -> Iterator[None]:
    with warnings.catch_warnings():
        for category in (DeprecationWarning, FutureWarning):
            warnings.filterwarnings("ignore", category=category, module=r"pysd(\.|$)")
        yield


def _references(node: Any, found: dict[str, None]) -> None:
    from pysd.translators.structures import abstract_expressions as ae

    if isinstance(node, ae.ReferenceStructure):
        found.setdefault(node.reference, None)
        if node.subscripts is not None:
            _references(node.subscripts, found)
    elif dataclasses.is_dataclass(node) and not isinstance(node, type):
        for item in dataclasses.fields(node):
            _references(getattr(node, item.name), found)
    elif isinstance(node, list | tuple):
        for item in node:
            _references(item, found)


def _rate_terms(node: Any, sign: int, terms: list[tuple[int, Any]]) -> None:
    """Split a rate expression into signed additive terms."""
    from pysd.translators.structures import abstract_expressions as ae

    if isinstance(node, ae.ArithmeticStructure) and set(node.operators) <= {
        "+",
        "-",
        "negative",
    }:
        if node.operators == ["negative"]:
            _rate_terms(node.arguments[0], -sign, terms)
            return
        for index, argument in enumerate(node.arguments):
            term_sign = sign if index == 0 or node.operators[index - 1] == "+" else -sign
            _rate_terms(argument, term_sign, terms)
        return
    terms.append((sign, node))


def _is_constant(ast: Any) -> bool:
    from pysd.translators.structures import abstract_expressions as ae

    if isinstance(ast, int | float) or type(ast).__module__.startswith("numpy"):
        return True
    if isinstance(ast, ae.ArithmeticStructure):
        return all(_is_constant(argument) for argument in ast.arguments)
    return False


def model_variables(mdl_path: str | Path) -> list[ModelVariable]:
    """Read the variables of a ``.mdl`` file (in file order) with PySD's parser."""
    from pysd.translators.structures import abstract_expressions as ae
    from pysd.translators.structures import abstract_model as am
    from pysd.translators.vensim.vensim_file import VensimFile

    path = Path(mdl_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"cannot read Vensim model {path}: {exc}") from exc
    sectors = _sectors(split_model_text(text)[0])
    try:
        with _quiet_pysd():
            vensim_file = VensimFile(path)
            vensim_file.parse()
            abstract = vensim_file.get_abstract_model()
    except Exception as exc:  # parsimonious and PySD raise many kinds
        raise ModelError(f"cannot parse Vensim model {path}: {exc}") from exc
    elements = list(abstract.sections[0].elements)

    # First pass: stocks and their signed rate terms.
    rates: dict[str, list[tuple[int, Any]]] = {}
    for element in elements:
        for component in element.components:
            if isinstance(component.ast, ae.IntegStructure):
                terms: list[tuple[int, Any]] = []
                _rate_terms(component.ast.flow, 1, terms)
                rates.setdefault(_key(element.name), []).extend(terms)
    flows = {
        term.reference
        for terms in rates.values()
        for _, term in terms
        if isinstance(term, ae.ReferenceStructure)
    }
    keys = {_key(element.name) for element in elements}

    variables = []
    for element in elements:
        key = _key(element.name)
        components = element.components
        found: dict[str, None] = {}
        inflows: dict[str, None] = {}
        outflows: dict[str, None] = {}
        if isinstance(element, am.AbstractControlElement):
            kind = "control"
        elif any(isinstance(c, am.AbstractLookup) or c.type == "Lookup" for c in components):
            kind = "lookup"
        elif key in rates:
            kind = "stock"
        elif key in flows:
            kind = "flow"
        elif components and all(
            isinstance(c, am.AbstractUnchangeableConstant) or _is_constant(c.ast)
            for c in components
        ):
            kind = "constant"
        else:
            kind = "auxiliary"
        for component in components:
            ast = component.ast
            if isinstance(ast, ae.IntegStructure):
                _references(ast.initial, found)
                continue
            _references(ast, found)
        for sign, term in rates.get(key, []):
            if isinstance(term, ae.ReferenceStructure) and term.reference not in rates:
                (inflows if sign > 0 else outflows).setdefault(term.reference, None)
            else:
                _references(term, found)
        references = tuple(
            ref for ref in found if ref != key and (ref in keys or ref == TIME_KEY)
        )
        variables.append(
            ModelVariable(
                name=" ".join(element.name.split()),
                key=key,
                sector=sectors.get(key, ""),
                kind=kind,
                references=references,
                inflows=tuple(inflows),
                outflows=tuple(outflows),
            )
        )
    return variables


# --- text metrics --------------------------------------------------------------------------

# Advance widths of Times-Roman (Adobe AFM, 1/1000 em) for ASCII 32-126.
_TIMES_WIDTHS = (
    250, 333, 408, 500, 500, 833, 778, 333, 333, 333, 500, 564, 250, 333, 250, 278,
    500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 278, 278, 564, 564, 564, 444,
    921, 722, 667, 667, 722, 611, 556, 722, 722, 333, 389, 722, 611, 889, 722, 722,
    556, 722, 667, 556, 611, 722, 722, 944, 722, 722, 611, 333, 278, 333, 469, 500,
    333, 444, 500, 444, 500, 444, 333, 500, 500, 278, 278, 500, 278, 778, 500, 500,
    500, 500, 333, 389, 278, 500, 500, 722, 500, 500, 444, 480, 200, 480, 541,
)  # fmt: skip
FONT_SIZE = 12
LINE_HEIGHT = 14


def text_width(text: str) -> float:
    """Width of ``text`` in sketch units (points) in Times New Roman 12."""
    total = 0
    for char in text:
        code = ord(char)
        total += _TIMES_WIDTHS[code - 32] if 32 <= code < 127 else 1000
    return total * FONT_SIZE / 1000


def wrap_name(name: str, width: float) -> list[str]:
    """Word-wrap a name into lines no wider than ``width`` (a long word keeps its line)."""
    lines: list[str] = []
    for word in name.split():
        if lines and text_width(lines[-1] + " " + word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _balanced_wrap(name: str, width: float) -> list[str]:
    """Wrap to the fewest lines, then narrow the lines while their number stays the same."""
    lines = wrap_name(name, width)
    best = lines
    trial = width
    while len(lines) > 1 and trial > 30:
        trial -= 4
        lines = wrap_name(name, trial)
        if len(lines) != len(best):
            break
        best = lines
    return best


# --- sketch objects ------------------------------------------------------------------------

AUX_WRAP = 96
STOCK_WRAP = 84
FLOW_WRAP = 96


@dataclass
class SketchObject:
    """One object of a view. ``x, y`` is the centre, ``w, h`` half the width and height.

    ``kind`` is ``stock``, ``variable`` (auxiliary, constant or lookup), ``flow`` (the name
    of a flow, attached to the valve just before it), ``shadow``, ``valve`` or ``cloud``.
    """

    id: int
    kind: str
    name: str
    x: float
    y: float
    w: int
    h: int
    vertical: bool = False

    def box(self) -> tuple[float, float, float, float]:
        return (self.x - self.w, self.y - self.h, self.x + self.w, self.y + self.h)


@dataclass
class SketchArrow:
    """An arrow of a view: ``kind`` is ``influence``, ``pipe_in`` (valve to the stock or
    cloud the flow enters) or ``pipe_out`` (valve to the stock or cloud it leaves)."""

    id: int
    kind: str
    source: int
    target: int
    point: tuple[float, float] = (0, 0)


@dataclass
class SketchView:
    name: str
    objects: dict[int, SketchObject] = field(default_factory=dict)
    arrows: list[SketchArrow] = field(default_factory=list)

    def primaries(self) -> list[SketchObject]:
        return [o for o in self.objects.values() if o.kind in ("stock", "variable", "flow")]


def _text_box(name: str, wrap: float, shadow: bool = False) -> tuple[int, int]:
    shown = f"<{name}>" if shadow else name
    lines = _balanced_wrap(shown, wrap)
    width = max(text_width(line) for line in lines)
    return math.ceil(width / 2) + 3, math.ceil(LINE_HEIGHT * len(lines) / 2) + 1


def _stock_box(name: str) -> tuple[int, int]:
    lines = _balanced_wrap(name, STOCK_WRAP)
    width = max(text_width(line) for line in lines)
    return max(40, math.ceil(width / 2) + 8), max(20, math.ceil(LINE_HEIGHT * len(lines) / 2) + 7)


# --- layout --------------------------------------------------------------------------------

VALVE_W, VALVE_H = 6, 8  # horizontal valve (half sizes); a vertical one is 8 x 6
CLOUD_W, CLOUD_H = 10, 8
LANE_SPACING = 28  # vertical distance between parallel pipes joining the same two stocks
LAYER_GAP = 44  # vertical gap between layers
ITEM_GAP = 22  # horizontal gap between objects of a layer
COMPONENT_GAP = 70  # horizontal gap between unconnected stock chains
MARGIN = 30


@dataclass
class _Flow:
    var: ModelVariable
    source: str | None  # stock key or None (cloud)
    target: str | None
    label: tuple[int, int]  # half sizes of its name


class _Builder:
    """Lay out one view."""

    def __init__(self, name: str, members: list[ModelVariable], by_key: dict[str, ModelVariable]):
        self.view = SketchView(name)
        self.by_key = by_key
        self.members = members
        self.member_keys = {v.key for v in members}
        self.next_id = 1
        self.node_of: dict[str, int] = {}  # primary key -> object id (valve for flows)
        self.edges: list[tuple[int, int]] = []  # influence arrows (from, to)
        self.pipes: list[tuple[int, int, str]] = []  # (valve, end, kind)

    def add(self, kind: str, name: str, w: int, h: int, **extra: Any) -> SketchObject:
        obj = SketchObject(self.next_id, kind, name, 0.0, 0.0, w, h, **extra)
        self.view.objects[obj.id] = obj
        self.next_id += 1
        return obj

    # -- structure --------------------------------------------------------------------------

    def build(self) -> SketchView:
        stocks = [v for v in self.members if v.kind == "stock"]
        flows: dict[str, _Flow] = {}
        extra_flow_edges: list[tuple[str, str]] = []  # (flow key, stock key)
        for var in self.members:
            if var.kind != "flow":
                continue
            sources = [s.key for s in stocks if var.key in s.outflows]
            targets = [s.key for s in stocks if var.key in s.inflows]
            flows[var.key] = _Flow(
                var,
                sources[0] if sources else None,
                targets[0] if targets else None,
                _text_box(var.name, FLOW_WRAP),
            )
            extra_flow_edges += [(var.key, s) for s in sources[1:] + targets[1:]]

        chains = self._chains(stocks, flows)
        for chain in chains:
            for key in chain:
                obj = self.add("stock", self.by_key[key].name, *_stock_box(self.by_key[key].name))
                self.node_of[key] = obj.id
        self._place_row(chains, flows)

        # Influence arrows; shadows for references to variables defined elsewhere.
        shadows: dict[str, int] = {}
        dependencies: list[tuple[str, str]] = []
        for var in self.members:
            for ref in var.references:
                dependencies.append((ref, var.key))
            if var.kind == "stock":
                for ref in var.inflows + var.outflows:
                    if ref not in flows or var.key not in (flows[ref].source, flows[ref].target):
                        if (ref, var.key) not in extra_flow_edges:
                            dependencies.append((ref, var.key))
        dependencies += extra_flow_edges
        for var in self.members:
            if var.kind not in ("stock", "flow"):
                obj = self.add("variable", var.name, *_text_box(var.name, AUX_WRAP))
                self.node_of[var.key] = obj.id
        for ref, _user in dependencies:
            if ref not in self.member_keys and ref not in shadows:
                name = self.by_key[ref].name if ref in self.by_key else "Time"
                obj = self.add("shadow", name, *_text_box(name, AUX_WRAP, shadow=True))
                shadows[ref] = obj.id
        for ref, user in dependencies:
            source = self.node_of.get(ref, shadows.get(ref))
            assert source is not None
            edge = (source, self.node_of[user])
            if edge not in self.edges:
                self.edges.append(edge)
        self._place_layers()
        self._finish()
        return self.view

    def _chains(self, stocks: list[ModelVariable], flows: dict[str, _Flow]) -> list[list[str]]:
        """Group stocks joined by flows into chains, each ordered along its flows."""
        order = {s.key: i for i, s in enumerate(stocks)}
        links = [(f.source, f.target) for f in flows.values() if f.source and f.target]
        parent = {s.key: s.key for s in stocks}

        def find(key: str) -> str:
            while parent[key] != key:
                key = parent[key]
            return key

        for a, b in links:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb, key=order.__getitem__)] = min(ra, rb, key=order.__getitem__)
        groups: dict[str, list[str]] = {}
        for s in stocks:
            groups.setdefault(find(s.key), []).append(s.key)
        chains = []
        for members in groups.values():
            # Keep only forward edges of a depth-first search from the first stock without
            # an inflow from the chain, then sort topologically (file order breaks ties).
            inner = [(a, b) for a, b in links if a in members]
            has_in = {b for a, b in inner if a != b}
            roots = [m for m in members if m not in has_in] or members[:1]
            successors: dict[str, list[str]] = {m: [] for m in members}
            for a, b in inner:
                if b not in successors[a]:
                    successors[a].append(b)
            state: dict[str, int] = {}
            dag: list[tuple[str, str]] = []

            def visit(node: str) -> None:
                state[node] = 1
                for nxt in sorted(successors[node], key=order.__getitem__):
                    if state.get(nxt) == 1:
                        continue  # back edge: drawn against the chain direction
                    dag.append((node, nxt))
                    if nxt not in state:
                        visit(nxt)
                state[node] = 2

            for root in roots + members:
                if root not in state:
                    visit(root)
            indegree = {m: 0 for m in members}
            for _, b in dag:
                indegree[b] += 1
            ready = sorted((m for m in members if indegree[m] == 0), key=order.__getitem__)
            chain: list[str] = []
            while ready:
                node = ready.pop(0)
                chain.append(node)
                for a, b in dag:
                    if a == node:
                        indegree[b] -= 1
                        if indegree[b] == 0:
                            ready.append(b)
                ready.sort(key=order.__getitem__)
            chains.append(chain)
        return chains

    def _add_flow(self, flow: _Flow, vertical: bool) -> tuple[SketchObject, SketchObject]:
        if vertical:
            valve = self.add("valve", "", VALVE_H, VALVE_W, vertical=True)
        else:
            valve = self.add("valve", "", VALVE_W, VALVE_H)
        label = self.add("flow", flow.var.name, *flow.label)
        self.node_of[flow.var.key] = valve.id
        return valve, label

    def _place_row(self, chains: list[list[str]], flows: dict[str, _Flow]) -> None:
        """Place stocks, valves, flow names and clouds on the main row (y = 0)."""
        objects = self.view.objects
        stock_obj = {key: objects[self.node_of[key]] for chain in chains for key in chain}
        cursor = 0.0
        pending = list(flows.values())

        def take(predicate: Any, limit: int | None = None) -> list[_Flow]:
            found = [f for f in pending if predicate(f)][:limit]
            for f in found:
                pending.remove(f)
            return found

        def cloud_at(x: float, y: float) -> SketchObject:
            cloud = self.add("cloud", "", CLOUD_W, CLOUD_H)
            cloud.x, cloud.y = x, y
            return cloud

        def gap_width(lane_flows: list[_Flow]) -> float:
            widest = max((2 * f.label[0] for f in lane_flows), default=0)
            return max(70.0, widest + 24)

        def place_lanes(lane_flows: list[_Flow], x: float, left_cloud: SketchObject | None = None,
                        right_cloud: SketchObject | None = None) -> None:
            count = len(lane_flows)
            for index, flow in enumerate(lane_flows):
                offset = (index - (count - 1) / 2) * LANE_SPACING
                valve, label = self._add_flow(flow, vertical=False)
                valve.x, valve.y = x, offset
                label.x = x
                above = count > 1 and index < count / 2
                shift = VALVE_H + 2 + label.h
                label.y = offset - shift if above else offset + shift
                src = stock_obj[flow.source] if flow.source else left_cloud
                dst = stock_obj[flow.target] if flow.target else right_cloud
                assert src is not None and dst is not None
                self.pipes.append((valve.id, dst.id, "pipe_in"))
                self.pipes.append((valve.id, src.id, "pipe_out"))

        for chain in chains:
            first, last = chain[0], chain[-1]
            left_in = take(lambda f, k=first: f.target == k and f.source is None, 1)
            right_out = take(lambda f, k=last: f.source == k and f.target is None, 1)
            between = []
            for a, b in zip(chain, chain[1:], strict=False):
                between.append(take(lambda f, a=a, b=b: {f.source, f.target} == {a, b}))
            # Flows between stocks that are not neighbours go next to their source.
            for index, key in enumerate(chain):
                far = take(lambda f, k=key: f.source == k and f.target in chain)
                if far:
                    slot = index if index < len(between) else index - 1
                    between[slot] += far
            tops = {k: take(lambda f, k=k: f.target == k and f.source is None) for k in chain}
            bottoms = {k: take(lambda f, k=k: f.source == k and f.target is None) for k in chain}
            lanes = max((len(b) for b in between), default=1)
            half_height = max(
                max(stock_obj[k].h for k in chain),
                math.ceil((max(lanes, 1) - 1) * LANE_SPACING / 2) + 12,
            )
            for key in chain:
                stock_obj[key].h = half_height

            if left_in:
                gap = gap_width(left_in)
                cloud = cloud_at(cursor + CLOUD_W, 0.0)
                cursor += 2 * CLOUD_W + gap
                place_lanes(left_in, cloud.x + CLOUD_W + gap / 2, left_cloud=cloud)
            for index, key in enumerate(chain):
                stock = stock_obj[key]
                extent_left, extent_right = self._vertical_extents(stock, tops[key], bottoms[key])
                stock.x = cursor + extent_left
                stock.y = 0.0
                self._place_vertical(stock, tops[key], above=True)
                self._place_vertical(stock, bottoms[key], above=False)
                cursor = stock.x + extent_right
                if index < len(between):
                    gap = gap_width(between[index])
                    place_lanes(between[index], cursor + gap / 2)
                    cursor += gap
            if right_out:
                gap = gap_width(right_out)
                valve_x = cursor + gap / 2
                cloud = cloud_at(cursor + gap + CLOUD_W, 0.0)
                place_lanes(right_out, valve_x, right_cloud=cloud)
                cursor += gap + 2 * CLOUD_W
            cursor += COMPONENT_GAP
        # Flows with no stock in this view: cloud -> valve -> cloud.
        for flow in pending:
            gap = gap_width([flow])
            left = cloud_at(cursor + CLOUD_W, 0.0)
            right = cloud_at(cursor + 2 * CLOUD_W + gap + CLOUD_W, 0.0)
            place_lanes([flow], cursor + 2 * CLOUD_W + gap / 2, left, right)
            cursor += 4 * CLOUD_W + gap + COMPONENT_GAP

    @staticmethod
    def _vertical_offsets(items: list[_Flow]) -> list[tuple[float, bool]]:
        """Valve x offsets (from the first) and label sides (True = right) of vertical flows."""
        result: list[tuple[float, bool]] = []
        for index, flow in enumerate(items):
            right = not (index == 0 and len(items) > 1)
            if index == 0:
                result.append((0.0, right))
                continue
            previous_offset, previous_right = result[-1]
            step = 2 * VALVE_H + 14
            if previous_right:
                step += 2 * items[index - 1].label[0] + 8
            result.append((previous_offset + step, right))
        span = result[-1][0] if result else 0.0
        return [(offset - span / 2, right) for offset, right in result]

    def _vertical_extents(self, stock: SketchObject, tops: list[_Flow],
                          bottoms: list[_Flow]) -> tuple[float, float]:
        """Half widths to the left and right of a stock's column (stock and vertical flows)."""
        left = right = float(stock.w)
        for items in (tops, bottoms):
            offsets = self._vertical_offsets(items)
            if offsets:
                span = offsets[-1][0] - offsets[0][0]
                stock.w = max(stock.w, math.ceil(span / 2) + VALVE_H + 10)
                left = right = float(stock.w)
        for items in (tops, bottoms):
            for (offset, label_right), flow in zip(
                self._vertical_offsets(items), items, strict=True
            ):
                reach = VALVE_H + 6 + 2 * flow.label[0]
                if label_right:
                    right = max(right, offset + reach)
                else:
                    left = max(left, -offset + reach)
                left = max(left, -offset + VALVE_H)
                right = max(right, offset + VALVE_H)
        return left, right

    def _place_vertical(self, stock: SketchObject, items: list[_Flow], above: bool) -> None:
        sign = -1 if above else 1
        tallest = max((f.label[1] for f in items), default=0)
        valve_y = sign * (stock.h + max(26, tallest + 10))
        cloud_y = valve_y + sign * (VALVE_W + max(26, tallest + 4))
        for (offset, label_right), flow in zip(self._vertical_offsets(items), items, strict=True):
            valve, label = self._add_flow(flow, vertical=True)
            valve.x, valve.y = stock.x + offset, valve_y
            side = 1 if label_right else -1
            label.x = valve.x + side * (VALVE_H + 6 + label.w)
            label.y = valve_y
            cloud = self.add("cloud", "", CLOUD_W, CLOUD_H)
            cloud.x, cloud.y = valve.x, cloud_y
            if flow.target == self._key_of(stock):
                self.pipes.append((valve.id, stock.id, "pipe_in"))
                self.pipes.append((valve.id, cloud.id, "pipe_out"))
            else:
                self.pipes.append((valve.id, cloud.id, "pipe_in"))
                self.pipes.append((valve.id, stock.id, "pipe_out"))

    def _key_of(self, obj: SketchObject) -> str:
        for key, node in self.node_of.items():
            if node == obj.id:
                return key
        raise KeyError(obj.id)

    # -- layers -----------------------------------------------------------------------------

    def _place_layers(self) -> None:
        objects = self.view.objects
        row = {o.id for o in objects.values() if o.kind in ("stock", "valve")}
        free = [o.id for o in objects.values() if o.kind in ("variable", "shadow")]
        successors: dict[int, list[int]] = {i: [] for i in objects}
        predecessors: dict[int, list[int]] = {i: [] for i in objects}
        for a, b in self.edges:
            successors[a].append(b)
            predecessors[b].append(a)

        # Above the row: longest chain of influence into the row.
        height: dict[int, int] = {}

        def up(node: int) -> int:
            if node in row:
                return 0
            if node not in height:
                height[node] = -1  # guard against (illegal) simultaneous equations
                best = -1
                for nxt in successors[node]:
                    reach = up(nxt)
                    if reach >= 0:
                        best = max(best, reach + 1)
                height[node] = best
            return height[node]

        layer: dict[int, int] = {}
        for node in free:
            if up(node) > 0:
                layer[node] = -up(node)
        # Below the row: dependency depth from the row; pure sources just above their users.
        isolated = [n for n in free if not successors[n] and not predecessors[n]]
        below = [n for n in free if n not in layer and n not in isolated]
        depth: dict[int, int] = {}

        def down(node: int) -> int:
            if node not in depth:
                depth[node] = 1
                parents = [p for p in predecessors[node] if p in depth or p in below]
                depth[node] = 1 + max((down(p) for p in parents), default=0)
            return depth[node]

        for node in below:
            down(node)
        for node in below:
            if not predecessors[node]:
                users = [depth[s] for s in successors[node] if s in depth]
                if users:
                    depth[node] = max(1, min(users) - 1)
        for node in below:
            layer[node] = depth[node]
        if isolated:
            last = max([v for v in layer.values() if v > 0], default=0) + 1
            for node in isolated:
                layer[node] = last

        layers: dict[int, list[int]] = {}
        for node in free:
            layers.setdefault(layer[node], []).append(node)
        self._order_layers(layers, row, successors, predecessors)

        # Vertical placement.
        row_objects = [o for o in objects.values() if o.id not in layer]
        top = min((o.y - o.h for o in row_objects), default=0.0)
        bottom = max((o.y + o.h for o in row_objects), default=0.0)
        for index in sorted((k for k in layers if k < 0), reverse=True):
            tallest = max(objects[n].h for n in layers[index])
            centre = top - LAYER_GAP - tallest
            for node in layers[index]:
                objects[node].y = centre
            top = centre - tallest
        for index in sorted(k for k in layers if k > 0):
            tallest = max(objects[n].h for n in layers[index])
            centre = bottom + LAYER_GAP + tallest
            for node in layers[index]:
                objects[node].y = centre
            bottom = centre + tallest

    def _order_layers(self, layers: dict[int, list[int]], row: set[int],
                      successors: dict[int, list[int]],
                      predecessors: dict[int, list[int]]) -> None:
        objects = self.view.objects
        neighbours = {n: successors[n] + predecessors[n] for n in objects}
        placed = set(row) | {o.id for o in objects.values() if o.kind in ("flow", "cloud")}

        def desired(node: int) -> float | None:
            xs = [objects[m].x for m in neighbours[node] if m in placed]
            return sum(xs) / len(xs) if xs else None

        outward = sorted(layers, key=lambda k: (abs(k), k))
        row_centre = sum(objects[n].x for n in row) / len(row) if row else 0.0
        for sweep in range(10):
            sequence = outward if sweep % 2 == 0 else list(reversed(outward))
            for index in sequence:
                nodes = layers[index]
                wants = []
                for node in nodes:
                    want = desired(node)
                    if want is None:
                        want = objects[node].x if node in placed else row_centre
                    wants.append(want)
                order = sorted(
                    range(len(nodes)),
                    key=lambda i: (wants[i], objects[nodes[i]].x, objects[nodes[i]].name),
                )
                xs = _pack([wants[i] for i in order], [objects[nodes[i]].w for i in order])
                for i, x in zip(order, xs, strict=True):
                    objects[nodes[i]].x = x
                    placed.add(nodes[i])
                layers[index] = [nodes[i] for i in order]

    def _finish(self) -> None:
        objects = self.view.objects
        min_x = min(o.x - o.w for o in objects.values())
        min_y = min(o.y - o.h for o in objects.values())
        for obj in objects.values():
            obj.x = round(obj.x - min_x + MARGIN)
            obj.y = round(obj.y - min_y + MARGIN)
        arrows = []
        for valve, end, kind in self.pipes:
            a, b = objects[valve], objects[end]
            arrows.append((kind, valve, end, _midpoint_to_edge(a, b)))
        for a, b in self.edges:
            start, stop = objects[a], objects[b]
            arrows.append(
                ("influence", a, b, (round((start.x + stop.x) / 2), round((start.y + stop.y) / 2)))
            )
        for kind, a, b, point in arrows:
            self.view.arrows.append(SketchArrow(self.next_id, kind, a, b, point))
            self.next_id += 1


def _midpoint_to_edge(valve: SketchObject, end: SketchObject) -> tuple[int, int]:
    """Midpoint between a valve and the edge of the object its pipe reaches."""
    if valve.vertical:
        edge = end.y - end.h if end.y > valve.y else end.y + end.h
        return (round(valve.x), round((valve.y + edge) / 2))
    edge = end.x - end.w if end.x > valve.x else end.x + end.w
    return (round((valve.x + edge) / 2), round(valve.y))


def _pack(wants: list[float], half_widths: list[int]) -> list[float]:
    """Positions as close as possible (least squares) to ``wants``, keeping their order and
    at least ``ITEM_GAP`` between neighbouring objects."""
    offsets = [0.0]
    for left, right in zip(half_widths, half_widths[1:], strict=False):
        offsets.append(offsets[-1] + left + right + ITEM_GAP)
    targets = [w - o for w, o in zip(wants, offsets, strict=True)]
    blocks: list[list[float]] = []  # [mean, count]
    for value in targets:
        blocks.append([value, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean_b, count_b = blocks.pop()
            mean_a, count_a = blocks[-1]
            total = count_a + count_b
            blocks[-1] = [(mean_a * count_a + mean_b * count_b) / total, total]
    fitted: list[float] = []
    for mean, count in blocks:
        fitted += [mean] * int(count)
    return [f + o for f, o in zip(fitted, offsets, strict=True)]


# --- writing and reading the sketch text ---------------------------------------------------


def _sketch_name(name: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_$ ][A-Za-z0-9_$ '.&%-]*", name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _format_view(view: SketchView) -> str:
    lines = [f"*{view.name}", VIEW_FONT]
    entries: list[tuple[int, str]] = []
    for obj in view.objects.values():
        x, y = int(obj.x), int(obj.y)
        name = _sketch_name(obj.name)
        if obj.kind == "stock":
            text = f"10,{obj.id},{name},{x},{y},{obj.w},{obj.h},3,3,0,0,0,0,0,0"
        elif obj.kind == "variable":
            text = f"10,{obj.id},{name},{x},{y},{obj.w},{obj.h},8,3,0,0,0,0,0,0"
        elif obj.kind == "flow":
            text = f"10,{obj.id},{name},{x},{y},{obj.w},{obj.h},40,3,0,0,-1,0,0,0"
        elif obj.kind == "shadow":
            text = (
                f"10,{obj.id},{name},{x},{y},{obj.w},{obj.h},8,2,0,3,-1,0,0,0,"
                "128-128-128,0-0-0,|12||128-128-128"
            )
        elif obj.kind == "valve":
            shape, tpos = (33, 4) if obj.vertical else (34, 1)
            text = f"11,{obj.id},48,{x},{y},{obj.w},{obj.h},{shape},3,0,0,{tpos},0,0,0"
        elif obj.kind == "cloud":
            text = f"12,{obj.id},48,{x},{y},{obj.w},{obj.h},0,3,0,0,-1,0,0,0"
        else:  # pragma: no cover - every kind is handled above
            raise ValueError(obj.kind)
        entries.append((obj.id, text))
    for arrow in view.arrows:
        px, py = (int(v) for v in arrow.point)
        if arrow.kind == "influence":
            head = f"1,{arrow.id},{arrow.source},{arrow.target},0,0,0,0,0,64,0"
        else:
            shape = 4 if arrow.kind == "pipe_in" else 100
            head = f"1,{arrow.id},{arrow.source},{arrow.target},{shape},0,0,22,0,0,0"
        entries.append((arrow.id, f"{head},-1--1--1,,1|({px},{py})|"))
    lines += [text for _, text in sorted(entries)]
    return "\n".join(lines) + "\n"


def _views(variables: list[ModelVariable]) -> list[SketchView]:
    by_key = {v.key: v for v in variables}
    sectors: dict[str, list[ModelVariable]] = {}
    for var in variables:
        if var.kind == "control" or var.sector == CONTROL_GROUP:
            continue
        sectors.setdefault(var.sector or DEFAULT_VIEW, []).append(var)
    return [_Builder(name, members, by_key).build() for name, members in sectors.items()]


def render_sketch(mdl_path: str | Path) -> str:
    """The sketch section generated from the equations of ``mdl_path``.

    This is everything after the equations: one ``\\\\\\---///`` header and view per sector,
    the ``///---\\\\\\`` terminator, then the file's settings block (kept as it is, or a
    minimal one if the file has none).
    """
    path = Path(mdl_path)
    text = _read(path)
    settings = split_model_text(text)[1] or DEFAULT_SETTINGS
    views = _views(model_variables(path))
    if not views:
        raise ModelError(f"no variables outside the Control group to draw in {path}")
    body = "".join(VIEW_HEADER + _format_view(view) for view in views)
    return body + SKETCH_END + "\n" + settings


def _read(path: Path) -> str:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"cannot read Vensim model {path}: {exc}") from exc


def _generated_text(path: Path) -> tuple[str, str]:
    text = _read(path)
    equations = split_model_text(text)[0]
    if not equations.endswith("\n"):
        equations += "\n"
    return text, equations + render_sketch(path)


def sketch_is_current(mdl_path: str | Path) -> bool:
    """Whether the file's sketch is exactly what ``render_sketch`` generates."""
    text, generated = _generated_text(Path(mdl_path))
    return text == generated


def update_sketch(mdl_path: str | Path) -> bool:
    """Rewrite the sketch section of ``mdl_path`` in place; return whether it changed.

    The equations are kept byte for byte; the file is replaced atomically.
    """
    path = Path(mdl_path)
    text, generated = _generated_text(path)
    if text == generated:
        return False
    atomic_write_text(path, generated)
    return True


_OBJECT_KINDS = {"3": "stock", "40": "flow"}


def parse_sketch(text: str) -> list[SketchView]:
    """Read the views of a sketch (a whole ``.mdl`` text or just its sketch section).

    Understands the objects this module writes (and plain Vensim variables, valves, clouds
    and arrows); other objects (comments, pictures) are skipped.
    """
    start = text.find(SKETCH_MARKER)
    if start < 0:
        return []
    end = text.find(SKETCH_END, start)
    body = text[start : end if end >= 0 else len(text)]
    views: list[SketchView] = []
    for line in body.splitlines():
        if line.startswith("*"):
            views.append(SketchView(line[1:].strip()))
            continue
        if not views or not line[:3].rstrip(",").isdigit():
            continue
        fields = _split_fields(line)
        code = fields[0]
        view = views[-1]
        try:
            if code == "1" and len(fields) >= 5:
                shape = int(fields[4])
                kind = {4: "pipe_in", 100: "pipe_out"}.get(shape, "influence")
                if kind == "influence" and int(fields[7] or 0) >= 20:
                    kind = "pipe_in"  # other pipe shapes
                points = re.findall(r"\((-?\d+),(-?\d+)\)", line)
                point = tuple(map(float, points[0])) if points else (0.0, 0.0)
                view.arrows.append(
                    SketchArrow(int(fields[1]), kind, int(fields[2]), int(fields[3]), point)
                )
            elif code in ("10", "11", "12") and len(fields) >= 9:
                ident, name = int(fields[1]), fields[2]
                x, y, w, h = (float(v) for v in fields[3:7])
                shape, bits = int(fields[7]), int(fields[8])
                if code == "10":
                    if bits % 2 == 0:
                        kind = "shadow"
                    elif shape & 32:
                        kind = "flow"
                    else:
                        kind = "stock" if shape == 3 else "variable"
                    name = _unquote(name)
                elif code == "11":
                    kind, name = "valve", ""
                elif name == "48":
                    kind, name = "cloud", ""
                else:
                    continue  # comments, sliders, graphs
                view.objects[ident] = SketchObject(
                    ident, kind, name, x, y, int(w), int(h), vertical=(code == "11" and shape & 1)
                )
        except ValueError:
            continue
    return views


def _split_fields(line: str) -> list[str]:
    fields, current, quoted, escaped = [], "", False, False
    for char in line:
        if escaped:
            current += char
            escaped = False
        elif char == "\\" and quoted:
            current += char
            escaped = True
        elif char == '"':
            current += char
            quoted = not quoted
        elif char == "," and not quoted:
            fields.append(current)
            current = ""
        else:
            current += char
    fields.append(current)
    return fields


def _unquote(name: str) -> str:
    if len(name) >= 2 and name[0] == name[-1] == '"':
        return re.sub(r"\\(.)", r"\1", name[1:-1])
    return name


# --- previews ------------------------------------------------------------------------------


def preview_file_name(view_name: str) -> str:
    """File name of the preview of a view, e.g. ``Economy`` -> ``economy.png``."""
    return re.sub(r"[^a-z0-9]+", "_", view_name.lower()).strip("_") + ".png"


def render_previews(mdl_path: str | Path, out_dir: str | Path) -> list[Path]:
    """Draw each view of the file's sketch to ``out_dir/<view>.png``; return the paths."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    path = Path(mdl_path)
    views = parse_sketch(_read(path))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for view in views:
        figure = _draw_view(view, plt)
        target = out / preview_file_name(view.name)
        tmp = target.with_name(f".{target.name}.tmp.png")
        try:
            figure.savefig(tmp, dpi=110, metadata={"Software": None})
            tmp.replace(target)
        finally:
            plt.close(figure)
            tmp.unlink(missing_ok=True)
        written.append(target)
    return written


_PIPE = "#555555"
_ARROW = "#3a5fcd"
_SHADOW = "#808080"


def _clip(obj: SketchObject, toward: tuple[float, float], pad: float = 2) -> tuple[float, float]:
    """Point where the segment from the centre of ``obj`` toward ``toward`` leaves its box."""
    dx, dy = toward[0] - obj.x, toward[1] - obj.y
    if dx == 0 and dy == 0:
        return obj.x, obj.y
    scales = []
    if dx:
        scales.append((obj.w + pad) / abs(dx))
    if dy:
        scales.append((obj.h + pad) / abs(dy))
    scale = min(min(scales), 1.0)
    return obj.x + dx * scale, obj.y + dy * scale


def _draw_view(view: SketchView, plt: Any) -> Any:
    from matplotlib.patches import Ellipse, FancyArrowPatch, Polygon, Rectangle

    objects = view.objects
    max_x = max(o.x + o.w for o in objects.values()) + MARGIN
    max_y = max(o.y + o.h for o in objects.values()) + MARGIN + 24
    scale = 1 / 72  # one sketch unit is one point
    figure = plt.figure(figsize=(max_x * scale, max_y * scale))
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, max_x)
    axes.set_ylim(max_y, 0)
    axes.set_axis_off()
    font = {"family": "STIXGeneral", "size": FONT_SIZE * 0.95}
    axes.text(MARGIN / 2, 8, view.name, va="top", ha="left", fontsize=14, weight="bold",
              family="STIXGeneral")
    shift = 24  # room for the title

    def pos(obj: SketchObject) -> tuple[float, float]:
        return obj.x, obj.y + shift

    for arrow in view.arrows:
        if arrow.source not in objects or arrow.target not in objects:
            continue
        a, b = objects[arrow.source], objects[arrow.target]
        if arrow.kind == "influence":
            start = _clip(a, (b.x, b.y))
            stop = _clip(b, (a.x, a.y), pad=3)
            axes.add_patch(
                FancyArrowPatch(
                    (start[0], start[1] + shift), (stop[0], stop[1] + shift),
                    arrowstyle="-|>", mutation_scale=8, color=_ARROW, lw=0.7, zorder=2,
                )
            )
            continue
        # Pipe from the valve to the edge of the stock or cloud.
        if a.vertical:
            end = (a.x, b.y - b.h if b.y > a.y else b.y + b.h)
        else:
            end = (b.x - b.w if b.x > a.x else b.x + b.w, a.y)
        xs, ys = (a.x, end[0]), (a.y + shift, end[1] + shift)
        axes.plot(xs, ys, color=_PIPE, lw=4.5, solid_capstyle="butt", zorder=1)
        axes.plot(xs, ys, color="white", lw=2.2, solid_capstyle="butt", zorder=1.1)
        if arrow.kind == "pipe_in":
            dx, dy = end[0] - a.x, end[1] - a.y
            length = math.hypot(dx, dy) or 1
            ux, uy = dx / length, dy / length
            tip = (end[0], end[1] + shift)
            base = (end[0] - 8 * ux, end[1] + shift - 8 * uy)
            head = [
                tip,
                (base[0] - 5 * uy, base[1] + 5 * ux),
                (base[0] + 5 * uy, base[1] - 5 * ux),
            ]
            axes.add_patch(Polygon(head, closed=True, color=_PIPE, zorder=1.2))

    for obj in objects.values():
        x, y = pos(obj)
        if obj.kind == "stock":
            axes.add_patch(
                Rectangle((x - obj.w, y - obj.h), 2 * obj.w, 2 * obj.h, facecolor="white",
                          edgecolor="black", lw=1.0, zorder=3)
            )
            lines = _balanced_wrap(obj.name, 2 * obj.w - 10)
            axes.text(x, y, "\n".join(lines), ha="center", va="center", zorder=4,
                      linespacing=1.0, **font)
        elif obj.kind in ("variable", "flow", "shadow"):
            shown = f"<{obj.name}>" if obj.kind == "shadow" else obj.name
            lines = wrap_name(shown, 2 * obj.w - 4)
            color = _SHADOW if obj.kind == "shadow" else "black"
            axes.text(x, y, "\n".join(lines), ha="center", va="center", color=color, zorder=4,
                      linespacing=1.0, bbox={"facecolor": "white", "edgecolor": "none",
                                             "pad": 0.5, "alpha": 0.85}, **font)
        elif obj.kind == "valve":
            if obj.vertical:
                bow = [(x - 6, y - 6), (x + 6, y - 6), (x - 6, y + 6), (x + 6, y + 6)]
            else:
                bow = [(x - 6, y - 6), (x - 6, y + 6), (x + 6, y - 6), (x + 6, y + 6)]
            axes.add_patch(Polygon(bow, closed=True, facecolor="white", edgecolor="black",
                                   lw=0.9, zorder=3))
        elif obj.kind == "cloud":
            for dx, dy, r in ((-4, 1, 6), (3, -2, 6), (4, 3, 5), (-1, 4, 5)):
                axes.add_patch(Ellipse((x + dx, y + dy), 2 * r, 1.6 * r, facecolor="white",
                                       edgecolor="#444444", lw=0.8, zorder=3))
    return figure


def _iter_boxes(view: SketchView) -> Iterable[tuple[SketchObject, tuple[float, ...]]]:
    for obj in view.objects.values():
        yield obj, obj.box()


def overlapping_objects(view: SketchView) -> list[tuple[SketchObject, SketchObject]]:
    """Pairs of objects of a view whose bounding boxes overlap."""
    boxes = sorted(_iter_boxes(view), key=lambda item: item[1][0])
    found = []
    for index, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[index + 1 :]:
            if box_b[0] >= box_a[2]:
                break
            if box_a[1] < box_b[3] and box_b[1] < box_a[3]:
                found.append((a, b))
    return found
