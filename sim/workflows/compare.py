"""``innosim compare``: scenarios on common random numbers, each target's probability and the
paired difference against the first.

Decisions: draws, seed and sampler come from the first scenario unless overridden. The
``sobol`` sampler assigns dimensions by the sorted names of the uncertainties, so common random
numbers hold only when every scenario has the same set; otherwise the comparison falls back to
``lhs`` (same draws and seed) with a note, rather than refusing a legitimate question. Targets
are the first scenario's (the reference); a later scenario that defines a target of the same
name differently is judged by the reference's definition, with a note.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import xarray as xr

from sim.analysis.paired_difference import compare_table
from sim.engine.ensemble import monte_carlo_settings, run_ensemble
from sim.engine.runner import SERIAL, Executor
from sim.provenance import provenance
from sim.report.console import format_table
from sim.report.policy_outputs import TEXT, compare_chart, compare_console
from sim.report.writer import write_outputs
from sim.scenario import Language, MonteCarlo, Scenario, Target, load_scenario
from sim.workflows.lever_runs import PolicyQuestionError

#: What the comparison's intervals are (``compare.json``).
METHOD = (
    "paired difference P(scenario) - P(reference) on common random numbers; "
    "Wilson intervals for probabilities, Newcombe (1998, method 10) for differences"
)


@dataclass(frozen=True)
class Comparison:
    """Ensembles of several scenarios on the same draws.

    Attributes:
        results: one Dataset per scenario (``sim.results`` layout).
        settings: the Monte Carlo settings used for all.
        targets: the targets every scenario is judged by (the first scenario's).
        notes: decisions the comparison took (sampler fall-back, differing targets).
    """

    results: list[xr.Dataset]
    settings: MonteCarlo
    targets: list[Target]
    notes: list[str] = field(default_factory=list)


def common_settings(
    scenarios: Sequence[Scenario],
    draws: int | None = None,
    seed: int | None = None,
    sampler: str | None = None,
) -> tuple[MonteCarlo, list[str]]:
    """Monte Carlo settings shared by ``scenarios``: the first's, with the overrides; ``lhs``
    instead of ``sobol`` when the scenarios' uncertainty names differ (with a note)."""
    settings = monte_carlo_settings(scenarios[0], draws, seed, sampler)
    notes = []
    names = {frozenset(s.uncertainties) for s in scenarios}
    if settings.sampler == "sobol" and len(names) > 1:
        settings = settings.model_copy(update={"sampler": "lhs"})
        notes.append(
            "the scenarios draw different sets of uncertainties, so sobol points would not be "
            "common random numbers; lhs is used instead (same draws and seed)"
        )
    if settings.sampler == "sobol" and settings.draws & (settings.draws - 1):
        raise PolicyQuestionError(
            f"the sobol sampler needs a power of two draws; got {settings.draws}", "--draws"
        )
    return settings, notes


def compare_scenarios(
    scenarios: Sequence[Scenario],
    draws: int | None = None,
    seed: int | None = None,
    sampler: str | None = None,
    model: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
    executor: Executor = SERIAL,
) -> Comparison:
    """Run every scenario on common random numbers, judged by the first one's targets (the
    chunks on ``executor``)."""
    if len(scenarios) < 2:
        raise PolicyQuestionError("at least two scenarios are needed for a comparison")
    settings, notes = common_settings(scenarios, draws, seed, sampler)
    targets = list(scenarios[0].targets)
    reference = {t.name: t for t in targets}
    results = []
    for scenario in scenarios:
        differing = [
            t.name for t in scenario.targets if t.name in reference and t != reference[t.name]
        ]
        if differing:
            notes.append(
                f"{scenario.path.name} defines {', '.join(differing)} differently; every "
                f"scenario is judged by the targets of {scenarios[0].path.name}"
            )
        judged = scenario.model_copy(update={"targets": targets})
        results.append(
            run_ensemble(
                judged,
                settings.draws,
                settings.seed,
                settings.sampler,
                progress=progress,
                model=model,
                executor=executor,
            )
        )
    return Comparison(results=results, settings=settings, targets=targets, notes=notes)


def settings_text(settings: MonteCarlo, lang: Language) -> str:
    """The line saying the draws, sampler and seed of a run, in ``lang``."""
    return TEXT[lang]["draws"].format(
        draws=settings.draws, sampler=settings.sampler, seed=settings.seed
    )


def scenario_names(paths: Sequence[Path]) -> list[str]:
    """A name per scenario file: its stem, or its path where two stems are the same."""
    names = [path.stem for path in paths]
    return names if len(set(names)) == len(names) else [str(path) for path in paths]


@dataclass(frozen=True)
class ComparisonReport:
    """What ``run_compare`` found, printed and wrote.

    Attributes:
        comparison: the ensembles on common random numbers.
        table: ``compare.csv`` (``sim.analysis.paired_difference.COMPARE_COLUMNS``).
        text: the console text (title, settings, table, how to read it).
        written: the files written, ``provenance.json`` included.
    """

    comparison: Comparison
    table: pd.DataFrame
    text: str
    written: list[Path]


def run_compare(
    paths: Sequence[Path],
    out: Path,
    *,
    draws: int | None = None,
    seed: int | None = None,
    lang: Language = "zh",
    model: Path | None = None,
    executor: Executor = SERIAL,
    note: Callable[[str], None] | None = None,
) -> ComparisonReport:
    """``innosim compare``: load the scenario files, run them on common random numbers
    (``compare_scenarios``), tabulate each target's probability and the paired difference from
    the first (``sim.analysis.paired_difference.compare_table``) and write ``compare.csv``,
    ``compare.json``, ``compare.png`` and ``provenance.json`` into ``out``.

    Args:
        paths: two or more scenario files; the first is the reference.
        out: the output directory (claimed by the caller).
        draws, seed: override the first scenario's Monte Carlo settings.
        lang: language of the chart and the console text.
        model: the ``.mdl`` file (default: the project's model).
        executor: where the draws run.
        note: called with each decision the comparison took (sampler fall-back, targets).
    """
    if len(paths) < 2:
        raise PolicyQuestionError(
            "at least two scenario files are needed (the first is the reference)", "SCENARIOS"
        )
    loaded = [load_scenario(path, model=model) for path in paths]
    names = scenario_names(paths)
    comparison = compare_scenarios(loaded, draws, seed, model=model, executor=executor)
    for line in comparison.notes:
        if note is not None:
            note(line)
    table = compare_table(comparison.results, names, comparison.targets)
    targets, settings = comparison.targets, comparison.settings
    titles = [s.title.text(lang) if s.title else n for s, n in zip(loaded, names, strict=True)]
    subtitle = settings_text(settings, lang)
    figure = compare_chart(table, targets, titles, lang, subtitle)
    digests = [str(r.attrs["scenario_sha256"]) for r in comparison.results]
    meta = {
        "scenarios": [str(path) for path in paths],
        "names": names,
        "reference": names[0],
        "draws": settings.draws,
        "seed": settings.seed,
        "sampler": settings.sampler,
        "notes": comparison.notes,
        "method": METHOD,
        "scenario_sha256": digests,
    }
    attrs = comparison.results[0].attrs
    record = provenance(
        "compare",
        scenario=loaded[0],
        model=Path(str(attrs["model"])),
        model_sha256=str(attrs["model_sha256"]),
        settings=settings,
        extra={"scenarios": meta["scenarios"], "scenarios_sha256": digests, "method": METHOD},
    )
    written = write_outputs(
        out,
        {"compare.csv": table, "compare.json": meta, "compare.png": figure},
        record,
    )
    text = "\n".join(
        [
            TEXT[lang]["compare_title"],
            subtitle,
            format_table(compare_console(table, targets, names, lang)),
            TEXT[lang]["compare_note"].format(ref=names[0]),
        ]
    )
    return ComparisonReport(comparison, table, text, written)
