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

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.atomic import atomic_write_text
from sim.errors import ModelError
from sim.vensim.model import ModelVariable, model_variables

__all__ = [
    "SketchObject",
    "SketchArrow",
    "SketchView",
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
VIEW_FONT = "$192-192-192,0,Times New Roman|12||0-0-0|0-0-0|0-0-255|-1--1--1|-1--1--1|96,96,100,0"
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
LAYER_GAP = 40  # vertical gap between layers
SUBROW_GAP = 18  # vertical gap between the two rows of a staggered layer
ITEM_GAP = 22  # horizontal gap between objects of a layer
BLOCK_GAP = 90  # gap between the blocks (stock chains with their variables) of a view
VIEW_WIDTH = 1500  # blocks are arranged in rows of about this width
MIN_LAYER_WIDTH = 900  # a layer wider than this (and than its row) is staggered
MARGIN = 30
FAR_LAYERS = 3  # a stock feeding a variable this many layers above the row gets a shadow
MAX_BEND = 0.3  # a long arrow bends through its placeholders only this much (of its length)
VERTICAL_APPROACH = 60  # variables feeding a vertical valve sit this far to its left


@dataclass
class _Flow:
    var: ModelVariable
    source: str | None  # stock key or None (cloud)
    target: str | None
    label: tuple[int, int]  # half sizes of its name


@dataclass
class _Block:
    """A stock chain (or the flows without stocks, or the loose variables) and the
    variables laid out around it."""

    chains: list[list[str]] = field(default_factory=list)
    flows: list[_Flow] = field(default_factory=list)
    variables: list[str] = field(default_factory=list)  # keys of auxiliaries, constants...
    ids: list[int] = field(default_factory=list)  # objects laid out in this block


def _chain_order(
    members: list[str], links: list[tuple[str, str]], rank: dict[str, int]
) -> list[str]:
    """Order the stocks of a chain along its flows.

    Keeps the forward edges of a depth-first search (started from the stocks without an
    inflow from the chain, in file order), then sorts topologically with file order
    breaking ties. Edges against the chain direction (e.g. fall-backs) are dropped.
    """
    successors: dict[str, list[str]] = {m: [] for m in members}
    for a, b in links:
        if a in successors and b not in successors[a]:
            successors[a].append(b)
    has_in = {b for a, b in links if a in successors and a != b}
    roots = [m for m in members if m not in has_in] or members[:1]
    state: dict[str, int] = {}
    dag: list[tuple[str, str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        for nxt in sorted(successors[node], key=rank.__getitem__):
            if state.get(nxt) == 1:
                continue
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
    ready = sorted((m for m in members if indegree[m] == 0), key=rank.__getitem__)
    chain: list[str] = []
    while ready:
        node = ready.pop(0)
        chain.append(node)
        for a, b in dag:
            if a == node:
                indegree[b] -= 1
                if indegree[b] == 0:
                    ready.append(b)
        ready.sort(key=rank.__getitem__)
    return chain


def _chains(stocks: list[ModelVariable], flows: dict[str, _Flow]) -> list[list[str]]:
    """Group the stocks joined by flows into chains, each ordered along its flows."""
    rank = {s.key: i for i, s in enumerate(stocks)}
    links = [(f.source, f.target) for f in flows.values() if f.source and f.target]
    parent = {s.key: s.key for s in stocks}

    def find(key: str) -> str:
        while parent[key] != key:
            key = parent[key]
        return key

    for a, b in links:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb, key=rank.__getitem__)] = min(ra, rb, key=rank.__getitem__)
    groups: dict[str, list[str]] = {}
    for stock in stocks:
        groups.setdefault(find(stock.key), []).append(stock.key)
    return [_chain_order(members, links, rank) for members in groups.values()]


class _Builder:
    """Lay out one view."""

    def __init__(self, name: str, members: list[ModelVariable], by_key: dict[str, ModelVariable]):
        self.view = SketchView(name)
        self.by_key = by_key
        self.members = members
        self.member_keys = {v.key for v in members}
        self.next_id = 1
        self.node_of: dict[str, int] = {}  # primary key -> object id (the valve for flows)
        self.key_of: dict[int, str] = {}
        self.edges: list[tuple[int, int]] = []  # influence arrows (from, to)
        self.pipes: list[tuple[int, int, str]] = []  # (valve, end, kind)
        self.route: dict[tuple[int, int], list[int]] = {}  # placeholders a long arrow passes
        self.dummy_of: dict[int, None] = {}  # placeholder objects (negative ids)

    def add(self, kind: str, name: str, w: int, h: int, **extra: Any) -> SketchObject:
        obj = SketchObject(self.next_id, kind, name, 0.0, 0.0, w, h, **extra)
        self.view.objects[obj.id] = obj
        self.next_id += 1
        return obj

    def add_primary(self, key: str, obj: SketchObject) -> None:
        self.node_of[key] = obj.id
        self.key_of[obj.id] = key

    # -- structure --------------------------------------------------------------------------

    def build(self) -> SketchView:
        stocks = [v for v in self.members if v.kind == "stock"]
        flows: dict[str, _Flow] = {}
        dependencies: list[tuple[str, str]] = []  # (referenced key, user key)
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
        for var in self.members:
            dependencies += [(ref, var.key) for ref in var.references]
            for ref in var.inflows + var.outflows:
                flow = flows.get(ref)
                if flow is None or var.key not in (flow.source, flow.target):
                    # A flow of another sector, or a second stock of the same flow.
                    dependencies.append((ref, var.key))
        dependencies = list(dict.fromkeys(dependencies))

        blocks = self._blocks(stocks, flows, dependencies)
        for block in blocks:
            self._layout_block(block, dependencies)
        self._arrange(blocks)
        self._finish()
        return self.view

    def _blocks(
        self,
        stocks: list[ModelVariable],
        flows: dict[str, _Flow],
        dependencies: list[tuple[str, str]],
    ) -> list[_Block]:
        """Split the view into blocks: one per stock chain, one for the flows without a
        stock in the view, one for the variables connected to none of those."""
        blocks: list[_Block] = []
        block_of: dict[str, int] = {}
        for chain in _chains(stocks, flows):
            for key in chain:
                block_of[key] = len(blocks)
            blocks.append(_Block(chains=[chain]))
        free = []
        for flow in flows.values():
            end = flow.source or flow.target
            if end is None:
                free.append(flow)
            else:
                block_of[flow.var.key] = block_of[end]
                blocks[block_of[end]].flows.append(flow)
        if free:
            for flow in free:
                block_of[flow.var.key] = len(blocks)
            blocks.append(_Block(flows=free))

        successors: dict[str, list[str]] = {k: [] for k in self.member_keys}
        predecessors: dict[str, list[str]] = {k: [] for k in self.member_keys}
        for ref, user in dependencies:
            if ref in self.member_keys:
                successors[ref].append(user)
                predecessors[user].append(ref)
        loose = [v.key for v in self.members if v.key not in block_of]

        def nearest(start: str, graph: dict[str, list[str]]) -> int | None:
            seen = {start}
            frontier = [start]
            while frontier:
                following = []
                for node in frontier:
                    for nxt in graph[node]:
                        if nxt in seen:
                            continue
                        seen.add(nxt)
                        if nxt in flows or self.by_key[nxt].kind == "stock":
                            return block_of[nxt]
                        following.append(nxt)
                frontier = following
            return None

        assigned: dict[str, int] = {}
        for key in loose:
            found = nearest(key, successors)
            if found is None:
                found = nearest(key, predecessors)
            if found is not None:
                assigned[key] = found
        changed = True
        while changed:
            changed = False
            for key in loose:
                if key in assigned:
                    continue
                near = [assigned[n] for n in successors[key] + predecessors[key] if n in assigned]
                if near:
                    assigned[key] = min(near)
                    changed = True
        rest = [key for key in loose if key not in assigned]
        if rest:
            for key in rest:
                assigned[key] = len(blocks)
            blocks.append(_Block())
        for key in loose:
            blocks[assigned[key]].variables.append(key)
        return blocks

    def _layout_block(self, block: _Block, dependencies: list[tuple[str, str]]) -> None:
        """Lay out one block around its row at y = 0, starting at x = 0."""
        first = self.next_id
        for chain in block.chains:
            for key in chain:
                name = self.by_key[key].name
                self.add_primary(key, self.add("stock", name, *_stock_box(name)))
        self._place_row(block)
        for key in block.variables:
            name = self.by_key[key].name
            self.add_primary(key, self.add("variable", name, *_text_box(name, AUX_WRAP)))
        objects = self.view.objects
        mine = set(range(first, self.next_id))
        row = {i for i in mine if objects[i].kind in ("stock", "valve")}
        free = [i for i in sorted(mine) if objects[i].kind == "variable"]

        # Arrows between primaries of the block decide the layers.
        inner = [
            (self.node_of[ref], self.node_of[user])
            for ref, user in dependencies
            if self.node_of.get(user) in mine and self.node_of.get(ref) in mine
        ]
        successors: dict[int, list[int]] = {i: [] for i in mine}
        predecessors: dict[int, list[int]] = {i: [] for i in mine}
        for a, b in inner:
            successors[a].append(b)
            predecessors[b].append(a)

        # Above the row: length of the longest chain of influence into the row.
        height: dict[int, int] = {}

        def up(node: int) -> int:
            if node in row:
                return 0
            if node not in height:
                height[node] = -1  # guards against simultaneous equations
                reach = [up(nxt) for nxt in successors[node]]
                height[node] = max((r + 1 for r in reach if r >= 0), default=-1)
            return height[node]

        layer: dict[int, int] = {i: 0 for i in row}
        underneath: set[int] = set()  # feed only valves below the row: placed below it
        for node in free:
            if up(node) > 0:
                layer[node] = -up(node)
                targets = [objects[n] for n in successors[node] if n in row]
                if up(node) == 1 and all(t.vertical and t.y > 0 for t in targets):
                    underneath.add(node)
                    del layer[node]

        # Shadows: variables defined elsewhere, and variables above the row used below it.
        bottom = {i for i in row if objects[i].vertical and objects[i].y > 0}

        def side(user: int) -> bool:
            """Whether a user is on the upper side (the row counts, but for valves below)."""
            return (user in row and user not in bottom) or layer.get(user, 1) < 0

        wanted: list[tuple[str, int]] = []  # (referenced key, user id)
        plain: list[tuple[int, int]] = []
        for ref, user_key in dependencies:
            user = self.node_of.get(user_key)
            if user not in mine:
                continue
            source = self.node_of.get(ref)
            crosses = source not in row and side(source) and not side(user)
            # A stock feeding a variable far above the row is shown there as a shadow.
            far = source in row and layer.get(user, 0) <= -FAR_LAYERS
            if source in mine and not crosses and not far:
                plain.append((source, user))
            else:
                wanted.append((ref, user))
        shadow_users = {user for _, user in wanted if not side(user)}

        # Below the row: dependency depth; sources just above their first user.
        below = [n for n in free if n not in layer]
        isolated = [
            n for n in below if not successors[n] and not predecessors[n] and n not in shadow_users
        ]
        below = [n for n in below if n not in isolated]
        depth: dict[int, int] = {}

        for node in underneath:
            depth[node] = 2 if node in shadow_users else 1

        def down(node: int) -> int:
            if node not in depth:
                depth[node] = 1
                parents = [p for p in predecessors[node] if p in below]
                base = 1 if node in shadow_users else 0
                depth[node] = 1 + max([down(p) for p in parents] + [base])
            return depth[node]

        for node in below:
            down(node)
        for node in below:
            if not predecessors[node] and node not in shadow_users | underneath:
                users = [depth[s] for s in successors[node] if s in depth]
                if users:
                    depth[node] = max(1, min(users) - 1)
            layer[node] = depth[node]
        if isolated:
            last = max([v for v in layer.values() if v > 0], default=0) + 1
            for node in isolated:
                layer[node] = last

        shadows: dict[tuple[str, int], int] = {}
        for ref, user in wanted:
            if side(user):
                level = min(-1, layer[user] - 1)
            else:
                level = 1 if user in row else max(1, layer[user] - 1)
            slot = (ref, level)
            if slot not in shadows:
                var = self.by_key.get(ref)
                name = var.name if var else "Time"
                shadow = self.add("shadow", name, *_text_box(name, AUX_WRAP, shadow=True))
                shadows[slot] = shadow.id
                layer[shadow.id] = level
                mine.add(shadow.id)
                successors[shadow.id] = []
                predecessors[shadow.id] = []
            plain.append((shadows[slot], user))
        for a, b in plain:
            if (a, b) not in self.edges:
                self.edges.append((a, b))
            if b not in successors[a]:
                successors[a].append(b)
                predecessors[b].append(a)

        # Arrows spanning several layers pass through placeholders that keep a gap for them.
        dummies: set[int] = set()
        for a, b in plain:
            low, high = layer.get(a, 0), layer.get(b, 0)
            if abs(low - high) < 2 or (low < 0 < high) or (high < 0 < low):
                continue
            step = 1 if high > low else -1
            path = [a]
            for level in range(low + step, high, step):
                dummy = SketchObject(
                    -(len(self.dummy_of) + len(dummies) + 1), "dummy", "", 0.0, 0.0, 5, 7
                )
                objects[dummy.id] = dummy
                layer[dummy.id] = level
                dummies.add(dummy.id)
                successors[dummy.id], predecessors[dummy.id] = [], []
                path.append(dummy.id)
            path.append(b)
            successors[a].remove(b)
            predecessors[b].remove(a)
            for u, v in zip(path, path[1:], strict=False):
                successors[u].append(v)
                predecessors[v].append(u)
            self.route[(a, b)] = path[1:-1]

        layers: dict[int, list[int]] = {}
        for node in sorted(mine | dummies, key=abs):
            if node in layer and node not in row:
                layers.setdefault(layer[node], []).append(node)
        self._order_layers(layers, row, mine | dummies, successors, predecessors)
        self.dummy_of.update(dict.fromkeys(dummies))
        block.ids = sorted(mine | dummies)

    # -- the row ----------------------------------------------------------------------------

    def _add_flow(self, flow: _Flow, vertical: bool) -> tuple[SketchObject, SketchObject]:
        if vertical:
            valve = self.add("valve", "", VALVE_H, VALVE_W, vertical=True)
        else:
            valve = self.add("valve", "", VALVE_W, VALVE_H)
        label = self.add("flow", flow.var.name, *flow.label)
        self.add_primary(flow.var.key, valve)
        return valve, label

    def _place_row(self, block: _Block) -> None:
        """Place stocks, valves, flow names and clouds of a block on its row (y = 0)."""
        objects = self.view.objects
        stock_obj = {key: objects[self.node_of[key]] for chain in block.chains for key in chain}
        cursor = 0.0
        pending = list(block.flows)

        def take(predicate: Any, limit: int | None = None) -> list[_Flow]:
            found = [f for f in pending if predicate(f)][:limit]
            for f in found:
                pending.remove(f)
            return found

        def cloud_at(x: float) -> SketchObject:
            cloud = self.add("cloud", "", CLOUD_W, CLOUD_H)
            cloud.x = x
            return cloud

        def gap_width(lane_flows: list[_Flow]) -> float:
            widest = max((2 * f.label[0] for f in lane_flows), default=0)
            return max(70.0, widest + 24)

        def place_lanes(
            lane_flows: list[_Flow],
            x: float,
            left_cloud: SketchObject | None = None,
            right_cloud: SketchObject | None = None,
        ) -> None:
            count = len(lane_flows)
            for index, flow in enumerate(lane_flows):
                offset = (index - (count - 1) / 2) * LANE_SPACING
                valve, label = self._add_flow(flow, vertical=False)
                valve.x, valve.y = x, offset
                label.x = x
                shift = VALVE_H + 2 + label.h
                label.y = offset - shift if count > 1 and index < count / 2 else offset + shift
                src = stock_obj[flow.source] if flow.source else left_cloud
                dst = stock_obj[flow.target] if flow.target else right_cloud
                assert src is not None and dst is not None
                self.pipes.append((valve.id, dst.id, "pipe_in"))
                self.pipes.append((valve.id, src.id, "pipe_out"))

        for chain in block.chains:
            first, last = chain[0], chain[-1]
            left_in = take(lambda f, k=first: f.target == k and f.source is None, 1)
            right_out = take(lambda f, k=last: f.source == k and f.target is None, 1)
            between = [
                take(lambda f, a=a, b=b: {f.source, f.target} == {a, b})
                for a, b in zip(chain, chain[1:], strict=False)
            ]
            # A flow between stocks that are not neighbours goes next to its source.
            for index, key in enumerate(chain):
                far = take(lambda f, k=key, c=chain: f.source == k and f.target in c)
                if far:
                    between[min(index, len(between) - 1)] += far
            tops = {k: take(lambda f, k=k: f.target == k and f.source is None) for k in chain}
            bottoms = {k: take(lambda f, k=k: f.source == k and f.target is None) for k in chain}
            lanes = max((len(b) for b in between), default=1)
            half_height = max(
                max(stock_obj[k].h for k in chain),
                math.ceil((lanes - 1) * LANE_SPACING / 2) + 12,
            )
            for key in chain:
                stock_obj[key].h = half_height

            if left_in:
                gap = gap_width(left_in)
                cloud = cloud_at(cursor + CLOUD_W)
                cursor += 2 * CLOUD_W + gap
                place_lanes(left_in, cloud.x + CLOUD_W + gap / 2, left_cloud=cloud)
            for index, key in enumerate(chain):
                stock = stock_obj[key]
                extent_left, extent_right = self._vertical_extents(stock, tops[key], bottoms[key])
                stock.x = cursor + extent_left
                self._place_vertical(stock, key, tops[key], above=True)
                self._place_vertical(stock, key, bottoms[key], above=False)
                cursor = stock.x + extent_right
                if index < len(between):
                    gap = gap_width(between[index])
                    place_lanes(between[index], cursor + gap / 2)
                    cursor += gap
            if right_out:
                gap = gap_width(right_out)
                cloud = cloud_at(cursor + gap + CLOUD_W)
                place_lanes(right_out, cursor + gap / 2, right_cloud=cloud)
                cursor += gap + 2 * CLOUD_W
            cursor += BLOCK_GAP
        # Flows with no stock in the view: cloud -> valve -> cloud.
        for flow in pending:
            gap = gap_width([flow])
            left = cloud_at(cursor + CLOUD_W)
            right = cloud_at(cursor + 3 * CLOUD_W + gap)
            place_lanes([flow], cursor + 2 * CLOUD_W + gap / 2, left, right)
            cursor += 4 * CLOUD_W + gap + BLOCK_GAP

    @staticmethod
    def _vertical_offsets(items: list[_Flow]) -> list[tuple[float, bool]]:
        """x offsets of the valves of vertical flows on one side of a stock, and the sides
        of their names (True = right)."""
        result: list[tuple[float, bool]] = []
        for index in range(len(items)):
            right = not (index == 0 and len(items) > 1)
            if index == 0:
                result.append((0.0, right))
                continue
            previous_offset, previous_right = result[-1]
            step = 2 * VALVE_H + 24
            if previous_right:
                step += 2 * items[index - 1].label[0] + 8
            result.append((previous_offset + step, right))
        span = result[-1][0] if result else 0.0
        return [(offset - span / 2, right) for offset, right in result]

    def _vertical_extents(
        self, stock: SketchObject, tops: list[_Flow], bottoms: list[_Flow]
    ) -> tuple[float, float]:
        """Half widths to the left and right of a stock's column (stock and vertical flows);
        widens the stock so that every vertical pipe meets it."""
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
        return left, right

    def _place_vertical(
        self, stock: SketchObject, key: str, items: list[_Flow], above: bool
    ) -> None:
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
            if flow.target == key:
                self.pipes.append((valve.id, stock.id, "pipe_in"))
                self.pipes.append((valve.id, cloud.id, "pipe_out"))
            else:
                self.pipes.append((valve.id, cloud.id, "pipe_in"))
                self.pipes.append((valve.id, stock.id, "pipe_out"))

    # -- layers -----------------------------------------------------------------------------

    def _order_layers(
        self,
        layers: dict[int, list[int]],
        row: set[int],
        mine: set[int],
        successors: dict[int, list[int]],
        predecessors: dict[int, list[int]],
    ) -> None:
        """Order and pack the layers of a block (barycentre sweeps), stagger the wide ones,
        and stack them above and below the row."""
        objects = self.view.objects
        neighbours = {n: successors[n] + predecessors[n] for n in mine}
        row_objects = [objects[i] for i in mine if i in row or objects[i].kind in ("flow", "cloud")]
        placed = {o.id for o in row_objects}
        row_left = min((o.x - o.w for o in row_objects), default=0.0)
        row_right = max((o.x + o.w for o in row_objects), default=0.0)
        row_centre = (row_left + row_right) / 2
        limit = max(MIN_LAYER_WIDTH, 1.15 * (row_right - row_left))

        def x_of(node: int) -> float:
            obj = objects[node]
            # Reach a vertical valve from the side away from its cloud and name.
            return obj.x - VERTICAL_APPROACH if obj.vertical else obj.x

        def desired(node: int) -> float:
            xs = [x_of(m) for m in neighbours[node] if m in placed]
            if xs:
                return sum(xs) / len(xs)
            return objects[node].x if node in placed else row_centre

        def sweep(groups: dict[tuple[int, int], list[int]], rounds: int) -> None:
            keys = sorted(groups, key=lambda k: (abs(k[0]), k[0], k[1]))
            for turn in range(rounds):
                for key in keys if turn % 2 == 0 else reversed(keys):
                    nodes = groups[key]
                    wants = [desired(n) for n in nodes]
                    order = sorted(
                        range(len(nodes)),
                        key=lambda i: (wants[i], objects[nodes[i]].x, objects[nodes[i]].name),
                    )
                    xs = _pack([wants[i] for i in order], [objects[nodes[i]].w for i in order])
                    for i, x in zip(order, xs, strict=True):
                        objects[nodes[i]].x = x
                        placed.add(nodes[i])
                    groups[key] = [nodes[i] for i in order]

        groups = {(k, 0): list(v) for k, v in layers.items()}
        sweep(groups, 10)
        staggered: dict[tuple[int, int], list[int]] = {}
        for (index, _), nodes in groups.items():
            width = sum(2 * objects[n].w + ITEM_GAP for n in nodes)
            parts = max(1, math.ceil(width / limit)) if len(nodes) > 2 else 1
            for part in range(parts):
                staggered[(index, part)] = nodes[part::parts]
        sweep(staggered, 6)

        # Stack the rows outward from the main row.
        top = min((o.y - o.h for o in row_objects), default=0.0)
        bottom = max((o.y + o.h for o in row_objects), default=0.0)
        previous = 0
        for index, part in sorted((k for k in staggered if k[0] < 0), key=lambda k: (-k[0], k[1])):
            nodes = staggered[(index, part)]
            tallest = max(objects[n].h for n in nodes)
            gap = SUBROW_GAP if index == previous else LAYER_GAP
            centre = top - gap - tallest
            for node in nodes:
                objects[node].y = centre
            top = centre - tallest
            previous = index
        previous = 0
        for index, part in sorted(k for k in staggered if k[0] > 0):
            nodes = staggered[(index, part)]
            tallest = max(objects[n].h for n in nodes)
            gap = SUBROW_GAP if index == previous else LAYER_GAP
            centre = bottom + gap + tallest
            for node in nodes:
                objects[node].y = centre
            bottom = centre + tallest
            previous = index

    # -- the whole view ---------------------------------------------------------------------

    def _arrange(self, blocks: list[_Block]) -> None:
        """Arrange the blocks in rows, aligning their stock rows."""
        objects = self.view.objects
        extents = []
        for block in blocks:
            items = [objects[i] for i in block.ids]
            extents.append(
                (
                    min(o.x - o.w for o in items),
                    max(o.x + o.w for o in items),
                    min(o.y - o.h for o in items),
                    max(o.y + o.h for o in items),
                )
            )
        width_limit = max([VIEW_WIDTH] + [right - left for left, right, _, _ in extents])
        rows: list[list[int]] = [[]]
        used = 0.0
        for index, (left, right, _, _) in enumerate(extents):
            width = right - left
            if rows[-1] and used + BLOCK_GAP + width > width_limit:
                rows.append([])
                used = 0.0
            used += (BLOCK_GAP if rows[-1] else 0) + width
            rows[-1].append(index)
        top = 0.0
        for row in rows:
            above = max(-extents[i][2] for i in row)
            below = max(extents[i][3] for i in row)
            line = top + above
            cursor = 0.0
            for index in row:
                left, right, _, _ = extents[index]
                for ident in blocks[index].ids:
                    objects[ident].x += cursor - left
                    objects[ident].y += line
                cursor += right - left + BLOCK_GAP
            top = line + below + BLOCK_GAP

    @staticmethod
    def _control_point(start: SketchObject, stop: SketchObject, row: set[int]) -> tuple[int, int]:
        """Control point of an influence arrow: an arc for arrows between a stock and a valve
        of the row that would otherwise run along a pipe, the midpoint (straight) otherwise."""
        curve = "straight"
        if start.id in row and stop.id in row and "cloud" not in (start.kind, stop.kind):
            vertical = start.vertical or stop.vertical
            if vertical and abs(start.x - stop.x) < max(start.w, stop.w):
                curve = "left"
            elif not vertical and abs(start.y - stop.y) < 40:
                curve = "up"
        return _control_point_of(start, stop, curve)

    def _finish(self) -> None:
        objects = self.view.objects
        min_x = min(o.x - o.w for o in objects.values())
        min_y = min(o.y - o.h for o in objects.values())
        for obj in objects.values():
            obj.x = round(obj.x - min_x + MARGIN)
            obj.y = round(obj.y - min_y + MARGIN)
        arrows = []
        for valve, end, kind in self.pipes:
            arrows.append((kind, valve, end, _midpoint_to_edge(objects[valve], objects[end])))
        row = {i for i, _, _ in self.pipes} | {end for _, end, _ in self.pipes}
        for a, b in self.edges:
            point = self._control_point(objects[a], objects[b], row)
            path = self.route.get((a, b))
            if path and _is_straight(objects[a], objects[b], point):
                middle = objects[path[len(path) // 2]]
                point = (round(middle.x), round(middle.y))
                chord = math.hypot(objects[b].x - objects[a].x, objects[b].y - objects[a].y)
                bend = _distance_to_line(objects[a], objects[b], point)
                if bend < 6 or bend > MAX_BEND * chord:
                    point = _control_point_of(objects[a], objects[b], "straight")
            arrows.append(("influence", a, b, point))
        for dummy in self.dummy_of:
            del objects[dummy]
        for kind, a, b, point in arrows:
            self.view.arrows.append(SketchArrow(self.next_id, kind, a, b, point))
            self.next_id += 1


def _control_point_of(start: SketchObject, stop: SketchObject, curve: str) -> tuple[int, int]:
    middle_x, middle_y = (start.x + stop.x) / 2, (start.y + stop.y) / 2
    if curve == "up":
        lift = 28 + 0.12 * abs(stop.x - start.x)
        return round(middle_x), round(min(start.y - start.h, stop.y - stop.h) - lift + 14)
    if curve == "left":
        valve = start if start.vertical else stop
        return round(valve.x - 30), round(middle_y)
    return round(middle_x), round(middle_y)


def _distance_to_line(a: SketchObject, b: SketchObject, point: tuple[float, float]) -> float:
    dx, dy = b.x - a.x, b.y - a.y
    length = math.hypot(dx, dy) or 1.0
    return abs(dy * (point[0] - a.x) - dx * (point[1] - a.y)) / length


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
            a, b = view.objects[arrow.source], view.objects[arrow.target]
            shape = 0 if _is_straight(a, b, arrow.point) else 1
            head = f"1,{arrow.id},{arrow.source},{arrow.target},{shape},0,0,0,0,64,0"
        else:
            shape = 4 if arrow.kind == "pipe_in" else 100
            head = f"1,{arrow.id},{arrow.source},{arrow.target},{shape},0,0,22,0,0,0"
        entries.append((arrow.id, f"{head},-1--1--1,,1|({px},{py})|"))
    lines += [text for _, text in sorted(entries)]
    return "\n".join(lines) + "\n"


def _is_straight(a: SketchObject, b: SketchObject, point: tuple[float, float]) -> bool:
    return abs(point[0] - (a.x + b.x) / 2) <= 1 and abs(point[1] - (a.y + b.y) / 2) <= 1


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
        if not views or not line.split(",", 1)[0].isdigit():
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
    from matplotlib.path import Path as MplPath

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
    axes.text(
        MARGIN / 2,
        8,
        view.name,
        va="top",
        ha="left",
        fontsize=14,
        weight="bold",
        family="STIXGeneral",
    )
    shift = 24  # room for the title

    def pos(obj: SketchObject) -> tuple[float, float]:
        return obj.x, obj.y + shift

    for arrow in view.arrows:
        if arrow.source not in objects or arrow.target not in objects:
            continue
        a, b = objects[arrow.source], objects[arrow.target]
        if arrow.kind == "influence":
            if _is_straight(a, b, arrow.point):
                start = _clip(a, (b.x, b.y))
                stop = _clip(b, (a.x, a.y), pad=3)
                middle = ((start[0] + stop[0]) / 2, (start[1] + stop[1]) / 2)
            else:
                start = _clip(a, arrow.point)
                stop = _clip(b, arrow.point, pad=3)
                # Quadratic Bezier through the control point at its middle.
                middle = (
                    2 * arrow.point[0] - (start[0] + stop[0]) / 2,
                    2 * arrow.point[1] - (start[1] + stop[1]) / 2,
                )
            curve = MplPath(
                [(p[0], p[1] + shift) for p in (start, middle, stop)],
                [MplPath.MOVETO, MplPath.CURVE3, MplPath.CURVE3],
            )
            axes.add_patch(
                FancyArrowPatch(
                    path=curve, arrowstyle="-|>", mutation_scale=8, color=_ARROW, lw=0.7, zorder=2
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
                Rectangle(
                    (x - obj.w, y - obj.h),
                    2 * obj.w,
                    2 * obj.h,
                    facecolor="white",
                    edgecolor="black",
                    lw=1.0,
                    zorder=3,
                )
            )
            lines = _balanced_wrap(obj.name, 2 * obj.w - 10)
            axes.text(
                x, y, "\n".join(lines), ha="center", va="center", zorder=4, linespacing=1.0, **font
            )
        elif obj.kind in ("variable", "flow", "shadow"):
            shown = f"<{obj.name}>" if obj.kind == "shadow" else obj.name
            lines = wrap_name(shown, 2 * obj.w - 4)
            color = _SHADOW if obj.kind == "shadow" else "black"
            axes.text(
                x,
                y,
                "\n".join(lines),
                ha="center",
                va="center",
                color=color,
                zorder=4,
                linespacing=1.0,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5, "alpha": 0.85},
                **font,
            )
        elif obj.kind == "valve":
            if obj.vertical:
                bow = [(x - 6, y - 6), (x + 6, y - 6), (x - 6, y + 6), (x + 6, y + 6)]
            else:
                bow = [(x - 6, y - 6), (x - 6, y + 6), (x + 6, y - 6), (x + 6, y + 6)]
            axes.add_patch(
                Polygon(bow, closed=True, facecolor="white", edgecolor="black", lw=0.9, zorder=3)
            )
        elif obj.kind == "cloud":
            for dx, dy, r in ((-4, 1, 6), (3, -2, 6), (4, 3, 5), (-1, 4, 5)):
                axes.add_patch(
                    Ellipse(
                        (x + dx, y + dy),
                        2 * r,
                        1.6 * r,
                        facecolor="white",
                        edgecolor="#444444",
                        lw=0.8,
                        zorder=3,
                    )
                )
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
