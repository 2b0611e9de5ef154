"""Self-contained HTML report of a scenario's Monte Carlo run (figures embedded), and
``render_page``, which renders every HTML page from its template in ``sim/report/templates``."""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Mapping, Sequence

import jinja2
import pandas as pd
import xarray as xr

from sim.report.i18n import text, translations
from sim.report.quantities import format_number, format_percent
from sim.results import UNCERTAINTY
from sim.scenario import Language, Target

TEXT = translations("run_report")
#: Directory of the page templates in this package; every page extends ``base.html.j2``.
TEMPLATES = "templates"


@functools.cache
def _pages() -> jinja2.Environment:
    """The page templates (``sim/report/templates/*.j2``): autoescaped, an undefined name an
    error."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("sim.report", TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def render_page(template: str, lang: Language, **context: object) -> str:
    """The HTML text of page ``template`` (a file in ``sim/report/templates`` extending
    ``base.html.j2``: head, stylesheet, language attribute) in ``lang``; ``context`` has the
    page's ``title`` and the names its template uses."""
    html_lang = text(lang, "page")["html_lang"]
    return _pages().get_template(template).render(html_lang=html_lang, **context)


def target_rows(table: pd.DataFrame, targets: Sequence[Target], lang: Language) -> list[dict]:
    """Rows of the target table as display text (labels, scaled values, percentages)."""
    by_name = {target.name: target for target in targets}
    rows = []
    for record in table.to_dict("records"):
        target = by_name[record["target"]]
        unit = target.unit.text(lang)
        symbol = "≥" if target.direction == "at_least" else "≤"
        scale = target.scale
        rows.append(
            {
                "label": target.label.text(lang),
                "year": target.year,
                "target": f"{symbol} {format_number(target.threshold * scale)} {unit}",
                "probability": format_percent(record["probability"]),
                "interval": (
                    f"{format_percent(record['prob_low'])}–{format_percent(record['prob_high'])}"
                ),
                "median": format_number(record["median"] * scale),
                "band": (
                    f"{format_number(record['p05'] * scale)}–{format_number(record['p95'] * scale)}"
                ),
            }
        )
    return rows


def _label(attrs: Mapping, lang: Language) -> str:
    name = str(attrs.get("long_name", ""))
    label_zh = attrs.get("label_zh")
    return f"{label_zh}（{name}）" if lang == "zh" and label_zh else name


def render_report(
    results: xr.Dataset,
    table: pd.DataFrame,
    targets: Sequence[Target],
    lang: Language,
    images: Mapping[str, bytes],
    title: str,
    description: str = "",
    track_record: str = "",
) -> str:
    """The HTML text of the report: target table, the model's track record (a sentence,
    ``sim.report.track_record``), fan charts (PNG bytes by target name, embedded), levers, drivers
    and paths, uncertainties and the run's provenance from ``results.attrs``."""
    t = TEXT[lang]
    attrs = results.attrs
    uncertainties = [
        {
            "name": _label(data.attrs, lang),
            "distribution": data.attrs.get("distribution", ""),
            "source": data.attrs.get("source", ""),
        }
        for data in results.data_vars.values()
        if data.attrs.get("role") == UNCERTAINTY
    ]
    exogenous = [
        {
            "name": _label(data.attrs, lang),
            "series": data.attrs["exogenous"],
            "source": data.attrs.get("source", ""),
        }
        for data in results.data_vars.values()
        if data.attrs.get("exogenous")
    ]
    levers = [
        {"name": name, "value": lever.get("value", ""), "source": lever.get("source", "")}
        for name, lever in json.loads(attrs.get("levers", "{}")).items()
    ]
    provenance = [
        (key, attrs[key])
        for key in sorted(attrs)
        if key not in ("levers", "title", "description") and not key.startswith("_")
    ]
    return render_page(
        "run_report.html.j2",
        lang,
        t=t,
        title=title,
        description=description,
        track_record=track_record,
        run=t["run"].format(
            draws=results.sizes.get("draw", 0),
            sampler=attrs.get("sampler", "?"),
            seed=attrs.get("seed", "?"),
        ),
        rows=target_rows(table, targets, lang),
        images=[(name, base64.b64encode(data).decode("ascii")) for name, data in images.items()],
        levers=levers,
        exogenous=exogenous,
        uncertainties=uncertainties,
        provenance=provenance,
    )
