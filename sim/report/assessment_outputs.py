"""The mid-term assessment report (``innosim assess``): table, charts and HTML, zh or en."""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from sim.analysis.importance_weighting import weighted_quantiles
from sim.analysis.plan_tracking import AT_RISK_MARGIN, plan_path
from sim.report.fonts import use_cjk_font
from sim.report.html import format_number, format_percent, render_page
from sim.report.i18n import translations
from sim.report.quantities import format_quantity
from sim.results import variable
from sim.scenario import Language, Target

ASSESS_CSV = "assess.csv"
ASSESS_HTML = "assess.html"

TEXT = translations("assessment")

STATUS_COLOURS = {
    "on_track": "#1a7f37",
    "at_risk": "#b35900",
    "off_track": "#c62828",
    "no_data": "#666",
}


def assessment_chart(
    target: Target,
    record: Mapping[str, object],
    prior: xr.Dataset,
    posterior: xr.Dataset,
    weights: np.ndarray,
    observations: pd.DataFrame,
    as_of: int,
    plan_start: int,
    lang: Language,
) -> Figure:
    """One target: prior and calibrated 5–95 % bands up to the target year, the observations
    (±2 sd), the plan's path from its start value and the target."""
    use_cjk_font()
    text = TEXT[lang]
    scale = target.scale
    before, after = variable(prior, target.variable), variable(posterior, target.variable)
    times = before["time"].to_numpy()
    shown = times <= target.year
    n = prior.sizes["draw"]
    low, high = weighted_quantiles(before.to_numpy()[:, shown], np.ones(n), [0.05, 0.95])
    q05, q95 = weighted_quantiles(after.to_numpy()[:, shown], weights, [0.05, 0.95])
    figure = Figure(figsize=(6.4, 4.0), layout="constrained")
    axes = figure.subplots()
    axes.fill_between(
        times[shown],
        low * scale,
        high * scale,
        color="0.6",
        alpha=0.3,
        linewidth=0,
        label=text["prior_band"],
    )
    axes.fill_between(
        times[shown],
        q05 * scale,
        q95 * scale,
        color="tab:blue",
        alpha=0.35,
        linewidth=0,
        label=text["band"],
    )
    start = float(record["start_value"])
    years = np.linspace(plan_start, target.year, 41)
    rule = str(record["path_rule"])
    path = [plan_path(start, plan_start, target, y, rule) for y in years]  # type: ignore[arg-type]
    axes.plot(years, np.asarray(path) * scale, color="tab:red", linestyle="--", label=text["plan"])
    axes.plot(
        [target.year],
        [target.threshold * scale],
        marker="*",
        markersize=14,
        linestyle="none",
        color="tab:red",
        label=text["target_marker"].format(year=target.year),
    )
    rows = observations[observations["variable"] == target.variable]
    if not rows.empty:
        axes.errorbar(
            rows["year"],
            rows["value"] * scale,
            yerr=2 * rows["sd"] * scale,
            fmt="o",
            color="black",
            capsize=3,
            label=text["observed"],
        )
    axes.axvline(as_of, color="0.3", linestyle=":", linewidth=1, label=text["as_of"])
    axes.set_title(f"{target.label.text(lang)} ({target.unit.text(lang)})")
    axes.set_xlabel(text["year"])
    axes.grid(alpha=0.3)
    axes.legend(fontsize="x-small", loc="upper left")
    return figure


def _display(value: float, target: Target) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return format_number(float(value) * target.scale)


def _lever_value(value: float, units: str, lang: Language) -> str:
    """A lever setting as a person reads it (a share as a percentage; ``units`` ``""``:
    unknown, the number as it is)."""
    if not units:
        return f"{value:.4g}"
    return format_quantity(value, units, lang)


def lever_text(record: Mapping[str, object], lang: Language, units: str = "") -> str:
    """The lever column of a row: already / ≥ value (P …) / not within high / —; the
    lever's values in its Vensim ``units`` (a share as a percentage)."""
    text = TEXT[lang]
    status = record.get("lever_status") or ""
    if status == "already":
        return text["already"]
    if status == "unreachable":
        high = float(record.get("lever_high", math.nan))  # type: ignore[arg-type]
        return text["unreachable"].format(high=_lever_value(high, units, lang))
    if status == "found":
        key = (
            "found" if float(record["lever_value"]) >= float(record["lever_from"]) else "found_down"
        )
        return text[key].format(
            value=_lever_value(float(record["lever_value"]), units, lang),
            probability=format_percent(float(record["lever_probability"])),
        )
    return "—"


#: The statuses of a target as of the assessment, in the order the answer counts them.
STATUSES = ("on_track", "at_risk", "off_track", "no_data")


def assessment_answer(
    table: pd.DataFrame, lang: Language, as_of: int, goal: float, lever: str = ""
) -> list[str]:
    """The assessment's verdict in sentences: how many targets are on track, at risk, off
    track or without data as of ``as_of``; how many have a probability of at least ``goal``
    given the data (and the prior's count); and, when a ``lever`` was searched, for how many
    of the others a change of it restores ``goal`` within the searched range."""
    text = TEXT[lang]
    counts = table["status"].value_counts()
    parts = [
        text[f"count_{status}"].format(n=int(counts.get(status, 0)))
        for status in STATUSES
        if counts.get(status, 0) or status != "no_data"
    ]
    n = len(table)
    likely = int((table["probability"] >= goal).sum())
    prior = int((table["prior_probability"] >= goal).sum())
    goal_text = format_percent(goal, 0)
    lines = [
        text["answer_status"].format(as_of=as_of, n=n, counts=text["list_separator"].join(parts)),
        text["answer_likely"].format(likely=likely, n=n, goal=goal_text, prior=prior),
    ]
    if lever and "lever_status" in table:
        below = table[table["lever_status"].isin(["found", "unreachable"])]
        if len(below):
            found = int((below["lever_status"] == "found").sum())
            lines.append(
                text["answer_lever"].format(
                    lever=lever, found=found, below=len(below), goal=goal_text
                )
            )
    return lines


def assessment_rows(
    table: pd.DataFrame,
    targets: Sequence[Target],
    lang: Language,
    lever_high: float | None,
    lever_units: str = "",
) -> list[dict[str, str]]:
    """The assessment table as display text (scaled values, percentages, status words; the
    lever's values in its Vensim ``lever_units``)."""
    text = TEXT[lang]
    by_name = {target.name: target for target in targets}
    rows = []
    for record in table.to_dict("records"):
        target = by_name[record["target"]]
        unit = target.unit.text(lang)
        last = (
            f"{_display(record['last_value'], target)} ({int(record['last_year'])})"
            if not math.isnan(record["last_year"])
            else "—"
        )
        growth = record["growth_needed"]
        rows.append(
            {
                "indicator": target.label.text(lang),
                "target": (
                    f"{target.symbol} {format_number(target.threshold * target.scale)} {unit} "
                    f"({target.year})"
                ),
                "last": last,
                "path": _display(record["path_value"], target),
                "status": text[record["status"]],
                "status_key": record["status"],
                "prior": f"{format_percent(record['prior_probability'])}",
                "economy": f"{format_percent(record['economy_probability'])}",
                "probability": f"{format_percent(record['probability'])} "
                f"({format_percent(record['prob_low'])}–{format_percent(record['prob_high'])})",
                "growth": "—" if math.isnan(growth) else f"{growth * 100:+.1f}%",
                "lever": lever_text(
                    record | {"lever_high": math.nan if lever_high is None else lever_high},
                    lang,
                    lever_units,
                ),
            }
        )
    return rows


def console_rows(
    table: pd.DataFrame,
    targets: Sequence[Target],
    lang: Language,
    lever: str,
    goal: float,
    lever_high: float | None,
    lever_units: str = "",
) -> pd.DataFrame:
    """The assessment table for the terminal, headers in ``lang``."""
    text = TEXT[lang]
    rows = pd.DataFrame(assessment_rows(table, targets, lang, lever_high, lever_units))
    headers = {
        "indicator": text["indicator"],
        "target": text["target"],
        "last": text["last"],
        "path": text["path"],
        "status": text["status"],
        "prior": text["prior"],
        "economy": text["economy"],
        "probability": text["probability"],
        "growth": text["growth"],
        "lever": text["lever"].format(lever=lever, goal=format_percent(goal)) if lever else "—",
    }
    return rows.drop(columns=["status_key"]).rename(columns=headers)


def render_assessment(
    table: pd.DataFrame,
    targets: Sequence[Target],
    observations: pd.DataFrame,
    images: Mapping[str, bytes],
    lang: Language,
    title_context: Mapping[str, object],
    provenance: Mapping[str, object],
) -> str:
    """The HTML text of the assessment (self-contained: figures embedded).

    ``title_context`` has ``scenario``, ``as_of``, ``plan_start``, ``method``, ``ess``,
    ``draws``, ``seed``, ``goal``, ``track_record`` (the sentence on the model's backtest) and
    (if a lever was searched) ``lever``, ``low``, ``high`` and ``lever_units``. The page opens
    with the verdict (``assessment_answer``).
    """
    t = TEXT[lang]
    c = dict(title_context)
    lever = c.get("lever") or ""
    goal = format_percent(float(c["goal"]))
    return render_page(
        "assessment.html.j2",
        lang,
        t=t,
        title=t["title"].format(as_of=c["as_of"], scenario=c["scenario"]),
        synthetic=observations["source"].astype(str).str.contains("SYNTHETIC").any(),
        answer=assessment_answer(table, lang, int(c["as_of"]), float(c["goal"]), str(lever)),
        rows=assessment_rows(table, targets, lang, c.get("high"), str(c.get("lever_units", ""))),
        colours=STATUS_COLOURS,
        lever_header=t["lever"].format(lever=lever, goal=goal) if lever else "—",
        rules=t["rules"].format(start=c["plan_start"], margin=format_percent(AT_RISK_MARGIN)),
        conditioning=t["conditioning"].format(
            as_of=c["as_of"],
            method=t[str(c["method"])],
            ess=float(c["ess"]),
            draws=c["draws"],
            seed=c["seed"],
        ),
        lever_rule=t["lever_rule"].format(
            goal=goal,
            low=_lever_value(float(c["low"]), str(c.get("lever_units", "")), lang),
            high=_lever_value(float(c["high"]), str(c.get("lever_units", "")), lang),
            lever=lever,
            after=int(c["as_of"]) + 1,
        )
        if lever
        else "",
        track_record=str(c.get("track_record", "")),
        images=[(name, base64.b64encode(data).decode("ascii")) for name, data in images.items()],
        observations=[
            {
                "variable": row.variable,
                "year": row.year,
                "value": f"{row.value:.6g}",
                "sd": f"{row.sd:.3g}",
                "source": row.source,
            }
            for row in observations.itertuples(index=False)
        ],
        provenance=list(provenance.items()),
    )


def chart_file(target: Target) -> str:
    """File name of a target's assessment chart."""
    return f"assess_{target.name}.png"
