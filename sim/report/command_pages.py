"""The HTML page of a command (``compare.html``, ``sweep.html``, ``sensitivity.html``,
``discover.html``, ``calibrate.html``): its answer in sentences first, then its tables, its
charts (PNG, embedded as base64) and the run's provenance, in the layout of every page
(``templates/base.html.j2``, rendered by ``sim.report.html.render_page``).

A command's report module computes the answer and the display text (labels and units in the
page's language, through ``sim.report.quantities``); this module only lays them out.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from sim.report.html import render_page
from sim.report.i18n import translations
from sim.scenario import Language

#: The template of a command's page.
COMMAND_TEMPLATE = "command.html.j2"

TEXT = translations("command_page")


@dataclass(frozen=True)
class PageTable:
    """A table of a page, as display text.

    Attributes:
        caption: the heading above it.
        headers: the column headers.
        rows: the cells, one sequence per row (text).
        numeric: the columns to align right (numbers), by index.
        note: a line below the table (how to read it), or ``""``.
    """

    caption: str
    headers: Sequence[str]
    rows: Sequence[Sequence[str]]
    numeric: frozenset[int] = field(default_factory=frozenset)
    note: str = ""


def frame_table(
    caption: str, frame: pd.DataFrame, numeric: Sequence[str] = (), note: str = ""
) -> PageTable:
    """A ``PageTable`` of a display table (columns as headers, cells as text); ``numeric``
    names the columns to align right."""
    columns = [str(column) for column in frame.columns]
    return PageTable(
        caption=caption,
        headers=columns,
        rows=[["" if pd.isna(cell) else str(cell) for cell in row] for row in frame.to_numpy()],
        numeric=frozenset(columns.index(name) for name in numeric if name in columns),
        note=note,
    )


def embedded(images: Mapping[str, bytes]) -> list[tuple[str, str]]:
    """``(file name, base64 text)`` of each PNG, for an ``<img src="data:…">``."""
    return [(name, base64.b64encode(data).decode("ascii")) for name, data in images.items()]


def provenance_rows(record: Mapping[str, object]) -> list[tuple[str, str]]:
    """The provenance record as ``(key, text)`` rows (lists and mappings as JSON)."""
    return [
        (
            str(key),
            json.dumps(value, ensure_ascii=False, default=str)
            if isinstance(value, list | dict)
            else str(value),
        )
        for key, value in record.items()
    ]


def render_command_page(
    lang: Language,
    *,
    title: str,
    answer: Sequence[str],
    tables: Sequence[PageTable] = (),
    images: Mapping[str, bytes] | None = None,
    notes: Sequence[str] = (),
    warnings: Sequence[str] = (),
    method: str = "",
    run: str = "",
    provenance: Mapping[str, object] | None = None,
) -> str:
    """The HTML text of a command's page (self-contained).

    Args:
        lang: the page's language.
        title: the heading (also the browser's title).
        answer: the answer, one sentence per item, shown first.
        tables: the tables, in order.
        images: PNG bytes by file name, embedded in order.
        notes: remarks for the reader (what limits the answer).
        warnings: lines shown in red under the answer (e.g. synthetic data).
        method: how the answer was computed, or ``""``.
        run: the run's settings in a line (draws, sampler, seed), or ``""``.
        provenance: the run's provenance record (``provenance.json``).
    """
    return render_page(
        COMMAND_TEMPLATE,
        lang,
        t=TEXT[lang],
        title=title,
        answer=list(answer),
        warnings=list(warnings),
        tables=list(tables),
        images=embedded(images or {}),
        notes=list(notes),
        method=method,
        run=run,
        provenance=provenance_rows(provenance or {}),
    )
