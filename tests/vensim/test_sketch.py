"""The generated sketch of a Vensim model: current, parseable by PySD, complete and legible."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest

from sim.vensim import sketch
from sim.vensim.model import ModelVariable, model_variables
from sim.vensim.sketch import SketchView

FIXTURE = Path(__file__).parent / "fixtures" / "sketch" / "chain.mdl"


def _views(path: Path) -> list[SketchView]:
    return sketch.parse_sketch(path.read_text(encoding="utf-8"))


def _drawn(variables: list[ModelVariable]) -> list[ModelVariable]:
    return [v for v in variables if v.kind != "control"]


def _node(view: SketchView, name: str) -> int:
    """Id of the primary object of a variable in a view (the valve for a flow)."""
    for obj in view.primaries():
        if obj.name == name:
            return obj.id - 1 if obj.kind == "flow" else obj.id
    raise AssertionError(f"{name} is not defined in view {view.name}")


def _name(view: SketchView, ident: int) -> str:
    """Name of the variable an object shows (a valve shows the flow named just after it)."""
    obj = view.objects[ident]
    return view.objects[ident + 1].name if obj.kind == "valve" else obj.name


def _pipe_ends(view: SketchView, valve: int) -> dict[str, str]:
    """Names of what a valve's pipes reach ("" for a cloud), by pipe kind."""
    ends = {}
    for arrow in view.arrows:
        if arrow.source == valve and arrow.kind in ("pipe_in", "pipe_out"):
            end = view.objects[arrow.target]
            ends[arrow.kind] = end.name if end.kind == "stock" else ""
    return ends


@pytest.fixture(scope="module", params=["fixture", "real"])
def model(request: pytest.FixtureRequest) -> Path:
    if request.param == "fixture":
        return FIXTURE
    return request.getfixturevalue("real_model")


@pytest.fixture(scope="module")
def variables(model: Path) -> list[ModelVariable]:
    return model_variables(model)


def test_committed_sketch_is_current(model: Path) -> None:
    assert sketch.sketch_is_current(model), "run update_sketch (innosim sketch) on the model"


def test_one_view_per_sector(model: Path, variables: list[ModelVariable]) -> None:
    sectors = list(dict.fromkeys(v.sector for v in _drawn(variables)))
    assert [view.name for view in _views(model)] == sectors


def test_every_variable_defined_once_in_its_sectors_view(
    model: Path, variables: list[ModelVariable]
) -> None:
    placed: dict[str, list[str]] = {}
    for view in _views(model):
        for obj in view.primaries():
            placed.setdefault(obj.name, []).append(view.name)
    assert placed == {v.name: [v.sector] for v in _drawn(variables)}


def test_every_reference_has_an_influence_arrow(
    model: Path, variables: list[ModelVariable]
) -> None:
    by_key = {v.key: v for v in variables}
    for view in _views(model):
        names = {(_name(view, a.source), a.target) for a in view.arrows if a.kind == "influence"}
        for var in (v for v in variables if v.sector == view.name):
            refs = list(var.references)
            drawn_as_pipes = {
                f
                for f in var.inflows + var.outflows
                if f in by_key and by_key[f].sector == view.name
            }
            refs += [f for f in var.inflows + var.outflows if f not in drawn_as_pipes]
            for ref in refs:
                name = by_key[ref].name if ref in by_key else "Time"
                assert (name, _node(view, var.name)) in names, f"{name} -> {var.name}"


def test_shadows_stand_for_variables_defined_elsewhere(
    model: Path, variables: list[ModelVariable]
) -> None:
    sector = {v.name: v.sector for v in variables}
    for view in _views(model):
        for obj in view.objects.values():
            if obj.kind == "shadow":
                assert obj.name == "Time" or obj.name in sector
                assert not any(a.target == obj.id for a in view.arrows), "arrow into a shadow"


def test_flow_pipes_connect_the_stocks_of_their_integ(
    model: Path, variables: list[ModelVariable]
) -> None:
    views = {view.name: view for view in _views(model)}
    for flow in (v for v in variables if v.kind == "flow"):
        view = views[flow.sector]
        here = [v for v in variables if v.kind == "stock" and v.sector == flow.sector]
        source = next((s.name for s in here if flow.key in s.outflows), "")
        target = next((s.name for s in here if flow.key in s.inflows), "")
        ends = _pipe_ends(view, _node(view, flow.name))
        assert ends == {"pipe_out": source, "pipe_in": target}, flow.name


def test_no_objects_overlap(model: Path) -> None:
    for view in _views(model):
        assert sketch.overlapping_objects(view) == [], view.name


def test_rendering_is_deterministic(model: Path) -> None:
    assert sketch.render_sketch(model) == sketch.render_sketch(model)


def test_pysd_reads_one_module_per_view(
    tmp_path: Path, model: Path, variables: list[ModelVariable]
) -> None:
    import pysd

    copy = tmp_path / model.name
    shutil.copyfile(model, copy)  # PySD writes its translation next to the model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pysd.read_vensim(str(copy), split_views=True)
    modules = json.loads((tmp_path / f"modules_{copy.stem}" / "_modules.json").read_text())
    expected: dict[str, set[str]] = {}
    for var in _drawn(variables):
        expected.setdefault(var.sector.lower(), set()).add(var.key)
    assert {name: set(keys) for name, keys in modules.items()} == expected


def test_fixture_draws_a_stock_to_stock_pipe_clouds_and_shadows() -> None:
    stocks, drivers = _views(FIXTURE)
    a, b = (next(o for o in stocks.primaries() if o.name == n) for n in ("Stock A", "Stock B"))
    assert a.y == b.y and a.x < b.x
    transfer = _node(stocks, "Transfer")
    assert _pipe_ends(stocks, transfer) == {"pipe_out": "Stock A", "pipe_in": "Stock B"}
    assert a.x < stocks.objects[transfer].x < b.x
    assert _pipe_ends(stocks, _node(stocks, "Inflow")) == {"pipe_out": "", "pipe_in": "Stock A"}
    assert _pipe_ends(stocks, _node(stocks, "Outflow")) == {"pipe_out": "Stock B", "pipe_in": ""}
    shadows = sorted(o.name for o in stocks.objects.values() if o.kind == "shadow")
    assert shadows == ["External Flow", "Inflow Rate", "Transfer Rate"]
    external = next(o for o in stocks.objects.values() if o.name == "External Flow")
    assert any(x.source == external.id and x.target == b.id for x in stocks.arrows)
    # A flow with no stock in its own view runs from a cloud to a cloud.
    assert _pipe_ends(drivers, _node(drivers, "External Flow")) == {"pipe_out": "", "pipe_in": ""}


def test_enterprises_view_shows_the_aging_chain(real_model: Path) -> None:
    view = next(v for v in _views(real_model) if v.name == "Enterprises")
    stocks = {o.name: o for o in view.primaries() if o.kind == "stock"}
    chain = [
        stocks[n] for n in ("Tech SMEs", "High Tech Enterprises", "Innovative Leading Enterprises")
    ]
    assert chain[0].x < chain[1].x < chain[2].x
    assert len({s.y for s in chain}) == 1
    fallbacks = _node(view, "HTE Fallbacks")
    assert _pipe_ends(view, fallbacks) == {
        "pipe_out": "High Tech Enterprises",
        "pipe_in": "Tech SMEs",
    }


def test_update_sketch_keeps_equations_and_is_idempotent(tmp_path: Path) -> None:
    text = FIXTURE.read_text(encoding="utf-8")
    equations, _ = sketch.split_model_text(text)
    bare = tmp_path / "bare.mdl"
    bare.write_text(equations + "\\\\\\---/// Sketch information - placeholder\n", "utf-8")
    assert sketch.update_sketch(bare) is True
    assert bare.read_text(encoding="utf-8").startswith(equations)
    assert sketch.sketch_is_current(bare)
    assert sketch.update_sketch(bare) is False
    assert [p.name for p in tmp_path.iterdir()] == ["bare.mdl"]  # no temporary left


def test_settings_after_the_sketch_are_kept(tmp_path: Path) -> None:
    copy = tmp_path / "chain.mdl"
    text = FIXTURE.read_text(encoding="utf-8").replace("4:Time\n", "4:Time\n5:Stock A\n")
    copy.write_text(text, encoding="utf-8")
    assert sketch.update_sketch(copy) is False
    assert copy.read_text(encoding="utf-8").endswith("5:Stock A\n")


def test_render_previews_writes_one_png_per_view(tmp_path: Path) -> None:
    written = sketch.render_previews(FIXTURE, tmp_path)
    assert [p.name for p in written] == ["stocks.png", "drivers.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in written)


def test_name_wrapping_fits_the_box() -> None:
    lines = sketch.wrap_name("Observed Government Innovation Share 2020", 96)
    assert len(lines) > 1
    assert all(sketch.text_width(line) <= 96 for line in lines)
