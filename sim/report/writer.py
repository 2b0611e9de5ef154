"""The one output writer: every command's files, staged and published atomically, with the
result's provenance recorded beside them.

``write_outputs(out_dir, files, provenance)`` writes ``{file name: content}`` into a staging
directory (``sim.atomic.staged_output_dir``: nothing half-written remains if anything fails
or the process is killed) and moves them into ``out_dir``. The content's type decides the
format: an xarray Dataset is NetCDF-4 (the provenance added to its attributes), a DataFrame
CSV (UTF-8, no index; a ``.csv`` file given as text or written by a function is read back
and treated alike), a matplotlib Figure PNG, a mapping or list JSON, ``str`` text and
``bytes`` as they are; a function ``write(path)`` writes the file itself (e.g. a NetCDF file
streamed chunk by chunk, ``sim.report.run_outputs``). Files are written in the mapping's order.
The provenance is also written as ``provenance.json``.

Tables: each CSV header says its column's unit and a table whose rows differ in unit gets a
``units`` column (the rule of ``sim.report.columns``; values unchanged, in model units), and
the tables of one call are also written as one Excel workbook, ``<command>.xlsx`` (the command
of the provenance; ``sim.report.workbook``), its headers in the report's language. The units
of the model's variables come from the model file the caller names, else from the project's
model when the provenance's ``model_sha256`` is its digest.
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
from sim.errors import InnosimError
from sim.provenance import netcdf_attrs
from sim.report.columns import bare_name, csv_table, with_row_units
from sim.report.figures import figure_png
from sim.scenario import Language

PROVENANCE_FILE = "provenance.json"
#: The workbook's language when neither the call nor the provenance names one.
DEFAULT_LANGUAGE: Language = "zh"

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


def _write(
    path: Path,
    content: Output,
    provenance: Mapping[str, Any],
    variable_units: Mapping[str, str] | None = None,
) -> None:
    if isinstance(content, xr.Dataset):
        # the dataset's own attributes win: they describe it more precisely
        content.assign_attrs(netcdf_attrs(provenance) | content.attrs).to_netcdf(path)
    elif isinstance(content, pd.DataFrame):
        csv_table(content, path.name, variable_units).to_csv(path, index=False)
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


def _csv_headers_stated(path: Path, variable_units: Mapping[str, str]) -> pd.DataFrame:
    """A CSV file written by its own function or as text, rewritten with the headers (and
    units columns) of ``sim.report.columns``, its values' text as written; returns its table
    (numbers parsed exactly) for the workbook."""
    as_written = pd.read_csv(path, dtype=str, keep_default_na=False)
    as_written = as_written.rename(columns=bare_name)
    csv_table(as_written, path.name, variable_units).to_csv(path, index=False)
    parsed = pd.read_csv(path, float_precision="round_trip")
    return parsed.rename(columns=bare_name)


def workbook_name(provenance: Mapping[str, Any]) -> str | None:
    """``<command>.xlsx`` for the provenance of a command (``innosim run`` → ``run.xlsx``);
    ``None`` for a part of one (no command)."""
    command = provenance.get("command")
    if not isinstance(command, str) or not command.strip():
        return None
    return f"{command.removeprefix('innosim').strip().replace(' ', '_')}.xlsx"


def model_names(
    provenance: Mapping[str, Any], model: str | Path | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """The Vensim units and Chinese labels of the model's variables, by name: of ``model``,
    else of the project's model when it is the one of the provenance (``model_sha256``);
    empty when neither is known."""
    from sim.vensim.model import default_model_path, model_sha256, model_variables

    if model is None:
        recorded = provenance.get("model_sha256")
        try:
            default = default_model_path()
            if not recorded or model_sha256(default) != recorded:
                return {}, {}
        except (OSError, InnosimError):  # no project model here: no units to add
            return {}, {}
        model = default
    variables = model_variables(model)
    return (
        {variable.name: variable.units for variable in variables},
        {variable.name: variable.label_zh for variable in variables if variable.label_zh},
    )


def write_outputs(
    out_dir: Path,
    files: Mapping[str, Output],
    provenance: Mapping[str, Any],
    *,
    lang: Language | None = None,
    model: str | Path | None = None,
) -> list[Path]:
    """Write ``files`` into ``out_dir`` (staged, atomic) with ``provenance.json`` and, when
    there are tables, the command's workbook; returns the paths written, sorted by name.
    ``OutputError`` when the directory cannot take them.

    Args:
        lang: language of the workbook's headers (default: the provenance's ``lang``, else
            Chinese).
        model: the model file whose variables the tables name (for their units and labels).
    """
    from sim.report.workbook import write_workbook

    if PROVENANCE_FILE in files:
        raise ValueError(f"{PROVENANCE_FILE} is written by write_outputs itself")
    book = workbook_name(provenance)
    has_tables = any(
        name.endswith(".csv") or isinstance(content, pd.DataFrame)
        for name, content in files.items()
    )
    if book is not None and book in files and has_tables:
        raise ValueError(f"{book} is written by write_outputs itself")
    units, labels = model_names(provenance, model) if has_tables else ({}, {})
    language = lang or provenance.get("lang") or DEFAULT_LANGUAGE
    tables: dict[str, pd.DataFrame] = {}  # in the order written: the workbook's sheets
    with staged_output_dir(out_dir) as stage:
        for name, content in files.items():
            _write(stage / name, content, provenance, units)
            if isinstance(content, pd.DataFrame):
                tables[name] = content
            elif name.endswith(".csv"):
                tables[name] = _csv_headers_stated(stage / name, units)
        if book is not None and tables:
            written = {name: with_row_units(table, name, units) for name, table in tables.items()}
            write_workbook(stage / book, written, language, units, labels)
        (stage / PROVENANCE_FILE).write_text(json_text(dict(provenance)), encoding="utf-8")
        names = sorted(path.name for path in stage.iterdir())
    return [Path(out_dir) / name for name in names]
