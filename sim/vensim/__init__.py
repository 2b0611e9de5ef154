"""The Vensim adapter: the only part of innosim that knows about Vensim files and PySD."""

from sim.vensim.model import (
    CONTROL_VARIABLES,
    DEFAULT_MODEL_PATH,
    MODEL_ENV_VAR,
    VARIABLE_KINDS,
    VariableDoc,
    VariableKind,
    cache_root,
    clear_cache,
    default_model_path,
    documentation_problems,
    load_model,
    model_documentation,
    pysd_deprecations_silenced,
    split_comment,
    stock_flows,
    translated_model_path,
)
from sim.vensim.run import run_yearly

__all__ = [
    "CONTROL_VARIABLES",
    "DEFAULT_MODEL_PATH",
    "MODEL_ENV_VAR",
    "VARIABLE_KINDS",
    "VariableDoc",
    "VariableKind",
    "cache_root",
    "clear_cache",
    "default_model_path",
    "documentation_problems",
    "load_model",
    "model_documentation",
    "pysd_deprecations_silenced",
    "run_yearly",
    "split_comment",
    "stock_flows",
    "translated_model_path",
]
