"""The model's track record beside a scenario's probabilities.

``innosim backtest`` writes ``backtest.json`` and ``backtest.csv`` into its output directory,
by default ``out/<scenario name>/backtest``. ``find_track_record`` reads them for a scenario; a
backtest run with another version of the model or of the scenario (``model_sha256``,
``scenario_sha256``) does not count. ``track_record_text`` says the record in Chinese or
English, or says plainly that no backtest has been run.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from sim.paths import default_out
from sim.report.backtest_outputs import BACKTEST_CSV, BACKTEST_JSON
from sim.report.columns import read_table
from sim.report.i18n import translations
from sim.scenario import Language


@dataclass(frozen=True)
class TrackRecord:
    """A backtest of the scenario's model.

    Attributes:
        directory: where it was read.
        origins: the forecast origins that were scored.
        n_scored: held-out observations scored.
        n_inside_90, n_inside_50: of them, inside the 90 % and 50 % forecast bands.
        mean_crps_relative: mean CRPS relative to the observed value (dimensionless).
        created_at: when the backtest ran (ISO 8601).
    """

    directory: Path
    origins: tuple[int, ...]
    n_scored: int
    n_inside_90: int
    n_inside_50: int
    mean_crps_relative: float
    created_at: str


def default_backtest_dir(scenario: Path) -> Path:
    """Where ``innosim backtest`` writes by default for the scenario file ``scenario``."""
    return default_out("backtest", scenario)


def find_track_record(
    directory: Path, model_sha256: str, scenario_sha256: str
) -> tuple[TrackRecord | None, str]:
    """The backtest in ``directory`` if it was run with this model and scenario.

    Returns ``(record, "")``, or ``(None, reason)`` where there is none, it is unreadable, or
    it belongs to another version of the model or the scenario.
    """
    meta_path, table_path = directory / BACKTEST_JSON, directory / BACKTEST_CSV
    if not meta_path.is_file() or not table_path.is_file():
        return None, "none"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        table = read_table(table_path)
        inside_90 = table["inside_90"].astype(bool)
        inside_50 = table["inside_50"].astype(bool)
        relative = table["crps_relative"].astype(float).dropna()
    except (OSError, ValueError, KeyError):
        return None, "unreadable"
    if meta.get("model_sha256") != model_sha256:
        return None, "other_model"
    if meta.get("scenario_sha256") != scenario_sha256:
        return None, "other_scenario"
    origins = tuple(sorted({int(origin) for origin in table["origin"]}))
    record = TrackRecord(
        directory=directory,
        origins=origins,
        n_scored=len(table),
        n_inside_90=int(inside_90.sum()),
        n_inside_50=int(inside_50.sum()),
        mean_crps_relative=float(relative.mean()) if len(relative) else math.nan,
        created_at=str(meta.get("created_at", "")),
    )
    return record, ""


_TEXT = translations("track_record")


def scenario_track_record(
    scenario: Path, model_sha256: str, scenario_sha256: str, lang: Language
) -> str:
    """The sentence on the track record of the scenario file ``scenario`` (run with the model
    and scenario of these sha256), read from its default backtest directory."""
    directory = default_backtest_dir(scenario)
    record, reason = find_track_record(directory, model_sha256, scenario_sha256)
    return track_record_text(record, reason, directory, lang)


def track_record_text(
    record: TrackRecord | None, reason: str, directory: Path, lang: Language
) -> str:
    """One sentence on the track record (or its absence) in ``lang``."""
    text = _TEXT[lang]
    if record is None:
        return text[reason if reason in text else "none"].format(directory=directory)
    crps = "—" if math.isnan(record.mean_crps_relative) else f"{record.mean_crps_relative:.3f}"
    return text["record"].format(
        origins=", ".join(str(origin) for origin in record.origins),
        n=record.n_scored,
        inside_90=record.n_inside_90,
        inside_50=record.n_inside_50,
        crps=crps,
        created=record.created_at[:10],
        directory=record.directory,
    )


_HISTORY = translations("history_consistency")


def history_consistency_text(
    consistent: int, n: int, years: tuple[int, int], from_posterior: bool, lang: Language
) -> str:
    """The sentence on how many of a run's ``n`` draws reproduce the observed history of
    ``years`` (first, last): ``sim.analysis.importance_weighting.history_consistency``."""
    first, last = years
    span = str(first) if first == last else f"{first}–{last}"
    share = f"{consistent / n:.0%}" if n else "—"
    kind = "posterior" if from_posterior else "prior"
    return _HISTORY[lang][kind].format(consistent=consistent, n=n, share=share, years=span)
