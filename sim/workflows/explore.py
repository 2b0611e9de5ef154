"""Compare, sweep, solve: the orchestration behind ``innosim compare | sweep | solve``.

Every question is answered on **common random numbers** (CRN): the uncertainties are sampled
once (``sim.sampling.sample``; for ``random`` and ``lhs`` a given uncertainty's draws depend
only on seed, name, number of draws and sampler), the paths' shocks depend only on seed, name,
year and draw (``sim.sampling.path_shocks``), and the same draws (``sim.engine.ensemble.
scenario_inputs``) are simulated at every scenario or lever setting, so differences come from
the policy, not from sampling noise.
``Explorer`` simulates many lever settings at once by stacking (setting, draw) pairs into the
engine's per-draw parameter arrays; the engine's draws are independent, so a draw's result
does not depend on what it is stacked with.

Decisions (documented here and in the commands' help):

* **compare** takes draws, seed and sampler from the first scenario unless overridden. The
  ``sobol`` sampler assigns dimensions by the sorted names of the uncertainties, so CRN hold
  only when every scenario has the same set; otherwise the comparison falls back to ``lhs``
  (same draws and seed) with a note, rather than refusing a legitimate question. Targets are
  the first scenario's (the reference); a later scenario that defines a target of the same
  name differently is judged by the reference's definition, with a note.
* **sweep/solve levers** must be constants of the model and not uncertainties, drivers or
  paths of the scenario; ranges must lie inside the constant's Vensim range, which the model
  states as the lever's plausible policy range (solve searches all of it by default and
  answers "not reachable within the plausible policy range" rather than beyond it). A lever
  bound by a scenario constraint (shares adding to 1) is refused unless ``--rebalance MEMBER``
  (that member absorbs the change) or ``--rebalance proportional`` (the other members scale
  together) says how to keep the sum; the rebalanced values must stay inside their limits.
* **solve in money**: the money a lever moves is found from the model's structure
  (``nearest_money``: the lever itself when its units are money, else the nearest variables in
  亿元 per year downstream of it), reported as the median over draws of its mean over the plan
  years (``plan_years``), on the same draws.
* **budget** searches splits of a constraint's members on ``search_draws`` draws sampled
  with seed + 1, then estimates the best split's probability on the scenario's own draws
  (seed): the reported probability is not inflated by the search having seen those draws.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from scipy import stats

from sim.analysis.lever_effects import lever_effects
from sim.analysis.paired_difference import ALL_TARGETS, paired_difference, wilson_interval
from sim.analysis.probabilities import check_finite, met
from sim.analysis.threshold_search import (
    ShareSearch,
    ThresholdSolution,
    normalised_margins,
    optimise_shares,
    smoothed_objective,
    solve_threshold,
)
from sim.engine import CompiledModel, compile_model
from sim.engine.ensemble import (
    EnsembleInputs,
    monte_carlo_settings,
    run_ensemble,
    scenario_inputs,
)
from sim.engine.runner import (
    DEFAULT_CHUNK_SIZE,
    SERIAL,
    Executor,
    PerDraw,
    draw_take,
    run_draws,
)
from sim.errors import InnosimError, ScenarioError
from sim.results import year_index
from sim.scenario import Constraint, MonteCarlo, Scenario, Target, node_line, read_yaml
from sim.vensim import ModelVariable, model_documentation, model_structure
from sim.vensim.catalogue import did_you_mean, unknown_name

#: ``--rebalance`` value that scales the other members of a constraint together.
PROPORTIONAL = "proportional"


class ExploreError(InnosimError, ValueError):
    """A lever, range, target, probability or objective given to compare/sweep/solve is bad.

    Attributes:
        option: the command-line option the problem concerns (``--lever``), or ``""``.
    """

    def __init__(self, message: str, option: str = "") -> None:
        self.option = option
        self.message = message
        super().__init__(f"{option}: {message}" if option else message)


class ObjectiveError(ScenarioError):
    """The weights file of a budget objective is unreadable or invalid (file:line: field)."""


# --- levers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeverInfo:
    """A constant of the model used as a lever.

    Attributes:
        name: Vensim name.
        value: its value in the scenario (the scenario's lever value, else the model default;
            ``nan`` for a lever the scenario sets by a time path).
        limits: Vensim ``(min, max)``; ``None`` where open. For a lever this is its
            plausible policy range as stated in the model: searches default to it and never
            leave it.
        units: Vensim units.
        label_zh: Chinese label from the model's comment.
        model_file: file name of the ``.mdl`` (where the range is stated).
    """

    name: str
    value: float
    limits: tuple[float | None, float | None]
    units: str
    label_zh: str
    model_file: str = ""

    def label(self, lang: str) -> str:
        """Display name: the Chinese label (``zh``) or the Vensim name."""
        return self.label_zh if lang == "zh" and self.label_zh else self.name


def _labels(compiled: CompiledModel) -> dict[str, str]:
    return {doc.name: doc.label_zh for doc in model_documentation(compiled.path)}


def current_value(scenario: Scenario, compiled: CompiledModel, name: str) -> float:
    """The value of constant ``name`` in ``scenario``: its lever value, else the default."""
    lever = scenario.levers.get(name)
    if lever is None:
        return float(compiled.constants[name])
    return float(lever.value) if lever.path is None else math.nan


def lever_info(
    scenario: Scenario, compiled: CompiledModel, name: str, option: str = "--lever"
) -> LeverInfo:
    """Check that ``name`` can be set as a lever of ``scenario`` and describe it.

    Raises:
        ExploreError: not a variable, not a constant, or an uncertainty of the scenario.
    """
    if name not in compiled.kinds:
        constants = [n for n, kind in compiled.kinds.items() if kind == "constant"]
        raise ExploreError(unknown_name(name, constants, what="a constant of the model"), option)
    kind = compiled.kinds[name]
    if kind != "constant":
        raise ExploreError(
            f"'{name}' is {'an' if kind[0] in 'aeiou' else 'a'} {kind}; only a constant of the "
            "model can be a lever here",
            option,
        )
    if name in scenario.uncertainties:
        raise ExploreError(
            f"'{name}' is an uncertainty of scenario {scenario.path.name} (drawn per draw); "
            "set it as a lever in a variant scenario to vary it here",
            option,
        )
    if name in scenario.exogenous():
        raise ExploreError(
            f"'{name}' is imposed as data (drivers) or drawn year by year (paths) in scenario "
            f"{scenario.path.name}; set it as a lever in a variant scenario to vary it here",
            option,
        )
    return LeverInfo(
        name=name,
        value=current_value(scenario, compiled, name),
        limits=compiled.limits.get(name, (None, None)),
        units=compiled.units.get(name, ""),
        label_zh=_labels(compiled).get(name, ""),
        model_file=compiled.path.name,
    )


def _fmt(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def _range_text(limits: tuple[float | None, float | None]) -> str:
    return f"[{_fmt(limits[0])}, {_fmt(limits[1])}]"


def check_range(info: LeverInfo, low: float, high: float, option: str = "--lever") -> None:
    """Raise ``ExploreError`` unless ``low < high`` are finite and inside the lever's plausible
    policy range (its Vensim range in the model, ``info.limits``).

    The message of a value outside names the range, says that it is the plausible policy range
    stated in the model, and that widening it means editing that range in the ``.mdl``.
    """
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ExploreError(f"the range of '{info.name}' must be finite numbers", option)
    if not low < high:
        raise ExploreError(
            f"the range of '{info.name}' must have START < STOP; got {low:g}:{high:g}", option
        )
    lower, upper = info.limits
    for value in (low, high):
        if (lower is not None and value < lower) or (upper is not None and value > upper):
            raise ExploreError(
                f"{value:g} is outside the plausible policy range {_range_text(info.limits)} "
                f"of '{info.name}' stated in the model (its Vensim range); to search beyond "
                f"it, widen that range in the model file ({info.model_file or 'the .mdl'})",
                option,
            )


def default_range(info: LeverInfo, option: str = "--lever") -> tuple[float, float]:
    """The range to search when none is given: the lever's plausible policy range, i.e. the
    constant's Vensim range ``[min, max]`` in the model.

    Raises:
        ExploreError: the model leaves an end of the range open (``?``).
    """
    lower, upper = info.limits
    if lower is None or upper is None:
        raise ExploreError(
            f"the model states no {'lower' if lower is None else 'upper'} end of the plausible "
            f"policy range of '{info.name}' ({_range_text(info.limits)}); give the range as "
            f"'{info.name}=LO:HI', or state it in the model file",
            option,
        )
    return float(lower), float(upper)


def _constraint_text(constraint: Constraint) -> str:
    return f"{' + '.join(constraint.sum)} = {constraint.equals:g}"


def rebalanced_settings(
    scenario: Scenario,
    compiled: CompiledModel,
    swept: Mapping[str, np.ndarray],
    rebalance: Sequence[str] = (),
) -> dict[str, np.ndarray]:
    """Values of the constrained constants that keep the scenario's sums when ``swept`` move.

    Args:
        scenario: the scenario with the constraints.
        compiled: the model (defaults and limits).
        swept: lever values per setting, ``{name: array (n_settings,)}``.
        rebalance: for each constraint a swept lever belongs to, a member that absorbs the
            change, or ``"proportional"`` (the unswept members scale together).

    Returns:
        ``{member: array (n_settings,)}`` for the rebalanced members.

    Raises:
        ExploreError: a swept lever's constraint has no rule, a rule names no such member,
            or a rebalanced value leaves its Vensim limits.
    """
    out: dict[str, np.ndarray] = {}
    used: set[str] = set()
    size = len(next(iter(swept.values()))) if swept else 0
    for constraint in scenario.constraints:
        moving = [name for name in constraint.sum if name in swept]
        if not moving:
            continue
        members = [name for name in constraint.sum if name not in swept]
        rules = [r for r in rebalance if r in members or r == PROPORTIONAL]
        if not rules:
            raise ExploreError(
                f"'{moving[0]}' is bound by constraint '{constraint.name}' "
                f"({_constraint_text(constraint)}); say how to keep the sum with "
                f"--rebalance MEMBER (one of: {', '.join(members)}) or --rebalance {PROPORTIONAL}",
                "--lever",
            )
        rule = rules[0]
        used.add(rule)
        base = {name: current_value(scenario, compiled, name) for name in members}
        paths = [name for name, value in base.items() if math.isnan(value)]
        if paths:
            raise ExploreError(
                f"'{paths[0]}' (in constraint '{constraint.name}') is set by a time path in "
                "the scenario; rebalancing needs constant shares",
                "--rebalance",
            )
        remaining = constraint.equals - sum(np.asarray(swept[name], float) for name in moving)
        if rule == PROPORTIONAL:
            share = sum(base.values())
            if not share > 0:
                raise ExploreError(
                    f"the unswept members of '{constraint.name}' add to 0; they cannot scale "
                    "proportionally, name one with --rebalance MEMBER",
                    "--rebalance",
                )
            values = {name: base[name] * remaining / share for name in members}
        else:
            rest = sum(base[name] for name in members if name != rule)
            values = {rule: remaining - rest}
        for name, value in values.items():
            value = np.broadcast_to(np.asarray(value, dtype=float), (size,))
            lower, upper = compiled.limits.get(name, (None, None))
            lower = 0.0 if lower is None else lower
            bad = value < lower - 1e-12
            if upper is not None:
                bad |= value > upper + 1e-12
            if bad.any():
                i = int(np.argmax(bad))
                where = ", ".join(f"{n} = {np.asarray(swept[n])[i]:g}" for n in moving)
                raise ExploreError(
                    f"at {where}, {name} would be {value[i]:.6g} to keep constraint "
                    f"'{constraint.name}', outside [{lower:g}, {_fmt(upper)}]; narrow the range "
                    "or rebalance another member",
                    "--lever",
                )
            out[name] = np.array(value)
    unused = [r for r in rebalance if r not in used]
    if unused:
        raise ExploreError(
            f"'{unused[0]}' is not an unswept member of a constraint that a swept lever belongs "
            "to; nothing to rebalance",
            "--rebalance",
        )
    return out


# --- simulating many settings on common random numbers --------------------------------------


def _year_index(times: np.ndarray, year: int) -> int:
    try:
        return year_index(times, year)
    except KeyError as exc:
        raise ExploreError(str(exc.args[0])) from None


class Explorer:
    """One scenario's draws, simulated at any number of lever settings (CRN).

    Args:
        scenario: a resolved scenario.
        draws, seed, sampler: override the scenario's ``monte_carlo`` settings.
        model: the ``.mdl`` file (default: the project's model).
        chunk_size: (setting, draw) pairs simulated together (memory bound only).
        targets: targets to evaluate (default: the scenario's).
        executor: where the chunks run (``sim.engine.runner.Executor``; default: here).
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
    ) -> None:
        self.scenario = scenario
        self.executor = executor
        self.settings: MonteCarlo = monte_carlo_settings(scenario, draws, seed, sampler)
        self.compiled = compile_model(model)
        self.targets = list(targets if targets is not None else scenario.targets)
        self.inputs: EnsembleInputs = scenario_inputs(scenario, self.settings, self.compiled)
        self.chunk_size = chunk_size
        self.variables = list(dict.fromkeys(t.variable for t in self.targets))
        times = self.compiled.times()
        self._columns = {t.name: _year_index(times, t.year) for t in self.targets}

    @property
    def draws(self) -> int:
        """Number of draws per setting."""
        return self.settings.draws

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
            return params | {name: a[setting] for name, a in arrays.items()}

        times, values = run_draws(
            self.compiled,
            n_settings * n,
            fixed,
            rows,
            list(columns),
            chunk_size=self.chunk_size,
            executor=self.executor,
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

    @staticmethod
    def _n_settings(settings: Mapping[str, np.ndarray]) -> int:
        return max((np.atleast_1d(np.asarray(v)).size for v in settings.values()), default=1)

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
        times = self.compiled.times()
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


# --- compare --------------------------------------------------------------------------------


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
        raise ExploreError(
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
        raise ExploreError("at least two scenarios are needed for a comparison")
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


# --- sweep ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeverRange:
    """A lever and the values to try: ``points`` values from ``start`` to ``stop``."""

    name: str
    start: float
    stop: float
    points: int

    def values(self) -> np.ndarray:
        """The values, evenly spaced."""
        return np.linspace(self.start, self.stop, self.points)


@dataclass(frozen=True)
class Sweep:
    """Probability of each target over a grid of one or two levers.

    Attributes:
        levers: the levers (their descriptions), in grid order.
        axes: the values of each lever.
        settings: the value of every varied constant (levers and rebalanced members) at each
            grid point, ``{name: array (n_points,)}``; two levers vary fastest along the second.
        hits: ``{target or "all": bool array (n_points, draws)}``.
        monte_carlo: the Monte Carlo settings.
    """

    levers: list[LeverInfo]
    axes: list[np.ndarray]
    settings: dict[str, np.ndarray]
    hits: dict[str, np.ndarray]
    monte_carlo: MonteCarlo

    def table(self) -> pd.DataFrame:
        """Long table: the varied constants, ``target``, ``probability``, its Wilson
        interval (``prob_low``, ``prob_high``) and ``draws``; one row per point and target."""
        frames = []
        for name, hits in self.hits.items():
            counts = hits.sum(axis=1)
            low, high = wilson_interval(counts, hits.shape[1])
            frame = pd.DataFrame(self.settings)
            frame["target"] = name
            frame["probability"] = counts / hits.shape[1]
            frame["prob_low"] = low
            frame["prob_high"] = high
            frame["draws"] = hits.shape[1]
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)


MAX_SWEEP_POINTS = 10_000


def sweep_levers(
    scenario: Scenario,
    ranges: Sequence[LeverRange],
    rebalance: Sequence[str] = (),
    *,
    draws: int | None = None,
    seed: int | None = None,
    sampler: str | None = None,
    model: str | Path | None = None,
    executor: Executor = SERIAL,
) -> Sweep:
    """Probability of every target over a grid of one or two levers, on the same draws at
    every grid point (checked: constants, not uncertain, ranges inside the Vensim limits,
    constraints kept by ``rebalance``)."""
    if not 1 <= len(ranges) <= 2:
        raise ExploreError("one or two levers can be swept", "--lever")
    if len({r.name for r in ranges}) != len(ranges):
        raise ExploreError("the two levers must differ", "--lever")
    compiled = compile_model(model)
    infos = []
    for lever in ranges:
        info = lever_info(scenario, compiled, lever.name)
        check_range(info, lever.start, lever.stop)
        if lever.points < 2:
            raise ExploreError(f"'{lever.name}': at least 2 points; got {lever.points}", "--lever")
        infos.append(info)
    axes = [r.values() for r in ranges]
    grids = np.meshgrid(*axes, indexing="ij")
    settings = {r.name: g.ravel() for r, g in zip(ranges, grids, strict=True)}
    if grids[0].size > MAX_SWEEP_POINTS:
        raise ExploreError(
            f"{grids[0].size} grid points; at most {MAX_SWEEP_POINTS} (use fewer points)",
            "--lever",
        )
    settings |= rebalanced_settings(scenario, compiled, settings, rebalance)
    explorer = Explorer(
        scenario, draws=draws, seed=seed, sampler=sampler, model=model, executor=executor
    )
    return Sweep(
        levers=infos,
        axes=axes,
        settings=settings,
        hits=explorer.hits(settings),
        monte_carlo=explorer.settings,
    )


# --- lever effects --------------------------------------------------------------------------


def plausible_range_effects(
    explorer: Explorer, names: Sequence[str], rebalance: str = PROPORTIONAL
) -> pd.DataFrame:
    """Each of ``names`` at both ends of its plausible policy range (its Vensim range) against
    the scenario as it is, on ``explorer``'s draws (``sim.analysis.lever_effects``); a lever
    bound by a constraint moves the other members by ``rebalance``.

    Raises:
        ExploreError: a name is not a constant that can be a lever, or its range is open.
    """
    scenario, compiled = explorer.scenario, explorer.compiled
    ranges = {}
    for name in names:
        info = lever_info(scenario, compiled, name)
        ranges[name] = default_range(info)

    def settings_for(lever: str, values: np.ndarray) -> dict[str, np.ndarray]:
        settings = {lever: values}
        if any(lever in constraint.sum for constraint in scenario.constraints):
            settings |= rebalanced_settings(scenario, compiled, settings, [rebalance])
        return settings

    return lever_effects(ranges, settings_for, explorer.values, explorer.targets)


# --- solve (one lever) ----------------------------------------------------------------------

#: Units of a money flow in the model (亿元 per year).
MONEY_FLOW_UNITS = "CNY100M/Year"
#: Units of an amount of money in the model (亿元).
MONEY_UNITS = "CNY100M"
#: Constants of the model that bound the plan (model time; the plan years are after the start,
#: up to and including the end: model time t is the end of calendar year t).
PLAN_START = "Plan Start Time"
PLAN_END = "Plan End Time"

#: ``LeverSolution.record()["plausible"]``: how the answer stands to the lever's plausible
#: policy range (its Vensim range in the model).
WITHIN_PLAUSIBLE = "within the plausible policy range"
NOT_WITHIN_PLAUSIBLE = "not reachable within the plausible policy range"
NOT_WITHIN_SEARCHED = "not reachable within the searched range"


def _units_key(units: str) -> str:
    return "".join(units.split())


def _name_key(name: str) -> str:
    return " ".join(name.split())


def nearest_money(
    structure: Sequence[ModelVariable],
    units: Mapping[str, str],
    lever: str,
    flow_units: str = MONEY_FLOW_UNITS,
    amount_units: str = MONEY_UNITS,
) -> tuple[str, ...]:
    """The money a lever moves, found from the model's structure (no list of names).

    * A lever whose own units are money (``amount_units``, e.g. ``Initial Fund Size`` in
      亿元, or ``flow_units``) is its own money: ``(lever,)``.
    * Otherwise the walk goes breadth-first through the lever's dependents (a variable depends
      on every variable its equation refers to; a stock also on its inflows and outflows) and
      stops at the first distance where variables with units ``flow_units`` (亿元 per year)
      appear: those are returned, in the order of the model file. The walk does not go past a
      money flow, so money further downstream (a consequence of the nearest) is not returned.
      ``Fiscal Innovation Share Floor`` reaches ``Fiscal Innovation Input`` through
      ``Fiscal Innovation Share``; ``Fund Allocation Share`` reaches ``Fund Budget``.

    Args:
        structure: the model's variables (``sim.vensim.model_structure``).
        units: Vensim units by variable name (``VariableDoc.units``); names and units are
            compared with their whitespace normalised.
        lever: Vensim name of the lever.
        flow_units, amount_units: the units of a money flow and of an amount of money.

    Returns:
        The names of the nearest money variables (``()`` when none is reachable or the lever
        is not a variable of ``structure``).
    """
    units_by_name = {_name_key(name): _units_key(text) for name, text in units.items()}
    flow, amount = _units_key(flow_units), _units_key(amount_units)
    by_key = {variable.key: variable for variable in structure}
    order = {variable.key: index for index, variable in enumerate(structure)}
    start = next((v for v in structure if _name_key(v.name) == _name_key(lever)), None)
    if start is None:
        return ()
    if units_by_name.get(start.name) in (flow, amount):
        return (start.name,)
    dependents: dict[str, list[str]] = {}
    for variable in structure:
        for reference in (*variable.references, *variable.inflows, *variable.outflows):
            dependents.setdefault(reference, []).append(variable.key)
    seen = {start.key}
    frontier = [start.key]
    while frontier:
        following: list[str] = []
        for key in frontier:
            for dependent in dependents.get(key, ()):
                if dependent not in seen and dependent in by_key:
                    seen.add(dependent)
                    following.append(dependent)
        money = [k for k in following if units_by_name.get(by_key[k].name) == flow]
        if money:
            return tuple(by_key[k].name for k in sorted(money, key=order.__getitem__))
        frontier = following
    return ()


def plan_years(
    scenario: Scenario, compiled: CompiledModel, fallback: Sequence[int] = ()
) -> tuple[float, ...]:
    """The save times of the plan years: after ``Plan Start Time`` up to ``Plan End Time``
    (the scenario's values where it sets them as constant levers, else the model's defaults;
    2021–2025 for the Changzhi plan). A model without those constants (or a scenario that sets
    them by a path) gives the save times from the least to the greatest year of ``fallback``
    (the targets' years)."""
    times = compiled.times()
    start = end = math.nan
    if PLAN_START in compiled.constants and PLAN_END in compiled.constants:
        start = current_value(scenario, compiled, PLAN_START)
        end = current_value(scenario, compiled, PLAN_END)
    if math.isfinite(start) and math.isfinite(end) and start < end:
        chosen = times[(times > start + 1e-9) & (times <= end + 1e-9)]
    elif fallback:
        first, last = min(fallback), max(fallback)
        chosen = times[(times >= first - 1e-9) & (times <= last + 1e-9)]
    else:
        chosen = times[-1:]
    return tuple(float(t) for t in chosen)


@dataclass(frozen=True)
class MoneyTerms:
    """The answer of ``solve_lever`` in money (亿元).

    Attributes:
        variable: the money variable (``nearest_money``): the lever itself when its units are
            money, else the nearest money flow downstream of it.
        label_zh: its Chinese label.
        units: its Vensim units (``CNY100M/Year``: 亿元 per year; ``CNY100M``: 亿元).
        own: the money is the lever's own value (nothing simulated).
        years: the plan years averaged (save times); ``()`` when ``own``.
        at: the lever value the money is given at (the solution, or where the probability was
            highest when the target is not reachable).
        value: the money at ``at``: the median over draws of the variable's mean over
            ``years`` (or the lever's value when ``own``).
        current: the same at the scenario's current lever value (``nan`` when the scenario
            sets the lever by a time path).
    """

    variable: str
    label_zh: str
    units: str
    own: bool
    years: tuple[float, ...]
    at: float
    value: float
    current: float

    @property
    def per_year(self) -> bool:
        """Whether the money is a flow (亿元 per year) rather than an amount (亿元)."""
        return _units_key(self.units) == _units_key(MONEY_FLOW_UNITS)

    def years_text(self) -> str:
        """The averaged years as ``2021-2025`` (``""`` when none)."""
        if not self.years:
            return ""
        first, last = (f"{year:g}" for year in (self.years[0], self.years[-1]))
        return first if first == last else f"{first}-{last}"

    def label(self, lang: str) -> str:
        """Display name: the Chinese label (``zh``) or the Vensim name."""
        return self.label_zh if lang == "zh" and self.label_zh else self.variable


@dataclass(frozen=True)
class LeverSolution:
    """The answer of ``solve_lever``: the lever, the target, the ``ThresholdSolution`` and the
    answer in money (``None`` when the lever reaches no money variable)."""

    lever: LeverInfo
    target: str
    solution: ThresholdSolution
    monte_carlo: MonteCarlo
    scenario: str = ""
    money: MoneyTerms | None = None

    @property
    def whole_range(self) -> bool:
        """Whether the searched range is the lever's whole plausible policy range."""
        lower, upper = self.lever.limits
        return (lower is not None and math.isclose(self.solution.low, lower)) and (
            upper is not None and math.isclose(self.solution.high, upper)
        )

    @property
    def plausible(self) -> str:
        """How the answer stands to the plausible policy range: ``WITHIN_PLAUSIBLE`` (reached
        or at the end of the range), ``NOT_WITHIN_PLAUSIBLE`` (not reachable anywhere in the
        plausible policy range) or ``NOT_WITHIN_SEARCHED`` (not reachable in a narrower range
        given by ``NAME=LO:HI``)."""
        if self.solution.status != "not_reachable":
            return WITHIN_PLAUSIBLE
        return NOT_WITHIN_PLAUSIBLE if self.whole_range else NOT_WITHIN_SEARCHED

    def record(self) -> dict[str, object]:
        """The answer as one flat record (the row of ``solve.csv``).

        ``low``/``high`` are the searched range, ``range_low``/``range_high`` the plausible
        policy range stated in the model (``nan`` where open), ``plausible`` the wording of
        ``LeverSolution.plausible``; the ``money_*`` fields are described in ``MoneyTerms``
        (``money_per_year`` is the money at ``money_at`` for a flow, in 亿元 per year;
        ``money_current_per_year`` at the scenario's current value; a lever that is itself an
        amount of money has ``money_units`` ``CNY100M`` and its amount is ``money_at``).
        """
        s = self.solution
        lower, upper = self.lever.limits
        money = self.money
        flow = money is not None and money.per_year
        return {
            "scenario": self.scenario,
            "target": self.target,
            "level": s.level,
            "lever": self.lever.name,
            "units": self.lever.units,
            "range_low": math.nan if lower is None else float(lower),
            "range_high": math.nan if upper is None else float(upper),
            "low": s.low,
            "high": s.high,
            "status": s.status,
            "plausible": self.plausible,
            "direction": s.direction,
            "value": s.value,
            "value_low": s.value_low,
            "value_high": s.value_high,
            "probability": s.probability,
            "prob_low": s.prob_low,
            "prob_high": s.prob_high,
            "best_value": s.best_value,
            "best_probability": s.best_probability,
            "current_value": self.lever.value,
            "money_variable": money.variable if money else "",
            "money_units": money.units if money else "",
            "money_years": money.years_text() if money else "",
            "money_at": money.at if money else math.nan,
            "money_per_year": money.value if flow else math.nan,
            "money_current_per_year": money.current if flow else math.nan,
            "draws": self.monte_carlo.draws,
            "seed": self.monte_carlo.seed,
            "sampler": self.monte_carlo.sampler,
        }

    def table(self) -> pd.DataFrame:
        """``record()`` as a one-row table."""
        return pd.DataFrame([self.record()])

    def curve(self) -> pd.DataFrame:
        """Every evaluation of the search, by lever value: ``value``, ``probability``,
        ``prob_low``, ``prob_high``, ``draws``."""
        return pd.DataFrame(
            {
                "value": [e.value for e in self.solution.evaluations],
                "probability": [e.probability for e in self.solution.evaluations],
                "prob_low": [e.low for e in self.solution.evaluations],
                "prob_high": [e.high for e in self.solution.evaluations],
                "draws": [e.draws for e in self.solution.evaluations],
            }
        )


def check_target(scenario: Scenario, name: str, option: str = "--target") -> str:
    """``name`` if it is a target of the scenario or ``all``; else ``ExploreError``."""
    names = [t.name for t in scenario.targets]
    if name != ALL_TARGETS and name not in names:
        raise ExploreError(
            unknown_name(name, [*names, ALL_TARGETS], what="a target of the scenario (or 'all')"),
            option,
        )
    return name


def _money_terms(
    scenario: Scenario,
    explorer: Explorer,
    info: LeverInfo,
    target: str,
    at: float,
    settings_at: Callable[[np.ndarray], dict[str, np.ndarray]],
) -> MoneyTerms | None:
    """The money of the answer: ``nearest_money`` of the lever, at ``at`` and at the current
    value (the median over the explorer's draws of the mean over the plan years)."""
    compiled = explorer.compiled
    docs = model_documentation(compiled.path)
    units = {d.name: d.units for d in docs}
    found = nearest_money(model_structure(compiled.path), units, info.name)
    if not found:
        return None
    variable = found[0]
    doc = next(d for d in docs if _name_key(d.name) == variable)
    if variable == _name_key(info.name):
        return MoneyTerms(variable, doc.label_zh, doc.units, True, (), at, at, info.value)
    fallback = [t.year for t in scenario.targets if target in (ALL_TARGETS, t.name)]
    years = plan_years(scenario, compiled, fallback)
    points = [at] + ([info.value] if math.isfinite(info.value) else [])
    series = explorer.series(settings_at(np.array(points)), [variable], years)[variable]
    medians = np.nanmedian(series.mean(axis=2), axis=1)
    current = float(medians[1]) if len(points) > 1 else math.nan
    return MoneyTerms(
        variable, doc.label_zh, doc.units, False, years, at, float(medians[0]), current
    )


def solve_lever(
    scenario: Scenario,
    lever: str,
    target: str,
    level: float,
    low: float | None = None,
    high: float | None = None,
    rebalance: Sequence[str] = (),
    *,
    draws: int | None = None,
    seed: int | None = None,
    sampler: str | None = None,
    model: str | Path | None = None,
    grid_points: int = 11,
    xtol: float | None = None,
    executor: Executor = SERIAL,
) -> LeverSolution:
    """The least (or greatest, when the probability falls with the lever) value of ``lever``
    at which ``P(target met) >= level``, on common random numbers (see
    ``sim.analysis.threshold_search.solve_threshold``). ``target`` may be ``all``.

    The search stays inside the lever's plausible policy range, the Vensim range the model
    states for it: that range by default, or ``[low, high]`` inside it. When no value reaches
    the level the answer says so (``status`` ``not_reachable``) with the best probability
    found and where. The answer is also given in money (``LeverSolution.money``): the nearest
    money flow the lever reaches (``nearest_money``), in 亿元 per year over the plan years, at
    the solution (at the best value when not reachable) and at the current value, on the same
    draws.

    Raises:
        ExploreError: bad probability, target, lever, range (outside the plausible policy
            range) or rebalancing rule.
    """
    if not 0 < level <= 1:
        raise ExploreError(f"must lie in (0, 1]; got {level:g}", "--prob")
    check_target(scenario, target)
    compiled = compile_model(model)
    info = lever_info(scenario, compiled, lever)
    if low is None or high is None:
        low, high = default_range(info)
    check_range(info, low, high)
    probe = {lever: np.array([low, high])}
    rebalanced_settings(scenario, compiled, probe, rebalance)  # fails early, before any run
    explorer = Explorer(
        scenario, draws=draws, seed=seed, sampler=sampler, model=model, executor=executor
    )

    def settings_at(values: np.ndarray) -> dict[str, np.ndarray]:
        settings = {lever: values}
        return settings | rebalanced_settings(scenario, compiled, settings, rebalance)

    def hits_at(values: np.ndarray) -> np.ndarray:
        return explorer.hits(settings_at(values))[target]

    solution = solve_threshold(hits_at, low, high, level, grid_points=grid_points, xtol=xtol)
    at = solution.value if solution.value is not None else solution.best_value
    money = _money_terms(scenario, explorer, info, target, at, settings_at)
    return LeverSolution(info, target, solution, explorer.settings, scenario.path.stem, money)


# --- solve --budget -------------------------------------------------------------------------


class _Objective(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    weights: dict[str, float] = Field(min_length=1)


def load_objective(path: str | Path, targets: Sequence[Target]) -> dict[str, float]:
    """Target weights from a YAML file ``weights: {target name: weight >= 0, ...}``.

    Raises:
        ObjectiveError: unreadable file, bad YAML, unknown key or target, negative or
            non-numeric weight, or no positive weight (naming file, line and field).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ObjectiveError(path, f"cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ObjectiveError(path, f"not UTF-8 text ({exc.reason})") from None
    root, data = read_yaml(path, text, ObjectiveError)  # bounded, standard tags only
    if not isinstance(data, dict):
        raise ObjectiveError(path, "expected a mapping 'weights: {target name: weight, ...}'")
    try:
        objective = _Objective.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        loc = [str(part) for part in error["loc"]]
        message = str(error["msg"])
        if error["type"] == "extra_forbidden":
            message = "unknown field; expected only 'weights'"
        line = node_line(root, loc)
        raise ObjectiveError(path, message, field=".".join(loc), line=line) from None
    names = [t.name for t in targets]
    for name, weight in objective.weights.items():
        field_path = f"weights.{name}"
        line = node_line(root, ("weights", name))
        if name not in names:
            guess = did_you_mean(name, names)
            hint = f"; did you mean '{guess}'?" if guess else ""
            raise ObjectiveError(
                path, f"'{name}' is not a target of the scenario{hint}", field=field_path, line=line
            )
        if not (math.isfinite(weight) and weight >= 0):
            raise ObjectiveError(
                path,
                f"a weight must be a finite number >= 0; got {weight!r}",
                field=field_path,
                line=line,
            )
    if not sum(objective.weights.values()) > 0:
        raise ObjectiveError(path, "at least one weight must be positive", field="weights")
    return dict(objective.weights)


def share_constraint(scenario: Scenario, name: str | None = None) -> Constraint:
    """The constraint whose members a budget splits: ``name``, else ``allocation_shares``, else
    the only constraint of the scenario."""
    by_name = {c.name: c for c in scenario.constraints}
    if name is not None:
        if name not in by_name:
            raise ExploreError(
                unknown_name(name, by_name, what="a constraint of the scenario"), "--constraint"
            )
        return by_name[name]
    if "allocation_shares" in by_name:
        return by_name["allocation_shares"]
    if len(by_name) == 1:
        return next(iter(by_name.values()))
    raise ExploreError(
        f"the scenario has {len(by_name)} constraints; name the one to split with --constraint "
        f"({', '.join(by_name) or 'none'})",
        "--constraint",
    )


@dataclass(frozen=True)
class ObjectiveEstimate:
    """The objective of one split on the scenario's draws.

    Attributes:
        value: the probability (``all`` or a single target), or the weighted mean probability.
        low, high: its 95 % interval (Wilson; for a weighted objective a normal interval on
            the mean of the per-draw weighted score).
    """

    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Budget:
    """The answer of ``solve_budget``.

    Attributes:
        constraint: the constraint split.
        members: its members (the shares), in its order; ``labels_zh`` their Chinese labels.
        baseline_shares, best_shares: the scenario's split and the best split found.
        lower, upper: the bounds of each share.
        objective: ``"all"``, a target name, or ``"weighted"``.
        weights: the target weights (weighted objective only).
        baseline, best: the objective of the two splits on the scenario's draws.
        difference: ``best − baseline`` with its interval (paired draws: Newcombe for a
            probability, normal on the mean of paired score differences when weighted).
        baseline_hits, best_hits: per target (and ``all``), which draws meet it.
        search: the differential-evolution result (on the search draws).
        monte_carlo: the settings of the final estimate; ``search_draws``: of the search.
    """

    constraint: Constraint
    members: list[str]
    labels_zh: list[str]
    baseline_shares: np.ndarray
    best_shares: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    objective: str
    weights: dict[str, float] | None
    baseline: ObjectiveEstimate
    best: ObjectiveEstimate
    difference: ObjectiveEstimate
    baseline_hits: dict[str, np.ndarray]
    best_hits: dict[str, np.ndarray]
    search: ShareSearch
    monte_carlo: MonteCarlo
    search_draws: int

    def shares_table(self) -> pd.DataFrame:
        """One row per share: ``share``, ``label_zh``, ``baseline``, ``best``, ``lower``,
        ``upper``."""
        return pd.DataFrame(
            {
                "share": self.members,
                "label_zh": self.labels_zh,
                "baseline": self.baseline_shares,
                "best": self.best_shares,
                "lower": self.lower,
                "upper": self.upper,
            }
        )

    def targets_table(self) -> pd.DataFrame:
        """Per target (and ``all``), each split's probability with its Wilson interval and
        the paired difference (Newcombe)."""
        rows = []
        for name in self.baseline_hits:
            pair = paired_difference(self.baseline_hits[name], self.best_hits[name])
            low_a, high_a = wilson_interval(int(self.baseline_hits[name].sum()), pair.draws)
            low_b, high_b = wilson_interval(int(self.best_hits[name].sum()), pair.draws)
            rows.append(
                {
                    "target": name,
                    "baseline": pair.probability_a,
                    "baseline_low": float(low_a),
                    "baseline_high": float(high_a),
                    "best": pair.probability_b,
                    "best_low": float(low_b),
                    "best_high": float(high_b),
                    "difference": pair.difference,
                    "diff_low": pair.low,
                    "diff_high": pair.high,
                    "draws": pair.draws,
                }
            )
        return pd.DataFrame(rows)


def _estimate(
    hits: Mapping[str, np.ndarray], objective: str, weights: Mapping[str, float] | None
) -> tuple[np.ndarray, ObjectiveEstimate]:
    """Per-draw score and the objective's estimate with its interval."""
    if weights is None:
        score = hits[objective].astype(float)
        low, high = wilson_interval(int(score.sum()), score.size)
        return score, ObjectiveEstimate(float(score.mean()), float(low), float(high))
    total = sum(weights.values())
    score = sum(w * hits[name].astype(float) for name, w in weights.items()) / total
    half = _Z95 * float(score.std(ddof=1)) / math.sqrt(score.size)
    mean = float(score.mean())
    return score, ObjectiveEstimate(mean, max(mean - half, 0.0), min(mean + half, 1.0))


#: Width of the logistic of the budget search's surrogate, in standard deviations.
TEMPERATURE = 0.25
_Z95 = float(stats.norm.ppf(0.975))


def solve_budget(
    scenario: Scenario,
    *,
    constraint: str | None = None,
    target: str = ALL_TARGETS,
    weights: Mapping[str, float] | None = None,
    lower: Mapping[str, float] | float = 0.0,
    upper: Mapping[str, float] | float = 1.0,
    draws: int | None = None,
    seed: int | None = None,
    sampler: str | None = None,
    search_draws: int = 1000,
    popsize: int = 5,
    maxiter: int = 40,
    temperature: float = TEMPERATURE,
    model: str | Path | None = None,
    executor: Executor = SERIAL,
) -> Budget:
    """Split a constraint's members (the budget shares) to maximise the probability of a
    target (``all``: every target in the same draw) or a weighted mean of the targets'
    probabilities.

    The search maximises ``sim.analysis.threshold_search.smoothed_objective`` (margins normalised by
    each target variable's standard deviation across the search draws at the current split,
    logistic of width ``temperature``) with differential evolution seeded by the scenario's
    seed; the best split's true probability is then estimated on the scenario's draws, with
    the current split's for comparison.

    Args:
        lower, upper: bounds of every share (a number for all, or by member name; members
            not named get 0 and 1). A number for all and the defaults are narrowed to each
            share's Vensim range (its plausible policy range); a bound given by name must lie
            inside it.
        search_draws: draws per split during the search (sampled with seed + 1).
        popsize, maxiter: differential-evolution population per share and generations.
    """
    chosen = share_constraint(scenario, constraint)
    members = list(chosen.sum)
    compiled = compile_model(model)
    labels = _labels(compiled)
    if weights is None:
        check_target(scenario, target)
        objective = target
    else:
        objective = "weighted"
    low = np.empty(len(members))
    high = np.empty(len(members))
    for bound, given, default, option in (
        (low, lower, 0.0, "--min-share"),
        (high, upper, 1.0, "--max-share"),
    ):
        if isinstance(given, Mapping):
            for name in given:
                if name not in members:
                    raise ExploreError(
                        unknown_name(name, members, what=f"a member of '{chosen.name}'"), option
                    )
            values = [float(given.get(name, default)) for name in members]
            named = set(given)
        else:
            values = [float(given)] * len(members)
            named = set()
        for index, (name, value) in enumerate(zip(members, values, strict=True)):
            limit_low, limit_high = compiled.limits.get(name, (None, None))
            limit_low = 0.0 if limit_low is None else limit_low
            limit_high = chosen.equals if limit_high is None else limit_high
            if name not in named and math.isfinite(value):
                # a bound for every share (or the default) applies within each share's
                # plausible policy range: a tighter range stated in the model wins
                value = max(value, limit_low) if bound is low else min(value, limit_high)
            if not (math.isfinite(value) and limit_low <= value <= limit_high):
                raise ExploreError(
                    f"{value:g} for '{name}' is outside [{limit_low:g}, {limit_high:g}], its "
                    "plausible policy range stated in the model",
                    option,
                )
            bound[index] = value
    if np.any(low > high):
        i = int(np.argmax(low > high))
        raise ExploreError(
            f"'{members[i]}': minimum {low[i]:g} above maximum {high[i]:g}", "--min-share"
        )
    if low.sum() > chosen.equals + 1e-12:
        raise ExploreError(
            f"the minimum shares add to {low.sum():g}, more than {chosen.equals:g}", "--min-share"
        )
    if high.sum() < chosen.equals - 1e-12:
        raise ExploreError(
            f"the maximum shares add to {high.sum():g}, less than {chosen.equals:g}", "--max-share"
        )
    baseline_shares = np.array([current_value(scenario, compiled, name) for name in members])
    if not np.all(np.isfinite(baseline_shares)):
        raise ExploreError(
            f"a member of '{chosen.name}' is set by a time path; the budget splits constants"
        )

    settings = monte_carlo_settings(scenario, draws, seed, sampler)
    search_seed = (settings.seed + 1) % 2**63
    searcher = Explorer(
        scenario,
        draws=search_draws,
        seed=search_seed,
        sampler="lhs" if settings.sampler == "sobol" else settings.sampler,
        model=model,
        executor=executor,
    )
    selected = (
        [t for t in scenario.targets if weights.get(t.name, 0) > 0]
        if weights is not None
        else scenario.targets
        if target == ALL_TARGETS
        else [t for t in scenario.targets if t.name == target]
    )
    start_values = searcher.values(
        {m: np.array([v]) for m, v in zip(members, baseline_shares, strict=True)}
    )
    scales = {}
    for t in selected:
        spread = float(np.nanstd(start_values[t.name]))
        scales[t.name] = spread if spread > 0 else max(abs(t.threshold) * 0.01, 1e-12)

    def surrogate(splits: np.ndarray) -> np.ndarray:
        values = searcher.values({m: splits[:, j] for j, m in enumerate(members)})
        margins = {
            t.name: normalised_margins(
                values[t.name], t.threshold, t.direction == "at_least", scales[t.name]
            )
            for t in selected
        }
        return smoothed_objective(margins, weights, temperature)

    search = optimise_shares(
        surrogate,
        low,
        high,
        total=chosen.equals,
        start=np.clip(baseline_shares, low, high),
        seed=settings.seed,
        popsize=popsize,
        maxiter=maxiter,
    )
    final = Explorer(
        scenario,
        draws=settings.draws,
        seed=settings.seed,
        sampler=settings.sampler,
        model=model,
        executor=executor,
    )
    both = final.hits(
        {m: np.array([baseline_shares[j], search.shares[j]]) for j, m in enumerate(members)}
    )
    baseline_hits = {name: h[0] for name, h in both.items()}
    best_hits = {name: h[1] for name, h in both.items()}
    score_a, estimate_a = _estimate(baseline_hits, objective, weights)
    score_b, estimate_b = _estimate(best_hits, objective, weights)
    if weights is None:
        pair = paired_difference(baseline_hits[objective], best_hits[objective])
        difference = ObjectiveEstimate(pair.difference, pair.low, pair.high)
    else:
        d = score_b - score_a
        half = _Z95 * float(d.std(ddof=1)) / math.sqrt(d.size)
        difference = ObjectiveEstimate(
            float(d.mean()), float(d.mean() - half), float(d.mean() + half)
        )
    return Budget(
        constraint=chosen,
        members=members,
        labels_zh=[labels.get(m, "") for m in members],
        baseline_shares=baseline_shares,
        best_shares=search.shares,
        lower=low,
        upper=high,
        objective=objective,
        weights=dict(weights) if weights is not None else None,
        baseline=estimate_a,
        best=estimate_b,
        difference=difference,
        baseline_hits=baseline_hits,
        best_hits=best_hits,
        search=search,
        monte_carlo=final.settings,
        search_draws=search_draws,
    )
