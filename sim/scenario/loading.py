"""Loading a scenario: one file read and schema-checked, ``extends`` resolved by merging parents,
names checked against the model (``sim.scenario.checks``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import (
    ValidationError,
)

from sim.errors import ScenarioError
from sim.scenario.checks import (
    POSTERIOR_EXPECTED,
    _check_constraints,
    _check_correlations,
    _check_exogenous,
    _check_model,
    _check_settings,
    _Origins,
)
from sim.scenario.schema import (
    DriverSet,
    MonteCarlo,
    Scenario,
    ScenarioFile,
    Target,
    _validation_error,
)
from sim.scenario.yaml_reader import (
    SYMLINK_LOOP,
    _Where,
    node_line,
    read_input_text,
    read_yaml,
    resolved_path,
)
from sim.vensim.catalogue import ModelInfo, model_info, unknown_name

if TYPE_CHECKING:
    pass


def _read_file(path: Path) -> tuple[ScenarioFile, yaml.Node]:
    """Parse and schema-check one file (no inheritance, no model)."""
    text = read_input_text(path)
    root, data = read_yaml(path, text)
    if root is None:
        raise ScenarioError(
            path, "empty file; expected a YAML mapping of scenario sections (targets, levers …)"
        )
    if not isinstance(root, yaml.MappingNode):
        kind = "a list" if isinstance(root, yaml.SequenceNode) else "a single value"
        raise ScenarioError(
            path,
            f"expected a YAML mapping of scenario sections (targets, levers …) at the top "
            f"level; got {kind}",
            line=root.start_mark.line + 1,
        )
    try:
        parsed = ScenarioFile.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(path, root, exc) from None
    here = _Where(path, root, ())
    for section, names in (
        ("targets", [t.name for t in parsed.targets]),
        ("constraints", [c.name for c in parsed.constraints]),
        ("outputs", list(parsed.outputs)),
        ("correlations", [" and ".join(sorted(c.pair)) for c in parsed.correlations]),
    ):
        seen: dict[str, int] = {}
        for index, name in enumerate(names):
            if name in seen:
                sub = (index, "name") if section in ("targets", "constraints") else (index,)
                raise here.error(
                    f"duplicate entry '{name}' (first at {section}.{seen[name]})", section, *sub
                )
            seen[name] = index
    for name in parsed.levers:
        if name in parsed.uncertainties:
            raise here.error(
                f"'{name}' is both a lever and an uncertainty in this file; "
                "a constant is either set (lever) or drawn (uncertainty)",
                "uncertainties",
                name,
            )
    for name in parsed.paths:
        for kind, entries in (("a lever", parsed.levers), ("an uncertainty", parsed.uncertainties)):
            if name in entries:
                raise here.error(
                    f"'{name}' is both a path and {kind} in this file; a constant is set "
                    "(lever), drawn once per draw (uncertainty) or drawn year by year (path)",
                    "paths",
                    name,
                )
    return parsed, root


def _input_file(path: Path, where: _Where, expected: str, *sub: str | int) -> Path:
    """The absolute path of a file a scenario names (``where``); a symbolic link loop is
    refused there (a missing file is reported by the checks that need it)."""
    resolved = resolved_path(path)
    if resolved is None:
        raise where.error(
            f"{path} is a {SYMLINK_LOOP}; expected {expected}, relative to the scenario file",
            *sub,
        )
    return resolved


def _merge(
    path: Path,
    root: yaml.Node,
    own: ScenarioFile,
    parent: Scenario | None,
    parent_origins: _Origins,
) -> tuple[dict[str, Any], _Origins]:
    """The merged fields of a scenario and where each entry was declared."""
    origins: _Origins = dict(parent_origins)
    levers = dict(parent.levers) if parent else {}
    uncertainties: dict[str, Any] = dict(parent.uncertainties) if parent else {}
    paths: dict[str, Any] = dict(parent.paths) if parent else {}
    for name in own.uncertainties:
        levers.pop(name, None)
    for name in own.levers:
        uncertainties.pop(name, None)
    for name in [*own.levers, *own.uncertainties]:
        paths.pop(name, None)
    for name, process in own.paths.items():
        levers.pop(name, None)
        uncertainties.pop(name, None)
        paths[name] = process
        origins[("paths", name)] = _Where(path, root, ("paths", name))
    for name, lever in own.levers.items():
        levers[name] = lever
        origins[("levers", name)] = _Where(path, root, ("levers", name))
    for name, dist in own.uncertainties.items():
        uncertainties[name] = dist
        origins[("uncertainties", name)] = _Where(path, root, ("uncertainties", name))

    correlations = {c.pair: c for c in (parent.correlations if parent else [])}
    correlations = {pair: c for pair, c in correlations.items() if pair <= uncertainties.keys()}
    for index, corr in enumerate(own.correlations):
        correlations[corr.pair] = corr
        origins[("correlations", corr.pair)] = _Where(path, root, ("correlations", index))

    constraints = {c.name: c for c in (parent.constraints if parent else [])}
    for index, constraint in enumerate(own.constraints):
        constraints[constraint.name] = constraint
        origins[("constraints", constraint.name)] = _Where(path, root, ("constraints", index))

    targets = {t.name: t for t in (parent.targets if parent else [])}
    for index, target in enumerate(own.targets):
        targets[target.name] = target
        origins[("targets", target.name)] = _Where(path, root, ("targets", index))

    settings = parent.monte_carlo.model_dump() if parent else MonteCarlo().model_dump()
    if own.monte_carlo is not None:
        for key in own.monte_carlo.model_fields_set:
            settings[key] = getattr(own.monte_carlo, key)
            origins[("monte_carlo", key)] = _Where(path, root, ("monte_carlo", key))

    outputs = list(parent.outputs) if parent else []
    for index, name in enumerate(own.outputs):
        if name not in outputs:
            outputs.append(name)
            origins[("outputs", name)] = _Where(path, root, ("outputs", index))

    history = parent.history if parent else None
    if own.history is not None:
        where = _Where(path, root, ("history",))
        history = _input_file(path.parent / own.history, where, "the observed-data CSV")
        origins[("history",)] = where

    posterior = parent.posterior if parent else None
    if own.posterior is not None:
        where = _Where(path, root, ("posterior",))
        posterior = _input_file(path.parent / own.posterior, where, POSTERIOR_EXPECTED)
        origins[("posterior",)] = where

    drivers = parent.drivers if parent else None
    if own.drivers is not None:
        files = _Where(path, root, ("drivers", "files"))
        drivers = DriverSet(
            files=tuple(
                _input_file(path.parent / name, files, "an observed-data CSV", index)
                for index, name in enumerate(own.drivers.files)
            ),
            variables=tuple(own.drivers.variables),
        )
        origins[("drivers",)] = _Where(path, root, ("drivers",))

    discrepancy = dict(parent.discrepancy) if parent else {}
    for name, entry in own.discrepancy.items():
        discrepancy[name] = entry
        origins[("discrepancy", name)] = _Where(path, root, ("discrepancy", name))

    instruments = dict(parent.other_instruments) if parent else {}
    for key, instrument in own.other_instruments.items():
        instruments[key] = instrument
        origins[("other_instruments", key)] = _Where(path, root, ("other_instruments", key))

    merged = {
        "title": own.title,
        "description": own.description,
        "levers": levers,
        "uncertainties": uncertainties,
        "correlations": list(correlations.values()),
        "constraints": list(constraints.values()),
        "targets": list(targets.values()),
        "monte_carlo": MonteCarlo(**settings),
        "outputs": outputs,
        "history": history,
        "posterior": posterior,
        "drivers": drivers,
        "paths": paths,
        "other_instruments": instruments,
        "discrepancy": discrepancy,
        "what_it_would_take": own.what_it_would_take
        or (parent.what_it_would_take if parent else None),
    }
    return merged, origins


def _resolve(
    path: Path, chain: tuple[Path, ...], info: ModelInfo | None
) -> tuple[Scenario, _Origins]:
    own, root = _read_file(path)
    leaf = _Where(path, root, ())
    parent: Scenario | None = None
    parent_origins: _Origins = {}
    if own.extends is not None:
        parent_path = path.parent / own.extends
        visited = (*chain, path.resolve())
        resolved = _input_file(parent_path, leaf, "another scenario file", "extends")
        if resolved in visited:
            cycle = [p.name for p in visited[visited.index(resolved) :]]
            raise leaf.error(
                f"extends cycle: {' → '.join([*cycle, parent_path.name])}; a scenario cannot "
                "extend itself through its parents",
                "extends",
            )
        if not parent_path.is_file():
            raise leaf.error(
                f"file not found: {parent_path}; expected another scenario file, relative to "
                "this one",
                "extends",
            )
        parent, parent_origins = _resolve(parent_path, visited, info)
    merged, origins = _merge(path, root, own, parent, parent_origins)
    if not merged["targets"]:
        raise leaf.error(
            "no targets: the scenario (with its parents) needs at least one entry in 'targets'",
            "targets",
        )
    scenario = Scenario(path=path, chain=(*(parent.chain if parent else ()), path), **merged)
    if info is not None:
        _check_model(scenario, origins, info)
    _check_correlations(scenario, origins, leaf)
    _check_constraints(scenario, origins, info, leaf)
    _check_settings(scenario, origins, leaf)
    _check_exogenous(scenario, origins, info, leaf)
    declared = origins.get(("history",))
    if scenario.history is not None and declared is not None and declared.path == path:
        from sim.scenario.observed import load_observed

        load_observed(scenario.history, info=info, check_model=info is not None)
    return scenario, origins


def load_scenario(
    path: str | Path, *, model: str | Path | None = None, check_model: bool = True
) -> Scenario:
    """Read a scenario file, merge its ``extends`` chain and check it (against the model).

    Args:
        path: scenario YAML file.
        model: Vensim model to check names, kinds, limits and years against (default: the
            project's model).
        check_model: ``False`` skips the model checks (schema, inheritance and the checks
            that need no model still run).

    Raises:
        ScenarioError: naming the file, the line, the field path and what was expected.
        ModelError: the model needed for the checks cannot be read.
    """
    info = model_info(model) if check_model else None
    scenario, _ = _resolve(Path(path), (), info)
    return scenario


def check_variables(
    path: str | Path,
    targets: Sequence[Target],
    variables: Iterable[str],
    root: yaml.Node | None = None,
) -> None:
    """Raise ``ScenarioError`` if a target names a variable that is not in ``variables``."""
    known = list(variables)
    for index, target in enumerate(targets):
        if target.variable not in known:
            raise ScenarioError(
                path,
                unknown_name(target.variable, known, what="a variable of the model"),
                field=f"targets.{index}.variable",
                line=node_line(root, ("targets", index, "variable")),
            )


def load_targets(
    path: str | Path,
    *,
    variables: Iterable[str] | None = None,
    model: str | Path | None = None,
) -> list[Target]:
    """The targets of a scenario file (``extends`` resolved), checked against the model.

    Args:
        path: scenario YAML file.
        variables: names of the model's variables; if given, only the targets' variable
            names are checked against them (no model is read).
        model: Vensim model file (default: the project's model) for the full check
            (``load_scenario``) when ``variables`` is not given.

    Raises:
        ScenarioError: unreadable file, bad YAML, schema violation or unknown variable.
        ModelError: the model needed for the check cannot be read.
    """
    if variables is None:
        return list(load_scenario(path, model=model).targets)
    path = Path(path)
    scenario = load_scenario(path, check_model=False)
    _, root = _read_file(path)
    check_variables(path, scenario.targets, variables, root)
    return list(scenario.targets)
