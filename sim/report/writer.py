"""The one output writer: every command's files, staged and published atomically, with the
result's provenance recorded beside them.

``write_outputs(out_dir, files, provenance)`` writes ``{file name: content}`` into a staging
directory (``sim.atomic.staged_output_dir``: nothing half-written remains if anything fails
or the process is killed) and moves them into ``out_dir``. The content's type decides the
format: an xarray Dataset is NetCDF-4 (the provenance added to its attributes), a DataFrame
CSV (UTF-8, no index), a matplotlib Figure PNG, a mapping or list JSON, ``str`` text and
``bytes`` as they are; a function ``write(path)`` writes the file itself (e.g. a NetCDF file
streamed chunk by chunk, ``sim.report.run_outputs``). Files are written in the mapping's order.
The provenance is also written as ``provenance.json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from sim.atomic import staged_output_dir
from sim.provenance import netcdf_attrs
from sim.report.figures import figure_png

PROVENANCE_FILE = "provenance.json"

Output = (
    xr.Dataset
    | pd.DataFrame
    | Figure
    | Mapping[str, Any]
    | list[Any]
    | str
    | bytes
    | Callable[[Path], None]
)


def json_text(content: Mapping[str, Any] | list[Any]) -> str:
    """Indented UTF-8 JSON (Chinese kept as characters), newline-terminated."""
    return json.dumps(content, ensure_ascii=False, indent=2, default=str) + "\n"


def _write(path: Path, content: Output, provenance: Mapping[str, Any]) -> None:
    if isinstance(content, xr.Dataset):
        # the dataset's own attributes win: they describe it more precisely
        content.assign_attrs(netcdf_attrs(provenance) | content.attrs).to_netcdf(path)
    elif isinstance(content, pd.DataFrame):
        content.to_csv(path, index=False)
    elif isinstance(content, Figure):
        path.write_bytes(figure_png(content))
    elif isinstance(content, Mapping | list):
        path.write_text(json_text(content), encoding="utf-8")
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif callable(content):
        content(path)
    else:
        raise TypeError(f"{path.name}: cannot write a {type(content).__name__}")


def write_outputs(
    out_dir: Path, files: Mapping[str, Output], provenance: Mapping[str, Any]
) -> list[Path]:
    """Write ``files`` into ``out_dir`` (staged, atomic) with ``provenance.json``; returns the
    paths written, sorted by name. ``OutputError`` when the directory cannot take them."""
    if PROVENANCE_FILE in files:
        raise ValueError(f"{PROVENANCE_FILE} is written by write_outputs itself")
    with staged_output_dir(out_dir) as stage:
        for name, content in files.items():
            _write(stage / name, content, provenance)
        (stage / PROVENANCE_FILE).write_text(json_text(dict(provenance)), encoding="utf-8")
        names = sorted(path.name for path in stage.iterdir())
    return [Path(out_dir) / name for name in names]
