"""``innosim solve``: what would it take? The least (or greatest) lever value within its
plausible policy range at which a target's probability reaches a level, with its interval and
the money it means; or, with ``--budget``, the split of the budget shares that maximises the
probability of the targets. Every setting runs on the same draws (``sim.workflows.lever_runs``).

Decisions:

* **Levers** are constants of the model that the scenario neither draws nor imposes
  (``sim.scenario.levers``); the search stays inside the constant's Vensim range, which the
  model states as the lever's plausible policy range (all of it by default), and answers "not
  reachable within the plausible policy range" rather than searching beyond it. A lever bound
  by a scenario constraint needs ``--rebalance`` (as for ``sweep``).
* **Money**: the money a lever moves is found from the model's structure
  (``sim.scenario.levers.nearest_money``: the lever itself when its units are money, else the
  nearest variables in 亿元 per year downstream of it), reported as the median over draws of
  its mean over the plan years (``plan_years``), on the same draws.
* **Budget** searches splits of a constraint's members on ``search_draws`` draws sampled with
  seed + 1, then estimates the best split's probability on the scenario's own draws (seed):
  the reported probability is not inflated by the search having seen those draws.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from scipy import special

from sim.analysis.paired_difference import ALL_TARGETS, paired_difference, wilson_interval
from sim.analysis.threshold_search import (
    GRID_POINTS,
    ShareSearch,
    ThresholdSolution,
    normalised_margins,
    optimise_shares,
    smoothed_objective,
    solve_threshold,
)
from sim.engine import CompiledModel, compile_model
from sim.engine.ensemble import monte_carlo_settings
from sim.engine.runner import SERIAL, Executor
from sim.errors import ScenarioError
from sim.provenance import provenance
from sim.report.console import format_table
from sim.report.figures import figure_png
from sim.report.policy_outputs import (
    TEXT,
    budget_chart,
    level_text,
    percent,
    points,
    render_budget_html,
    render_solve_html,
    solve_chart,
    solve_text,
    target_label,
)
from sim.report.writer import write_outputs
from sim.scenario import (
    Constraint,
    Language,
    MonteCarlo,
    Scenario,
    Target,
    load_scenario,
    node_line,
    read_yaml,
)
from sim.scenario.levers import (
    MONEY_FLOW_UNITS,
    LeverInfo,
    LeverRange,
    current_value,
    lever_info,
    nearest_money,
    rebalanced_settings,
    units_key,
)
from sim.vensim import model_variables, variable_key
from sim.vensim.catalogue import did_you_mean, model_info, unknown_name
from sim.workflows.compare import settings_text
from sim.workflows.lever_runs import LeverRuns, PolicyQuestionError, check_target

#: Constants of the model that bound the plan (model time; the plan years are after the start,
#: up to and including the end: model time t is the end of calendar year t).
PLAN_START = "Plan Start Time"
PLAN_END = "Plan End Time"

#: ``LeverSolution.record()["plausible"]``: how the answer stands to the lever's plausible
#: policy range (its Vensim range in the model).
WITHIN_PLAUSIBLE = "within the plausible policy range"
NOT_WITHIN_PLAUSIBLE = "not reachable within the plausible policy range"
NOT_WITHIN_SEARCHED = "not reachable within the searched range"


class ObjectiveError(ScenarioError):
    """The weights file of a budget objective is unreadable or invalid (file:line: field)."""


# --- solve (one lever) ----------------------------------------------------------------------


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
        start = current_value(scenario, PLAN_START, compiled.path)
        end = current_value(scenario, PLAN_END, compiled.path)
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
        return units_key(self.units) == units_key(MONEY_FLOW_UNITS)

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


def money_terms(
    runs: LeverRuns,
    info: LeverInfo,
    target: str,
    at: float,
    settings_at: Callable[[np.ndarray], dict[str, np.ndarray]],
) -> MoneyTerms | None:
    """The money of an answer: ``nearest_money`` of the lever, at ``at`` and at the current
    value (the median over ``runs``' draws of the mean over the plan years), or ``None`` when
    the lever reaches no money variable."""
    compiled = runs.compiled
    docs = model_variables(compiled.path)
    units = {d.name: d.units for d in docs}
    found = nearest_money(model_variables(compiled.path), units, info.name)
    if not found:
        return None
    variable = found[0]
    doc = next(d for d in docs if d.name == variable)
    if variable_key(variable) == variable_key(info.name):
        return MoneyTerms(variable, doc.label_zh, doc.units, True, (), at, at, info.value)
    scenario = runs.scenario
    fallback = [t.year for t in scenario.targets if target in (ALL_TARGETS, t.name)]
    years = plan_years(scenario, compiled, fallback)
    values = [at] + ([info.value] if math.isfinite(info.value) else [])
    series = runs.series(settings_at(np.array(values)), [variable], years)[variable]
    medians = np.nanmedian(series.mean(axis=2), axis=1)
    current = float(medians[1]) if len(values) > 1 else math.nan
    return MoneyTerms(
        variable, doc.label_zh, doc.units, False, years, at, float(medians[0]), current
    )


def solve_lever(
    scenario: Scenario,
    lever: LeverRange | str,
    target: str,
    level: float,
    rebalance: Sequence[str] = (),
    *,
    draws: int | None = None,
    seed: int | None = None,
    sampler: str | None = None,
    model: str | Path | None = None,
    grid_points: int = GRID_POINTS,
    xtol: float | None = None,
    executor: Executor = SERIAL,
) -> LeverSolution:
    """The least (or greatest, when the probability falls with the lever) value of ``lever``
    at which ``P(target met) >= level``, on common random numbers (see
    ``sim.analysis.threshold_search.solve_threshold``). ``target`` may be ``all``.

    The search stays inside the lever's plausible policy range, the Vensim range the model
    states for it: that range by default (a name, or a ``LeverRange`` without ends), or the
    range the ``LeverRange`` gives inside it. When no value reaches the level the answer says
    so (``status`` ``not_reachable``) with the best probability found and where. The answer is
    also given in money (``LeverSolution.money``): the nearest money flow the lever reaches
    (``nearest_money``), in 亿元 per year over the plan years, at the solution (at the best
    value when not reachable) and at the current value, on the same draws.

    Raises:
        PolicyQuestionError: bad probability or target; LeverError: bad lever, range (outside
            the plausible policy range) or rebalancing rule.
    """
    if not 0 < level <= 1:
        raise PolicyQuestionError(f"must lie in (0, 1]; got {level:g}", "--prob")
    target = check_target(scenario, target)
    wanted = LeverRange(lever) if isinstance(lever, str) else lever
    name = wanted.name
    info = lever_info(scenario, name, model)
    low, high = info.search_range(wanted)
    rebalanced_settings(scenario, {name: np.array([low, high])}, rebalance, model)  # fail early
    runs = LeverRuns(
        scenario, draws=draws, seed=seed, sampler=sampler, model=model, executor=executor
    )

    def settings_at(values: np.ndarray) -> dict[str, np.ndarray]:
        settings = {name: values}
        return settings | rebalanced_settings(scenario, settings, rebalance, model)

    def hits_at(values: np.ndarray) -> np.ndarray:
        return runs.hits(settings_at(values))[target]

    solution = solve_threshold(hits_at, low, high, level, grid_points=grid_points, xtol=xtol)
    at = solution.value if solution.value is not None else solution.best_value
    money = money_terms(runs, info, target, at, settings_at)
    return LeverSolution(info, target, solution, runs.settings, scenario.path.stem, money)


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
            raise PolicyQuestionError(
                unknown_name(name, by_name, what="a constraint of the scenario"), "--constraint"
            )
        return by_name[name]
    if "allocation_shares" in by_name:
        return by_name["allocation_shares"]
    if len(by_name) == 1:
        return next(iter(by_name.values()))
    raise PolicyQuestionError(
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
_Z95 = float(special.ndtri(0.975))  # stats.norm.ppf, bit for bit, without scipy.stats


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
    labels = {doc.name: doc.label_zh for doc in model_variables(compiled.path)}
    if weights is None:
        target = check_target(scenario, target)
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
                    raise PolicyQuestionError(
                        unknown_name(name, members, what=f"a member of '{chosen.name}'"), option
                    )
            values = [float(given.get(name, default)) for name in members]
            named = set(given)
        else:
            values = [float(given)] * len(members)
            named = set()
        for index, (name, value) in enumerate(zip(members, values, strict=True)):
            limit_low, limit_high = model_info(compiled.path).limits(name)
            limit_low = 0.0 if limit_low is None else limit_low
            limit_high = chosen.equals if limit_high is None else limit_high
            if name not in named and math.isfinite(value):
                # a bound for every share (or the default) applies within each share's
                # plausible policy range: a tighter range stated in the model wins
                value = max(value, limit_low) if bound is low else min(value, limit_high)
            if not (math.isfinite(value) and limit_low <= value <= limit_high):
                raise PolicyQuestionError(
                    f"{value:g} for '{name}' is outside [{limit_low:g}, {limit_high:g}], its "
                    "plausible policy range stated in the model",
                    option,
                )
            bound[index] = value
    if np.any(low > high):
        i = int(np.argmax(low > high))
        raise PolicyQuestionError(
            f"'{members[i]}': minimum {low[i]:g} above maximum {high[i]:g}", "--min-share"
        )
    if low.sum() > chosen.equals + 1e-12:
        raise PolicyQuestionError(
            f"the minimum shares add to {low.sum():g}, more than {chosen.equals:g}", "--min-share"
        )
    if high.sum() < chosen.equals - 1e-12:
        raise PolicyQuestionError(
            f"the maximum shares add to {high.sum():g}, less than {chosen.equals:g}", "--max-share"
        )
    baseline_shares = np.array([current_value(scenario, name, compiled.path) for name in members])
    if not np.all(np.isfinite(baseline_shares)):
        raise PolicyQuestionError(
            f"a member of '{chosen.name}' is set by a time path; the budget splits constants"
        )

    settings = monte_carlo_settings(scenario, draws, seed, sampler)
    search_seed = (settings.seed + 1) % 2**63
    searcher = LeverRuns(
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
    final = LeverRuns(
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


# --- the command ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetQuestion:
    """``solve --budget``: which split of a constraint's members (the budget shares) to look
    for, as ``solve_budget`` takes it.

    Attributes:
        constraint: the constraint to split (default: ``allocation_shares`` or the only one).
        objective: a YAML file of target weights (``load_objective``); ``None``: the
            probability of the target.
        lower, upper: bounds of every share (a number for all, or by member name).
        search_draws: draws per split during the search.
        maxiter: generations of differential evolution.
    """

    constraint: str | None = None
    objective: Path | None = None
    lower: float | Mapping[str, float] = 0.0
    upper: float | Mapping[str, float] = 1.0
    search_draws: int = 1000
    maxiter: int = 40


@dataclass(frozen=True)
class SolveReport:
    """What ``run_solve`` found, printed and wrote.

    Attributes:
        answer: the lever's threshold (``LeverSolution``) or the budget split (``Budget``).
        text: the console text.
        written: the files written, ``provenance.json`` included.
    """

    answer: LeverSolution | Budget
    text: str
    written: list[Path]


def run_solve(
    path: Path,
    out: Path,
    *,
    target: str | None = None,
    level: float | None = None,
    lever: LeverRange | None = None,
    rebalance: Sequence[str] = (),
    grid_points: int = GRID_POINTS,
    budget: BudgetQuestion | None = None,
    draws: int | None = None,
    seed: int | None = None,
    lang: Language = "zh",
    model: Path | None = None,
    executor: Executor = SERIAL,
    note: Callable[[str], None] | None = None,
) -> SolveReport:
    """``innosim solve``: load the scenario file and answer what it would take.

    Without ``budget``: the least (or greatest) value of ``lever`` at which ``target`` (or
    ``all``) reaches probability ``level`` (``solve_lever``); writes ``solve.csv``,
    ``solve_curve.csv``, ``solve.png`` and ``solve.html``. With ``budget``: the split of the
    budget shares that maximises the probability of ``target`` (default ``all``) or the
    weighted objective (``solve_budget``); writes ``budget.csv``, ``budget_targets.csv``,
    ``budget.png`` and ``budget.html``, and says (through ``note``) whether the best split
    reaches ``level``.
    Both write ``provenance.json`` into ``out`` (claimed by the caller).

    Raises:
        PolicyQuestionError, LeverError, ObjectiveError: a bad question, lever or objective
            file (nothing written).
    """
    scenario = load_scenario(path, model=model)
    compiled = compile_model(model)
    if budget is not None:
        return _run_budget(
            scenario, compiled, out, target, level, budget, draws, seed, lang, model, executor, note
        )
    if lever is None:
        raise PolicyQuestionError(
            "the lever to solve for is required (NAME or NAME=LO:HI)", "--lever"
        )
    if target is None:
        raise PolicyQuestionError("the target is required (a target name or 'all')", "--target")
    if level is None:
        raise PolicyQuestionError("the required probability is required, e.g. --prob 0.8", "--prob")
    answer = solve_lever(
        scenario,
        lever,
        target,
        level,
        rebalance,
        draws=draws,
        seed=seed,
        model=model,
        grid_points=grid_points,
        executor=executor,
    )
    record = answer.record()
    curve = answer.curve()
    lever_label = answer.lever.label(lang)
    money_label = answer.money.label(lang) if answer.money is not None else ""
    target_text = target_label(target, scenario.targets, lang)
    image = figure_png(solve_chart(curve, record, lever_label, target_text, lang))
    settings = settings_text(answer.monte_carlo, lang)
    html = render_solve_html(record, lever_label, target_text, lang, image, settings, money_label)
    facts = {
        "target": target,
        "level": level,
        "lever": answer.lever.name,
        "searched": [answer.solution.low, answer.solution.high],
        "rebalance": list(rebalance),
        "grid_points": grid_points,
    }
    written = write_outputs(
        out,
        {
            "solve.csv": answer.table(),
            "solve_curve.csv": curve,
            "solve.png": image,
            "solve.html": html,
        },
        _provenance(scenario, compiled, answer.monte_carlo, facts),
        lang=lang,
        model=model,
    )
    text = "\n".join([solve_text(record, lever_label, target_text, lang, money_label), settings])
    return SolveReport(answer, text, written)


def _provenance(
    scenario: Scenario, compiled: CompiledModel, settings: MonteCarlo, facts: Mapping[str, object]
) -> dict[str, object]:
    return provenance(
        "solve",
        scenario=scenario,
        model=compiled.path,
        model_sha256=compiled.sha256,
        settings=settings,
        extra=facts,
    )


def _run_budget(
    scenario: Scenario,
    compiled: CompiledModel,
    out: Path,
    target: str | None,
    level: float | None,
    question: BudgetQuestion,
    draws: int | None,
    seed: int | None,
    lang: Language,
    model: Path | None,
    executor: Executor,
    note: Callable[[str], None] | None,
) -> SolveReport:
    """``run_solve`` with ``--budget``."""
    weights = (
        load_objective(question.objective, scenario.targets)
        if question.objective is not None
        else None
    )
    result = solve_budget(
        scenario,
        constraint=question.constraint,
        target=target or ALL_TARGETS,
        weights=weights,
        lower=question.lower,
        upper=question.upper,
        draws=draws,
        seed=seed,
        search_draws=question.search_draws,
        maxiter=question.maxiter,
        model=model,
        executor=executor,
    )
    t = TEXT[lang]
    objective_text = (
        t["weighted"]
        if result.weights is not None
        else target_label(result.objective, scenario.targets, lang)
    )
    shares = result.shares_table()
    numbers = {
        "objective": objective_text,
        "base": percent(result.baseline.value),
        "base_low": percent(result.baseline.low),
        "base_high": percent(result.baseline.high),
        "best": percent(result.best.value),
        "best_low": percent(result.best.low),
        "best_high": percent(result.best.high),
        "diff": points(result.difference.value),
        "diff_low": points(result.difference.low),
        "diff_high": points(result.difference.high),
    }
    title = t["budget_title"].format(**numbers)
    subtitle = t["budget_subtitle"].format(**numbers)
    figure = budget_chart(shares, lang, f"{title}\n{subtitle}")
    targets_table = result.targets_table()
    targets_table.insert(1, "objective", result.objective)
    facts = {
        "budget": True,
        "constraint": result.constraint.name,
        "objective": result.objective,
        "weights": result.weights,
        "level": level,
        "search_draws": result.search_draws,
        "search_seed": (result.monte_carlo.seed + 1) % 2**63,
        "maxiter": question.maxiter,
        "evaluations": result.search.evaluations,
        "generations": result.search.generations,
        "converged": result.search.converged,
    }
    record = _provenance(scenario, compiled, result.monte_carlo, facts)
    image = figure_png(figure)
    answer = [t["budget_result"].format(**numbers)]
    if level is not None:
        key = "budget_reaches" if result.best.value >= level else "budget_does_not_reach"
        answer.append(t[key].format(level=level_text(level)))
    html = render_budget_html(
        shares, lang, answer, image, settings_text(result.monte_carlo, lang), record
    )
    written = write_outputs(
        out,
        {
            "budget.csv": shares,
            "budget_targets.csv": targets_table,
            "budget.png": image,
            "budget.html": html,
        },
        record,
        lang=lang,
        model=model,
    )
    display = pd.DataFrame(
        {
            t["share"]: [
                label if lang == "zh" and label else name
                for name, label in zip(shares["share"], shares["label_zh"], strict=True)
            ],
            t["baseline"]: [percent(v) for v in shares["baseline"]],
            t["best"]: [percent(v) for v in shares["best"]],
        }
    )
    if note is not None:
        note(
            f"search: {result.search.evaluations} splits × {result.search_draws} draws, "
            f"{result.search.generations} generations of differential evolution"
            + ("" if result.search.converged else " (stopped at --maxiter before converging)")
        )
        if level is not None:
            reached = result.best.value >= level
            note(
                f"the best split {'reaches' if reached else 'does not reach'} the required "
                f"probability {percent(level)}"
            )
    text = "\n".join(
        [
            format_table(display),
            t["budget_result"].format(**numbers),
            settings_text(result.monte_carlo, lang),
        ]
    )
    return SolveReport(result, text, written)
