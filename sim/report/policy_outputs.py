"""Charts, console text and pages of ``innosim compare | sweep | solve``, in Chinese or
English.

Every function takes tables (pandas DataFrames as written to the commands' CSV files) and
labels, so the figures and pages can be redrawn from the files. Each page opens with its
answer in sentences (``compare_answer``, ``sweep_answer``, ``solve_answer``) computed from those
tables. Lever values are shown as a person reads them (``lever_value``: a share as a
percentage, ``0.02375`` → ``2.38 %``); the CSV files keep the model's units.
"""

from __future__ import annotations

import base64
import math
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from sim.analysis.paired_difference import ALL_TARGETS
from sim.report.command_pages import frame_table, render_command_page
from sim.report.fonts import use_cjk_font
from sim.report.html import render_page
from sim.report.i18n import translations
from sim.report.quantities import format_percent, format_quantity, shown_as_percent
from sim.scenario import Language, Target

TEXT = translations("policy")
#: The probability the pages' answers ask about when none is given ("likely": the level
#: ``solve`` and ``assess`` are usually asked for).
ANSWER_LEVEL = 0.8


def percent(value: float) -> str:
    """A probability as a percentage with one decimal (``62.3%``); ``nan`` as ``–``."""
    return "–" if value is None or math.isnan(value) else f"{value * 100:.1f}%"


def points(value: float) -> str:
    """A difference of probabilities in percentage points with a sign (``+4.1``)."""
    return "–" if math.isnan(value) else f"{value * 100:+.1f}"


def number(value: float | None) -> str:
    """A lever value with up to 4 significant digits; open ends as ``–``."""
    return "–" if value is None or math.isnan(value) else f"{value:.4g}"


def lever_value(value: float | None, units: str, lang: Language) -> str:
    """A lever's value as a person reads it: a share (a dimensionless lever) as a
    percentage (``0.02375`` → ``2.38 %``), else with its units in ``lang``; ``–`` when
    missing."""
    return format_quantity(value, units, lang)


def lever_axis(axis: Axis, units: str) -> None:
    """Label a chart axis of lever values as percentages when the lever is a share."""
    if shown_as_percent(units):
        axis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=None))


def pp(value: float, lang: Language) -> str:
    """A difference of probabilities in percentage points with a sign (``+4.7 pp``)."""
    if value is None or math.isnan(value):
        return "–"
    unit = translations("units")[lang]["percentage_points"]
    return f"{value * 100:+.1f} {unit}"


def _float(value: object) -> float:
    """``value`` as a float; ``None`` as NaN."""
    return math.nan if value is None else float(value)  # type: ignore[arg-type]


def target_label(name: str, targets: Sequence[Target], lang: Language) -> str:
    """Display label of a target name (``all``: every target met together)."""
    for target in targets:
        if target.name == name:
            return target.label.text(lang)
    return TEXT[lang]["all"] if name == "all" else name


def _wrap(text: str, width: int = 28) -> str:
    if any(ord(char) > 0x2E80 for char in text):  # CJK: wrap by characters
        step = width * 2 // 3
        return "\n".join(text[i : i + step] for i in range(0, len(text), step))
    return "\n".join(textwrap.wrap(text, width)) or text


# --- compare --------------------------------------------------------------------------------


def _present(value: object) -> bool:
    return not math.isnan(_float(value))


def compare_console(
    table: pd.DataFrame, targets: Sequence[Target], names: Sequence[str], lang: Language
) -> pd.DataFrame:
    """The comparison as display text: a row per target, a column per scenario with the
    probability and, after the first, the paired difference with its interval; "not in the
    scenario" where a scenario does not define the target."""
    t = TEXT[lang]
    rows = []
    for key, group in table.groupby("target", sort=False):
        row = {t["indicator"]: target_label(str(key), targets, lang)}
        reference = group.iloc[0]
        for index, record in enumerate(group.to_dict("records")):
            if not _present(record["probability"]):
                text = t["not_in_scenario"]
            else:
                text = percent(record["probability"])
                if index and _present(record["difference"]):
                    text += (
                        f" ({points(record['difference'])} [{points(record['diff_low'])}, "
                        f"{points(record['diff_high'])}])"
                    )
                elif index and not _present(reference["probability"]):
                    text += t["no_reference"]
            row[names[index] + (t["reference"] if index == 0 else "")] = text
        rows.append(row)
    return pd.DataFrame(rows)


def compare_answer(
    table: pd.DataFrame, targets: Sequence[Target], names: Sequence[str], lang: Language
) -> list[str]:
    """The comparison's answer, a sentence per scenario after the first: the target whose
    probability rises most beyond Monte Carlo error (its paired difference's 95 % interval
    above 0) with its interval, how many more rise, and which fall (interval below 0); then
    the targets only some scenarios define."""
    t = TEXT[lang]
    targets_only = table[table["target"] != ALL_TARGETS]
    reference = targets_only[targets_only["scenario"] == names[0]].set_index("target")
    lines = []
    for name in names[1:]:
        mine = targets_only[targets_only["scenario"] == name].set_index("target")
        paired = mine[mine["difference"].notna() & mine["probability"].notna()]
        rises = paired[paired["diff_low"] > 0].sort_values("difference", ascending=False)
        falls = paired[paired["diff_high"] < 0].sort_values("difference")

        def numbers(rows: pd.DataFrame) -> dict[str, str]:
            key, row = str(rows.index[0]), rows.iloc[0]
            return {
                "target": target_label(key, targets, lang),
                "before": percent(_float(reference.loc[key, "probability"])),
                "after": percent(_float(row["probability"])),
                "change": pp(_float(row["difference"]), lang),
                "low": pp(_float(row["diff_low"]), lang),
                "high": pp(_float(row["diff_high"]), lang),
            }

        who = {"scenario": name, "reference": names[0]}
        if rises.empty:
            line = t["answer_no_rise"].format(**who)
        else:
            line = t["answer_rise"].format(**who, **numbers(rises))
            if len(rises) > 1:
                line += t["answer_rise_more"].format(n=len(rises) - 1)
        if falls.empty:
            line += t["answer_no_fall"]
        else:
            line += t["answer_fall"].format(n=len(falls), **numbers(falls))
        lines.append(line)
    partial = table.groupby("target", sort=False)["probability"].apply(lambda p: p.isna().any())
    only = [target_label(str(key), targets, lang) for key, missing in partial.items() if missing]
    if only:
        lines.append(t["answer_partial"].format(targets=t["list_separator"].join(only)))
    return lines


def compare_chart(
    table: pd.DataFrame,
    targets: Sequence[Target],
    titles: Sequence[str],
    lang: Language,
    subtitle: str = "",
) -> Figure:
    """Probability of each target per scenario with its Wilson interval (a dot per scenario)."""
    use_cjk_font()
    t = TEXT[lang]
    keys = list(dict.fromkeys(table["target"]))
    scenarios = list(dict.fromkeys(table["scenario"]))
    figure = Figure(
        figsize=(9, 1.2 + 0.42 * len(keys) * max(1, len(scenarios) / 3)), layout="constrained"
    )
    axes = figure.subplots()
    offsets = np.linspace(0.3, -0.3, len(scenarios)) if len(scenarios) > 1 else np.zeros(1)
    positions = np.arange(len(keys))[::-1]
    for index, (scenario, title) in enumerate(zip(scenarios, titles, strict=True)):
        rows = table[table["scenario"] == scenario].set_index("target").loc[keys]
        p = rows["probability"].to_numpy()
        axes.errorbar(
            p * 100,
            positions + offsets[index],
            xerr=[
                (p - rows["prob_low"].to_numpy()) * 100,
                (rows["prob_high"].to_numpy() - p) * 100,
            ],
            fmt="o",
            markersize=4,
            capsize=2,
            label=title,
        )
    axes.set_yticks(positions, [_wrap(target_label(k, targets, lang), 34) for k in keys])
    axes.set_xlim(-2, 102)
    axes.set_xlabel(f"{t['probability']} (%)")
    axes.grid(axis="x", alpha=0.3)
    axes.set_title(t["compare_title"] + (f"\n{subtitle}" if subtitle else ""), fontsize="medium")
    figure.legend(fontsize="small", loc="outside lower center", ncols=min(len(scenarios), 2))
    return figure


def render_compare_html(
    table: pd.DataFrame,
    targets: Sequence[Target],
    names: Sequence[str],
    titles: Sequence[str],
    lang: Language,
    answer: Sequence[str],
    image: bytes,
    notes: Sequence[str],
    run: str,
    provenance: Mapping[str, object],
) -> str:
    """``compare.html``: the answer (``compare_answer``), the table of probabilities and
    paired differences (``compare_console``), the chart and the run; self-contained."""
    t = TEXT[lang]
    display = compare_console(table, targets, names, lang)
    shown = ", ".join(
        f"{title} ({name})" if title != name else name
        for title, name in zip(titles, names, strict=True)
    )
    return render_command_page(
        lang,
        title=t["compare_page_title"].format(scenarios=shown),
        answer=answer,
        tables=[
            frame_table(
                t["compare_title"],
                display,
                numeric=list(display.columns[1:]),
                note=t["compare_note"].format(ref=names[0]),
            )
        ],
        images={"compare.png": image},
        notes=notes,
        method=t["compare_method"],
        run=run,
        provenance=provenance,
    )


# --- sweep ----------------------------------------------------------------------------------


def _panels(count: int) -> tuple[int, int]:
    columns = min(4, count)
    return math.ceil(count / columns), columns


def sweep_chart(
    table: pd.DataFrame,
    levers: Sequence[str],
    lever_labels: Sequence[str],
    targets: Sequence[Target],
    lang: Language,
    keys: Sequence[str] | None = None,
    lever_units: Sequence[str] = (),
) -> Figure:
    """One panel per target: a curve with its 95 % band (one lever) or a heat map (two);
    a lever whose ``lever_units`` are a share has its axis in percent."""
    use_cjk_font()
    t = TEXT[lang]
    keys = list(keys) if keys is not None else list(dict.fromkeys(table["target"]))
    rows, columns = _panels(len(keys))
    figure = Figure(figsize=(3.2 * columns + 0.8, 2.7 * rows + 0.8), layout="constrained")
    grid = figure.subplots(rows, columns, squeeze=False, sharex=True, sharey=True)
    draws = int(table["draws"].iloc[0])
    mesh = None
    for index, key in enumerate(keys):
        axes = grid[index // columns][index % columns]
        data = table[table["target"] == key]
        if len(levers) == 1:
            x = data[levers[0]].to_numpy()
            axes.fill_between(
                x, data["prob_low"] * 100, data["prob_high"] * 100, alpha=0.3, linewidth=0
            )
            axes.plot(x, data["probability"] * 100, marker=".", markersize=3)
            axes.set_ylim(-3, 103)
            axes.grid(alpha=0.3)
        else:
            pivot = data.pivot_table(index=levers[1], columns=levers[0], values="probability")
            mesh = axes.pcolormesh(
                pivot.columns.to_numpy(),
                pivot.index.to_numpy(),
                pivot.to_numpy() * 100,
                vmin=0,
                vmax=100,
                cmap="viridis",
                shading="nearest",
            )
        axes.set_title(_wrap(target_label(key, targets, lang), 30), fontsize="small")
    for index in range(len(keys), rows * columns):
        grid[index // columns][index % columns].set_visible(False)
    for axes in grid.flat:
        for axis, units in zip((axes.xaxis, axes.yaxis), lever_units[: len(levers)], strict=False):
            lever_axis(axis, units)
    for axes in grid[-1]:
        axes.set_xlabel(_wrap(lever_labels[0], 36), fontsize="small")
    for axes in grid[:, 0]:
        axes.set_ylabel(
            f"{t['probability']} (%)" if len(levers) == 1 else _wrap(lever_labels[1], 30),
            fontsize="small",
        )
    if mesh is not None:
        figure.colorbar(mesh, ax=grid, label=f"{t['probability']} (%)", shrink=0.6)
        title = t["sweep2_title"].format(x=lever_labels[0], y=lever_labels[1], draws=draws)
    else:
        title = t["sweep_title"].format(lever=lever_labels[0], draws=draws)
    figure.suptitle(title)
    return figure


@dataclass(frozen=True)
class SweepLever:
    """A swept lever as the page shows it: its name (the table's column), label and units."""

    name: str
    label: str
    units: str


def _where(
    row: pd.Series, levers: Sequence[SweepLever], lang: Language, named: bool = False
) -> str:
    """The levers' values at a grid point (``named``: each with its label)."""
    return ", ".join(
        (f"{lever.label} = " if named else "")
        + lever_value(_float(row[lever.name]), lever.units, lang)
        for lever in levers
    )


def _changes(first: pd.Series, last: pd.Series) -> bool:
    """Whether the probability differs between two points beyond Monte Carlo error (their
    Wilson intervals do not overlap)."""
    return bool(first["prob_high"] < last["prob_low"] or last["prob_high"] < first["prob_low"])


def sweep_summary(
    table: pd.DataFrame,
    levers: Sequence[SweepLever],
    targets: Sequence[Target],
    lang: Language,
    keys: Sequence[str] | None = None,
    level: float = ANSWER_LEVEL,
) -> pd.DataFrame:
    """One row per target (``keys``, default all) as display text: the probability at the
    first and last grid point, the lowest and highest with where, and where it first
    reaches ``level`` along the first lever (one lever only)."""
    t = TEXT[lang]
    rows = []
    for key, data in table.groupby("target", sort=False):
        if keys is not None and key not in keys:
            continue
        lowest = data.loc[data["probability"].idxmin()]
        highest = data.loc[data["probability"].idxmax()]
        row = {
            t["indicator"]: target_label(str(key), targets, lang),
            t["at_first"]: percent(_float(data["probability"].iloc[0])),
            t["at_last"]: percent(_float(data["probability"].iloc[-1])),
            t[
                "lowest"
            ]: f"{percent(_float(lowest['probability']))} @ {_where(lowest, levers, lang)}",
            t["highest"]: (
                f"{percent(_float(highest['probability']))} @ {_where(highest, levers, lang)}"
            ),
        }
        if len(levers) == 1:
            row[t["reaches"].format(level=format_percent(level, 0))] = _reach_text(
                data, levers[0], lang, level
            )
        rows.append(row)
    return pd.DataFrame(rows)


def _reach_text(data: pd.DataFrame, lever: SweepLever, lang: Language, level: float) -> str:
    """Where along ``lever`` the probability first reaches ``level``: its value, "throughout",
    or "not reached"."""
    t = TEXT[lang]
    reached = data[data["probability"] >= level]
    if reached.empty:
        return t["reach_never"]
    if reached.index[0] == data.index[0]:
        return t["reach_throughout"]
    return lever_value(_float(reached[lever.name].iloc[0]), lever.units, lang)


def sweep_answer(
    table: pd.DataFrame,
    levers: Sequence[SweepLever],
    targets: Sequence[Target],
    lang: Language,
    keys: Sequence[str] | None = None,
    level: float = ANSWER_LEVEL,
) -> list[str]:
    """The sweep's answer in sentences. One lever: for the target whose probability changes
    most from the first to the last value (the only target asked for, when one is), how it
    moves and where it reaches ``level``, then how many targets move beyond Monte Carlo
    error. Two levers: the range of that target's probability over the grid, with where."""
    t = TEXT[lang]
    groups = {
        str(key): data
        for key, data in table.groupby("target", sort=False)
        if keys is None or key in keys
    }
    first = levers[0]
    span = {
        lever.name: (
            lever_value(_float(table[lever.name].min()), lever.units, lang),
            lever_value(_float(table[lever.name].max()), lever.units, lang),
        )
        for lever in levers
    }
    if len(levers) == 1:
        moved = {
            key: abs(_float(data["probability"].iloc[-1]) - _float(data["probability"].iloc[0]))
            for key, data in groups.items()
        }
    else:
        moved = {
            key: _float(data["probability"].max()) - _float(data["probability"].min())
            for key, data in groups.items()
        }
    key = max(moved, key=lambda name: (moved[name], name != ALL_TARGETS))
    data = groups[key]
    label = target_label(key, targets, lang)
    if len(levers) == 2:
        second = levers[1]
        lowest = data.loc[data["probability"].idxmin()]
        highest = data.loc[data["probability"].idxmax()]
        return [
            t["answer_sweep2"].format(
                x=first.label,
                x_low=span[first.name][0],
                x_high=span[first.name][1],
                y=second.label,
                y_low=span[second.name][0],
                y_high=span[second.name][1],
                target=label,
                low=percent(_float(lowest["probability"])),
                low_at=_where(lowest, levers, lang, named=True),
                high=percent(_float(highest["probability"])),
                high_at=_where(highest, levers, lang, named=True),
            )
        ]
    start, stop = data.iloc[0], data.iloc[-1]
    before, after = _float(start["probability"]), _float(stop["probability"])
    if not _changes(start, stop):
        move = "answer_sweep_flat"
    else:
        move = "answer_sweep_rises" if after > before else "answer_sweep_falls"
    reached = data[data["probability"] >= level]
    if reached.empty:
        best = data.loc[data["probability"].idxmax()]
        reach = t["answer_reach_never"].format(
            level=format_percent(level, 0),
            best=percent(_float(best["probability"])),
            at=lever_value(_float(best[first.name]), first.units, lang),
        )
    elif reached.index[0] == data.index[0]:
        reach = t["answer_reach_throughout"].format(level=format_percent(level, 0))
    else:
        reach = t["answer_reach_at"].format(
            level=format_percent(level, 0),
            at=lever_value(_float(reached[first.name].iloc[0]), first.units, lang),
        )
    lines = [
        t[move].format(
            lever=first.label,
            low=span[first.name][0],
            high=span[first.name][1],
            target=label,
            before=percent(before),
            after=percent(after),
        )
        + reach
    ]
    if len(groups) > 1:
        changing = sum(
            _changes(group.iloc[0], group.iloc[-1])
            for name, group in groups.items()
            if name != ALL_TARGETS
        )
        counted = sum(name != ALL_TARGETS for name in groups)
        lines.append(t["answer_sweep_count"].format(n=changing, total=counted))
    return lines


def render_sweep_html(
    table: pd.DataFrame,
    levers: Sequence[SweepLever],
    targets: Sequence[Target],
    lang: Language,
    image: bytes,
    run: str,
    provenance: Mapping[str, object],
    keys: Sequence[str] | None = None,
) -> str:
    """``sweep.html``: the answer (``sweep_answer``), a row per target (``sweep_summary``),
    the chart and the run; self-contained."""
    t = TEXT[lang]
    summary = sweep_summary(table, levers, targets, lang, keys)
    ranges = " × ".join(
        f"{lever.label} {lever_value(_float(table[lever.name].min()), lever.units, lang)}–"
        f"{lever_value(_float(table[lever.name].max()), lever.units, lang)}"
        for lever in levers
    )
    return render_command_page(
        lang,
        title=t["sweep_page_title"].format(levers=ranges),
        answer=sweep_answer(table, levers, targets, lang, keys),
        tables=[frame_table(t["sweep_table"], summary, numeric=list(summary.columns[1:3]))],
        images={"sweep.png": image},
        method=t["sweep_method"],
        run=run,
        provenance=provenance,
    )


# --- solve ----------------------------------------------------------------------------------


def money(value: float) -> str:
    """An amount in 亿元: two decimals from 1 up and for 0 (thousands separated), else 3
    significant digits; ``nan`` as ``–``."""
    if value is None or math.isnan(value):
        return "–"
    if value == 0 or abs(value) >= 1:
        return f"{value:,.2f}"
    return f"{value:.3g}"


def _text(value: object) -> str:
    """A CSV field as text (a missing value, read back as NaN, as ``""``)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _searched_whole(record: Mapping[str, object]) -> bool:
    """Whether the searched range is the whole plausible policy range."""
    return all(
        not math.isnan(_float(record[end])) and math.isclose(_float(record[end]), _float(record[r]))
        for end, r in (("low", "range_low"), ("high", "range_high"))
    )


def solve_status_text(record: Mapping[str, object], lang: Language) -> str:
    """The answer's status in words: reachable within the plausible policy range, already
    reached at the end of the range, or not reachable within the plausible (or searched)
    range."""
    t = TEXT[lang]
    status = str(record["status"])
    if status == "not_reachable" and not _searched_whole(record):
        return t["status_not_reachable_searched"]
    return t[f"status_{status}"]


def solve_money_text(
    record: Mapping[str, object], lever_label: str, lang: Language, money_label: str = ""
) -> str:
    """The answer in money (亿元 or 亿元 per year), or ``""`` when the lever reaches no money
    variable. ``money_label`` names the money variable (default: its Vensim name)."""
    t = TEXT[lang]
    fmt = _lever_format(record, lang)
    variable = _text(record.get("money_variable"))
    if not variable:
        return ""
    flow = _text(record.get("money_units")).replace(" ", "") == "CNY100M/Year"
    at = _float(record["money_at"])
    current = _float(record.get("current_value"))
    if variable == record["lever"]:
        key = "money_own_flow" if flow else "money_own"
        extra = "" if math.isnan(current) else t[f"{key}_current"].format(current=money(current))
        return t[key].format(lever=lever_label, at=money(at), current=extra)
    text = t["money_flow"].format(
        lever=lever_label,
        at=fmt(at),
        money=money_label or variable,
        value=money(_float(record["money_per_year"])),
        years=_text(record.get("money_years")),
    )
    now = _float(record.get("money_current_per_year"))
    if not math.isnan(now) and not math.isnan(current):
        text += t["money_current"].format(current=money(now), current_at=fmt(current))
    return text


def solve_lines(
    record: Mapping[str, object],
    lever_label: str,
    target_text: str,
    lang: Language,
    money_label: str = "",
) -> list[str]:
    """The answer of ``solve`` as lines: the question, the plausible policy range, the answer
    (reached, at the range's end, or not reachable within the plausible policy range with the
    best probability found and where) and, where the lever reaches money, the money."""
    t = TEXT[lang]
    fmt = _lever_format(record, lang)
    status = record["status"]
    increasing = record["direction"] != "decreasing"
    whole = _searched_whole(record)
    ranges = {
        "range_name": t["plausible_range" if whole else "searched_range"],
        "range_low": fmt(_float(record["low"])),
        "range_high": fmt(_float(record["high"])),
    }
    if status == "not_reachable":
        body = t["not_reachable"].format(
            range_name=ranges["range_name"],
            low=fmt(_float(record["low"])),
            high=fmt(_float(record["high"])),
            best=percent(_float(record["best_probability"])),
            lever=lever_label,
            at=fmt(_float(record["best_value"])),
        )
    elif status == "at_bound":
        bound = fmt(_float(record["value"]))
        tail = t[
            f"tail_{'least' if increasing else 'greatest'}_{'whole' if whole else 'searched'}"
        ].format(lever=lever_label, bound=bound)
        body = t["at_bound_increasing" if increasing else "at_bound_decreasing"].format(
            bound=bound,
            p=percent(_float(record["probability"])),
            lever=lever_label,
            tail=tail,
            **ranges,
        )
    else:
        body = t["reached"].format(
            extreme=t["least"] if increasing else t["greatest"],
            lever=lever_label,
            value=fmt(_float(record["value"])),
            low=fmt(_float(record["value_low"])),
            high=fmt(_float(record["value_high"])),
            p=percent(_float(record["probability"])),
            p_low=percent(_float(record["prob_low"])),
            p_high=percent(_float(record["prob_high"])),
            **ranges,
        )
    title = t["solve_title"].format(target=target_text, level=percent(_float(record["level"])))
    range_line = t["range_line"].format(
        lever=lever_label,
        range_low=_limit(record["range_low"], fmt),
        range_high=_limit(record["range_high"], fmt),
        current=fmt(_float(record.get("current_value"))),
    )
    if not whole:
        range_line += t["range_searched"].format(
            low=fmt(_float(record["low"])), high=fmt(_float(record["high"]))
        )
    lines = [title, range_line, body]
    money_text = solve_money_text(record, lever_label, lang, money_label)
    if money_text:
        lines.append(money_text)
    return lines


def _limit(value: object, fmt: Callable[[float], str]) -> str:
    """An end of the plausible policy range; an open end (``nan``) as ``?``."""
    end = _float(value)
    return "?" if math.isnan(end) else fmt(end)


def _lever_format(record: Mapping[str, object], lang: Language) -> Callable[[float], str]:
    """How the lever of a ``solve.csv`` record is written (``lever_value`` in its units)."""
    units = _text(record.get("units"))
    return lambda value: lever_value(value, units, lang)


def level_text(level: float) -> str:
    """A required probability as a percentage, whole where it is (``80%``, ``82.5%``)."""
    whole = math.isclose(level * 100, round(level * 100))
    return format_percent(level, 0 if whole else 1)


def _money_in_answer(record: Mapping[str, object], lang: Language, money_label: str) -> str:
    """The money part of the answer's sentence: the money flow at the answer and its change
    against the current setting (``""`` when the lever is itself money or reaches none)."""
    t = TEXT[lang]
    variable = _text(record.get("money_variable"))
    at = _float(record.get("money_per_year"))
    if not variable or variable == record["lever"] or math.isnan(at):
        return ""
    flow = "CNY100M/Year"
    now = _float(record.get("money_current_per_year"))
    numbers = {"money": money_label or variable, "value": format_quantity(at, flow, lang)}
    if math.isnan(now) or math.isclose(at, now, rel_tol=1e-9, abs_tol=1e-9):
        return t["answer_money"].format(**numbers)
    change = format_quantity(at - now, flow, lang, change=True)
    return t["answer_money_change"].format(change=change, **numbers)


def solve_answer(
    record: Mapping[str, object],
    lever_label: str,
    target_text: str,
    lang: Language,
    money_label: str = "",
) -> str:
    """The answer of ``solve`` in one sentence: the least (or greatest) lever value for the
    required probability with its interval and the money it means against the current
    setting; already reached at the end of the range; or not reachable within the
    plausible (or searched) range, with the best probability found and where."""
    t = TEXT[lang]
    fmt = _lever_format(record, lang)
    status = record["status"]
    increasing = record["direction"] != "decreasing"
    whole = _searched_whole(record)
    common = {
        "lever": lever_label,
        "target": target_text,
        "level": level_text(_float(record["level"])),
        "range_name": t["plausible_range" if whole else "searched_range"],
        "money": _money_in_answer(record, lang, money_label),
    }
    if status == "not_reachable":
        return t["answer_solve_not_reachable"].format(
            low=fmt(_float(record["low"])),
            high=fmt(_float(record["high"])),
            best=percent(_float(record["best_probability"])),
            at=fmt(_float(record["best_value"])),
            **common,
        )
    if status == "at_bound":
        return t["answer_solve_at_bound"].format(
            bound=fmt(_float(record["value"])),
            end=t["end_lower" if increasing else "end_upper"],
            p=percent(_float(record["probability"])),
            **common,
        )
    low, high = _float(record["value_low"]), _float(record["value_high"])
    interval = (
        t["answer_interval"].format(low=fmt(low), high=fmt(high))
        if math.isfinite(low) and math.isfinite(high)
        else ""
    )
    return t["answer_solve_least" if increasing else "answer_solve_greatest"].format(
        value=fmt(_float(record["value"])), interval=interval, **common
    )


def solve_text(
    record: Mapping[str, object],
    lever_label: str,
    target_text: str,
    lang: Language,
    money_label: str = "",
) -> str:
    """The answer of ``solve`` as console text: the sentence (``solve_answer``), then
    ``solve_lines``."""
    return "\n".join(
        [
            solve_answer(record, lever_label, target_text, lang, money_label),
            *solve_lines(record, lever_label, target_text, lang, money_label),
        ]
    )


def render_solve_html(
    record: Mapping[str, object],
    lever_label: str,
    target_text: str,
    lang: Language,
    image: bytes,
    run: str = "",
    money_label: str = "",
) -> str:
    """``solve.html``: the answer (as ``solve_lines``), a table of its details (plausible
    policy range, searched range, status, solution, interval, probabilities, money), the chart
    (PNG bytes, embedded) and the run's settings; self-contained."""
    t = TEXT[lang]
    fmt = _lever_format(record, lang)
    lines = solve_lines(record, lever_label, target_text, lang, money_label)
    body = lines[2:]
    reached = record["status"] != "not_reachable"
    probability = _float(record["probability"])
    rows = [
        (
            t["row_lever"],
            lever_label if lever_label == record["lever"] else f"{lever_label} ({record['lever']})",
        ),
        (
            t["row_plausible_range"],
            f"[{_limit(record['range_low'], fmt)}, {_limit(record['range_high'], fmt)}]",
        ),
        (
            t["row_searched"],
            f"[{fmt(_float(record['low']))}, {fmt(_float(record['high']))}]",
        ),
        (t["row_current"], fmt(_float(record.get("current_value")))),
        (t["row_status"], solve_status_text(record, lang)),
    ]
    if reached:
        rows += [
            (t["row_value"], fmt(_float(record["value"]))),
            (
                t["row_interval"],
                f"{fmt(_float(record['value_low']))} – {fmt(_float(record['value_high']))}",
            ),
            (
                t["row_probability"],
                f"{percent(probability)} ({percent(_float(record['prob_low']))}–"
                f"{percent(_float(record['prob_high']))})",
            ),
        ]
    rows.append(
        (
            t["row_best"],
            f"{percent(_float(record['best_probability']))} @ {fmt(_float(record['best_value']))}",
        )
    )
    money_text = solve_money_text(record, lever_label, lang, money_label)
    if money_text:
        rows.append((t["row_money"], money_text))
    provenance = [
        (key, _text(record.get(key)))
        for key in ("scenario", "target", "level", "draws", "seed", "sampler")
    ]
    return render_page(
        "solve.html.j2",
        lang,
        t=t,
        answer=[solve_answer(record, lever_label, target_text, lang, money_label)],
        title=lines[0],
        lines=[lines[1], *body],
        warning=not reached,
        rows=rows,
        image=base64.b64encode(image).decode("ascii"),
        run=run,
        provenance=provenance,
    )


def solve_chart(
    curve: pd.DataFrame,
    record: Mapping[str, object],
    lever_label: str,
    target_text: str,
    lang: Language,
) -> Figure:
    """Probability at every lever value evaluated (95 % band), the required level and the
    solution with its interval."""
    use_cjk_font()
    t = TEXT[lang]
    fmt = _lever_format(record, lang)
    figure = Figure(figsize=(7, 4.2), layout="constrained")
    axes = figure.subplots()
    x = curve["value"].to_numpy()
    axes.fill_between(x, curve["prob_low"] * 100, curve["prob_high"] * 100, alpha=0.3, linewidth=0)
    axes.plot(x, curve["probability"] * 100, marker=".", markersize=4)
    level = _float(record["level"])
    axes.axhline(
        level * 100,
        color="tab:red",
        linestyle="--",
        label=t["required"].format(level=percent(level)),
    )
    value = _float(record["value"])
    if not math.isnan(value):
        low, high = _float(record["value_low"]), _float(record["value_high"])
        span_low = float(x.min()) if math.isnan(low) else low
        span_high = float(x.max()) if math.isnan(high) else high
        axes.axvspan(span_low, span_high, color="tab:green", alpha=0.15, label=t["interval"])
        axes.axvline(value, color="tab:green", label=t["solution"].format(value=fmt(value)))
    else:
        best = _float(record["best_value"])
        axes.axvline(
            best,
            color="tab:grey",
            linestyle=":",
            label=t["best_found"].format(
                p=percent(_float(record["best_probability"])), value=fmt(best)
            ),
        )
    axes.set_ylim(-3, 103)
    axes.set_xlabel(lever_label)
    lever_axis(axes.xaxis, _text(record.get("units")))
    axes.set_ylabel(f"{t['probability']} (%)")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    axes.set_title(t["solve_title"].format(target=target_text, level=percent(level)))
    return figure


# --- budget ---------------------------------------------------------------------------------


def budget_chart(shares: pd.DataFrame, lang: Language, subtitle: str = "") -> Figure:
    """Current and best split of the budget, share by share (bars), with the bounds."""
    use_cjk_font()
    t = TEXT[lang]
    labels = [
        row.label_zh if lang == "zh" and row.label_zh else row.share
        for row in shares.itertuples(index=False)
    ]
    figure = Figure(figsize=(8, 1.2 + 0.45 * len(shares)), layout="constrained")
    axes = figure.subplots()
    y = np.arange(len(shares))[::-1]
    axes.barh(y + 0.2, shares["baseline"] * 100, height=0.4, label=t["baseline"])
    axes.barh(y - 0.2, shares["best"] * 100, height=0.4, label=t["best"])
    for position, low, high in zip(y, shares["lower"], shares["upper"], strict=True):
        for bound in [b for b in (low, high) if 0 < b < 1]:
            axes.plot([bound * 100] * 2, [position - 0.45, position + 0.45], color="grey")
    axes.set_yticks(y, [_wrap(label, 30) for label in labels])
    axes.set_xlabel(f"{t['share']} (%)")
    axes.grid(axis="x", alpha=0.3)
    axes.legend(fontsize="small")
    axes.set_title(subtitle, fontsize="medium")
    return figure


def render_budget_html(
    shares: pd.DataFrame,
    lang: Language,
    answer: Sequence[str],
    image: bytes,
    run: str,
    provenance: Mapping[str, object],
) -> str:
    """``budget.html`` of ``solve --budget``: the answer (current and best split's
    probability), the shares (current and best, as percentages, with their bounds), the
    chart and the run; self-contained."""
    t = TEXT[lang]
    display = pd.DataFrame(
        {
            t["share"]: [
                label if lang == "zh" and isinstance(label, str) and label else name
                for name, label in zip(shares["share"], shares["label_zh"], strict=True)
            ],
            t["baseline"]: [percent(v) for v in shares["baseline"]],
            t["best"]: [percent(v) for v in shares["best"]],
            t["bounds"]: [
                f"{percent(low)} – {percent(high)}"
                for low, high in zip(shares["lower"], shares["upper"], strict=True)
            ],
        }
    )
    return render_command_page(
        lang,
        title=t["budget_page_title"],
        answer=answer,
        tables=[frame_table(t["budget_table"], display, numeric=list(display.columns[1:]))],
        images={"budget.png": image},
        method=t["budget_method"],
        run=run,
        provenance=provenance,
    )
