"""``innosim sensitivity`` and ``innosim discover``: which uncertainties decide whether a
target is reachable? (register them on an app with ``register(app)``)."""

from __future__ import annotations

import math
import re
import sys
from enum import StrEnum
from typing import Annotated

import typer

from sim.cli.options import (
    DEFAULT_SCENARIO,
    ExecutorChoice,
    ExecutorOption,
    Lang,
    LangOption,
    ModelOption,
    OutOption,
    ScenarioArgument,
    SchedulerOption,
    WorkersOption,
    claimed_out,
    executor_from,
    fail,
)
from sim.errors import InnosimError
from sim.paths import default_out

#: File of the sensitivity table.
SENSITIVITY_FILE = "sensitivity.csv"
#: Relative width (interval half-width / top index) above which a ranking is called imprecise.
IMPRECISE = 0.2
#: Quasi-p value above which a box's restriction is called possibly chance.
SIGNIFICANCE = 0.05

TEXT = {
    "zh": {
        "indicator": "指标",
        "kinds": {"value": "取值", "reached": "是否达标"},
        "output": "输出",
        "value": "{year}年取值",
        "reached": "是否达标（{share:.1%} 的模拟达标）",
        "rank": "第{rank}位",
        "correlations": (
            "情景中的 {n} 个相关性被忽略：Sobol/Morris 指数假定输入相互独立，输入按独立抽样。"
        ),
        "imprecise": (
            "{target}（{output}）的排序不够精确：前三位的最大置信半宽 {widest:.3g}"
            "（为首位指数的 {relative:.0%}）；请增大 --samples。"
        ),
        "precise": "所有排序的前三位置信半宽均小于首位指数的 {limit:.0%}：样本量足够。",
        "runs": "{method}：{runs:,} 次模拟（{samples} 个样本，随机种子 {seed}）",
        "box": "所选框 {box}：覆盖率 {coverage:.1%}，密度 {density:.1%}，质量 {mass:.1%}"
        "（全部抽样中的比例 {base:.1%}，{draws:,} 次抽样）",
        "below": "没有框达到密度阈值 {threshold:.0%}：显示密度最高的框。",
        "chance": (
            "所选框有 {n} 个限制的准 p 值大于 {alpha}：可能是偶然（可用 --box 选择限制较少的框）。"
        ),
        "parameter": "参数",
        "limits": "范围",
        "qp": "准 p 值",
    },
    "en": {
        "indicator": "Indicator",
        "kinds": {"value": "value", "reached": "reached"},
        "output": "Output",
        "value": "value in {year}",
        "reached": "reached ({share:.1%} of runs)",
        "rank": "#{rank}",
        "correlations": (
            "{n} correlation(s) of the scenario ignored: Sobol'/Morris indices assume "
            "independent inputs, which are sampled independently."
        ),
        "imprecise": (
            "the ranking for {target} ({output}) is imprecise: widest interval half-width "
            "{widest:.3g} among the top three ({relative:.0%} of the top index); raise --samples."
        ),
        "precise": (
            "every ranking's top three have interval half-widths below {limit:.0%} of the top "
            "index: the sample is large enough."
        ),
        "runs": "{method}: {runs:,} runs ({samples} samples, seed {seed})",
        "box": "chosen box {box}: coverage {coverage:.1%}, density {density:.1%}, mass "
        "{mass:.1%} (share of all draws {base:.1%}, {draws:,} draws)",
        "below": "no box reaches the density threshold {threshold:.0%}: the densest is shown.",
        "chance": (
            "{n} restriction(s) of the chosen box have a quasi-p value above {alpha}: they may "
            "be chance (--box chooses a box with fewer restrictions)."
        ),
        "parameter": "Parameter",
        "limits": "Limits",
        "qp": "quasi-p",
    },
}


class Method(StrEnum):
    """Global sensitivity method."""

    sobol = "sobol"
    morris = "morris"


def file_stem(name: str) -> str:
    """A target name as a file-name part (it is already an identifier; kept safe anyway)."""
    return re.sub(r"[^0-9A-Za-z_.-]+", "_", name)


def _note(message: str) -> None:
    typer.echo(f"innosim: note: {message}", err=True)


def sensitivity(
    scenario: ScenarioArgument = DEFAULT_SCENARIO,
    method: Annotated[
        Method, typer.Option("--method", help="sobol (variance-based) or morris (screening).")
    ] = Method.sobol,
    samples: Annotated[
        int | None,
        typer.Option(
            "--samples",
            min=2,
            help="Base samples (sobol: a power of two, runs = N × (uncertainties + 2); "
            "default 2048) or trajectories (morris: runs = N × (uncertainties + 1); default "
            "1000).",
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", min=0, help="Random seed (default: the scenario's).")
    ] = None,
    top: Annotated[
        int, typer.Option("--top", min=1, help="Parameters shown per chart panel.")
    ] = 10,
    out: OutOption = None,
    lang: LangOption = Lang.zh,
    executor: ExecutorOption = ExecutorChoice.serial,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    model: ModelOption = None,
) -> None:
    """Global sensitivity of each target (its value, and reaching it) to every uncertainty
    of the scenario: Sobol' first- and total-order indices or Morris screening (SALib).
    Writes sensitivity.csv and a ranked chart per target."""
    import pandas as pd

    from sim.analysis.sensitivity_indices import check_samples, design_size, interval_widths
    from sim.analysis.sensitivity_indices import top_parameters as leaders
    from sim.atomic import staged_output_dir
    from sim.report.console import format_table
    from sim.report.figures import figure_png
    from sim.report.sensitivity_charts import parameter_label, sensitivity_chart
    from sim.scenario import load_scenario
    from sim.workflows.drivers import DEFAULT_SAMPLES, run_sensitivity

    language = lang.value
    text = TEXT[language]
    n = DEFAULT_SAMPLES[method.value] if samples is None else samples
    try:
        check_samples(method.value, n)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--samples") from None
    target_dir = out if out is not None else default_out("sensitivity", scenario)
    with claimed_out(target_dir):
        try:
            loaded = load_scenario(scenario, model=model)
            runs = design_size(method.value, n, len(loaded.uncertainties))
            with typer.progressbar(length=runs, label=scenario.name, file=sys.stderr) as bar:
                result = run_sensitivity(
                    loaded,
                    method.value,
                    n,
                    seed,
                    model=model,
                    progress=bar.update,
                    executor=executor_from(executor, workers, scheduler),
                )
            written = []
            with staged_output_dir(target_dir) as stage:
                result.table.to_csv(stage / SENSITIVITY_FILE, index=False)
                written.append(target_dir / SENSITIVITY_FILE)
                for target in loaded.targets:
                    figure = sensitivity_chart(
                        result.table,
                        target,
                        method.value,
                        language,
                        result.labels_zh,
                        result.runs,
                        result.samples,
                        top,
                        result.reached[target.name],
                    )
                    name = f"sensitivity_{file_stem(target.name)}.png"
                    (stage / name).write_bytes(figure_png(figure))
                    written.append(target_dir / name)
        except (InnosimError, ValueError) as exc:
            if not isinstance(exc, InnosimError):
                exc = InnosimError(str(exc))
            raise fail(exc) from None

    key = "ST" if method.value == "sobol" else "mu_star"
    best = leaders(result.table, method.value, 3)
    rows = []
    for target in loaded.targets:
        for kind in ("value", "reached"):
            group = best[(best["target"] == target.name) & (best["output"] == kind)]
            output = (
                text["value"].format(year=target.year)
                if kind == "value"
                else text["reached"].format(share=result.reached[target.name])
            )
            row = {text["indicator"]: target.label.text(language), text["output"]: output}
            for rank, item in enumerate(group.itertuples(index=False), start=1):
                index = getattr(item, key)
                conf = getattr(item, f"{key}_conf")
                label = parameter_label(item.parameter, language, result.labels_zh)
                row[text["rank"].format(rank=rank)] = (
                    f"{label} {index:.3g}±{conf:.2g}" if index > 0 else "—"
                )
            rows.append(row)
    typer.echo(
        text["runs"].format(
            method=method.value, runs=result.runs, samples=result.samples, seed=result.seed
        )
    )
    typer.echo(format_table(pd.DataFrame(rows).fillna("")))
    typer.echo("")
    if result.ignored_correlations:
        _note(text["correlations"].format(n=len(result.ignored_correlations)))
    widths = interval_widths(result.table, method.value)
    loose = widths[widths["relative"] > IMPRECISE]
    labels = {t.name: t.label.text(language) for t in loaded.targets}
    for row in loose.itertuples(index=False):
        _note(
            text["imprecise"].format(
                target=labels[row.target],
                output=text["kinds"][row.output],
                widest=row.widest,
                relative=row.relative,
            )
        )
    if loose.empty:
        _note(text["precise"].format(limit=IMPRECISE))
    for path in written:
        typer.echo(f"wrote {path}")


def discover(
    target: Annotated[
        str, typer.Option("--target", help="Name of the target (as in the scenario file).")
    ],
    scenario: ScenarioArgument = DEFAULT_SCENARIO,
    missed: Annotated[
        bool, typer.Option("--missed", help="Find the draws that miss the target.")
    ] = False,
    threshold: Annotated[
        float,
        typer.Option(
            "--threshold", min=0.0, max=1.0, help="Minimum density of the chosen box (0-1]."
        ),
    ] = 0.8,
    draws: Annotated[
        int | None,
        typer.Option("--draws", min=1, help="Monte Carlo draws (default: the scenario's)."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", min=0, help="Random seed (default: the scenario's).")
    ] = None,
    box: Annotated[
        int | None,
        typer.Option("--box", min=0, help="Choose this box of the trajectory instead."),
    ] = None,
    out: OutOption = None,
    lang: LangOption = Lang.zh,
    executor: ExecutorOption = ExecutorChoice.serial,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    model: ModelOption = None,
) -> None:
    """Scenario discovery with PRIM: the box of uncertainty ranges where the target is
    reached (or, --missed, missed). Writes the peeling trajectory and the box as CSV and a
    chart of the coverage-density trade-off and the box's limits."""
    import pandas as pd
    from pydantic import ValidationError

    from sim.atomic import staged_output_dir
    from sim.report.console import format_table
    from sim.report.figures import figure_png
    from sim.report.prim_charts import discovery_chart
    from sim.report.sensitivity_charts import parameter_label
    from sim.scenario import load_scenario
    from sim.workflows.drivers import find_target, run_discovery

    language = lang.value
    text = TEXT[language]
    if threshold <= 0:
        raise typer.BadParameter("must lie in (0, 1]", param_hint="--threshold")
    target_dir = out if out is not None else default_out("discover", scenario)
    with claimed_out(target_dir):
        try:
            loaded = load_scenario(scenario, model=model)
            try:
                find_target(loaded, target)
            except KeyError as exc:
                raise typer.BadParameter(str(exc.args[0]), param_hint="--target") from None
            total = draws or loaded.monte_carlo.draws
            try:
                with typer.progressbar(length=total, label=scenario.name, file=sys.stderr) as bar:
                    found = run_discovery(
                        loaded,
                        target,
                        missed=missed,
                        threshold=threshold,
                        draws=draws,
                        seed=seed,
                        box=box,
                        model=model,
                        progress=bar.update,
                        executor=executor_from(executor, workers, scheduler),
                    )
            except ValidationError as exc:
                problem = "; ".join(error["msg"] for error in exc.errors())
                raise typer.BadParameter(problem, param_hint="--draws/--seed") from None
            result = found.result
            stem = f"{file_stem(target)}_{'missed' if missed else 'reached'}"
            names = [f"{stem}_trajectory.csv", f"{stem}_box.csv", f"{stem}.png"]
            with staged_output_dir(target_dir) as stage:
                result.trajectory.to_csv(stage / names[0], index=False)
                result.box.to_csv(stage / names[1], index=False)
                figure = discovery_chart(result, found.target, missed, language, found.labels_zh)
                (stage / names[2]).write_bytes(figure_png(figure))
        except (InnosimError, ValueError) as exc:
            if not isinstance(exc, InnosimError):
                exc = InnosimError(f"target {target}: {exc}")
            raise fail(exc) from None

    chosen = result.trajectory.loc[result.chosen]
    typer.echo(
        text["box"].format(
            box=result.chosen,
            coverage=chosen["coverage"],
            density=chosen["density"],
            mass=chosen["mass"],
            base=result.base_rate,
            draws=found.draws,
        )
    )
    if box is None and not result.meets_threshold:
        _note(text["below"].format(threshold=threshold))
    significance = result.box[["qp_lower", "qp_upper"]].min(axis=1)
    if (significance > SIGNIFICANCE).any():
        _note(text["chance"].format(n=int((significance > SIGNIFICANCE).sum()), alpha=SIGNIFICANCE))
    rows = [
        {
            text["parameter"]: parameter_label(row.parameter, language, found.labels_zh),
            text["limits"]: f"{row.lower:.4g} – {row.upper:.4g}",
            text["qp"]: f"{min(row.qp_lower, row.qp_upper, key=_nan_last):.2g}",
        }
        for row in result.box.itertuples(index=False)
    ]
    if rows:
        typer.echo(format_table(pd.DataFrame(rows)))
    typer.echo("")
    for name in names:
        typer.echo(f"wrote {target_dir / name}")


def _nan_last(value: float) -> float:
    return math.inf if math.isnan(value) else value


def register(app: typer.Typer) -> None:
    """Add ``sensitivity`` and ``discover`` to ``app``."""
    app.command(name="sensitivity")(sensitivity)
    app.command(name="discover")(discover)
