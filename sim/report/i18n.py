"""The words of innosim's reports, charts and console in Chinese and English.

One catalogue, the YAML files of ``translations/`` in this package, read together: each file
holds sections (a page or a module, e.g. ``run_report``, ``policy``; usually one, named as the
file), then keys, each entry ``{zh: …, en: …}``. It is read once, on first use, and checked
(``check_catalogue``): every entry has both languages, as non-empty text with the same
``{placeholders}`` (the texts are ``str.format`` strings); no section is given in two files.
A long text continues on the next lines (a line break is one space, or nothing after a
backslash). ``text(lang,
section)`` gives a section's texts in one language; ``translations(section)`` the section in
both, indexed by language (``translations("policy")["en"]["all"]``).
"""

from __future__ import annotations

import functools
import string
from collections.abc import Iterator, Mapping
from importlib import resources
from types import MappingProxyType
from typing import Any, get_args

import yaml

from sim.errors import InnosimError
from sim.scenario import Language

#: The languages of every entry, in the catalogue's order.
LANGUAGES: tuple[str, ...] = get_args(Language)
#: The catalogue's folder in the ``sim.report`` package: one or more sections per YAML file.
CATALOGUE_DIR = "translations"


class CatalogueError(InnosimError, ValueError):
    """The translation catalogue is malformed (the message names the section and key)."""


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML's safe loader that refuses a key given twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise CatalogueError(f"{key_node.start_mark.name}:{line}: key {key!r} given twice")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _placeholders(text: str) -> set[str]:
    """The field names of a format string (``{year}``, ``{share:.1%}`` → year, share)."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def check_catalogue(
    raw: object, source: str = CATALOGUE_DIR
) -> dict[str, dict[str, dict[str, str]]]:
    """The catalogue as ``{section: {language: {key: text}}}``; ``CatalogueError`` naming the
    section and key when an entry lacks a language, has another key than ``zh``/``en``, a
    text that is not a non-empty string, or placeholders that differ between languages."""
    if not isinstance(raw, Mapping) or not raw:
        raise CatalogueError(f"{source}: expected sections (a mapping), got {raw!r:.60}")
    checked: dict[str, dict[str, dict[str, str]]] = {}
    for section, entries in raw.items():
        if not isinstance(section, str) or not isinstance(entries, Mapping) or not entries:
            raise CatalogueError(f"{source}: section {section!r}: expected keys with texts")
        by_language: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
        for key, entry in entries.items():
            where = f"{source}: {section}.{key}"
            if not isinstance(key, str):
                raise CatalogueError(f"{where}: the key must be text (quote it)")
            if not isinstance(entry, Mapping):
                raise CatalogueError(f"{where}: expected {{zh: ..., en: ...}}, got {entry!r:.60}")
            missing = [lang for lang in LANGUAGES if lang not in entry]
            extra = [str(lang) for lang in entry if lang not in LANGUAGES]
            if missing or extra:
                problem = f"no {', '.join(missing)} text" if missing else ""
                if extra:
                    problem += ("; " if problem else "") + f"unknown language {', '.join(extra)}"
                raise CatalogueError(f"{where}: {problem} (every entry has zh and en)")
            for lang in LANGUAGES:
                if not isinstance(entry[lang], str) or not entry[lang]:
                    raise CatalogueError(f"{where}.{lang}: expected a non-empty text")
                by_language[lang][key] = entry[lang]
            fields = {lang: _placeholders(entry[lang]) for lang in LANGUAGES}
            if len({frozenset(names) for names in fields.values()}) > 1:
                shown = "; ".join(f"{lang}: {sorted(fields[lang])}" for lang in LANGUAGES)
                raise CatalogueError(f"{where}: the languages' placeholders differ ({shown})")
        checked[section] = by_language
    return checked


@functools.cache
def catalogue() -> Mapping[str, Mapping[str, Mapping[str, str]]]:
    """The checked catalogue, read once: ``{section: {language: {key: text}}}`` (read-only)."""
    folder = resources.files("sim.report").joinpath(CATALOGUE_DIR)
    checked: dict[str, dict[str, dict[str, str]]] = {}
    where: dict[str, str] = {}
    for source in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if not source.name.endswith(".yaml"):
            continue
        name = f"{CATALOGUE_DIR}/{source.name}"
        loader = _UniqueKeyLoader(source.read_text(encoding="utf-8"))
        loader.name = name
        try:
            raw = loader.get_single_data()
        finally:
            loader.dispose()
        for section, by_language in check_catalogue(raw, name).items():
            if section in checked:
                also = where[section]
                raise CatalogueError(f"{name}: section {section!r} is also given in {also}")
            checked[section], where[section] = by_language, name
    return MappingProxyType(
        {
            section: MappingProxyType(
                {lang: MappingProxyType(texts) for lang, texts in by_language.items()}
            )
            for section, by_language in checked.items()
        }
    )


def text(lang: Language, section: str) -> Mapping[str, str]:
    """The texts of ``section`` in ``lang``: ``{key: text}``. ``KeyError`` naming an unknown
    section or language."""
    sections = catalogue()
    if section not in sections:
        raise KeyError(f"no section {section!r} in {CATALOGUE_DIR}/; it has {', '.join(sections)}")
    if lang not in LANGUAGES:
        raise KeyError(f"unknown language {lang!r}; expected one of {', '.join(LANGUAGES)}")
    return sections[section][lang]


class Translations(Mapping[str, Mapping[str, str]]):
    """A section of the catalogue in both languages, ``{language: {key: text}}``; the
    catalogue is read at the first lookup, not when the section is named."""

    def __init__(self, section: str) -> None:
        self.section = section

    def __getitem__(self, lang: str) -> Mapping[str, str]:
        return text(lang, self.section)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[str]:
        return iter(LANGUAGES)

    def __len__(self) -> int:
        return len(LANGUAGES)

    def __repr__(self) -> str:
        return f"translations({self.section!r})"


def translations(section: str) -> Translations:
    """``section`` of the catalogue indexed by language (``translations("policy")["zh"]``)."""
    return Translations(section)
