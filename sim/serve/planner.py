"""What the planner page computes, without the page: its sliders, each move's ensemble on
common random numbers, the difference from the scenario as loaded, and the scenario file that
reproduces a state.

``PlannerEnsemble`` is built once per process (``innosim serve``) and shared by every browser
session: the scenario, its draws (``sim.workflows.lever_runs.LeverRuns``: the engine's compiled
model and the sampled inputs kept in memory) and the outcome of the scenario as loaded (the
baseline of every difference). Its sliders come from the scenario and the model, no list of
names: every lever of the scenario with a constant value and a closed plausible policy range
(its Vensim range, ``sim.scenario.levers.lever_info``), grouped by the scenario's
``constraints`` (a group of shares that keep their sum: moving one rescales the others,
``rebalanced_settings``), and the constants of the instruments the scenario keeps in the model
without making them levers (``other_instruments`` with effect ``negligible``, e.g. the VC
reward), so a planner can see that they move no target.

``PlannerEnsemble.outcome`` runs the draws at a setting of the sliders, up to the last target
year, and gives what the page shows: each target's probability with its 95 % interval
(``sim.analysis.target_table``, the numbers ``innosim run`` prints for the same draws), the
paired difference from the baseline (``sim.analysis.paired_difference``: Newcombe's
interval), and each target variable's values over time for the fan charts.
``saved_scenario`` writes the scenario file (YAML) of a state: it ``extends`` the scenario by
its absolute path (so it loads from any folder on this machine) and sets the moved levers and
the page's Monte Carlo settings, so ``innosim run`` on it gives the page's numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
import yaml

from sim.analysis import target_table
from sim.analysis.paired_difference import ALL_TARGETS, paired_difference
from sim.analysis.probabilities import met, wilson_interval
from sim.engine.runner import SERIAL, Executor
from sim.errors import InnosimError
from sim.report.i18n import text
from sim.report.quantities import shown_as_percent
from sim.results import slug
from sim.scenario import Constraint, Lever, MonteCarlo, Scenario, load_scenario
from sim.scenario.levers import PROPORTIONAL, LeverError, LeverInfo, lever_info, rebalanced_settings
from sim.workflows.lever_runs import LeverRuns

#: Draws of the page by default (latency ≤ 0.5 s per move at this size on a laptop core).
DEFAULT_DRAWS = 2000
#: Positions of a slider over its plausible policy range (the step is a round number near
#: range / STEPS).
STEPS = 200
#: Group of the scenario's levers bound by no constraint.
LEVERS_GROUP = "levers"


class PlannerError(InnosimError, ValueError):
    """The page cannot be built for this scenario (e.g. it has no lever a slider can set)."""


class MoveRefused(LeverError):
    """A move of a share that the other members of its constraint cannot absorb.

    Attributes:
        slider: the member that would leave its plausible policy range.
        value: the value it would take (model units; ``nan`` when the others add to 0).
    """

    def __init__(self, slider: SliderLever, value: float) -> None:
        self.slider = slider
        self.value = value
        super().__init__(
            f"keeping the sum would put '{slider.name}' at {value:.4g}, outside its plausible "
            f"policy range [{slider.start:g}, {slider.end:g}]",
            option="",
        )


@dataclass(frozen=True)
class SliderLever:
    """A lever the page sets with a slider.

    Attributes:
        info: the lever (label, units, value in the scenario, plausible policy range).
        group: ``LEVERS_GROUP``, ``constraint:<name>`` or ``instrument:<key>``.
        start, end: the slider's ends, the plausible policy range (model units).
        step: the slider's step (model units).
        percent: shown as a percentage (a share or a rate of the plan).
    """

    info: LeverInfo
    group: str
    start: float
    end: float
    step: float
    percent: bool

    @property
    def name(self) -> str:
        """Vensim name of the constant."""
        return self.info.name

    @property
    def value(self) -> float:
        """Its value in the scenario as loaded (model units)."""
        return self.info.value


def slider_step(start: float, end: float, steps: int = STEPS) -> float:
    """A round step (1, 2 or 5 times a power of ten) near ``(end - start) / steps``."""
    raw = (end - start) / steps
    if not raw > 0:
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw * 0.999)


def _slider(info: LeverInfo, group: str) -> SliderLever | None:
    """The slider of a lever; ``None`` when its value is a time path or its range is open."""
    lower, upper = info.limits
    if math.isnan(info.value) or lower is None or upper is None or not lower < upper:
        return None
    start, end = float(lower), float(upper)
    return SliderLever(
        info=info,
        group=group,
        start=start,
        end=end,
        step=slider_step(start, end),
        percent=shown_as_percent(info.units),
    )


def slider_levers(scenario: Scenario, model: Path | None = None) -> list[SliderLever]:
    """The sliders of ``scenario``: its levers (value set, range closed) not in a constraint,
    then each constraint's members, then the constants of its ``negligible`` other
    instruments (in the model, not levers), in the scenario's order."""
    bound = {name: c.name for c in scenario.constraints for name in c.sum}
    sliders: list[SliderLever] = []
    for name in scenario.levers:
        if name not in bound:
            slider = _slider(lever_info(scenario, name, model), LEVERS_GROUP)
            sliders += [slider] if slider else []
    for constraint in scenario.constraints:
        members = [_slider(lever_info(scenario, n, model), "") for n in constraint.sum]
        if all(members):  # a constraint is kept only when every member can move
            group = f"constraint:{constraint.name}"
            sliders += [replace(m, group=group) for m in members if m is not None]
    taken = {s.name for s in sliders}
    for key, instrument in scenario.other_instruments.items():
        if instrument.effect != "negligible":
            continue
        for name in instrument.constants:
            if name in taken or name in scenario.levers:
                continue
            try:
                info = lever_info(scenario, name, model)
            except LeverError:  # drawn or imposed in this scenario: not settable here
                continue
            slider = _slider(info, f"instrument:{key}")
            if slider:
                sliders.append(slider)
                taken.add(name)
    if not sliders:
        raise PlannerError(
            f"scenario {scenario.path.name} has no lever with a constant value and a plausible "
            "policy range (a Vensim range in the model) for a slider to set"
        )
    return sliders


@dataclass(frozen=True)
class Outcome:
    """The ensemble at one setting of the sliders.

    Attributes:
        table: ``sim.analysis.target_table`` of the targets (model units), the numbers
            ``innosim run`` gives for the same draws.
        hits: which draws meet each target, plus ``"all"`` (every target in the same draw).
        series: each target variable's values, ``{variable: array (draws, times)}``.
        all_targets: probability that every target is met in the same draw, with its 95 %
            Wilson interval: ``(probability, low, high)``.
    """

    table: pd.DataFrame
    hits: dict[str, np.ndarray]
    series: dict[str, np.ndarray]
    all_targets: tuple[float, float, float]


@dataclass(frozen=True)
class Difference:
    """A target's paired difference from the baseline, ``P(now) − P(baseline)``, with its 95 %
    Newcombe interval (probabilities, so a share: shown in percentage points)."""

    target: str
    difference: float
    low: float
    high: float


class PlannerEnsemble:
    """A scenario's draws kept in memory for the page, with the baseline outcome.

    Args:
        scenario: the scenario file (YAML).
        draws, seed: Monte Carlo settings (default: ``DEFAULT_DRAWS`` and the scenario's seed;
            the scenario's sampler).
        model: the ``.mdl`` file (default: the project's model).
        executor: where the draws run (a move of the page runs here by default: starting
            workers costs more than a move takes).

    Raises:
        InnosimError: a bad scenario (``ScenarioError`` naming file, line and field), bad
            Monte Carlo settings (``SettingsError``), a scenario without a lever to set.
    """

    def __init__(
        self,
        scenario: str | Path,
        *,
        draws: int | None = DEFAULT_DRAWS,
        seed: int | None = None,
        model: str | Path | None = None,
        executor: Executor = SERIAL,
    ) -> None:
        self.path = Path(scenario)
        self.model = Path(model) if model is not None else None
        self.scenario = load_scenario(self.path, model=self.model)
        self.sliders = slider_levers(self.scenario, self.model)  # before anything runs
        # the runs stop at the last target year: nothing the page shows lies beyond it, a run
        # to the model's FINAL TIME takes twice as long, and the values up to it are the same
        # (tests/test_serve.py checks the page against `innosim run`)
        self.final_time = float(max(t.year for t in self.scenario.targets))
        self.runs = LeverRuns(
            self.scenario,
            draws=draws,
            seed=seed,
            model=self.model,
            executor=executor,
            final_time=self.final_time,
        )
        self.by_name = {slider.name: slider for slider in self.sliders}
        self.targets = list(self.scenario.targets)
        self.variables = list(dict.fromkeys(t.variable for t in self.targets))
        self.times = self.runs.compiled.times(final_time=self.final_time)
        self.effective_draws = _effective_draws(self.scenario, self.runs.draws)
        self.history = _history(self.scenario, self.model)
        self.baseline = self.outcome(self.initial_values())

    @property
    def settings(self) -> MonteCarlo:
        """The Monte Carlo settings of the page (draws, seed, sampler)."""
        return self.runs.settings

    def initial_values(self) -> dict[str, float]:
        """Every slider's value in the scenario as loaded (model units)."""
        return {slider.name: slider.value for slider in self.sliders}

    def groups(self) -> dict[str, list[SliderLever]]:
        """The sliders by group, in order."""
        groups: dict[str, list[SliderLever]] = {}
        for slider in self.sliders:
            groups.setdefault(slider.group, []).append(slider)
        return groups

    def constraint(self, group: str) -> Constraint | None:
        """The scenario's constraint of a ``constraint:<name>`` group, else ``None``."""
        name = group.removeprefix("constraint:") if group.startswith("constraint:") else None
        return next((c for c in self.scenario.constraints if c.name == name), None)

    def rebalanced(self, values: Mapping[str, float], moved: str, value: float) -> dict[str, float]:
        """The sliders' values after ``moved`` is set to ``value``: the other members of its
        constraint scale together to keep the sum (``rebalanced_settings``, proportional, from
        the values of ``values``).

        Raises:
            MoveRefused: a rescaled member would leave its plausible policy range.
        """
        out = dict(values) | {moved: float(value)}
        if not self.by_name[moved].group.startswith("constraint:"):
            return out
        levers = dict(self.scenario.levers) | {
            name: Lever(value=v, source="planner page") for name, v in values.items()
        }
        current = self.scenario.model_copy(update={"levers": levers})
        try:
            others = rebalanced_settings(
                current, {moved: np.array([float(value)])}, [PROPORTIONAL], self.runs.model
            )
        except LeverError:
            raise self._refusal(values, moved, float(value)) from None
        return out | {name: float(array[0]) for name, array in others.items()}

    def _refusal(self, values: Mapping[str, float], moved: str, value: float) -> MoveRefused:
        """Why the other members cannot absorb a move (the first that would leave its range,
        rescaled as ``rebalanced_settings`` rescales them)."""
        group = self.groups()[self.by_name[moved].group]
        others = [s for s in group if s.name != moved]
        total = sum(values[s.name] for s in others)
        equals = self.constraint(self.by_name[moved].group).equals  # type: ignore[union-attr]
        factor = (equals - value) / total if total > 0 else math.inf
        for slider in others:
            rescaled = values[slider.name] * factor
            if not slider.start - 1e-12 <= rescaled <= slider.end + 1e-12:
                return MoveRefused(slider, rescaled)
        return MoveRefused(others[0], math.nan)

    def changed(self, values: Mapping[str, float]) -> dict[str, float]:
        """The sliders whose value differs from the scenario as loaded."""
        return {
            name: float(value)
            for name, value in values.items()
            if float(value) != self.by_name[name].value
        }

    def outcome(self, values: Mapping[str, float]) -> Outcome:
        """Run the draws at ``values`` (``{lever: value}``, model units; levers left out keep
        the scenario's value) and compute what the page shows."""
        settings = {name: np.array([value]) for name, value in self.changed(values).items()}
        series = {
            name: array[0]
            for name, array in self.runs.series(settings, self.variables, self.times).items()
        }
        results = xr.Dataset(
            {
                slug(name): xr.DataArray(array, dims=("draw", "time"), attrs={"long_name": name})
                for name, array in series.items()
            },
            coords={"draw": np.arange(self.runs.draws), "time": self.times},
        )
        if self.effective_draws is not None:
            results.attrs["effective_draws"] = self.effective_draws
        table = target_table(results, self.targets)
        column = {float(t): i for i, t in enumerate(self.times)}
        hits = {t.name: met(t, series[t.variable][:, column[float(t.year)]]) for t in self.targets}
        every = np.logical_and.reduce(list(hits.values()))
        hits[ALL_TARGETS] = every
        low, high = wilson_interval(int(every.sum()), every.size)
        return Outcome(table, hits, series, (float(every.mean()), float(low), float(high)))

    def differences(self, outcome: Outcome) -> list[Difference]:
        """Each target's (and ``"all"``'s) paired difference from the baseline."""
        out = []
        for name, hits in outcome.hits.items():
            pair = paired_difference(self.baseline.hits[name], hits)
            out.append(Difference(name, pair.difference, pair.low, pair.high))
        return out


def _effective_draws(scenario: Scenario, draws: int) -> float | None:
    """The draws a probability's interval counts when the scenario resamples a posterior
    (as ``sim.engine.ensemble.EnsembleRun`` states it for ``innosim run``), else ``None``."""
    if scenario.posterior is None:
        return None
    from sim.scenario.posterior import read_posterior

    posterior = read_posterior(scenario.posterior)
    ess = float(posterior.attrs.get("ess", posterior.size))
    return 1.0 / (1.0 / ess + 1.0 / draws)


def _history(scenario: Scenario, model: Path | None) -> pd.DataFrame | None:
    """The scenario's observed history (columns ``variable, year, value``), if it has one."""
    if scenario.history is None:
        return None
    from sim.scenario.observed import load_observed

    return load_observed(scenario.history, model=model)


def saved_scenario(
    ensemble: PlannerEnsemble,
    values: Mapping[str, float],
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> str:
    """The scenario file (YAML text) that reproduces the page at ``values``.

    It ``extends`` the page's scenario by its absolute path (so it loads from any folder),
    sets every lever the page moved (a constraint's members all together, so the sum holds to
    the last digit) and the page's Monte Carlo settings, with a title saying it was saved
    from the page. ``innosim run`` on it gives the page's probabilities.
    """
    stamp = now().strftime("%Y-%m-%d %H:%M UTC")
    changed = ensemble.changed(values)
    for group, members in ensemble.groups().items():
        if group.startswith("constraint:") and any(m.name in changed for m in members):
            changed |= {m.name: float(values[m.name]) for m in members}
    parent = ensemble.scenario
    words = {lang: text(lang, "serve") for lang in ("zh", "en")}
    title = {
        lang: words[lang]["saved_title"].format(
            title=parent.title.text(lang) if parent.title else ensemble.path.stem, time=stamp
        )
        for lang in ("zh", "en")
    }
    settings = ensemble.settings
    levers = {
        name: {
            "value": value,
            "source": words["en"]["saved_source"].format(
                file=ensemble.path.name, value=repr(ensemble.by_name[name].value)
            ),
        }
        for name, value in changed.items()
    }
    document = {
        "title": title,
        "description": {
            lang: words[lang]["saved_description"].format(
                file=ensemble.path.name, changed=len(changed), draws=settings.draws
            )
            for lang in ("zh", "en")
        },
        "extends": str(ensemble.path.resolve()),
        **({"levers": levers} if levers else {}),
        "monte_carlo": {
            "draws": settings.draws,
            "seed": settings.seed,
            "sampler": settings.sampler,
        },
    }
    header = "".join(
        f"# {line}\n" for line in words["en"]["saved_header"].format(time=stamp).split("\n")
    )
    return header + yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)
