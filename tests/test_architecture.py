"""The layout keeps its promises (README, "Layout"): no import cycles; each layer imports only
the layers below it; PySD only in the Vensim adapter, typer only in the command line; files are
written only through the one output writer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from sim.testing import REPO_ROOT

PACKAGE = REPO_ROOT / "sim"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {
    _module_name(path): path
    for path in sorted(PACKAGE.rglob("*.py"))
    if "_resources" not in path.parts
}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(node: ast.AST, module: str) -> list[str]:
    """Modules named by one import statement (``from a import b`` counts ``a.b`` when ``a.b``
    is a module, else ``a``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = module.rsplit(".", node.level)[0]
            base = f"{package}.{base}" if base else package
        names = [f"{base}.{alias.name}" for alias in node.names]
        return [name if name in MODULES else base for name in names]
    return []


def _imports(module: str, *, top_level_only: bool) -> set[str]:
    """The modules ``module`` imports: at import time only (no function bodies, no
    ``TYPE_CHECKING`` blocks), or anywhere."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            found.update(_imported(node, module))
            if isinstance(node, ast.If) and _is_type_checking(node):
                continue
            if top_level_only and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    visit([child])
                elif not top_level_only:
                    for inner in ast.walk(child):
                        found.update(_imported(inner, module))

    visit(tree.body)
    return found


def _sim_imports(module: str, *, top_level_only: bool) -> set[str]:
    return {name for name in _imports(module, top_level_only=top_level_only) if name in MODULES}


def test_no_import_cycles() -> None:
    graph = {module: _sim_imports(module, top_level_only=True) for module in MODULES}
    # a package's __init__ importing its own modules is not a cycle through them
    for module, targets in graph.items():
        graph[module] = {t for t in targets if not module.startswith(f"{t}.")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycle = stack[stack.index(target) :] + [target]
                pytest.fail("import cycle: " + " → ".join(cycle))
            if target not in state:
                walk(target)
        stack.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module)


#: What each layer may not import (anywhere in the module, lazily or not).
FORBIDDEN = {
    "sim.analysis": ("sim.engine", "sim.workflows", "sim.cli", "sim.report"),
    "sim.report": ("sim.engine", "sim.workflows", "sim.cli"),
    "sim.scenario": ("sim.engine", "sim.workflows", "sim.cli", "sim.report", "sim.analysis"),
    "sim.engine": ("sim.workflows", "sim.cli", "sim.report"),
    "sim.workflows": ("sim.cli",),
    "sim.sampling": ("sim.engine", "sim.workflows", "sim.cli", "sim.report", "sim.analysis"),
    "sim.serve": ("sim.cli",),
}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_only_below_them(layer: str) -> None:
    breaches = [
        f"{module} imports {target}"
        for module in MODULES
        if module == layer or module.startswith(f"{layer}.")
        for target in sorted(_sim_imports(module, top_level_only=False))
        if any(target == f or target.startswith(f"{f}.") for f in FORBIDDEN[layer])
    ]
    assert not breaches, "\n".join(breaches)


@pytest.mark.parametrize(
    ("library", "home"),
    [
        ("pysd", "sim.vensim"),
        ("typer", "sim.cli"),
        ("SALib", "sim.analysis"),
        ("panel", "sim.serve"),
        ("bokeh", "sim.serve"),
    ],
)
def test_libraries_stay_in_their_layer(library: str, home: str) -> None:
    users = [
        module
        for module in MODULES
        if any(
            name == library or name.startswith(f"{library}.")
            for name in _imports(module, top_level_only=False)
        )
    ]
    assert users, f"nothing imports {library}"
    assert [m for m in users if not (m == home or m.startswith(f"{home}."))] == []


def test_only_the_command_line_imports_the_live_page() -> None:
    """``sim.serve`` (the live planner page) sits on top: only ``sim.cli`` imports it."""
    users = [
        module
        for module in MODULES
        if not (module == "sim.serve" or module.startswith(("sim.serve.", "sim.cli")))
        and any(
            target == "sim.serve" or target.startswith("sim.serve.")
            for target in _sim_imports(module, top_level_only=False)
        )
    ]
    assert users == []
