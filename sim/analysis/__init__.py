"""Analysis of ensemble results (target probabilities, …); never imports the runner."""

from sim.analysis.probabilities import TARGET_COLUMNS, target_probabilities, target_table

__all__ = ["TARGET_COLUMNS", "target_probabilities", "target_table"]
