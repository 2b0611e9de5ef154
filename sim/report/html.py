"""Self-contained HTML report of a scenario's Monte Carlo run (figures embedded), and
``render_page``, which renders every HTML page from its template in ``sim/report/templates``
with the CJK glyphs it uses embedded (``sim.report.fonts.font_face_css``), so the page reads
the same on a machine without Chinese fonts."""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Mapping, Sequence

import jinja2
import markupsafe
import pandas as pd
import xarray as xr

from sim.report.brief import (
    BriefFacts,
    brief_notes,
    brief_rows,
    distribution_text,
    lever_value_text,
)
from sim.report.fonts import font_face_css
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


#: Stands in the rendered page where its ``@font-face`` goes (the font is made from the
#: page's own characters, known only once it is rendered; the rule itself is ASCII).
_FONT_FACE_SLOT = "/*innosim-font-face*/"


def render_page(template: str, lang: Language, **context: object) -> str:
    """The HTML text of page ``template`` (a file in ``sim/report/templates`` extending
    ``base.html.j2``: head, stylesheet, language attribute) in ``lang``; ``context`` has the
    page's ``title`` and the names its template uses. The glyphs of the page's non-ASCII
    characters are embedded as an ``@font-face`` (``font_face_css``) used first."""
    html_lang = text(lang, "page")["html_lang"]
    page = (
        _pages()
        .get_template(template)
        .render(html_lang=html_lang, font_face=markupsafe.Markup(_FONT_FACE_SLOT), **context)
    )
    return page.replace(_FONT_FACE_SLOT, font_face_css(page), 1)


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
    *,
    brief: BriefFacts | None = None,
    lever_docs: Mapping[str, tuple[str, str]] | None = None,
    distributions: Mapping[str, object] | None = None,
) -> str:
    """The HTML text of the report: the one-page brief (``sim.report.brief``: status, probability,
    drivers and what it would take per target, with the model's track record, a sentence of
    ``sim.report.track_record``), the target table, fan charts (PNG bytes by target name,
    embedded), levers (labels from ``lever_docs``: ``{name: (label_zh, units)}``, values with
    units), drivers and paths, uncertainties (their ``distributions`` by Vensim name written in
    words; else as recorded) and the run's provenance from ``results.attrs``."""
    t = TEXT[lang]
    attrs = results.attrs
    docs = lever_docs or {}
    distributions = distributions or {}
    uncertainties = []
    for data in results.data_vars.values():
        if data.attrs.get("role") != UNCERTAINTY:
            continue
        name = str(data.attrs.get("long_name", ""))
        distribution = distributions.get(name)
        units = str(data.attrs.get("units", ""))
        uncertainties.append(
            {
                "name": _label(data.attrs, lang),
                "distribution": (
                    distribution_text(distribution, units, lang)
                    if distribution is not None
                    else data.attrs.get("distribution", "")
                ),
                "source": data.attrs.get("source", ""),
            }
        )
    exogenous = [
        {
            "name": _label(data.attrs, lang),
            "series": data.attrs["exogenous"],
            "source": data.attrs.get("source", ""),
        }
        for data in results.data_vars.values()
        if data.attrs.get("exogenous")
    ]
    levers = []
    for name, lever in json.loads(attrs.get("levers", "{}")).items():
        label_zh, units = docs.get(name, ("", ""))
        levers.append(
            {
                "label": label_zh if lang == "zh" and label_zh else name,
                "name": name if lang == "zh" and label_zh else "",
                "value": lever_value_text(lever.get("value", ""), units, lang),
                "source": lever.get("source", ""),
            }
        )
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
        brief=brief_rows(table, targets, brief, lang) if brief is not None else [],
        notes=brief_notes(brief, lang) if brief is not None else {},
        b=text(lang, "brief"),
        goal=format_percent(brief.goal, 0) if brief is not None and brief.goal else "",
        images=[(name, base64.b64encode(data).decode("ascii")) for name, data in images.items()],
        levers=levers,
        exogenous=exogenous,
        uncertainties=uncertainties,
        provenance=provenance,
    )
