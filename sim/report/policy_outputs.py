"""Charts and console text of ``innosim compare | sweep | solve``, in Chinese or English.

Every function takes tables (pandas DataFrames as written to the commands' CSV files) and
labels, so the figures can be redrawn from the files.
"""

from __future__ import annotations

import base64
import math
import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.report.fonts import use_cjk_font
from sim.report.html import render_page
from sim.report.i18n import translations
from sim.scenario import Language, Target

TEXT = translations("policy")


def percent(value: float) -> str:
    """A probability as a percentage with one decimal (``62.3%``); ``nan`` as ``–``."""
    return "–" if value is None or math.isnan(value) else f"{value * 100:.1f}%"


def points(value: float) -> str:
    """A difference of probabilities in percentage points with a sign (``+4.1``)."""
    return "–" if math.isnan(value) else f"{value * 100:+.1f}"


def number(value: float | None) -> str:
    """A lever value with up to 4 significant digits; open ends as ``–``."""
    return "–" if value is None or math.isnan(value) else f"{value:.4g}"


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


def compare_console(
    table: pd.DataFrame, targets: Sequence[Target], names: Sequence[str], lang: Language
) -> pd.DataFrame:
    """The comparison as display text: a row per target, a column per scenario with the
    probability and, after the first, the paired difference with its interval."""
    t = TEXT[lang]
    rows = []
    for key, group in table.groupby("target", sort=False):
        row = {t["indicator"]: target_label(str(key), targets, lang)}
        for index, record in enumerate(group.to_dict("records")):
            text = percent(record["probability"])
            if index:
                text += (
                    f" ({points(record['difference'])} [{points(record['diff_low'])}, "
                    f"{points(record['diff_high'])}])"
                )
            row[names[index] + (t["reference"] if index == 0 else "")] = text
        rows.append(row)
    return pd.DataFrame(rows)


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
) -> Figure:
    """One panel per target: a curve with its 95 % band (one lever) or a heat map (two)."""
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
        at=number(at),
        money=money_label or variable,
        value=money(_float(record["money_per_year"])),
        years=_text(record.get("money_years")),
    )
    now = _float(record.get("money_current_per_year"))
    if not math.isnan(now) and not math.isnan(current):
        text += t["money_current"].format(current=money(now), current_at=number(current))
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
    status = record["status"]
    increasing = record["direction"] != "decreasing"
    whole = _searched_whole(record)
    ranges = {
        "range_name": t["plausible_range" if whole else "searched_range"],
        "range_low": number(_float(record["low"])),
        "range_high": number(_float(record["high"])),
    }
    if status == "not_reachable":
        body = t["not_reachable"].format(
            range_name=ranges["range_name"],
            low=number(_float(record["low"])),
            high=number(_float(record["high"])),
            best=percent(_float(record["best_probability"])),
            lever=lever_label,
            at=number(_float(record["best_value"])),
        )
    elif status == "at_bound":
        bound = number(_float(record["value"]))
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
            value=number(_float(record["value"])),
            low=number(_float(record["value_low"])),
            high=number(_float(record["value_high"])),
            p=percent(_float(record["probability"])),
            p_low=percent(_float(record["prob_low"])),
            p_high=percent(_float(record["prob_high"])),
            **ranges,
        )
    title = t["solve_title"].format(target=target_text, level=percent(_float(record["level"])))
    range_line = t["range_line"].format(
        lever=lever_label,
        range_low=_limit(record["range_low"]),
        range_high=_limit(record["range_high"]),
        current=number(_float(record.get("current_value"))),
    )
    if not whole:
        range_line += t["range_searched"].format(
            low=number(_float(record["low"])), high=number(_float(record["high"]))
        )
    lines = [title, range_line, body]
    money_text = solve_money_text(record, lever_label, lang, money_label)
    if money_text:
        lines.append(money_text)
    return lines


def _limit(value: object) -> str:
    """An end of the plausible policy range; an open end (``nan``) as ``?``."""
    end = _float(value)
    return "?" if math.isnan(end) else f"{end:g}"


def solve_text(
    record: Mapping[str, object],
    lever_label: str,
    target_text: str,
    lang: Language,
    money_label: str = "",
) -> str:
    """The answer of ``solve`` as console text (``solve_lines`` joined)."""
    return "\n".join(solve_lines(record, lever_label, target_text, lang, money_label))


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
            f"[{_limit(record['range_low'])}, {_limit(record['range_high'])}]",
        ),
        (
            t["row_searched"],
            f"[{number(_float(record['low']))}, {number(_float(record['high']))}]",
        ),
        (t["row_current"], number(_float(record.get("current_value")))),
        (t["row_status"], solve_status_text(record, lang)),
    ]
    if reached:
        rows += [
            (t["row_value"], number(_float(record["value"]))),
            (
                t["row_interval"],
                f"{number(_float(record['value_low']))} – {number(_float(record['value_high']))}",
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
            f"{percent(_float(record['best_probability']))} @ "
            f"{number(_float(record['best_value']))}",
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
        axes.axvline(value, color="tab:green", label=t["solution"].format(value=number(value)))
    else:
        best = _float(record["best_value"])
        axes.axvline(
            best,
            color="tab:grey",
            linestyle=":",
            label=t["best_found"].format(
                p=percent(_float(record["best_probability"])), value=number(best)
            ),
        )
    axes.set_ylim(-3, 103)
    axes.set_xlabel(lever_label)
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
