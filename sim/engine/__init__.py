"""The ensemble engine: a vectorised simulator generated from the model, for many draws.

``compile_model`` reads the model through PySD's abstract model (``sim.vensim.abstract_model``)
and ``simulate`` runs any number of draws at once with PySD's semantics (checked against PySD
by ``sim.engine.reference.compare_with_pysd``).
"""

from sim.engine.api import CompiledModel, SimulationResult, TimePath, compile_model, simulate
from sim.errors import EngineError

__all__ = [
    "CompiledModel",
    "EngineError",
    "SimulationResult",
    "TimePath",
    "compile_model",
    "simulate",
]
