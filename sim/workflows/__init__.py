"""Workflows: one module per ``innosim`` command, the orchestration of its steps.

Each workflow loads and validates its inputs (``sim.scenario``), samples and simulates
(``sim.engine``), analyses (``sim.analysis``) and writes its outputs (``sim.report``); it parses
no flags and prints nothing (that is ``sim.cli``), so a notebook calls it as it is.
"""
