"""Writing a run's outputs: ensemble.nc, targets.csv, fan charts and report.html."""

from __future__ import annotations

import errno
import functools
import os
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import xarray as xr

from sim.report.brief import BriefFacts
from sim.report.figures import FanCharts
from sim.report.html import TEXT, render_report, target_rows
from sim.scenario import Language, Target

ENSEMBLE_FILE = "ensemble.nc"
TARGETS_FILE = "targets.csv"
REPORT_FILE = "report.html"
#: Free bytes below which a failed NetCDF write is put down to a full disk.
FULL_DISK_BYTES = 64 * 2**20


def fan_chart_file(target: Target) -> str:
    """File name of a target's fan chart."""
    return f"fan_{target.name}.png"


def console_table(table: pd.DataFrame, targets: Sequence[Target], lang: Language) -> pd.DataFrame:
    """The target table as display text, with column headers in ``lang``."""
    t = TEXT[lang]
    headers = {
        "label": t["indicator"],
        "year": t["year"],
        "target": t["target"],
        "probability": t["probability"],
        "interval": t["interval"],
        "median": t["median"],
        "band": t["band"],
    }
    return pd.DataFrame(target_rows(table, targets, lang)).rename(columns=headers)


class RunContents(NamedTuple):
    """What ``run_output_files``' ensemble writer returns.

    Attributes:
        results: the run's results (e.g. read lazily back from the file just written).
        table: the target table (``sim.analysis.TARGET_COLUMNS``).
        track_record: the sentences on the model's track record that the report states.
        brief: the brief's drivers and lever answers (``sim.report.brief.BriefFacts``).
        lever_docs: each lever's Chinese label and Vensim units, by Vensim name.
    """

    results: xr.Dataset
    table: pd.DataFrame
    track_record: str
    brief: BriefFacts
    lever_docs: Mapping[str, tuple[str, str]]


def write_streamed_ensemble(
    path: Path, template: xr.Dataset, n_draws: int, chunks: Iterable[xr.Dataset]
) -> None:
    """Write an ensemble to NetCDF-4 at ``path`` chunk by chunk, never holding more than one.

    ``template`` is its layout (every variable, coordinate and attribute, no draws:
    ``sim.engine.ensemble.EnsembleRun.template``); ``chunks`` are datasets laid out like it whose
    ``draw`` coordinate numbers their draws (consecutive, in any order of chunks), ``n_draws``
    in all. The file is the one ``xarray`` writes for the whole dataset: the same variables,
    types, attributes and fill values (NaN for floats), read back identical. A write that
    fails (netCDF4 reports an HDF error) is an ``OSError``: ``ENOSPC`` when the disk is full.
    """
    try:
        _stream_netcdf(path, template, n_draws, chunks)
    except RuntimeError as exc:
        if "NetCDF" not in str(exc) and "HDF" not in str(exc):
            raise
        try:
            full = shutil.disk_usage(path.parent).free < FULL_DISK_BYTES
        except OSError:
            full = False
        if full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path)) from exc
        raise OSError(errno.EIO, f"{path.name}: {exc}", str(path)) from exc


def _stream_netcdf(
    path: Path, template: xr.Dataset, n_draws: int, chunks: Iterable[xr.Dataset]
) -> None:
    import netCDF4

    with netCDF4.Dataset(path, "w", format="NETCDF4") as store:
        store.set_auto_mask(False)
        store.createDimension("draw", n_draws)
        store.createDimension("time", template.sizes["time"])
        for name, variable in template.variables.items():
            dtype = variable.dtype
            fill = np.nan if dtype.kind == "f" else None
            created = store.createVariable(name, dtype, variable.dims, fill_value=fill)
            created.setncatts(dict(variable.attrs))
        store.setncatts(dict(template.attrs))
        store["time"][:] = template["time"].to_numpy()
        written = 0
        for chunk in chunks:
            draws = chunk["draw"].to_numpy()
            start, stop = int(draws[0]), int(draws[0]) + draws.size
            store["draw"][start:stop] = draws
            for name, data in chunk.data_vars.items():
                store[name][start:stop] = data.to_numpy()
            written += draws.size
    if written != n_draws:
        raise ValueError(f"{written} draws written to {path.name}, {n_draws} expected")


def run_output_files(
    write_ensemble: Callable[[Path], RunContents],
    targets: Sequence[Target],
    lang: Language,
    title: str,
    description: str = "",
    history: pd.DataFrame | None = None,
    distributions: Mapping[str, object] | None = None,
) -> dict[str, Callable[[Path], None]]:
    """A run's files for ``sim.report.writer.write_outputs``, in the order it writes them:
    ensemble.nc first, by ``write_ensemble(path)`` (the run streamed into it), which returns
    the ``RunContents`` the others are made of: targets.csv, a fan chart per target (with the
    observed ``history``) and report.html (the charts embedded, the brief first, the
    uncertainties' ``distributions`` (by Vensim name) in words)."""
    made: dict[str, Any] = {}

    def ensemble(path: Path) -> None:
        contents = write_ensemble(path)
        made.update(contents._asdict())

    def table(path: Path) -> None:
        made["table"].to_csv(path, index=False)

    def chart(target: Target, path: Path) -> None:
        if "images" not in made:  # every chart at the first: one figure draws them in turn
            made["images"] = FanCharts().pngs(made["results"], targets, lang, history)
        path.write_bytes(made["images"][target.name])

    def report(path: Path) -> None:
        html = render_report(
            made["results"],
            made["table"],
            targets,
            lang,
            made.get("images", {}),
            title,
            description,
            made["track_record"],
            brief=made["brief"],
            lever_docs=made["lever_docs"],
            distributions=distributions or {},
        )
        path.write_text(html, encoding="utf-8")

    files: dict[str, Callable[[Path], None]] = {ENSEMBLE_FILE: ensemble, TARGETS_FILE: table}
    for target in targets:
        files[fan_chart_file(target)] = functools.partial(chart, target)
    files[REPORT_FILE] = report
    return files
