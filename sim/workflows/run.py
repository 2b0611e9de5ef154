"""A scenario's Monte Carlo run (``innosim run``): how likely is each target?

``run_scenario`` loads the scenario (and its observed history), runs the ensemble chunk by chunk
(``sim.engine.ensemble.EnsembleRun``; each chunk draws its own inputs where it runs) and
streams the chunks into ``ensemble.nc`` as they finish, so memory does not grow with the number
of draws. What the report needs is then read lazily back from that file (the target table, a
fan chart per target: one variable at a time) or counted chunk by chunk (how many draws
reproduce the observed history). The report opens with a one-page brief: each target's
drivers on the run's draws and what it would take (``sim.workflows.brief``: the plan's main
levers searched on the run's first draws). Everything is written through
``sim.report.writer.write_outputs`` with the run's provenance: ensemble.nc, targets.csv, the fan
charts, report.html and provenance.json.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import xarray as xr

from sim.engine.runner import DEFAULT_CHUNK_SIZE, SERIAL, Executor
from sim.provenance import netcdf_attrs, provenance
from sim.scenario import Language, Scenario

if TYPE_CHECKING:
    from sim.report.brief import BriefFacts

#: ``progress(draws, total)``: called after each chunk with its number of draws and the run's.
RunProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class RunReport:
    """What ``run_scenario`` did, to show.

    Attributes:
        title: the scenario's title in the report's language.
        table: the target table (``sim.analysis.TARGET_COLUMNS``, model units).
        console: the target table as text for a terminal.
        track_record: the sentences on the history the draws reproduce and on the model's
            backtest.
        written: the files written, sorted by name.
        brief: what the report's brief states beyond the target table: each target's
            drivers and what it would take (``sim.report.brief.BriefFacts``).
    """

    title: str
    table: pd.DataFrame
    console: str
    track_record: str
    written: list[Path]
    brief: BriefFacts | None = None


@dataclass
class _HistoryCount:
    """Draws that reproduce the observed history, counted chunk by chunk
    (``sim.analysis.importance_weighting.history_consistency`` judges each draw alone)."""

    history: pd.DataFrame
    scenario: Scenario
    consistent: int = 0
    draws: int = 0

    def counted(self, chunks: Iterable[xr.Dataset]) -> Iterator[xr.Dataset]:
        from sim.analysis.importance_weighting import history_consistency

        for chunk in chunks:
            consistent, n = history_consistency(
                chunk, self.history, self.scenario.relative_discrepancy
            )
            self.consistent += consistent
            self.draws += n
            yield chunk


def _lever_docs(scenario: Scenario, model: Path | None) -> dict[str, tuple[str, str]]:
    """The Chinese label and Vensim units of each lever of ``scenario``, by Vensim name."""
    from sim.vensim.catalogue import model_info

    docs = model_info(model).docs
    return {
        name: (docs[name].label_zh, docs[name].units) for name in scenario.levers if name in docs
    }


def run_scenario(
    scenario_path: Path,
    out_dir: Path,
    *,
    draws: int | None = None,
    seed: int | None = None,
    lang: Language = "zh",
    executor: Executor = SERIAL,
    model: Path | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: RunProgress | None = None,
    note: Callable[[str], None] | None = None,
    search: bool = True,
    search_draws: int | None = None,
) -> RunReport:
    """Run the scenario file ``scenario_path``'s Monte Carlo ensemble and write its outputs.

    Args:
        scenario_path: the scenario file (YAML).
        out_dir: the output directory (written atomically: all files or none).
        draws, seed: override the scenario's Monte Carlo settings.
        lang: language of the labels, tables and report.
        executor: where the chunks run (results are the same on every executor).
        model: the ``.mdl`` file (default: the project's model).
        chunk_size: draws simulated together (bounds memory; results do not depend on it).
        progress: called after each chunk with its draws and the run's draws.
        note: told about adjustments made to the observed history (``load_observed``).
        search: search the plan's main levers for the brief (``sim.workflows.brief``; False:
            the brief says the search was skipped).
        search_draws: the run's first draws the lever search re-runs (default
            ``sim.workflows.brief.SEARCH_DRAWS``).

    Returns:
        ``RunReport``: title, target table (as a table and as text), the track-record
        sentences, the files written and the brief's facts.

    Raises:
        InnosimError: bad scenario, history or model (``ScenarioError`` naming file, line
            and field), Monte Carlo settings (``SettingsError``), too few draws for
            the correlations, NaN or infinite results, an output directory that cannot take
            the files; nothing is written then.
    """
    from sim.analysis import target_table
    from sim.engine.ensemble import EnsembleRun, monte_carlo_settings
    from sim.report.console import format_table
    from sim.report.run_outputs import (
        RunContents,
        console_table,
        run_output_files,
        write_streamed_ensemble,
    )
    from sim.report.track_record import history_consistency_text, scenario_track_record
    from sim.report.writer import write_outputs
    from sim.scenario import load_scenario
    from sim.scenario.observed import load_observed
    from sim.workflows.brief import SEARCH_DRAWS, brief_facts

    loaded = load_scenario(scenario_path, model=model)
    settings = monte_carlo_settings(loaded, draws, seed)
    history = load_observed(loaded.history, model=model, note=note) if loaded.history else None
    run = EnsembleRun(
        loaded,
        settings.draws,
        settings.seed,
        chunk_size=chunk_size,
        model=model,
        extra_outputs=[] if history is None else list(dict.fromkeys(history["variable"])),
        executor=executor,
    )
    template = run.template()
    record = provenance(
        "run",
        scenario=loaded,
        model=run.compiled.path,
        model_sha256=run.compiled.sha256,
        settings=run.settings,
        extra={"sampler": template.attrs["sampler"]},
    )
    template.attrs = netcdf_attrs(record) | template.attrs
    title = loaded.title.text(lang) if loaded.title else scenario_path.stem
    description = loaded.description.text(lang) if loaded.description else ""
    count = _HistoryCount(history, loaded) if history is not None and not history.empty else None
    made: dict[str, Any] = {}

    def chunk_progress(finished: int) -> None:
        if progress is not None:
            progress(finished, run.n_draws)

    with contextlib.ExitStack() as opened:

        def write_ensemble(path: Path) -> RunContents:
            chunks = run.chunks(chunk_progress)
            if count is not None:
                chunks = count.counted(chunks)
            write_streamed_ensemble(path, template, run.n_draws, chunks)
            # read back lazily, one variable at a time, none kept (cache=False)
            results = opened.enter_context(xr.open_dataset(path, cache=False))
            if not run.finite:
                run.check_finite(results)
            table = target_table(results, loaded.targets)
            text = scenario_track_record(
                scenario_path,
                template.attrs["model_sha256"],
                template.attrs["scenario_sha256"],
                lang,
            )
            if count is not None:
                years = (int(history["year"].min()), int(history["year"].max()))
                consistency = history_consistency_text(
                    count.consistent, count.draws, years, loaded.posterior is not None, lang
                )
                text = f"{consistency} {text}"
            made["table"], made["text"] = table, text
            made["brief"] = facts = brief_facts(
                run,
                results,
                table,
                loaded,
                search=search,
                search_draws=SEARCH_DRAWS if search_draws is None else search_draws,
                model=model,
                executor=executor,
            )
            return RunContents(results, table, text, facts, _lever_docs(loaded, model))

        files = run_output_files(
            write_ensemble, loaded.targets, lang, title, description, history, loaded.uncertainties
        )
        written = write_outputs(out_dir, files, record, lang=lang, model=model)
    return RunReport(
        title=title,
        table=made["table"],
        console=format_table(console_table(made["table"], loaded.targets, lang)),
        track_record=made["text"],
        written=written,
        brief=made["brief"],
    )
