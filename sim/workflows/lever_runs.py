"""A scenario's draws run again at other lever settings, on common random numbers.

Every policy question (``sweep``, ``solve``, ``assess``'s lever search) is answered on
**common random numbers** (CRN): the uncertainties are sampled once (``sim.sampling.sample``;
for ``random`` and ``lhs`` a given uncertainty's draws depend only on seed, name, number of
draws and sampler), the paths' shocks depend only on seed, name, year and draw
(``sim.sampling.path_shocks``), and the same draws (``sim.engine.ensemble.scenario_inputs``, or
a conditioned sample's) are simulated at every lever setting, so differences come from the
policy, not from sampling noise. ``LeverRuns`` simulates many settings at once by stacking
(setting, draw) pairs into the engine's per-draw parameter arrays (``sim.engine.runner.
run_draws``); the engine's draws are independent, so a draw's result does not depend on what it
is stacked with, nor on the executor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.lever_effects import lever_effects
from sim.analysis.paired_difference import ALL_TARGETS
from sim.analysis.probabilities import check_finite, met
from sim.engine import compile_model
from sim.engine.ensemble import EnsembleInputs, monte_carlo_settings, scenario_inputs
from sim.engine.runner import DEFAULT_CHUNK_SIZE, SERIAL, Executor, PerDraw, draw_take, run_draws
from sim.errors import InnosimError
from sim.results import year_index
from sim.scenario import MonteCarlo, Scenario, Target
from sim.scenario.levers import PROPORTIONAL, lever_info, rebalanced_settings
from sim.scenario.names import resolve_target
from sim.vensim.catalogue import UnresolvedName

#: The engine parameter that puts constant ``name`` at ``values`` (one per simulated row).
SettingParam = Callable[[str, np.ndarray], PerDraw]


class PolicyQuestionError(InnosimError, ValueError):
    """A target, probability, objective, constraint or bound asked of compare, sweep, solve or
    assess is bad.

    Attributes:
        option: the command-line option the problem concerns (``--target``), or ``""``.
        message: what was wrong and what was expected.
    """

    def __init__(self, message: str, option: str = "") -> None:
        self.option = option
        self.message = message
        super().__init__(f"{option}: {message}" if option else message)


def check_target(scenario: Scenario, name: str, option: str = "--target") -> str:
    """The id of the target ``name`` names (its id, model variable or Chinese or English
    label: ``sim.scenario.names.resolve_target``), or ``all`` (every target in the same draw);
    else ``PolicyQuestionError`` naming ``option`` (the candidates of an ambiguous name, close
    matches of an unknown one)."""
    try:
        return resolve_target(scenario.targets, name, extra=(ALL_TARGETS,))
    except UnresolvedName as exc:
        raise PolicyQuestionError(exc.message, option) from None


def _year_index(times: np.ndarray, year: float) -> int:
    try:
        return year_index(times, year)
    except KeyError as exc:
        raise PolicyQuestionError(str(exc.args[0])) from None


def _constant(name: str, values: np.ndarray) -> PerDraw:
    """The constant at ``values`` for the whole run."""
    del name
    return values


class LeverRuns:
    """One scenario's draws, simulated at any number of lever settings (CRN).

    Args:
        scenario: a resolved scenario.
        draws, seed, sampler: override the scenario's ``monte_carlo`` settings.
        model: the ``.mdl`` file (default: the project's model).
        chunk_size: (setting, draw) pairs simulated together (memory bound only; a run of at
            most this many pairs runs here whatever the executor: starting worker processes
            costs more than it saves on a small run).
        targets: targets to evaluate (default: the scenario's).
        executor: where the chunks run (``sim.engine.runner.Executor``; default: here).
        inputs: the draws to simulate instead of the scenario's own (e.g. a conditioned
            sample's, ``sim.workflows.assess``), with ``settings`` their Monte Carlo settings.
        settings: the Monte Carlo settings of ``inputs``.
        setting_param: the engine parameter that puts a constant at given values, one per
            simulated row (default: the values, the constant for the whole run; ``assess``
            changes the lever only after the assessment year, a time path per row).
        final_time: stop the runs there (model time; default: the model's ``FINAL TIME``).
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        draws: int | None = None,
        seed: int | None = None,
        sampler: str | None = None,
        model: str | Path | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        targets: Sequence[Target] | None = None,
        executor: Executor = SERIAL,
        inputs: EnsembleInputs | None = None,
        settings: MonteCarlo | None = None,
        setting_param: SettingParam = _constant,
        final_time: float | None = None,
    ) -> None:
        self.scenario = scenario
        self.executor = executor
        self.compiled = compile_model(model)
        if inputs is None:
            self.settings: MonteCarlo = monte_carlo_settings(scenario, draws, seed, sampler)
            self.inputs: EnsembleInputs = scenario_inputs(scenario, self.settings, self.compiled)
        else:
            if settings is None:
                raise ValueError("the Monte Carlo settings of the given inputs are needed")
            self.settings, self.inputs = settings, inputs
        self.targets = list(targets if targets is not None else scenario.targets)
        self.chunk_size = chunk_size
        self.setting_param = setting_param
        self.final_time = final_time
        self.variables = list(dict.fromkeys(t.variable for t in self.targets))
        times = self.compiled.times(final_time=final_time)
        self._columns = {t.name: _year_index(times, t.year) for t in self.targets}

    @property
    def model(self) -> Path:
        """The ``.mdl`` file simulated."""
        return self.compiled.path

    @property
    def draws(self) -> int:
        """Number of draws per setting."""
        return self.inputs.n_draws

    def _run(
        self, settings: Mapping[str, np.ndarray], columns: Mapping[str, Sequence[int]]
    ) -> tuple[int, dict[str, np.ndarray]]:
        """Simulate every (setting, draw) pair (``sim.engine.runner.run_draws``; row ``k`` is
        setting ``k // draws``, draw ``k % draws``) and keep ``columns`` of each variable.
        Returns the number of settings and ``{variable: array (settings × draws, columns)}``."""
        arrays = {name: np.atleast_1d(np.asarray(v, dtype=float)) for name, v in settings.items()}
        sizes = {a.size for a in arrays.values()} or {1}
        if len(sizes) != 1:
            raise ValueError(f"every setting array must have the same length; got {sizes}")
        n_settings, n = sizes.pop(), self.draws
        fixed = {name: v for name, v in self.inputs.fixed.items() if name not in arrays}

        def rows(start: int, stop: int) -> dict[str, PerDraw]:
            row = np.arange(start, stop)
            setting, draw = row // n, row % n
            params = {name: draw_take(v, draw) for name, v in self.inputs.per_draw.items()}
            return params | {
                name: self.setting_param(name, a[setting]) for name, a in arrays.items()
            }

        times, values = run_draws(
            self.compiled,
            n_settings * n,
            fixed,
            rows,
            list(columns),
            chunk_size=self.chunk_size,
            executor=self.executor,
            final_time=self.final_time,
            columns=columns,
        )
        if not all(np.isfinite(array).all() for array in values.values()):
            row = np.arange(n_settings * n)
            drawn = {name: np.asarray(v)[row % n] for name, v in self.inputs.drawn.items()}
            drawn |= {name: a[row // n] for name, a in arrays.items()}
            levers = {name: fixed[name] for name in self.scenario.levers if name in fixed}
            for name, kept in columns.items():
                check_finite(
                    {name: values[name]},
                    times[list(kept)],
                    levers,
                    drawn,
                    defaults=self.compiled.constants,
                )
        return n_settings, values

    def values(self, settings: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Each target's variable in its year at every setting.

        Args:
            settings: ``{constant: array (n_settings,)}``, one value per setting (an empty
                mapping is the scenario as it is, one setting).

        Returns:
            ``{target name: array (n_settings, draws)}`` in model units.
        """
        columns: dict[str, list[int]] = {}
        for target in self.targets:
            kept = columns.setdefault(target.variable, [])
            if self._columns[target.name] not in kept:
                kept.append(self._columns[target.name])
        n_settings, values = self._run(settings, columns)
        return {
            t.name: values[t.variable][:, columns[t.variable].index(self._columns[t.name])].reshape(
                n_settings, self.draws
            )
            for t in self.targets
        }

    def series(
        self, settings: Mapping[str, np.ndarray], variables: Sequence[str], years: Sequence[float]
    ) -> dict[str, np.ndarray]:
        """Any variables of the model at the given save times, at every setting, on the same
        draws as ``values`` (common random numbers).

        Args:
            settings: as for ``values``.
            variables: Vensim names of the variables to keep.
            years: save times (model time) to return.

        Returns:
            ``{variable: array (n_settings, draws, len(years))}`` in model units.
        """
        times = self.compiled.times(final_time=self.final_time)
        columns = [_year_index(times, year) for year in years]
        n_settings, values = self._run(settings, dict.fromkeys(variables, columns))
        return {
            v: values[v].reshape(n_settings, self.draws, len(columns))
            for v in dict.fromkeys(variables)
        }

    def hits(self, settings: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Which draws meet each target at every setting, plus ``"all"`` (every target in the
        same draw): ``{name: bool array (n_settings, draws)}``."""
        values = self.values(settings)
        hits = {t.name: met(t, values[t.name]) for t in self.targets}
        hits[ALL_TARGETS] = np.logical_and.reduce(list(hits.values()))
        return hits


def plausible_range_effects(
    runs: LeverRuns, names: Sequence[str], rebalance: str = PROPORTIONAL
) -> pd.DataFrame:
    """Each of ``names`` at both ends of its plausible policy range (its Vensim range) against
    the scenario as it is, on ``runs``' draws (``sim.analysis.lever_effects``); a lever bound
    by a constraint moves the other members by ``rebalance``.

    Raises:
        LeverError: a name is not a constant that can be a lever, or its range is open.
    """
    scenario, model = runs.scenario, runs.model
    ranges = {name: lever_info(scenario, name, model).plausible_range() for name in names}

    def settings_for(lever: str, values: np.ndarray) -> dict[str, np.ndarray]:
        settings = {lever: values}
        if any(lever in constraint.sum for constraint in scenario.constraints):
            settings |= rebalanced_settings(scenario, settings, [rebalance], model)
        return settings

    return lever_effects(ranges, settings_for, runs.values, runs.targets)
