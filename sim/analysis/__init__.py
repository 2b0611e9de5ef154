"""Pure algorithms on ensemble results, named after what they compute; they take arrays and
callables and never import the runner (a caller passes a function that simulates).

``probabilities`` (target probabilities, Wilson intervals, the NaN/inf check),
``paired_difference`` (scenarios on common random numbers, Newcombe intervals),
``threshold_search`` (the least lever value reaching a probability, weighted or not, and budget
splits), ``lever_effects`` (targets at the ends of a lever's range), ``plan_tracking`` (the
plan's path and a target's status), ``importance_weighting`` (likelihood weights, ESS,
weighted quantiles), ``smc`` (sequential Monte Carlo through observed years),
``forecast_scores`` (PIT, coverage, CRPS), ``sensitivity_indices`` (SALib designs and
estimators), ``prim_boxes`` (scenario discovery with PRIM).
"""

from sim.analysis.probabilities import TARGET_COLUMNS, target_probabilities, target_table

__all__ = ["TARGET_COLUMNS", "target_probabilities", "target_table"]
