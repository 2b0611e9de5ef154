"""Scenario files (YAML): levers, uncertainties, constraints, targets and Monte Carlo settings.

A scenario file is a YAML mapping validated by the pydantic model ``ScenarioFile``; a file may
``extends:`` another one, and ``load_scenario`` returns the resolved ``Scenario`` (parents
merged, every name checked against the model). Every model forbids unknown keys, so a misspelt
key is an error, not a silent default. Errors are ``ScenarioError``s naming the file, the line,
the field path (``uncertainties.Fund Leverage Ratio.max``) and what was expected. Files are
read by ``read_yaml`` in time linear in their text: standard YAML tags only (no
``!!python/...``), aliases counted expanded and bounded (``YAML_MAX_NODES``), dates as text;
a path a file names (``extends``, ``history``, ``posterior``, ``drivers``) may not be a
symbolic link loop.

Sections (all optional in one file; the resolved scenario needs at least one target):

* ``title``, ``description``: ``{zh, en}`` texts of this file (not inherited).
* ``extends``: path of a parent scenario, relative to this file.
* ``levers``: ``{variable: {value: x, source}}`` sets a constant (or holds an auxiliary at x);
  ``{variable: {path: {year: x, ...}, source}}`` replaces a constant or auxiliary by linear
  interpolation over model time, held constant outside the points.
* ``uncertainties``: ``{constant: {distribution: <kind>, <parameters>, source | reasoning}}``,
  see ``DISTRIBUTIONS``; ``correlations``: ``[{between: [A, B], rank: r, source | reasoning}]``
  (Spearman rank correlations, imposed by ``sim.sampling``).
* ``constraints``: ``[{name, sum: [constants], equals, tolerance}]`` checked on the model
  defaults overridden by the levers; constrained constants may not be uncertain.
* ``targets``: the plan's targets (``Target``).
* ``monte_carlo``: ``{draws, seed, sampler}``; ``outputs``: extra variables to save;
  ``history``: observed-data CSV (relative to the file; ``sim.scenario.observed``).
* ``posterior``: a conditioned ensemble written by ``innosim calibrate`` (NetCDF, relative to
  the file; ``sim.scenario.posterior``): the uncertainties are then drawn by resampling its
  posterior sample instead of from their distributions, which must be those it was conditioned on.
* ``drivers``: ``{files: [observed-data CSVs], variables: [constants]}``: the constants' rows
  in those files are imposed as data, year by year (``sim.scenario.observed.driver_series``).
* ``paths``: ``{constant: {process: log_ar1 | ar1, persistence, volatility, ..., source |
  reasoning}}``: a yearly uncertain path per Monte Carlo draw, continuing a driver after its
  last observed year or starting from the constant's value in ``start`` (``ProcessBase``;
  built by ``sim.engine.ensemble.scenario_inputs``).
* ``discrepancy``: ``{variable | default: {relative: r, source | reasoning}}``: the model
  discrepancy of an observed variable, a share of the observed value (``Discrepancy``); the
  likelihood of ``sim.workflows.calibrate`` adds it in quadrature to each observation's measurement
  sd. ``default`` covers the variables not named.
* ``other_instruments``: ``{key: {label: {zh, en}, effect, constants, reason: {zh, en},
  source}}``: the plan's instruments that are not levers of the scenario, with the reason
  (``OtherInstrument``): carried by the model with an effect below the lever minimum
  (``negligible``, naming the constants that carry it), outside the model (``not_modelled``) or
  a national setting the city does not control (``national_setting``).

Inheritance: a child's lever, uncertainty, constraint or target replaces the parent's entry of
the same name; a lever in the child removes the parent's uncertainty of that name and vice
versa (inherited correlations of a removed uncertainty are dropped); correlations merge by
pair, ``monte_carlo`` by field, ``outputs`` add to the parent's; ``history`` and ``posterior``
are replaced; ``drivers`` is replaced as a whole, ``other_instruments`` and ``discrepancy``
merge by key, ``paths`` merge by name (a child's path removes the parent's lever or
uncertainty of that name and vice versa). A driver or a path is a
constant that is neither a lever nor an uncertainty.

Modules: ``fields`` (shared field types, bilingual texts), ``distributions`` (uncertainties'
distributions, paths' processes), ``schema`` (``ScenarioFile``, ``Scenario``, JSON Schema,
validation messages), ``yaml_reader`` (bounded YAML, line of a field), ``loading``
(``load_scenario``: ``extends`` resolved), ``checks`` (against the model), ``digest``
(``scenario_sha256``), ``observed`` (observed-data CSVs), ``posterior`` (``posterior.nc``
read back), ``levers`` (lever ranges and their checks). The names below are re-exported here.
"""

from sim.scenario.checks import (
    POSTERIOR_EXPECTED as POSTERIOR_EXPECTED,
)
from sim.scenario.digest import (
    canonical_content as canonical_content,
)
from sim.scenario.digest import (
    file_sha256 as file_sha256,
)
from sim.scenario.digest import (
    scenario_digest as scenario_digest,
)
from sim.scenario.distributions import (
    AR1 as AR1,
)
from sim.scenario.distributions import (
    DISTRIBUTIONS as DISTRIBUTIONS,
)
from sim.scenario.distributions import (
    PROCESSES as PROCESSES,
)
from sim.scenario.distributions import (
    Beta as Beta,
)
from sim.scenario.distributions import (
    Choice as Choice,
)
from sim.scenario.distributions import (
    Distribution as Distribution,
)
from sim.scenario.distributions import (
    DistributionBase as DistributionBase,
)
from sim.scenario.distributions import (
    LogAR1 as LogAR1,
)
from sim.scenario.distributions import (
    LogNormal as LogNormal,
)
from sim.scenario.distributions import (
    Normal as Normal,
)
from sim.scenario.distributions import (
    Persistence as Persistence,
)
from sim.scenario.distributions import (
    Pert as Pert,
)
from sim.scenario.distributions import (
    Process as Process,
)
from sim.scenario.distributions import (
    ProcessBase as ProcessBase,
)
from sim.scenario.distributions import (
    Triangular as Triangular,
)
from sim.scenario.distributions import (
    TruncNormal as TruncNormal,
)
from sim.scenario.distributions import (
    Uniform as Uniform,
)
from sim.scenario.distributions import (
    call_text as call_text,
)
from sim.scenario.fields import (
    Direction as Direction,
)
from sim.scenario.fields import (
    Explained as Explained,
)
from sim.scenario.fields import (
    Identifier as Identifier,
)
from sim.scenario.fields import (
    Language as Language,
)
from sim.scenario.fields import (
    Localized as Localized,
)
from sim.scenario.fields import (
    NonEmpty as NonEmpty,
)
from sim.scenario.fields import (
    Number as Number,
)
from sim.scenario.fields import (
    Positive as Positive,
)
from sim.scenario.fields import (
    Sampler as Sampler,
)
from sim.scenario.fields import (
    StrictModel as StrictModel,
)
from sim.scenario.fields import (
    Year as Year,
)
from sim.scenario.fields import (
    reject_bool as reject_bool,
)
from sim.scenario.loading import (
    check_variables as check_variables,
)
from sim.scenario.loading import (
    load_scenario as load_scenario,
)
from sim.scenario.loading import (
    load_targets as load_targets,
)
from sim.scenario.schema import (
    DEFAULT_DISCREPANCY as DEFAULT_DISCREPANCY,
)
from sim.scenario.schema import (
    Constraint as Constraint,
)
from sim.scenario.schema import (
    Correlation as Correlation,
)
from sim.scenario.schema import (
    Discrepancy as Discrepancy,
)
from sim.scenario.schema import (
    Drivers as Drivers,
)
from sim.scenario.schema import (
    DriverSet as DriverSet,
)
from sim.scenario.schema import (
    Lever as Lever,
)
from sim.scenario.schema import (
    MonteCarlo as MonteCarlo,
)
from sim.scenario.schema import (
    OtherInstrument as OtherInstrument,
)
from sim.scenario.schema import (
    Scenario as Scenario,
)
from sim.scenario.schema import (
    ScenarioFile as ScenarioFile,
)
from sim.scenario.schema import (
    Target as Target,
)
from sim.scenario.schema import (
    describe_error as describe_error,
)
from sim.scenario.schema import (
    scenario_schema as scenario_schema,
)
from sim.scenario.yaml_reader import (
    SYMLINK_LOOP as SYMLINK_LOOP,
)
from sim.scenario.yaml_reader import (
    YAML_MAX_DEPTH as YAML_MAX_DEPTH,
)
from sim.scenario.yaml_reader import (
    YAML_MAX_NODES as YAML_MAX_NODES,
)
from sim.scenario.yaml_reader import (
    locate as locate,
)
from sim.scenario.yaml_reader import (
    node_line as node_line,
)
from sim.scenario.yaml_reader import (
    read_input_text as read_input_text,
)
from sim.scenario.yaml_reader import (
    read_yaml as read_yaml,
)
from sim.scenario.yaml_reader import (
    resolved_path as resolved_path,
)
