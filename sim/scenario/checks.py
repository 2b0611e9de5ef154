"""Checks of a resolved scenario against the model and itself: names, kinds, limits, years,
correlations, constraints, drivers and paths, settings, posterior."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.scenario.fields import accepts_percent
from sim.scenario.schema import DEFAULT_DISCREPANCY, Scenario
from sim.scenario.yaml_reader import _Where, percent_scalars
from sim.vensim.catalogue import ModelInfo, unknown_name

if TYPE_CHECKING:
    pass


_Origins = dict[tuple[str, Any], _Where]


#: What a scenario's ``posterior`` must point to.
POSTERIOR_EXPECTED = "a conditioned ensemble written by `innosim calibrate` (posterior.nc)"


def _check_model(scenario: Scenario, origins: _Origins, info: ModelInfo) -> None:
    """Names, kinds, limits and years against the model."""
    start, stop = info.initial_time, info.final_time

    def known(name: str, where: _Where, *sub: str | int) -> None:
        if name not in info.docs:
            raise where.error(info.unknown(name), *sub)

    def inside_limits(name: str, values: Iterable[float], where: _Where, *sub: str | int) -> None:
        low, high = info.limits(name)
        for value in values:
            if (low is not None and value < low) or (high is not None and value > high):
                raise where.error(
                    f"{value:g} is outside the Vensim limits [{_fmt(low)}, {_fmt(high)}] of "
                    f"'{name}'",
                    *sub,
                )

    for name, lever in scenario.levers.items():
        where = origins[("levers", name)]
        known(name, where)
        kind = info.kind(name)
        if kind not in ("constant", "auxiliary"):
            raise where.error(
                f"'{name}' is a {kind}; a lever sets a constant or replaces an auxiliary"
                + (" (a stock changes only through its flows)" if kind == "stock" else "")
            )
        if lever.path is not None:
            for year in lever.path:
                if not start <= year <= stop:
                    raise where.error(
                        f"year {year} is outside the model's horizon [{start:g}, {stop:g}]",
                        "path",
                        year,
                    )
            for year, value in lever.path.items():
                inside_limits(name, [value], where, "path", year)
        else:
            inside_limits(name, lever.all_values(), where, "value")

    for name, dist in scenario.uncertainties.items():
        where = origins[("uncertainties", name)]
        known(name, where)
        kind = info.kind(name)
        if kind != "constant":
            raise where.error(
                f"'{name}' is {'an' if kind[0] in 'aeiou' else 'a'} {kind}; only constants can "
                "be uncertain (make the constants it depends on uncertain, or use a lever path)"
            )
        low, high = info.limits(name)
        s_low, s_high = dist.support()
        lower_field, upper_field = dist._bounds
        if low is not None and s_low < low:
            raise where.error(
                f"the distribution reaches {s_low:g}, below the Vensim limits "
                f"[{_fmt(low)}, {_fmt(high)}] of '{name}'; its support must lie inside them",
                *((lower_field,) if lower_field else ()),
            )
        if high is not None and s_high > high:
            raise where.error(
                f"the distribution reaches {s_high:g}, above the Vensim limits "
                f"[{_fmt(low)}, {_fmt(high)}] of '{name}'; its support must lie inside them",
                *((upper_field,) if upper_field else ()),
            )

    for name in scenario.discrepancy:
        if name != DEFAULT_DISCREPANCY:
            where = origins[("discrepancy", name)]
            known(name, where)
            if info.kind(name) in ("lookup", "control"):
                raise where.error(f"'{name}' is not a model output that can be observed")

    for key, instrument in scenario.other_instruments.items():
        where = origins[("other_instruments", key)]
        for index, name in enumerate(instrument.constants):
            known(name, where, "constants", index)
            if info.kind(name) != "constant":
                raise where.error(
                    f"'{name}' is {_article(info.kind(name))}; an instrument is carried by "
                    "constants",
                    "constants",
                    index,
                )

    for constraint in scenario.constraints:
        where = origins[("constraints", constraint.name)]
        for index, name in enumerate(constraint.sum):
            known(name, where, "sum", index)
            if info.kind(name) != "constant":
                raise where.error(
                    f"'{name}' is a {info.kind(name)}; constraints bind constants", "sum", index
                )

    for target in scenario.targets:
        where = origins[("targets", target.name)]
        known(target.variable, where, "variable")
        if info.kind(target.variable) in ("lookup", "control"):
            raise where.error(f"'{target.variable}' is not a model output", "variable")
        if not start <= target.year <= stop:
            raise where.error(
                f"year {target.year} is outside the model's horizon [{start:g}, {stop:g}]", "year"
            )

    for name in scenario.outputs:
        where = origins[("outputs", name)]
        known(name, where)
        if info.kind(name) in ("lookup", "control"):
            raise where.error(f"'{name}' is a {info.kind(name)}, not a model output")

    _check_percentages(scenario, origins, info)


#: The fields of an entry that hold values in its variable's units (a percentage there needs a
#: dimensionless variable or a rate); the others (``lambda``, ``persistence`` …) are
#: dimensionless whatever the variable.
_IN_VARIABLE_UNITS = {
    "levers": ("value", "path"),
    "uncertainties": ("min", "max", "mode", "mean", "sd", "median", "values"),
    "targets": ("threshold",),
    "paths": ("level", "mean", "min", "max"),
    "constraints": ("equals",),
}


def _check_percentages(scenario: Scenario, origins: _Origins, info: ModelInfo) -> None:
    """A value written as a percentage (``3%``) is refused where the variable it is in the
    units of is not dimensionless or a rate (a count, money, a year)."""
    entries: list[tuple[str, Any, str, tuple[str, ...]]] = [
        ("levers", name, name, _IN_VARIABLE_UNITS["levers"]) for name in scenario.levers
    ]
    entries += [
        ("uncertainties", n, n, _IN_VARIABLE_UNITS["uncertainties"]) for n in scenario.uncertainties
    ]
    entries += [
        ("targets", t.name, t.variable, _IN_VARIABLE_UNITS["targets"]) for t in scenario.targets
    ]
    for name, process in scenario.paths.items():
        keys = _IN_VARIABLE_UNITS["paths"] + (("volatility",) if process.process == "ar1" else ())
        entries.append(("paths", name, name, keys))
    entries += [
        ("constraints", c.name, c.sum[0], _IN_VARIABLE_UNITS["constraints"])
        for c in scenario.constraints
    ]
    for section, key, variable, fields in entries:
        where = origins.get((section, key))
        if where is None or variable not in info.docs:
            continue
        units = info.docs[variable].units
        if accepts_percent(units):
            continue
        for sub in percent_scalars(where.root, where.loc, fields):
            raise where.error(
                f"a percentage is given for '{variable}', whose units are {units or 'none'} "
                "(not a share or a rate); write the number in those units",
                *sub,
            )


def _fmt(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def _check_correlations(scenario: Scenario, origins: _Origins, leaf: _Where) -> None:
    from sim.sampling import correlation_matrix

    for corr in scenario.correlations:
        where = origins[("correlations", corr.pair)]
        for index, name in enumerate(corr.between):
            if name not in scenario.uncertainties:
                message = unknown_name(
                    name, scenario.uncertainties, what="an uncertainty of the scenario"
                )
                raise where.error(message, "between", index)
    if scenario.correlations:
        try:
            correlation_matrix(scenario.correlations)
        except ValueError as exc:
            own = [
                key
                for key, where in origins.items()
                if key[0] == "correlations" and where.path == leaf.path
            ]
            where = origins[own[0]] if own else leaf
            raise _Where(where.path, where.root, ()).error(str(exc), "correlations") from None


def _check_constraints(
    scenario: Scenario, origins: _Origins, info: ModelInfo | None, leaf: _Where
) -> None:
    for constraint in scenario.constraints:
        cwhere = origins[("constraints", constraint.name)]
        for name in constraint.sum:
            if name in scenario.uncertainties:
                raise origins[("uncertainties", name)].error(
                    f"'{name}' is bound by constraint '{constraint.name}' (its members must add "
                    f"to {constraint.equals:g}); drawing it independently would break the sum. "
                    "Set it as a lever instead and adjust another member"
                )
        if info is None:
            continue
        paths = [scenario.levers[n] for n in constraint.sum if n in scenario.levers]
        times = sorted({y for lever in paths if lever.path for y in lever.path}) or [math.nan]
        total = np.zeros(len(times))
        for name in constraint.sum:
            if name in scenario.levers:
                total += scenario.levers[name].at(times)
            else:
                total += info.defaults[name]
        bad = np.abs(total - constraint.equals) > constraint.tolerance
        if not bad.any():
            continue
        at = "" if math.isnan(times[0]) else f" in {times[int(np.argmax(bad))]:g}"
        parts = []
        for name in constraint.sum:
            if name in scenario.levers:
                parts.append(f"{name} {scenario.levers[name].at([times[0]])[0]:g} (lever)")
            else:
                parts.append(f"{name} {info.defaults[name]:g}")
        message = (
            f"constraint '{constraint.name}' is broken{at}: {' + '.join(parts)} = "
            f"{total[int(np.argmax(bad))]:.12g}; expected {constraint.equals:g} "
            f"± {constraint.tolerance:g}"
        )
        mine = [
            name
            for name in constraint.sum
            if ("levers", name) in origins and origins[("levers", name)].path == leaf.path
        ]
        if mine:
            raise origins[("levers", mine[0])].error(message)
        raise cwhere.error(message)


def _article(word: str) -> str:
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def _check_exogenous(
    scenario: Scenario, origins: _Origins, info: ModelInfo | None, leaf: _Where
) -> None:
    """Drivers and paths: files, rows, names, kinds, conflicts, years and limits."""
    from sim.scenario.observed import driver_series

    constants = [n for n in info.docs if info.kind(n) == "constant"] if info is not None else []

    def check_name(name: str, role: str, where: _Where, *sub: str | int) -> None:
        if info is not None:
            if name not in info.docs:
                raise where.error(
                    unknown_name(name, constants, what="a constant of the model"), *sub
                )
            kind = info.kind(name)
            if kind != "constant":
                raise where.error(
                    f"'{name}' is {_article(kind)}; {role} replaces a constant of the model "
                    "(make the constants it depends on drivers or paths)",
                    *sub,
                )
        for section, what in (("levers", "a lever"), ("uncertainties", "an uncertainty")):
            if name in getattr(scenario, section):
                other = origins[(section, name)]
                message = (
                    f"'{name}' is both {role} and {what}; a constant is imposed as data "
                    "(driver), drawn year by year (path), set (lever) or drawn once per draw "
                    "(uncertainty)"
                )
                if other.path == leaf.path and where.path != leaf.path:
                    raise other.error(message)
                raise where.error(message, *sub)

    series = {}
    drivers = scenario.drivers
    if drivers is not None:
        where = origins[("drivers",)]
        for index, file in enumerate(drivers.files):
            if not file.is_file():
                raise where.error(
                    f"file not found: {file}; expected an observed-data CSV (data/README.md), "
                    "relative to the scenario file",
                    "files",
                    index,
                )
        for index, name in enumerate(drivers.variables):
            check_name(name, "a driver", where, "variables", index)
        series = driver_series(drivers.files, drivers.variables, info=info)
        for index, name in enumerate(drivers.variables):
            if name not in series:
                files = ", ".join(file.name for file in drivers.files)
                raise where.error(
                    f"'{name}' has no row in {files}; a driver needs observed values (rows "
                    "'variable,year,value,sd,source' with its exact Vensim name)",
                    "variables",
                    index,
                )

    for name, process in scenario.paths.items():
        where = origins[("paths", name)]
        check_name(name, "a path", where)
        if name in series:
            last = series[name].last_year
            if process.start is not None and process.start <= last:
                raise where.error(
                    f"start {process.start} is not after the last observed year {last} of the "
                    f"driver '{name}'; a path continues the observed series",
                    "start",
                )
            first = last + 1 if process.start is None else process.start
            start_value: float | None = series[name].last_value
            origin = f"its last observed value ({last})"
        elif process.start is None:
            raise where.error(
                f"'start' is required: '{name}' is not a driver, so the first drawn year must "
                "be given",
                "start",
            )
        else:
            first = process.start
            start_value = info.defaults[name] if info is not None else None
            origin = "the constant's value in the model"
        if info is None:
            continue
        if not info.initial_time <= first <= info.final_time:
            raise where.error(
                f"the path would start in {first}, outside the model's horizon "
                f"[{info.initial_time:g}, {info.final_time:g}]"
                + ("" if process.start is not None else f" (the driver is observed to {last})"),
                *(("start",) if process.start is not None else ()),
            )
        if process.process == "log_ar1" and start_value is not None and not start_value > 0:
            raise where.error(
                f"a log_ar1 path starts from {origin}, {start_value:g}; it must be positive "
                "(use ar1 for a variable that can be 0 or negative)",
                "process",
            )
        low, high = info.limits(name)
        s_low, s_high = process.support()
        if low is not None and s_low < low:
            raise where.error(
                f"the path can reach {s_low:g}, below the Vensim limits [{_fmt(low)}, "
                f"{_fmt(high)}] of '{name}'; give 'min' (at least {low:g}) to clip it",
                "min",
            )
        if high is not None and s_high > high:
            raise where.error(
                f"the path can reach {s_high:g}, above the Vensim limits [{_fmt(low)}, "
                f"{_fmt(high)}] of '{name}'; give 'max' (at most {high:g}) to clip it",
                "max",
            )

    exogenous = set(scenario.exogenous())
    for constraint in scenario.constraints:
        for index, name in enumerate(constraint.sum):
            if name not in exogenous:
                continue
            message = (
                f"'{name}' is bound by constraint '{constraint.name}' (its members must add to "
                f"{constraint.equals:g}) but imposed as data or drawn as a path, which would "
                "break the sum; set it as a lever instead"
            )
            if name in scenario.paths and origins[("paths", name)].path == leaf.path:
                raise origins[("paths", name)].error(message)
            declared = origins.get(("drivers",))
            if drivers is not None and declared is not None and declared.path == leaf.path:
                position = drivers.variables.index(name) if name in drivers.variables else None
                if position is not None:
                    raise declared.error(message, "variables", position)
            raise origins[("constraints", constraint.name)].error(message, "sum", index)


def _latest(scenario: Scenario, declared: Sequence[_Where | None], leaf: _Where) -> _Where:
    """Of the declarations of settings that clash, the one in the file nearest the scenario
    (its own before its parent's; the first given on a tie); ``leaf`` if none was declared."""
    order = {path: rank for rank, path in enumerate(scenario.chain)}
    found = [where for where in declared if where is not None]
    return max(found, key=lambda where: order.get(where.path, -1), default=leaf)


def _check_settings(scenario: Scenario, origins: _Origins, leaf: _Where) -> None:
    settings = scenario.monte_carlo
    if settings.sampler == "sobol" and settings.draws & (settings.draws - 1):
        lower = 1 << (settings.draws.bit_length() - 1)
        where = _latest(
            scenario, [origins.get(("monte_carlo", key)) for key in ("draws", "sampler")], leaf
        )
        message = (
            f"the sobol sampler needs a power of two draws (scrambled Sobol points are balanced "
            f"only in blocks of 2^m); got {settings.draws}, use {lower} or {lower * 2}"
        )
        if where is leaf:
            raise leaf.error(message, "monte_carlo")
        raise where.error(message)
    if scenario.history is not None and not scenario.history.is_file():
        raise origins[("history",)].error(
            f"file not found: {scenario.history}; expected the observed-data CSV, relative to "
            "the scenario file"
        )
    if scenario.posterior is not None:
        _check_posterior(scenario.posterior, scenario, origins)


def _check_posterior(path: Path, scenario: Scenario, origins: _Origins) -> None:
    """The posterior file exists, reads, and was conditioned on this scenario's uncertainties."""
    from sim.scenario.posterior import PosteriorError, posterior_mismatch, read_posterior

    declared = origins[("posterior",)]
    if not path.is_file():
        raise declared.error(
            f"file not found: {path}; expected {POSTERIOR_EXPECTED}, relative to the scenario file"
        )
    try:
        sample = read_posterior(path)
    except PosteriorError as exc:
        raise declared.error(exc.message) from None
    problem = posterior_mismatch(
        sample, scenario.uncertainties, [*scenario.levers, *scenario.exogenous()]
    )
    if problem is not None:
        name, message = problem
        where = origins.get(("uncertainties", name), declared) if name else declared
        raise where.error(message)
