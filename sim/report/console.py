"""Plain-text tables for the terminal, aligned for Chinese (wide) characters."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import pandas as pd


def display_width(text: str) -> int:
    """Display width in a terminal: East-Asian wide characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def format_table(table: pd.DataFrame) -> str:
    """Plain-text table aligned for terminals (CJK aware); text left, numbers right."""
    columns = [str(column) for column in table.columns]
    cells = [[str(value) for value in row] for row in table.itertuples(index=False)]
    widths = [
        max([display_width(column)] + [display_width(row[index]) for row in cells])
        for index, column in enumerate(columns)
    ]
    left = {0, 1}

    def line(values: Sequence[str]) -> str:
        parts = []
        for index, value in enumerate(values):
            pad = " " * (widths[index] - display_width(value))
            parts.append(value + pad if index in left else pad + value)
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(columns), rule] + [line(row) for row in cells])
