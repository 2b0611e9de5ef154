"""Every notebook under notebooks/ executes from top to bottom without error, in a kernel set up
as Jupyter sets it up, and shows its figures as images: no figure is left as the text
``<Figure size 640x400 with 1 Axes>``, and every cell tagged ``figure`` has an image output."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from sim.paths import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
#: The backend Jupyter's kernel (ipykernel) selects when MPLBACKEND is not set.
JUPYTER_BACKEND = "module://matplotlib_inline.backend_inline"
#: Tag of a cell whose output is a figure.
FIGURE_TAG = "figure"
#: The text a matplotlib Figure shows when no image formatter is registered for it.
FIGURE_AS_TEXT = re.compile(r"^<(matplotlib\.figure\.)?Figure size [\d.]+x[\d.]+ with \d+ Axes>$")


def _images(cell: nbformat.NotebookNode) -> int:
    return sum("image/png" in output.get("data", {}) for output in cell.get("outputs", []))


def figures_shown_as_text(notebook: nbformat.NotebookNode) -> list[str]:
    """The cells (index and first line) that show a figure as its text repr instead of an
    image, or that are tagged ``figure`` without an image output."""
    problems = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        where = f"cell {index} ({cell.source.splitlines()[0] if cell.source else ''})"
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            plain = str(data.get("text/plain", "")).strip()
            if FIGURE_AS_TEXT.match(plain) and "image/png" not in data:
                problems.append(f"{where}: shows {plain!r}, not the chart")
        if FIGURE_TAG in cell.metadata.get("tags", []) and not _images(cell):
            problems.append(f"{where}: tagged '{FIGURE_TAG}' but has no image/png output")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_notebook_executes(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernel inherits this process's environment (the test session's private cache); its
    # matplotlib backend is the one Jupyter gives it, so figures display as they do there.
    monkeypatch.setenv("MPLBACKEND", JUPYTER_BACKEND)
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
    assert not figures_shown_as_text(notebook)


def test_a_figure_shown_as_text_is_found() -> None:
    cell = nbformat.v4.new_code_cell("fan_chart(results, target, 'zh')")
    cell.outputs = [
        nbformat.v4.new_output(
            "execute_result",
            data={"text/plain": "<Figure size 640x400 with 1 Axes>"},
            execution_count=1,
        )
    ]
    tagged = nbformat.v4.new_code_cell("chart()", metadata={"tags": [FIGURE_TAG]})
    shown = nbformat.v4.new_code_cell("fan_chart(results, target, 'en')")
    shown.outputs = [
        nbformat.v4.new_output(
            "execute_result",
            data={"text/plain": "<Figure size 640x400 with 1 Axes>", "image/png": "iVBOR"},
            execution_count=2,
        )
    ]
    notebook = nbformat.v4.new_notebook(cells=[cell, tagged, shown])
    problems = figures_shown_as_text(notebook)
    assert len(problems) == 2
    assert "cell 0" in problems[0] and "not the chart" in problems[0]
    assert "cell 1" in problems[1] and "tagged 'figure'" in problems[1]


def test_the_quickstart_tags_its_fan_chart() -> None:
    notebook = nbformat.read(REPO_ROOT / "notebooks" / "01_quickstart.ipynb", as_version=4)
    tagged = [c for c in notebook.cells if FIGURE_TAG in c.metadata.get("tags", [])]
    assert tagged and all("fan_chart(" in cell.source for cell in tagged)


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "no notebooks found"
