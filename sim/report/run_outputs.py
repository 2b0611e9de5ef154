"""Writing a run's outputs: ensemble.nc, targets.csv, fan charts and report.html."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import xarray as xr

from sim.analysis import target_table
from sim.atomic import staged_output_dir
from sim.report.figures import fan_chart, figure_png
from sim.report.html import TEXT, render_report, target_rows
from sim.scenario import Language, Target

ENSEMBLE_FILE = "ensemble.nc"
TARGETS_FILE = "targets.csv"
REPORT_FILE = "report.html"


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


def write_run_outputs(
    results: xr.Dataset,
    targets: Sequence[Target],
    out_dir: Path,
    lang: Language,
    title: str,
    description: str = "",
    history: pd.DataFrame | None = None,
    track_record: str = "",
) -> tuple[pd.DataFrame, list[Path]]:
    """Write a run's outputs into ``out_dir`` (staged, so nothing half-written remains);
    ``track_record`` is the sentence on the model's backtest that the report states.

    Returns the target table (``sim.analysis.TARGET_COLUMNS``) and the files written.
    """
    table = target_table(results, targets)
    images: dict[str, bytes] = {}
    with staged_output_dir(out_dir) as stage:
        results.to_netcdf(stage / ENSEMBLE_FILE)
        table.to_csv(stage / TARGETS_FILE, index=False)
        for target in targets:
            png = figure_png(fan_chart(results, target, lang, history))
            (stage / fan_chart_file(target)).write_bytes(png)
            images[target.name] = png
        html = render_report(
            results, table, targets, lang, images, title, description, track_record
        )
        (stage / REPORT_FILE).write_text(html, encoding="utf-8")
        names = sorted(path.name for path in stage.iterdir())
    return table, [Path(out_dir) / name for name in names]
