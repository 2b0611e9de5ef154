"""Reading input files: text with clear errors, YAML in bounded time (standard tags only, aliases
counted expanded), and the file line of any field for error messages."""

from __future__ import annotations

import errno
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import yaml

from sim.errors import InnosimError, ScenarioError
from sim.scenario.distributions import DISTRIBUTIONS, PROCESSES

if TYPE_CHECKING:
    pass


# --- reading files ------------------------------------------------------------------------


#: What a path whose symbolic links lead back to themselves is called in messages.
SYMLINK_LOOP = "symbolic link loop (the links lead back to themselves)"


def read_input_text(
    path: Path,
    expected: str = "a YAML scenario file",
    error: type[ScenarioError] = ScenarioError,
    encoding: str = "utf-8",
) -> str:
    """The text of a file a person wrote; an unreadable one raises ``error`` naming it."""
    try:
        return path.read_text(encoding=encoding)
    except FileNotFoundError:
        raise error(path, f"file not found; expected {expected}") from None
    except IsADirectoryError:
        raise error(path, f"is a directory; expected {expected}") from None
    except UnicodeDecodeError as exc:
        raise error(path, f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise error(path, f"{SYMLINK_LOOP}; expected {expected}") from None
        raise error(path, f"cannot be read: {exc.strerror or exc}") from None


def resolved_path(path: Path) -> Path | None:
    """``path`` made absolute with its symbolic links resolved; ``None`` if they form a loop.

    A path that does not exist (or cannot be examined) is returned resolved as far as it can
    be: whoever opens it reports that.
    """
    try:
        resolved = path.resolve()
    except RuntimeError:  # Python < 3.13: "Symlink loop from ..."
        return None
    except OSError as exc:
        return None if exc.errno == errno.ELOOP else path.absolute()
    try:
        resolved.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # Python >= 3.13 leaves a loop unresolved
            return None
    return resolved


# --- reading YAML with positions, in bounded time ------------------------------------------

#: Most nodes (mappings, lists, keys and values) a YAML file may expand to, each alias counted
#: at the size of what it repeats: bounds the time of every later walk (a "billion laughs"
#: file of nested aliases is refused while it is read). The baseline has about 1,900.
YAML_MAX_NODES = 100_000
#: Deepest nesting of mappings and lists (aliases counted expanded); the schema needs 6.
YAML_MAX_DEPTH = 50

_CORE = "tag:yaml.org,2002:"
#: Tags a file may write explicitly (``!!str 2025``); any other (``!!python/object``, ``!foo``,
#: ``!!binary``, ``!!set`` …) is refused. ``!`` (non-specific) is plain text.
_ALLOWED_TAGS = {_CORE + name for name in ("str", "int", "float", "bool", "null", "seq", "map")}
#: Implicit types each allowed scalar tag accepts (``!!float 2`` is a number, ``!!int abc`` is
#: not), and what it expects.
_TAG_ACCEPTS = {
    _CORE + "int": ({_CORE + "int"}, "a whole number"),
    _CORE + "float": ({_CORE + "int", _CORE + "float"}, "a number"),
    _CORE + "bool": ({_CORE + "bool"}, "true or false"),
    _CORE + "null": ({_CORE + "null"}, "null, ~ or nothing"),
}


def _is_number(text: str) -> bool:
    """Whether ``!!float`` can read ``text`` where YAML 1.1 has no implicit float (``1e3``)."""
    try:
        float(text.replace("_", ""))
    except ValueError:
        return False
    return True


def _tag_text(tag: str) -> str:
    return "!!" + tag.removeprefix(_CORE) if tag.startswith(_CORE) else tag


class _Refused(Exception):
    """A YAML construct ``_BoundedLoader`` does not read: message, 1-based line, field."""

    def __init__(self, message: str, line: int, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.field = field


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, checked while it composes the node tree: only standard tags;
    no recursive alias; at most ``YAML_MAX_NODES`` nodes and ``YAML_MAX_DEPTH`` levels once
    aliases are expanded (computed once per anchor, so the check is linear in the text).
    Dates and ``=`` stay text (the schema has no dates; PyYAML cannot construct ``=``)."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, Any]]]] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag in _ALLOWED_TAGS]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    } | {"<": yaml.SafeLoader.yaml_implicit_resolvers.get("<", [])}

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._nodes = 0
        self._trail: list[str | None] = []  # field path of the collections being composed
        self._open: list[str] = []  # anchors of the collections being composed
        self._extent: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded size, height)

    def _refuse(self, message: str, event: yaml.Event, part: str | None) -> _Refused:
        parts = [name for name in (*self._trail, part) if name is not None]
        if len(parts) > 8:  # a field nested too deeply: its start says where
            parts = [*parts[:8], "…"]
        return _Refused(message, event.start_mark.line + 1, ".".join(parts))

    def _measure(self, node: yaml.Node) -> tuple[int, int]:
        """Expanded size and height of a composed node (memoised: aliases share nodes)."""
        known = self._extent.get(id(node))
        if known is not None:
            return known
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        size, height = 1, 0
        for child in children:
            child_size, child_height = self._measure(child)
            size += child_size
            height = max(height, child_height + 1)
        self._extent[id(node)] = (size, height)
        return size, height

    def _count(self, size: int, event: yaml.Event, part: str | None, what: str) -> None:
        self._nodes += size
        if self._nodes > YAML_MAX_NODES:
            raise self._refuse(
                f"{what} makes the file more than {YAML_MAX_NODES:,} YAML nodes with its "
                "aliases expanded (nested aliases repeat their anchors exponentially: a "
                f"'billion laughs' file?); expected at most {YAML_MAX_NODES:,} (the baseline "
                "has about 1,900)",
                event,
                part,
            )

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        # the field part of this node: a mapping value's key, a list item's index
        if isinstance(index, yaml.ScalarNode):
            part: str | None = str(index.value)
        elif isinstance(index, int) and not isinstance(index, bool):
            part = str(index)
        else:
            part = None  # the root, or a mapping key
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open:
                raise self._refuse(
                    f"alias '*{event.anchor}' repeats a mapping or list that contains it (a "
                    "recursive alias); expected an alias to an anchor defined before, outside it",
                    event,
                    part,
                )
            target = self.anchors.get(event.anchor)
            if target is not None:
                size, height = self._measure(target)
                if len(self._trail) + height > YAML_MAX_DEPTH:
                    raise self._refuse(
                        f"alias '*{event.anchor}' nests the file more than {YAML_MAX_DEPTH} "
                        "levels deep once expanded; expected a scenario written out",
                        event,
                        part,
                    )
                self._count(size, event, part, f"alias '*{event.anchor}'")
            return super().compose_node(parent, index)
        tag = getattr(event, "tag", None)
        if tag is not None and tag != "!":
            if tag not in _ALLOWED_TAGS:
                raise self._refuse(
                    f"YAML tag '{_tag_text(tag)}' not allowed; expected plain YAML values "
                    "(mappings, lists, text, numbers, true/false, null) without tags other "
                    "than !!str, !!int, !!float, !!bool, !!null, !!seq and !!map",
                    event,
                    part,
                )
            if tag in _TAG_ACCEPTS and isinstance(event, yaml.ScalarEvent):
                accepts, expected = _TAG_ACCEPTS[tag]
                implicit = self.resolve(yaml.ScalarNode, event.value, (True, False))
                number = tag == _CORE + "float" and _is_number(event.value)
                if implicit not in accepts and not number:
                    raise self._refuse(
                        f"{event.value!r} is not a valid {_tag_text(tag)} value; expected "
                        f"{expected}",
                        event,
                        part,
                    )
        self._count(1, event, part, "this value")
        if not isinstance(event, yaml.CollectionStartEvent):
            return super().compose_node(parent, index)
        if len(self._trail) >= YAML_MAX_DEPTH:
            raise self._refuse(
                f"mappings and lists nested more than {YAML_MAX_DEPTH} levels deep; expected "
                "a scenario's few levels of sections and entries",
                event,
                part,
            )
        self._trail.append(part)
        if event.anchor is not None:
            self._open.append(event.anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._trail.pop()
            if event.anchor is not None:
                self._open.pop()


def _check_keys(path: Path, root: yaml.Node | None, error: type[ScenarioError]) -> None:
    """Every mapping key is a single value, given once (each shared node walked once)."""
    walked: set[int] = set()

    def walk(node: yaml.Node | None, trail: tuple[str, ...]) -> None:
        if node is None or id(node) in walked:
            return
        walked.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    raise error(
                        path,
                        "a key must be a single value (a name), not a mapping or a list",
                        field=".".join(trail),
                        line=key.start_mark.line + 1,
                    )
                field = ".".join((*trail, str(key.value)))
                if key.value in seen and key.tag != _CORE + "merge":
                    raise error(
                        path,
                        "duplicate key; each key may appear once",
                        field=field,
                        line=key.start_mark.line + 1,
                    )
                seen.add(key.value)
                walk(value, (*trail, str(key.value)))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*trail, str(index)))

    walk(root, ())


def read_yaml(
    path: Path, text: str, error: type[ScenarioError] = ScenarioError
) -> tuple[yaml.Node | None, Any]:
    """The node tree (with line numbers) and the data of a YAML text a person wrote.

    Read in time linear in the text: only standard tags (``!!python/object`` and the like are
    refused), no recursive alias, at most ``YAML_MAX_NODES`` nodes and ``YAML_MAX_DEPTH`` levels
    with aliases expanded, every key a single value given once. Dates stay text.

    Returns:
        ``(root node, data)``; ``(None, None)`` for an empty document.

    Raises:
        error: naming ``path``, the line, the field (when known) and what was expected.
    """
    loader = _BoundedLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None
        _check_keys(path, root, error)
        data = loader.construct_document(root)
    except InnosimError:
        raise
    except _Refused as exc:
        raise error(path, exc.message, field=exc.field, line=exc.line) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(part for part in (exc.context, exc.problem) if part)
        raise error(path, f"invalid YAML: {problem}", line=line) from None
    except yaml.YAMLError as exc:
        raise error(path, f"invalid YAML: {exc}") from None
    except (ValueError, TypeError, RecursionError) as exc:  # a value PyYAML cannot construct
        raise error(path, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    return root, data


def locate(root: yaml.Node | None, loc: Sequence[str | int]) -> tuple[str, int | None]:
    """Dotted field path and 1-based line of the YAML node at pydantic location ``loc``.

    Discriminator tags that pydantic inserts (``uniform`` in ``(…, 'X', 'uniform', 'max')``)
    are dropped; a missing key gives the line of its nearest parent.
    """
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    parts: list[str] = []
    tagged: yaml.Node | None = None  # the node whose discriminator tag was passed
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(node, yaml.MappingNode):
            if node is not tagged and _is_tag(node, part):
                tagged = node
                continue  # the discriminator tag of a distribution or a process
            match = next((pair for pair in node.value if pair[0].value == str(part)), None)
            if match is None:
                parts.append(str(part))
                node = None
                continue
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if 0 <= part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                node = None
        else:
            node = None
        parts.append(str(part))
    return ".".join(parts), line


def _is_tag(node: yaml.MappingNode, part: str | int) -> bool:
    """Whether ``part`` of a pydantic location is the discriminator tag of the distribution or
    process ``node`` (``beta`` in ``(…, 'X', 'beta', 'alpha')``, not its parameter ``beta``)."""
    if part not in DISTRIBUTIONS and part not in PROCESSES:
        return False
    key = "distribution" if part in DISTRIBUTIONS else "process"
    tags = [value.value for name, value in node.value if name.value == key]
    # without a matching ``distribution``/``process`` value, a part that is no key is the tag
    return tags == [part] or not any(pair[0].value == part for pair in node.value)


def percent_scalars(
    root: yaml.Node | None, loc: Sequence[str | int], keys: Sequence[str]
) -> list[tuple[str | int, ...]]:
    """The locations, below ``loc`` and under one of its ``keys``, of the values written as a
    percentage (``3%``, ``"3 %"``), e.g. ``[("value",), ("path", 2025)]``."""
    from sim.scenario.fields import is_percent

    node = root
    for part in loc:
        if not isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            return []
        if isinstance(node, yaml.MappingNode):
            node = next((value for key, value in node.value if key.value == str(part)), None)
        else:
            node = node.value[part] if isinstance(part, int) and part < len(node.value) else None
    if not isinstance(node, yaml.MappingNode):
        return []
    found: list[tuple[str | int, ...]] = []

    def walk(child: yaml.Node, trail: tuple[str | int, ...]) -> None:
        if isinstance(child, yaml.ScalarNode):
            if is_percent(child.value):
                found.append(trail)
        elif isinstance(child, yaml.MappingNode):
            for key, value in child.value:
                walk(value, (*trail, _key_part(key.value)))
        elif isinstance(child, yaml.SequenceNode):
            for index, item in enumerate(child.value):
                walk(item, (*trail, index))

    for key, value in node.value:
        if key.value in keys:
            walk(value, (key.value,))
    return found


def _key_part(text: str) -> str | int:
    """A mapping key as the schema holds it (a path's year is a whole number)."""
    return int(text) if text.lstrip("-").isdigit() else text


def node_line(root: yaml.Node | None, loc: Sequence[str | int]) -> int | None:
    """1-based line of the YAML node at ``loc`` (keys and indices), or of its nearest parent."""
    return locate(root, loc)[1]


@dataclass(frozen=True)
class _Where:
    """Where an entry was declared: file, its YAML tree, and the entry's location."""

    path: Path
    root: yaml.Node | None
    loc: tuple[str | int, ...]

    def error(self, message: str, *sub: str | int) -> ScenarioError:
        field, line = locate(self.root, (*self.loc, *sub))
        return ScenarioError(self.path, message, field=field, line=line)
