"""Loading a Vensim model with PySD and reading the documentation written into it.

Conventions of the project's ``.mdl`` files (see ``model/README.md``):

* Every variable's comment reads ``<meaning> zh: <Chinese label> Source: <source>``
  (Vensim line breaks inside the comment are collapsed to single spaces by PySD).
  The control variables (INITIAL TIME, FINAL TIME, TIME STEP, SAVEPER) are exempt.
* Variables are declared under Vensim groups (``.Economy``, ``.Enterprises`` ...); the group
  is reported as the variable's *sector*.
* Units are written as Vensim unit strings: ``Year``, ``Dmnl``, ``CNY100M`` (亿元, 1e8 yuan),
  ``CNY10K`` (万元), ``Firm``, ``Patent``, ``Contract``, ``Centre``, ``Lab``, ``Platform``,
  ``Person``, ``Carrier`` and composites such as ``CNY100M/Year``, ``1/Year``, ``Firm/Year``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import os
import pickle
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from sim.atomic import atomic_write_bytes
from sim.errors import ModelError
from sim.paths import HOME_ENV_VAR, MODEL_DIR

if TYPE_CHECKING:
    from pysd.py_backend.model import Model

#: Model file used when no path is given: in the resource root's ``model/`` (``sim.paths``:
#: ``$INNOSIM_HOME``, the checkout or the packaged copy), overridden by ``$INNOSIM_MODEL``.
DEFAULT_MODEL_PATH: Path = MODEL_DIR / "innovation_ecosystem.mdl"

#: Environment variable naming another model file to use by default.
MODEL_ENV_VAR = "INNOSIM_MODEL"

VariableKind = Literal["stock", "flow", "auxiliary", "constant", "lookup", "control"]

#: Kinds of variable, in the order tables list them.
VARIABLE_KINDS: tuple[VariableKind, ...] = (
    "stock",
    "flow",
    "auxiliary",
    "constant",
    "lookup",
    "control",
)

#: Vensim's simulation control variables, exempt from the comment convention.
CONTROL_VARIABLES = ("INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER")


def default_model_path() -> Path:
    """Model file to use when none is given: ``$INNOSIM_MODEL`` or ``DEFAULT_MODEL_PATH``."""
    override = os.environ.get(MODEL_ENV_VAR)
    return Path(override) if override else DEFAULT_MODEL_PATH


def _resolve(path: str | os.PathLike[str] | None) -> Path:
    model_path = default_model_path() if path is None else Path(path)
    if not model_path.is_file():
        hint = ""
        if path is None:
            hint = (
                f" (the default model; set {MODEL_ENV_VAR} to a .mdl file, or {HOME_ENV_VAR} to"
                " a directory holding model/, scenarios/ and data/)"
            )
        raise ModelError(f"Vensim model file not found: {model_path}{hint}")
    if model_path.suffix.lower() != ".mdl":
        raise ModelError(f"not a Vensim model (expected a .mdl file): {model_path}")
    return model_path


def cache_root() -> Path:
    """Directory for translated models: ``$XDG_CACHE_HOME/innosim`` or ``~/.cache/innosim``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "innosim"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pysd_version() -> str:
    import pysd

    return str(pysd.__version__)


def translated_model_path(path: str | os.PathLike[str] | None = None) -> Path:
    """Path of the PySD translation of a model in the cache (it may not exist yet).

    The cache entry is keyed by the sha256 of the ``.mdl`` file and the PySD version, so an
    edited model or a new PySD is translated afresh.
    """
    model_path = _resolve(path)
    key = f"{model_path.stem}-{_sha256(model_path)[:20]}-pysd{_pysd_version()}"
    return cache_root() / "models" / key / f"{model_path.stem}.py"


@contextlib.contextmanager
def pysd_deprecations_silenced() -> Iterator[None]:
    """Ignore deprecation warnings that PySD's own code triggers in newer pandas/numpy.

    They concern PySD's calls (e.g. ``set_index(inplace=True)``), which we cannot change;
    warnings attributed to any other module are left alone.
    """
    with warnings.catch_warnings():
        for category in (DeprecationWarning, FutureWarning):
            warnings.filterwarnings("ignore", category=category, module=r"pysd(\.|$)")
        yield


def _parse_errors() -> tuple[type[BaseException], ...]:
    from parsimonious.exceptions import ParsimoniousError

    return (ParsimoniousError, ValueError, KeyError, IndexError, TypeError, AttributeError)


def _translate(model_path: Path, target: Path) -> None:
    """Translate ``model_path`` with PySD into ``target`` (a ``.py`` file) atomically.

    PySD writes its translation next to the ``.mdl``; we therefore copy the ``.mdl`` into a
    fresh temporary directory of the cache, translate there and rename the whole directory
    into place. A concurrent run that wins the race keeps its result; an aborted run leaves
    only an unused temporary directory.
    """
    from pysd.builders.python.python_model_builder import ModelBuilder

    final_dir = target.parent
    final_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(
        tempfile.mkdtemp(dir=final_dir.parent, prefix=f".{final_dir.name}.", suffix=".tmp")
    )
    try:
        staged_mdl = stage / model_path.name
        shutil.copyfile(model_path, staged_mdl)
        abstract = _abstract_model(staged_mdl, shown_path=model_path)
        try:
            built = Path(ModelBuilder(abstract).build_model())
        except _parse_errors() as exc:
            raise ModelError(f"PySD cannot translate Vensim model {model_path}: {exc}") from exc
        if built.resolve() != (stage / target.name).resolve():
            raise ModelError(f"PySD wrote its translation to an unexpected place: {built}")
        try:
            os.rename(stage, final_dir)
        except OSError:
            if not target.is_file():
                raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def load_model(path: str | os.PathLike[str] | None = None) -> Model:
    """Load a Vensim model as a fresh, initialised PySD ``Model``.

    The translation is cached (see ``translated_model_path``); nothing is ever written next to
    the ``.mdl`` file. Raises ``ModelError`` naming the file if it is missing or unparseable.
    """
    import pysd

    model_path = _resolve(path)
    target = translated_model_path(model_path)
    if not target.is_file():
        # Check that PySD parses the whole file (it silently drops what follows a stray '|').
        _parsed(model_path)
        _translate(model_path, target)
    try:
        with pysd_deprecations_silenced():
            model = pysd.load(str(target))
    except _parse_errors() + (SyntaxError, ImportError, OSError) as exc:
        raise ModelError(f"PySD cannot load the translation of {model_path}: {exc}") from exc
    model.mdl_file = str(model_path)
    return model


# --- documentation -------------------------------------------------------------------------

_GROUP_RE = re.compile(r"^\*+\s*\.(?P<name>[^*~]+?)\s*\*+\s*~", re.DOTALL)
_NAME_RE = re.compile(r'^\s*(?P<name>"(?:[^"\\]|\\.)*"|[^=(\[:~"]+)')
_ZH_RE = re.compile(r"(?<![A-Za-z])zh:")
_SOURCE_RE = re.compile(r"(?<![A-Za-z])Source:")


def variable_key(name: str) -> str:
    """The one normal form of a Vensim name: case-, whitespace- and underscore-insensitive,
    quotes dropped (``"High  tech_Enterprises"`` → ``high_tech_enterprises``), as PySD writes
    references; every comparison of model names goes through it."""
    return re.sub(r"[\s_]+", "_", name.strip().strip('"').strip().lower())


def _equation_entries(text: str) -> list[str]:
    """Split the equation part of a ``.mdl`` text into its ``|``-terminated entries."""
    text = text.split("\\\\\\---///", 1)[0]
    text = re.sub(r"\\\s*\n", " ", text)
    text = re.sub(r"^\s*\{[^}]*\}", "", text)
    return [entry.strip() for entry in text.split("|") if entry.strip()]


def _sectors(model_path: Path) -> tuple[dict[str, str], list[str]]:
    """Map each variable key to its Vensim group; also return the names in file order."""
    try:
        text = model_path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ModelError(f"Vensim model is not UTF-8 text: {model_path}: {exc}") from exc
    sectors: dict[str, str] = {}
    names: list[str] = []
    group = ""
    for entry in _equation_entries(text):
        match = _GROUP_RE.match(entry)
        if match:
            group = " ".join(match.group("name").split())
            continue
        if entry.startswith(":MACRO:") or entry.startswith(":END OF MACRO:"):
            continue
        name_match = _NAME_RE.match(entry.split("~", 1)[0])
        if not name_match or not name_match.group("name").strip():
            continue
        name = " ".join(name_match.group("name").split())
        sectors.setdefault(variable_key(name), group)
        names.append(name)
    return sectors, names


def split_comment(comment: str) -> tuple[str, str, str]:
    """Split a comment ``<meaning> zh: <label> Source: <source>`` into its three parts.

    Missing parts are returned as ``""``. The markers are case-sensitive and may appear in
    either order after the meaning.
    """
    text = " ".join(comment.split())
    markers = []
    for kind, regex in (("zh", _ZH_RE), ("source", _SOURCE_RE)):
        found = regex.search(text)
        if found:
            markers.append((found.start(), found.end(), kind))
    markers.sort()
    parts = {"zh": "", "source": ""}
    meaning_end = markers[0][0] if markers else len(text)
    for index, (_, end, kind) in enumerate(markers):
        stop = markers[index + 1][0] if index + 1 < len(markers) else len(text)
        parts[kind] = text[end:stop].strip()
    return text[:meaning_end].strip(), parts["zh"], parts["source"]


def _abstract_model(model_path: Path, shown_path: Path | None = None) -> Any:
    """Parse a ``.mdl`` with PySD's own parser into its AbstractModel."""
    from pysd.translators.vensim.vensim_file import VensimFile

    shown = shown_path or model_path
    try:
        vensim_file = VensimFile(model_path)
        vensim_file.parse()
        return vensim_file.get_abstract_model()
    except _parse_errors() as exc:
        raise ModelError(f"cannot parse Vensim model {shown}: {exc}") from exc


def abstract_model(path: str | os.PathLike[str] | None = None) -> Any:
    """PySD's format-neutral ``AbstractModel`` of a Vensim file (parsed, not translated).

    This is the hand-off PySD documents for building a model in another form (the ensemble
    engine, ``sim.engine``, generates its simulator from it). Parsing takes about a second, so
    the result is cached, in memory and as a pickle in ``cache_root()/parsed`` keyed by the
    file's sha256 and the PySD version; treat it as read-only. Raises ``ModelError`` if the
    file is missing or cannot be parsed.
    """
    model_path = _resolve(path)
    return _cached_abstract_model(str(model_path.resolve()), _sha256(model_path))


@functools.lru_cache(maxsize=8)
def _cached_abstract_model(path: str, sha256: str) -> Any:
    from importlib import metadata

    model_path = Path(path)
    key = f"{model_path.stem}-{sha256[:20]}-pysd{metadata.version('pysd')}.pickle"
    cached = cache_root() / "parsed" / key
    try:
        return pickle.loads(cached.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        pass  # not cached yet, or unreadable: parse again
    abstract = _abstract_model(model_path)
    with contextlib.suppress(OSError):  # a read-only cache only costs time
        atomic_write_bytes(cached, pickle.dumps(abstract))
    return abstract


def model_sha256(path: str | os.PathLike[str] | None = None) -> str:
    """Hex sha256 of a model file's bytes (the key of every cache derived from it)."""
    return _sha256(_resolve(path))


def _signed_terms(ast: Any, sign: int = 1) -> list[tuple[str, int]]:
    """Variables referenced as additive terms of an expression, with their signs.

    ``a - b + c`` gives ``[(a, 1), (b, -1), (c, 1)]`` (names as keys); terms that are not
    plain references (``a*b``, ``MAX(a, 0)``, numbers) are left out.
    """
    from pysd.translators.structures import abstract_expressions as ae

    if isinstance(ast, ae.ReferenceStructure):
        return [(variable_key(ast.reference), sign)]
    if not isinstance(ast, ae.ArithmeticStructure):
        return []
    if ast.operators == ["negative"]:
        return _signed_terms(ast.arguments[0], -sign)
    if not set(ast.operators) <= {"+", "-"}:
        return []
    terms = _signed_terms(ast.arguments[0], sign)
    for operator, argument in zip(ast.operators, ast.arguments[1:], strict=True):
        terms += _signed_terms(argument, -sign if operator == "-" else sign)
    return terms


def _additive_terms(ast: Any) -> list[Any]:
    """The additive terms of an expression (``a - b*c + 2`` gives ``[a, b*c, 2]``)."""
    from pysd.translators.structures import abstract_expressions as ae

    if not isinstance(ast, ae.ArithmeticStructure):
        return [ast]
    if ast.operators == ["negative"]:
        return _additive_terms(ast.arguments[0])
    if not set(ast.operators) <= {"+", "-"}:
        return [ast]
    return [term for argument in ast.arguments for term in _additive_terms(argument)]


def _is_constant(ast: Any) -> bool:
    from pysd.translators.structures import abstract_expressions as ae

    if isinstance(ast, int | float | np.number | np.ndarray):
        return True
    if isinstance(ast, ae.ArithmeticStructure):
        return all(_is_constant(argument) for argument in ast.arguments)
    return False


def _kind(element: Any, flows: set[str]) -> VariableKind:
    from pysd.translators.structures import abstract_expressions as ae
    from pysd.translators.structures import abstract_model as am

    components = element.components
    if isinstance(element, am.AbstractControlElement):
        return "control"
    if any(isinstance(c, am.AbstractLookup) or c.type == "Lookup" for c in components):
        return "lookup"
    if any(isinstance(c.ast, ae.IntegStructure) for c in components):
        return "stock"
    if variable_key(element.name) in flows:
        return "flow"
    if components and all(
        isinstance(c, am.AbstractUnchangeableConstant) or _is_constant(c.ast) for c in components
    ):
        return "constant"
    return "auxiliary"


def _limits(raw: Any) -> tuple[float | None, float | None]:
    if not raw:
        return (None, None)
    values = [None if value is None else float(value) for value in tuple(raw)[:2]]
    values += [None] * (2 - len(values))
    return (values[0], values[1])


@dataclass(frozen=True)
class ModelVariable:
    """One model variable as the ``.mdl`` file declares it: structure and documentation.

    Attributes:
        name: Vensim name as written (runs of spaces collapsed; e.g. ``High Tech Enterprises``).
        key: ``variable_key(name)``, the case-, space- and underscore-insensitive form PySD
            uses in references.
        sector: the Vensim group it is declared under (``""`` if none).
        kind: stock, flow, auxiliary, constant, lookup or control.
        references: keys of the variables its equation refers to (for a stock: its initial
            value and any rate term that is not a flow), in order of first appearance.
        inflows: for a stock, keys of the flows added to it.
        outflows: for a stock, keys of the flows subtracted from it.
        py_name: identifier PySD uses for it in the translated model.
        units: Vensim unit string as written (e.g. ``Firm/Year``); ``""`` if none.
        limits: (min, max) range declared after the units; ``None`` where open.
        meaning: English description (comment text before ``zh:``).
        label_zh: Chinese label (after ``zh:``).
        source: where the value or structure comes from (after ``Source:``).
    """

    name: str
    key: str
    sector: str
    kind: VariableKind
    references: tuple[str, ...] = ()
    inflows: tuple[str, ...] = ()
    outflows: tuple[str, ...] = ()
    py_name: str = ""
    units: str = ""
    limits: tuple[float | None, float | None] = (None, None)
    meaning: str = ""
    label_zh: str = ""
    source: str = ""


#: Key of the model's time, a valid reference in every model.
TIME_KEY = "time"


def _references(node: Any, found: dict[str, None]) -> None:
    """Collect the keys of every variable referenced in an expression, in order."""
    from pysd.translators.structures import abstract_expressions as ae

    if isinstance(node, ae.ReferenceStructure):
        found.setdefault(node.reference, None)
        if node.subscripts is not None:
            _references(node.subscripts, found)
    elif dataclasses.is_dataclass(node) and not isinstance(node, type):
        for item in dataclasses.fields(node):
            _references(getattr(node, item.name), found)
    elif isinstance(node, list | tuple):
        for item in node:
            _references(item, found)


def _structure(element: Any, kind: VariableKind, sector: str, keys: set[str]) -> ModelVariable:
    from pysd.translators.structures import abstract_expressions as ae

    key = variable_key(element.name)
    found: dict[str, None] = {}
    inflows: dict[str, None] = {}
    outflows: dict[str, None] = {}
    for component in element.components:
        ast = component.ast
        if not isinstance(ast, ae.IntegStructure):
            _references(ast, found)
            continue
        _references(ast.initial, found)
        flows = _signed_terms(ast.flow)
        for flow, sign in flows:
            (inflows if sign > 0 else outflows).setdefault(flow, None)
        for term in _additive_terms(ast.flow):
            if not isinstance(term, ae.ReferenceStructure):
                _references(term, found)
    references = tuple(ref for ref in found if ref != key and (ref in keys or ref == TIME_KEY))
    return ModelVariable(
        name=" ".join(element.name.split()),
        key=key,
        sector=sector,
        kind=kind,
        references=references,
        inflows=tuple(inflows),
        outflows=tuple(outflows),
    )


@dataclass(frozen=True)
class _Parsed:
    variables: tuple[ModelVariable, ...]
    stock_flows: tuple[tuple[str, tuple[tuple[str, int], ...]], ...]


@functools.lru_cache(maxsize=8)
def _parse(path: str, sha256: str) -> _Parsed:
    """Documentation and stock-flow structure of a model file (cached by content)."""
    from pysd.builders.python.namespace import NamespaceManager
    from pysd.translators.structures import abstract_expressions as ae

    del sha256  # part of the cache key only
    model_path = Path(path)
    sectors, declared = _sectors(model_path)
    abstract = abstract_model(model_path)
    elements = list(abstract.sections[0].elements)

    names = {variable_key(element.name): element.name for element in elements}
    lost = [name for name in declared if variable_key(name) not in names]
    if lost:
        raise ModelError(
            f"PySD stopped parsing {model_path} before variable '{lost[0]}' "
            "(a '|' or '~' inside a comment or equation ends a Vensim entry early)"
        )

    stock_flows = []
    for element in elements:
        terms: list[tuple[str, int]] = []
        integs = [c.ast for c in element.components if isinstance(c.ast, ae.IntegStructure)]
        for integ in integs:
            terms += [(names.get(key, key), sign) for key, sign in _signed_terms(integ.flow)]
        if integs:
            stock_flows.append((element.name, tuple(terms)))
    flows = {variable_key(name) for _, terms in stock_flows for name, _ in terms}

    namespace = NamespaceManager()
    keys = set(names)
    variables = []
    for element in elements:
        namespace.add_to_namespace(element.name)
        meaning, label_zh, source = split_comment(element.documentation or "")
        kind = _kind(element, flows)
        sector = sectors.get(variable_key(element.name), "")
        variables.append(
            dataclasses.replace(
                _structure(element, kind, sector, keys),
                py_name=namespace.namespace[element.name],
                units=element.units or "",
                limits=_limits(element.limits),
                meaning=meaning,
                label_zh=label_zh,
                source=source,
            )
        )
    return _Parsed(variables=tuple(variables), stock_flows=tuple(stock_flows))


def _parsed(path: str | os.PathLike[str] | None) -> _Parsed:
    model_path = _resolve(path).resolve()
    return _parse(str(model_path), _sha256(model_path))


def model_variables(path: str | os.PathLike[str] | None = None) -> list[ModelVariable]:
    """Every variable of a Vensim model (structure and documentation), in the order of the
    file; parsed once per file content and cached.

    Raises ``ModelError`` if the file is missing or cannot be parsed completely.
    """
    return list(_parsed(path).variables)


def stock_flows(path: str | os.PathLike[str] | None = None) -> dict[str, list[tuple[str, int]]]:
    """The flows of every stock: ``{stock: [(flow, +1 or -1), ...]}`` (Vensim names).

    Flows are the variables referenced as additive terms of the stock's INTEG rate, with
    sign +1 for inflows and -1 for outflows. A rate term that is not a plain variable
    (``a*b``, a number, a function call) is not listed, so such a stock has fewer (or no)
    named flows. Raises ``ModelError`` like ``model_variables``.
    """
    return {stock: list(terms) for stock, terms in _parsed(path).stock_flows}


def documentation_problems(docs: list[ModelVariable]) -> list[str]:
    """Breaches of the comment and grouping conventions, one readable line each."""
    problems = []
    for doc in docs:
        if doc.kind == "control":
            continue
        missing = [
            label
            for label, value in (
                ("meaning", doc.meaning),
                ("zh: label", doc.label_zh),
                ("Source:", doc.source),
                ("units", doc.units),
                ("group (sector)", doc.sector),
            )
            if not value
        ]
        if missing:
            problems.append(f"{doc.name}: missing {', '.join(missing)}")
    return problems


def clear_cache() -> None:
    """Forget parsed models held in memory (the on-disk caches stay)."""
    _parse.cache_clear()
    _cached_abstract_model.cache_clear()
