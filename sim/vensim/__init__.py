"""The Vensim adapter: the only part of innosim that reads Vensim files and runs PySD.

``model`` (parse once per file content, one ``ModelVariable`` record per variable, the one name
normaliser ``variable_key``), ``catalogue`` (the model catalogue: variables, kinds, limits,
defaults), ``run`` (a PySD run), ``units`` (Vensim's units check), ``placement`` (where
type-defining functions may appear), ``sketch`` (the generated diagram) and
``variable_table`` (the table in ``model/README.md``).
"""

from sim.vensim.model import (
    CONTROL_VARIABLES,
    DEFAULT_MODEL_PATH,
    MODEL_ENV_VAR,
    VARIABLE_KINDS,
    ModelVariable,
    VariableKind,
    abstract_model,
    cache_root,
    clear_cache,
    default_model_path,
    documentation_problems,
    load_model,
    model_sha256,
    model_variables,
    pysd_deprecations_silenced,
    split_comment,
    stock_flows,
    translated_model_path,
    variable_key,
)
from sim.vensim.run import run_yearly

__all__ = [
    "CONTROL_VARIABLES",
    "ModelVariable",
    "DEFAULT_MODEL_PATH",
    "MODEL_ENV_VAR",
    "VARIABLE_KINDS",
    "VariableKind",
    "abstract_model",
    "cache_root",
    "clear_cache",
    "default_model_path",
    "documentation_problems",
    "load_model",
    "model_variables",
    "model_sha256",
    "pysd_deprecations_silenced",
    "run_yearly",
    "split_comment",
    "stock_flows",
    "translated_model_path",
    "variable_key",
]
