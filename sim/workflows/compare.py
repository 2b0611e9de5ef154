"""``innosim compare``: scenarios on common random numbers, each target's probability and the
paired difference against the first.

Decisions: draws, seed and sampler come from the first scenario unless overridden. The
``sobol`` sampler assigns dimensions by the sorted names of the uncertainties, so common random
numbers hold only when every scenario has the same set; otherwise the comparison falls back to
``lhs`` (same draws and seed) with a note, rather than refusing a legitimate question.

Targets: every target any scenario defines, in the order they first appear (the reference's
first). A target is judged by its first definition (the reference's where it has one): a later
scenario that defines a target of the same name differently is judged by the earlier
definition, with a note. A target only some scenarios define is reported where it is defined
(its probability; the paired difference only when the reference defines it too) and as "not
in the scenario" elsewhere, never dropped; "all targets met together" counts the targets every
scenario defines.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from sim.analysis.paired_difference import ALL_TARGETS, COMPARE_COLUMNS, compare_table
from sim.engine.ensemble import monte_carlo_settings, run_ensemble
from sim.engine.runner import SERIAL, Executor
from sim.provenance import provenance
from sim.report.console import format_table
from sim.report.figures import figure_png
from sim.report.policy_outputs import (
    TEXT,
    compare_answer,
    compare_chart,
    compare_console,
    render_compare_html,
)
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
        targets: every target any scenario defines, each by its first definition (the
            reference's where it has one), in the order they first appear.
        notes: decisions the comparison took (sampler fall-back, differing targets, targets
            only some scenarios define), in the language asked for.
        defined: per scenario, the names of the targets it defines (and is judged by).
    """

    results: list[xr.Dataset]
    settings: MonteCarlo
    targets: list[Target]
    notes: list[str] = field(default_factory=list)
    defined: list[frozenset[str]] = field(default_factory=list)

    def defined_by(self, index: int) -> frozenset[str]:
        """The target names scenario ``index`` defines (every target when not recorded)."""
        if not self.defined:
            return frozenset(t.name for t in self.targets)
        return self.defined[index]

    def shared(self) -> list[Target]:
        """The targets every scenario defines (those "all targets met together" counts)."""
        return [
            t
            for t in self.targets
            if all(t.name in self.defined_by(i) for i in range(len(self.results)))
        ]


def common_settings(
    scenarios: Sequence[Scenario],
    draws: int | None = None,
    seed: int | None = None,
    sampler: str | None = None,
    lang: Language = "en",
) -> tuple[MonteCarlo, list[str]]:
    """Monte Carlo settings shared by ``scenarios``: the first's, with the overrides; ``lhs``
    instead of ``sobol`` when the scenarios' uncertainty names differ (with a note in
    ``lang``)."""
    settings = monte_carlo_settings(scenarios[0], draws, seed, sampler)
    notes = []
    names = {frozenset(s.uncertainties) for s in scenarios}
    if settings.sampler == "sobol" and len(names) > 1:
        settings = settings.model_copy(update={"sampler": "lhs"})
        notes.append(TEXT[lang]["note_sobol"])
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
    lang: Language = "en",
) -> Comparison:
    """Run every scenario on common random numbers, each judged by the targets it defines
    (by their first definition, module doc; the chunks on ``executor``; notes in ``lang``)."""
    if len(scenarios) < 2:
        raise PolicyQuestionError("at least two scenarios are needed for a comparison")
    settings, notes = common_settings(scenarios, draws, seed, sampler, lang)
    t = TEXT[lang]
    first: dict[str, Target] = {}
    for scenario in scenarios:
        for target in scenario.targets:
            first.setdefault(target.name, target)
    targets = list(first.values())
    results, defined = [], []
    for scenario in scenarios:
        differing = [target.name for target in scenario.targets if target != first[target.name]]
        if differing:
            notes.append(
                t["note_differing"].format(
                    scenario=scenario.path.name, targets=", ".join(differing)
                )
            )
        own = [first[target.name] for target in scenario.targets]
        defined.append(frozenset(target.name for target in own))
        judged = scenario.model_copy(update={"targets": own})
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
    comparison = Comparison(results, settings, targets, notes, defined)
    partial = [target for target in targets if target not in comparison.shared()]
    if partial:
        notes.append(
            t["note_partial"].format(
                targets=", ".join(target.name for target in partial),
                shared=len(comparison.shared()),
            )
        )
    return comparison


def comparison_table(comparison: Comparison, names: Sequence[str]) -> pd.DataFrame:
    """``compare.csv``: each target's probability per scenario and the paired difference from
    the first (``sim.analysis.paired_difference.compare_table``), for every target any
    scenario defines; a scenario that does not define a target has NaN there (probability and
    difference), a target the reference does not define has no difference (NaN). The last
    rows, ``all``, count the targets every scenario defines."""
    results = comparison.results
    shared = comparison.shared()
    whole = compare_table(results, names, shared) if shared else None
    draws = int(results[0].sizes["draw"])
    parts = []
    for target in comparison.targets:
        if whole is not None and target in shared:
            parts.append(whole[whole["target"] == target.name])
            continue
        rows = []
        in_reference = target.name in comparison.defined_by(0)
        for index, (name, result) in enumerate(zip(names, results, strict=True)):
            if target.name not in comparison.defined_by(index):
                rows.append({"target": target.name, "scenario": name, "draws": draws})
                continue
            pair = [results[0], result] if in_reference else [result]
            found = compare_table(pair, list(range(len(pair))), [target])
            row = found[found["target"] == target.name].iloc[-1].to_dict()
            row["scenario"] = name
            if not in_reference:
                row.update(difference=np.nan, diff_low=np.nan, diff_high=np.nan)
            rows.append(row)
        parts.append(pd.DataFrame(rows, columns=COMPARE_COLUMNS))
    if whole is not None:
        parts.append(whole[whole["target"] == ALL_TARGETS])
    return pd.concat(parts, ignore_index=True)[COMPARE_COLUMNS]


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
        table: ``compare.csv`` (``comparison_table``).
        text: the console text (title, settings, the answer, table, how to read it).
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
    the first (``comparison_table``) and write ``compare.csv``, ``compare.json``,
    ``compare.png``, ``compare.html`` (the answer in sentences first) and ``provenance.json``
    into ``out``.

    Args:
        paths: two or more scenario files; the first is the reference.
        out: the output directory (claimed by the caller).
        draws, seed: override the first scenario's Monte Carlo settings.
        lang: language of the chart, the page, the notes and the console text.
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
    comparison = compare_scenarios(loaded, draws, seed, model=model, executor=executor, lang=lang)
    for line in comparison.notes:
        if note is not None:
            note(line)
    table = comparison_table(comparison, names)
    targets, settings = comparison.targets, comparison.settings
    titles = [s.title.text(lang) if s.title else n for s, n in zip(loaded, names, strict=True)]
    subtitle = settings_text(settings, lang)
    image = figure_png(compare_chart(table, targets, titles, lang, subtitle))
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
        "targets": {name: sorted(comparison.defined_by(index)) for index, name in enumerate(names)},
        "all_targets_counts": [target.name for target in comparison.shared()],
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
    answer = compare_answer(table, targets, names, lang)
    html = render_compare_html(
        table, targets, names, titles, lang, answer, image, comparison.notes, subtitle, record
    )
    written = write_outputs(
        out,
        {
            "compare.csv": table,
            "compare.json": meta,
            "compare.png": image,
            "compare.html": html,
        },
        record,
        lang=lang,
        model=model,
    )
    text = "\n".join(
        [
            TEXT[lang]["compare_title"],
            subtitle,
            *answer,
            format_table(compare_console(table, targets, names, lang)),
            TEXT[lang]["compare_note"].format(ref=names[0]),
        ]
    )
    return ComparisonReport(comparison, table, text, written)
