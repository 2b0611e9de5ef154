"""Figures, tables and files of ``innosim calibrate``, in Chinese or English.

* ``fit_chart``: one observed variable over time: the prior and posterior 5–95 % bands of
  the model, the observations with ±2 sd error bars.
* ``parameter_chart``: prior and posterior histograms of the most-updated parameters.
* ``calibration_files``: ``posterior.nc``, ``parameters.csv``, ``targets.csv``, ``pairs.csv``,
  ``misfits.csv``, ``fit_<variable>.png`` and ``parameters.png`` by name, for
  ``sim.report.writer.write_outputs``.
* ``calibration_answer`` and the display tables (``parameter_rows``, ``pair_rows``,
  ``target_probability_rows``, ``misfit_lines``) of ``calibrate.html`` and the console.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from sim.analysis.importance_weighting import weighted_quantiles
from sim.report.figures import plot_observations
from sim.report.fonts import use_cjk_font
from sim.report.i18n import translations
from sim.report.quantities import format_number, format_percent
from sim.results import slug, variable
from sim.scenario import Language

if TYPE_CHECKING:
    from sim.report.writer import Output

MISFITS_FILE = "misfits.csv"
PAIRS_FILE = "pairs.csv"
POSTERIOR_FILE = "posterior.nc"
PARAMETERS_FILE = "parameters.csv"
TARGETS_FILE = "targets.csv"
PARAMETERS_FIGURE = "parameters.png"
CALIBRATION_HTML = "calibrate.html"
#: Parameters drawn in ``parameters.png``.
TOP_PARAMETERS = 6

TEXT = translations("calibration")


def label(attrs: Mapping, lang: Language) -> str:
    """Display name of a variable from its attributes: the Chinese label in ``zh``."""
    name = str(attrs.get("long_name", ""))
    label_zh = attrs.get("label_zh")
    return str(label_zh) if lang == "zh" and label_zh else name


def fit_chart(
    prior: xr.Dataset,
    posterior: xr.Dataset,
    posterior_weights: np.ndarray,
    observations: pd.DataFrame,
    name: str,
    lang: Language,
    last_year: float | None = None,
    plan_start: float | None = None,
) -> Figure:
    """Prior and posterior 5–95 % bands of ``name`` with its observations (±2 sd bars),
    from the first saved year to ``last_year`` (default: the last saved year)."""
    use_cjk_font()
    text = TEXT[lang]
    before, after = variable(prior, name), variable(posterior, name)
    times = before["time"].to_numpy()
    shown = times <= (last_year if last_year is not None else times[-1])
    n = prior.sizes["draw"]
    low, high = weighted_quantiles(before.to_numpy()[:, shown], np.ones(n), [0.05, 0.95])
    q05, q50, q95 = weighted_quantiles(
        after.to_numpy()[:, shown], posterior_weights, [0.05, 0.5, 0.95]
    )
    figure = Figure(figsize=(6.4, 4.0), layout="constrained")
    axes = figure.subplots()
    axes.fill_between(
        times[shown], low, high, color="0.6", alpha=0.35, linewidth=0, label=text["prior"]
    )
    axes.fill_between(
        times[shown], q05, q95, color="tab:blue", alpha=0.35, linewidth=0, label=text["posterior"]
    )
    axes.plot(times[shown], q50, color="tab:blue", label=text["posterior_median"])
    plot_observations(axes, observations, name, text["observed"])
    if plan_start is not None:
        axes.axvline(plan_start, color="0.4", linestyle=":", linewidth=1, label=text["plan_start"])
    units = before.attrs.get("units", "")
    axes.set_title(f"{label(before.attrs, lang)} ({units})")
    axes.set_xlabel(text["year"])
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small", loc="upper left")
    return figure


def parameter_chart(
    prior: Mapping[str, np.ndarray],
    posterior: Mapping[str, np.ndarray],
    table: pd.DataFrame,
    labels: Mapping[str, str],
    lang: Language,
    top: int = TOP_PARAMETERS,
) -> Figure:
    """Histograms (densities) of prior and posterior for the first ``top`` parameters of
    ``table`` (``sim.analysis.importance_weighting.parameter_table``, most-updated first)."""
    use_cjk_font()
    text = TEXT[lang]
    names = list(table["parameter"][:top])
    columns = 3 if len(names) > 4 else max(1, len(names))
    rows = max(1, -(-len(names) // columns))
    figure = Figure(figsize=(4.0 * columns, 3.0 * rows + 0.6), layout="constrained")
    grid = figure.subplots(rows, columns, squeeze=False)
    for axes, name in zip(grid.flat, names, strict=False):
        before = np.asarray(prior[name], dtype=float)
        after = np.asarray(posterior[name], dtype=float)
        distinct = np.unique(before)
        if distinct.size <= 12:
            width = np.min(np.diff(distinct)) if distinct.size > 1 else 1.0
            edges = np.concatenate([distinct - width / 2, [distinct[-1] + width / 2]])
        else:
            edges = np.linspace(before.min(), before.max(), 31)
        axes.hist(
            before, bins=edges, density=True, color="0.6", alpha=0.6, label=text["prior_hist"]
        )
        axes.hist(
            after,
            bins=edges,
            density=True,
            color="tab:blue",
            alpha=0.6,
            label=text["posterior_hist"],
        )
        record = table.set_index("parameter").loc[name]
        axes.set_title(
            f"{labels.get(name, name)}\n" + text["hellinger"].format(value=record["hellinger"]),
            fontsize="small",
        )
        axes.tick_params(labelsize="small")
    for axes in list(grid.flat)[len(names) :]:
        axes.set_visible(False)
    grid.flat[0].legend(fontsize="small")
    figure.suptitle(text["parameters_title"])
    return figure


def fit_file(name: str) -> str:
    """File name of the fit chart of variable ``name``."""
    return f"fit_{slug(name)}.png"


def calibration_files(
    posterior_file: xr.Dataset,
    parameters: pd.DataFrame,
    targets: pd.DataFrame,
    figures: Mapping[str, Figure | bytes],
    misfits: pd.DataFrame,
    pairs: pd.DataFrame,
) -> dict[str, Output]:
    """The files of a calibration by name, for ``sim.report.writer.write_outputs``.

    Args:
        posterior_file: the conditioned ensemble (``posterior.nc``,
            ``sim.workflows.calibrate.posterior_dataset``).
        parameters: the parameter table (``parameters.csv``).
        targets: prior and calibrated target probabilities (``targets.csv``).
        figures: PNG file name → figure (or its PNG bytes).
        misfits: the observations not reproduced (``misfits.csv``; header only when none).
        pairs: the pairs of constants the data inform together (``pairs.csv``,
            ``sim.analysis.importance_weighting.joint_identification``; header only when none).
    """
    return {
        POSTERIOR_FILE: posterior_file,
        PARAMETERS_FILE: parameters,
        TARGETS_FILE: targets,
        MISFITS_FILE: misfits,
        PAIRS_FILE: pairs,
        **figures,
    }


def calibration_figures(
    prior: xr.Dataset,
    posterior: xr.Dataset,
    posterior_weights: np.ndarray,
    observations: pd.DataFrame,
    prior_draws: Mapping[str, np.ndarray],
    posterior_draws: Mapping[str, np.ndarray],
    parameters: pd.DataFrame,
    labels: Mapping[str, str],
    lang: Language,
    last_year: float | None = None,
    plan_start: float | None = None,
) -> dict[str, Figure]:
    """The figures of a calibration by file name: one fit chart per observed variable and
    the prior-vs-posterior chart of the most-updated parameters."""
    figures: dict[str, Figure] = {}
    names: Sequence[str] = list(dict.fromkeys(observations["variable"]))
    for name in names:
        figures[fit_file(name)] = fit_chart(
            prior, posterior, posterior_weights, observations, name, lang, last_year, plan_start
        )
    figures[PARAMETERS_FIGURE] = parameter_chart(
        prior_draws, posterior_draws, parameters, labels, lang
    )
    return figures


# --- the page and the console ----------------------------------------------------------------

#: Parameters named in the answer and shown in the console's table.
ANSWER_PARAMETERS = 3
#: Posterior contraction (1 − posterior variance / prior variance) from which the data are
#: said to pin a constant down: its variance at most halved.
PINNED_CONTRACTION = 0.5


def parameter_rows(
    parameters: pd.DataFrame, labels: Mapping[str, str], lang: Language, top: int | None = None
) -> pd.DataFrame:
    """The parameter table (``parameters.csv``, most-updated first) as display text: label,
    Hellinger distance, contraction, prior and posterior mean, posterior 5–95 %."""
    text = TEXT[lang]
    shown = parameters if top is None else parameters.head(top)
    return pd.DataFrame(
        {
            text["col_parameter"]: [labels.get(name, name) for name in shown["parameter"]],
            text["col_hellinger"]: [f"{value:.2f}" for value in shown["hellinger"]],
            text["col_contraction"]: [f"{value:.2f}" for value in shown["contraction"]],
            text["col_prior_mean"]: [format_number(value) for value in shown["prior_mean"]],
            text["col_posterior_mean"]: [format_number(value) for value in shown["posterior_mean"]],
            text["col_posterior_band"]: [
                f"{format_number(low)} – {format_number(high)}"
                for low, high in zip(shown["posterior_p05"], shown["posterior_p95"], strict=True)
            ],
        }
    )


def pair_rows(
    pairs: pd.DataFrame, labels: Mapping[str, str], lang: Language, top: int | None = None
) -> pd.DataFrame:
    """The pairs the data inform together (``pairs.csv``) as display text."""
    text = TEXT[lang]
    shown = pairs if top is None else pairs.head(top)
    return pd.DataFrame(
        {
            text["col_parameter"]: [labels.get(name, name) for name in shown["parameter"]],
            text["col_other"]: [labels.get(name, name) for name in shown["other"]],
            text["col_prior_rank"]: [f"{value:+.2f}" for value in shown["prior_spearman"]],
            text["col_posterior_rank"]: [f"{value:+.2f}" for value in shown["posterior_spearman"]],
        }
    )


def target_probability_rows(
    targets: pd.DataFrame, labels: Mapping[str, str], lang: Language
) -> pd.DataFrame:
    """Each target's probability under the prior and given the data (``targets.csv``) as
    display text, with the Wilson 95 % intervals; ``labels`` maps a target name to its label."""
    text = TEXT[lang]

    def shown(row: pd.Series, which: str) -> str:
        return (
            f"{format_percent(row[f'{which}_probability'])} "
            f"({format_percent(row[f'{which}_prob_low'])}–"
            f"{format_percent(row[f'{which}_prob_high'])})"
        )

    return pd.DataFrame(
        {
            text["col_target"]: [labels.get(name, name) for name in targets["target"]],
            text["col_prior_probability"]: [shown(row, "prior") for _, row in targets.iterrows()],
            text["col_calibrated_probability"]: [
                shown(row, "calibrated") for _, row in targets.iterrows()
            ],
        }
    )


def misfit_lines(misfits: pd.DataFrame, lang: Language) -> list[str]:
    """The observations the model does not reproduce (``misfits.csv``), a heading and a line
    each (the closest model value, how many sd away, the structure to suspect, and a value
    that looks like a percentage where the model's unit is a fraction)."""
    if misfits.empty:
        return []
    text = TEXT[lang]
    lines = [text["misfit_head"].format(n=len(misfits))]
    for row in misfits.itertuples(index=False):
        line = text["misfit_row"].format(
            variable=row.variable,
            year=row.year,
            value=f"{row.value:g}",
            closest=f"{row.closest_value:.4g}",
            sd=f"{abs(row.closest_residual):.1f}",
            structure=row.suspect_structure,
        )
        if pd.notna(row.suggested_value):
            line += text["misfit_percent"].format(
                value=f"{row.value:g}", suggested=f"{row.suggested_value:g}"
            )
        lines.append(f"  {line}")
    return lines


def calibration_answer(
    facts: Mapping[str, object],
    parameters: pd.DataFrame,
    targets: pd.DataFrame,
    labels: Mapping[str, str],
    target_labels: Mapping[str, str],
    lang: Language,
) -> list[str]:
    """The calibration's answer in sentences: the data conditioned on and the effective
    sample kept; the constants the data informed most (Hellinger distance, means before and
    after) and how many they pinned down (``PINNED_CONTRACTION``); the target whose
    probability the data moved most; the observations not reproduced.

    ``facts`` has ``observations``, ``variables``, ``first``, ``last`` (years), ``method``
    (``importance`` | ``tempering``), ``ess``, ``draws``, ``importance_ess`` and ``misfits``.
    """
    text = TEXT[lang]
    lines = [
        text["answer_kept"].format(
            observations=facts["observations"],
            variables=facts["variables"],
            first=facts["first"],
            last=facts["last"],
            method=text[f"method_{facts['method']}"],
            ess=f"{float(facts['ess']):,.0f}",  # type: ignore[arg-type]
            draws=f"{int(facts['draws']):,}",  # type: ignore[call-overload]
            importance_ess=f"{float(facts['importance_ess']):.1f}",  # type: ignore[arg-type]
        )
    ]
    if not parameters.empty:
        informed = [
            text["answer_parameter"].format(
                parameter=labels.get(row.parameter, row.parameter),
                before=format_number(row.prior_mean),
                after=format_number(row.posterior_mean),
                hellinger=f"{row.hellinger:.2f}",
            )
            for row in parameters.head(ANSWER_PARAMETERS).itertuples(index=False)
        ]
        pinned = int((parameters["contraction"] >= PINNED_CONTRACTION).sum())
        lines.append(
            text["answer_informed"].format(
                parameters=text["list_separator"].join(informed),
                pinned=pinned,
                total=len(parameters),
            )
        )
    if not targets.empty:
        moved = (targets["calibrated_probability"] - targets["prior_probability"]).abs()
        row = targets.loc[moved.idxmax()]
        lines.append(
            text["answer_target"].format(
                target=target_labels.get(row["target"], row["target"]),
                prior=format_percent(row["prior_probability"]),
                calibrated=format_percent(row["calibrated_probability"]),
            )
        )
    misfits = int(facts["misfits"])  # type: ignore[call-overload]
    lines.append(text["answer_misfits"].format(n=misfits) if misfits else text["answer_no_misfits"])
    return lines
