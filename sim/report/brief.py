"""The one-page brief at the top of a run's report, and the report's tables as a person reads
them (levers with labels and units, distributions in words).

Per target the brief gives a status colour (``status_of``: the thresholds are
``GREEN_FROM`` and ``AMBER_FROM``, stated on the page), the probability with its 95 %
interval, the top drivers (``sim.analysis.driver_ranking`` on the run's draws, with the rank
regression's R²), what it would take (``LeverOption``: each of the plan's main levers' least
raise that reaches the goal, in 亿元 a year, found by ``sim.workflows.brief``) and, under the
table, the model's track record. Words come from the catalogue's section ``brief``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from sim.analysis.driver_ranking import DriverRanking
from sim.report.i18n import text
from sim.report.quantities import (
    format_number,
    format_percent,
    format_quantity,
    shown_as_percent,
    unit_text,
)
from sim.scenario import Language, Target
from sim.scenario.distributions import (
    Beta,
    Choice,
    LogNormal,
    Normal,
    Pert,
    Triangular,
    TruncNormal,
    Uniform,
)

#: A target whose probability is at least this is green (on track).
GREEN_FROM = 0.8
#: At least this (and below ``GREEN_FROM``) amber (at risk); below it red (off track).
AMBER_FROM = 0.5
#: Drivers named per target, and the least share of the rank variance a named driver explains.
TOP_DRIVERS = 3
MIN_DRIVER_SHARE = 0.02
#: Below this R² the rank regression explains too little for its ranking to be read as
#: drivers: the brief says so beside them.
LOW_R2 = 0.5


def status_of(probability: float) -> str:
    """``green``, ``amber`` or ``red`` for a target's probability (``GREEN_FROM``,
    ``AMBER_FROM``)."""
    if probability >= GREEN_FROM:
        return "green"
    return "amber" if probability >= AMBER_FROM else "red"


@dataclass(frozen=True)
class DriverLabel:
    """A drawn input as the brief names it: Vensim name, Chinese label, and whether it is a
    yearly path (summarised by its mean)."""

    name: str
    label_zh: str
    path: bool = False

    def text(self, lang: Language) -> str:
        """The Chinese label in ``zh`` (the Vensim name when it has none), else the name."""
        return self.label_zh if lang == "zh" and self.label_zh else self.name


@dataclass(frozen=True)
class LeverOption:
    """One main lever's answer for one target: the least raise within the plausible policy
    range that reaches the goal on the search draws.

    Attributes:
        lever, label_zh, units: the lever (Vensim name, Chinese label, Vensim units).
        current: its value in the scenario (model units; nan for a time path).
        value: the least value that reaches the goal (nan: not reachable within the
            plausible policy range).
        probability: the probability at ``value`` on the search draws; when not reachable,
            the best seen over the range.
        rebalanced: the lever is a budget share: the other shares move to keep the sum, so
            its money is moved from other lines, not added.
        money_variable, money_units: the money it moves (``sim.workflows.solve.money_terms``).
        money_current, money_value: that money at ``current`` and at ``value`` (亿元 a year
            for a flow, median over draws of the mean over the plan years; 亿元 for an amount).
    """

    lever: str
    label_zh: str
    units: str
    current: float
    value: float
    probability: float
    rebalanced: bool = False
    money_variable: str = ""
    money_units: str = ""
    money_current: float = math.nan
    money_value: float = math.nan

    @classmethod
    def unreachable(
        cls, lever: str, label_zh: str, units: str, current: float, best: float
    ) -> LeverOption:
        """The answer "not reachable within the plausible policy range" (best probability
        ``best``)."""
        return cls(lever, label_zh, units, current, math.nan, best)

    @property
    def reached(self) -> bool:
        """Whether the goal is reached within the plausible policy range."""
        return math.isfinite(self.value)

    @property
    def money_change(self) -> float:
        """The money the change moves (``money_value - money_current``, nan when unknown)."""
        return self.money_value - self.money_current


@dataclass(frozen=True)
class BriefFacts:
    """What the brief states beyond the target table.

    Attributes:
        drivers: each target's ranking of the drawn inputs (by target name).
        inputs: the drawn inputs' names and labels (by Vensim name).
        goal: the probability the lever search aims at (``None``: the scenario asks no
            question ``what_it_would_take``; nothing searched).
        levers: the searched levers (Vensim names).
        options: each target below the goal's answers, one per lever (by target name).
        search_draws: the run's first draws the search re-ran.
        skipped: the search was skipped on request (``innosim run --no-search``).
        skipped_levers: main levers not searched: this scenario draws, imposes or sets them
            by a time path.
    """

    drivers: Mapping[str, DriverRanking]
    inputs: Mapping[str, DriverLabel]
    goal: float | None = None
    levers: Sequence[str] = ()
    options: Mapping[str, Sequence[LeverOption]] = field(default_factory=dict)
    search_draws: int = 0
    skipped: bool = False
    skipped_levers: Sequence[str] = ()


def _lever_label(option: LeverOption, lang: Language) -> str:
    return option.label_zh if lang == "zh" and option.label_zh else option.lever


def _driver_texts(ranking: DriverRanking | None, facts: BriefFacts, lang: Language) -> dict:
    t = text(lang, "brief")
    if ranking is None or not math.isfinite(ranking.r2):
        return {"items": [], "note": t["no_spread"]}
    items = []
    for row in ranking.top(TOP_DRIVERS, MIN_DRIVER_SHARE).itertuples():
        label = facts.inputs.get(row.input, DriverLabel(row.input, ""))
        word = t["raises"] if row.direction > 0 else t["lowers"]
        items.append(
            {
                "label": label.text(lang),
                "name": label.name,
                "arrow": "↑" if row.direction > 0 else "↓",
                "share": format_percent(row.share, 0),
                "effect": t["driver_effect"].format(
                    effect=word, share=format_percent(row.share, 0)
                ),
            }
        )
    note = t["r2"].format(r2=format_number(ranking.r2))
    if ranking.r2 < LOW_R2:
        note = t["r2_low"].format(r2=format_number(ranking.r2))
    return {"items": items, "note": note}


def _option_text(option: LeverOption, lang: Language) -> dict:
    t = text(lang, "brief")
    percent = shown_as_percent(option.units)
    label = _lever_label(option, lang)
    current = format_quantity(option.current, option.units, lang, percent=percent)
    if not option.reached:
        return {
            "label": label,
            "reached": False,
            "text": t["option_unreachable"].format(best=format_percent(option.probability, 0)),
        }
    value = format_quantity(option.value, option.units, lang, percent=percent)
    money = ""
    if option.money_units and math.isfinite(option.money_change):
        money = format_quantity(option.money_change, option.money_units, lang, change=True)
        if option.rebalanced:
            money = t["moved"].format(money=money)
    return {
        "label": label,
        "reached": True,
        "text": t["option"].format(
            current=current, value=value, probability=format_percent(option.probability, 0)
        ),
        "money": money,
    }


def _money_order(option: LeverOption) -> tuple[int, float]:
    """Reached options first, flows (亿元 a year) before amounts, then by the money moved."""
    flow = "/" in option.money_units
    change = option.money_change if math.isfinite(option.money_change) else math.inf
    return (0 if flow else 1, change)


def brief_rows(
    table: pd.DataFrame, targets: Sequence[Target], facts: BriefFacts, lang: Language
) -> list[dict]:
    """One row per target of the brief, as display text: ``status`` (green/amber/red),
    ``label``, ``target``, ``probability``, ``interval``, ``drivers`` (items and a note on the
    R²) and ``take`` (what it would take: ``state`` ``reached``/``options``/``unreachable``/
    ``not_asked`` with the options' texts)."""
    t = text(lang, "brief")
    by_name = {target.name: target for target in targets}
    rows = []
    for record in table.to_dict("records"):
        target = by_name[record["target"]]
        probability = float(record["probability"])
        threshold = f"{target.symbol} {format_number(target.threshold * target.scale)}"
        options = list(facts.options.get(target.name, ()))
        reached = sorted((o for o in options if o.reached), key=_money_order)
        if facts.goal is None or facts.skipped:
            take = {"state": "not_asked", "items": [], "text": ""}
        elif probability >= facts.goal:
            take = {"state": "reached", "items": [], "text": t["already"]}
        elif reached:
            take = {
                "state": "options",
                "items": [_option_text(o, lang) for o in reached],
                "text": "",
            }
        else:
            best = max(options, key=lambda o: o.probability, default=None)
            note = t["unreachable"]
            if best is not None and math.isfinite(best.probability) and best.probability > 0:
                note = t["unreachable_best"].format(
                    lever=_lever_label(best, lang), best=format_percent(best.probability, 0)
                )
            take = {"state": "unreachable", "items": [], "text": note}
        rows.append(
            {
                "status": status_of(probability),
                "status_text": t[status_of(probability)],
                "label": target.label.text(lang),
                "target": f"{threshold} {target.unit.text(lang)}".strip(),
                "year": target.year,
                "probability": format_percent(probability, 0),
                "interval": (  # one decimal: a narrow interval is not "95%–95%"
                    f"{format_percent(record['prob_low'])}–{format_percent(record['prob_high'])}"
                ),
                "drivers": _driver_texts(facts.drivers.get(target.name), facts, lang),
                "take": take,
            }
        )
    return rows


def brief_notes(facts: BriefFacts, lang: Language) -> dict[str, str]:
    """The sentences under the brief's table: the status rule, how drivers are measured and
    how the lever search was made."""
    t = text(lang, "brief")
    notes = {
        "status_rule": t["status_rule"].format(
            green=format_percent(GREEN_FROM, 0), amber=format_percent(AMBER_FROM, 0)
        ),
        "drivers": t["drivers_method"],
    }
    if facts.skipped:
        notes["search"] = t["search_skipped"]
    elif facts.goal is None:
        notes["search"] = t["search_not_asked"]
    else:
        notes["search"] = t["search_method"].format(
            goal=format_percent(facts.goal, 0), draws=f"{facts.search_draws:,}"
        )
        if facts.skipped_levers:
            notes["search"] += t["levers_not_searched"].format(
                levers=t["list_separator"].join(facts.skipped_levers)
            )
    return notes


# --- the report's other tables ----------------------------------------------------------------


def lever_value_text(value: object, units: str, lang: Language) -> str:
    """A lever's setting as written in the scenario (a number, or a path ``{year: value}``)
    with its units, shares as percentages."""
    if isinstance(value, Mapping):
        return "; ".join(
            f"{year}: {format_quantity(float(v), units, lang)}" for year, v in value.items()
        )
    if isinstance(value, int | float):
        return format_quantity(float(value), units, lang)
    return str(value)


#: Vensim units of a point in time (a calendar year, written without a thousands separator).
YEAR_UNITS = frozenset({"year", "years"})


def _plain_number(value: float, units: str) -> str:
    """``value`` as a person writes it: a calendar year as ``2020``, a whole number as
    ``1,000``, a fraction with up to 3 significant digits and no trailing zeros (``0.7``,
    ``0.025``), else ``format_number``."""
    if units.strip().lower() in YEAR_UNITS and 1000 <= abs(value) < 10000:
        return f"{value:g}"
    if float(value).is_integer() and abs(value) < 1e9:
        return f"{int(value):,}"
    if 1e-3 <= abs(value) < 1000:
        return f"{value:.3g}"
    return format_number(value)


def _range_text(low: float, high: float, unit: str, units: str = "") -> str:
    """``low–high unit``."""
    return f"{_plain_number(low, units)}–{_plain_number(high, units)} {unit}".rstrip()


def distribution_text(distribution: object, units: str, lang: Language) -> str:
    """An uncertainty's distribution as a person reads it, in ``lang`` (values in the
    constant's units): ``PERT, 0.500–0.900, most likely 0.700``."""
    t = text(lang, "distributions")
    unit = unit_text(units, lang)

    def n(value: float) -> str:
        return _plain_number(value, units)

    def q(value: float) -> str:
        return f"{n(value)} {unit}".rstrip()

    if isinstance(distribution, Pert):
        words = t["pert"].format(
            range=_range_text(distribution.min, distribution.max, unit, units),
            mode=n(distribution.mode),
        )
        if distribution.lambda_ != 4:
            words += t["pert_lambda"].format(shape=n(distribution.lambda_))
        return words
    if isinstance(distribution, Triangular):
        return t["triangular"].format(
            range=_range_text(distribution.min, distribution.max, unit, units),
            mode=n(distribution.mode),
        )
    if isinstance(distribution, Uniform):
        return t["uniform"].format(
            range=_range_text(distribution.min, distribution.max, unit, units)
        )
    if isinstance(distribution, TruncNormal):
        return t["truncnormal"].format(
            mean=q(distribution.mean_),
            sd=q(distribution.sd),
            range=_range_text(distribution.min, distribution.max, unit, units),
        )
    if isinstance(distribution, Normal):
        return t["normal"].format(mean=q(distribution.mean_), sd=q(distribution.sd))
    if isinstance(distribution, LogNormal):
        return t["lognormal"].format(median=q(distribution.median), sigma=n(distribution.sigma))
    if isinstance(distribution, Beta):
        return t["beta"].format(
            alpha=n(distribution.alpha),
            beta=n(distribution.beta),
            range=_range_text(distribution.min, distribution.max, unit, units),
        )
    if isinstance(distribution, Choice):
        values = f"{t['list_separator'].join(map(n, distribution.values))} {unit}".rstrip()
        if distribution.weights is None:
            return t["choice"].format(values=values)
        weights = t["list_separator"].join(map(n, distribution.weights))
        return t["choice_weighted"].format(values=values, weights=weights)
    describe = getattr(distribution, "describe", None)
    return describe() if callable(describe) else str(distribution)
