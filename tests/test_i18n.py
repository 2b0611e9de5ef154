"""The translation catalogue (``sim/report/translations/*.yaml``) and the page templates
(``sim/report/templates``): complete, checked on load, used, and rendered safely."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import jinja2
import pytest
import yaml

import sim
from sim.report import i18n
from sim.report.html import render_page

PACKAGE = Path(sim.__file__).parent
TEMPLATES = PACKAGE / "report" / "templates"


def raw_catalogue() -> dict:
    raw: dict = {}
    folder = resources.files("sim.report").joinpath(i18n.CATALOGUE_DIR)
    for source in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if source.name.endswith(".yaml"):
            raw.update(yaml.load(source.read_text(encoding="utf-8"), Loader=yaml.BaseLoader))
    return raw


def test_every_entry_has_both_languages() -> None:
    raw = raw_catalogue()  # every scalar as text: a key read as a boolean would show here
    assert raw, "empty catalogue"
    for section, entries in raw.items():
        assert entries, section
        for key, entry in entries.items():
            assert set(entry) == {"zh", "en"}, f"{section}.{key}"
            assert entry["zh"].strip() and entry["en"].strip(), f"{section}.{key}"
    checked = i18n.catalogue()  # the loader's own checks (placeholders, types) pass too
    assert sorted(checked) == sorted(raw)
    for section, entries in raw.items():
        for lang in ("zh", "en"):
            assert set(checked[section][lang]) == set(entries), (section, lang)


def test_texts_by_language() -> None:
    assert i18n.text("en", "policy")["all"] == "All targets met together"
    assert i18n.text("zh", "policy")["all"] == "全部目标同时达成"
    assert i18n.translations("simulate")["en"]["yes"] == "yes"
    assert i18n.text("zh", "page")["html_lang"] == "zh-CN"
    assert i18n.catalogue() is i18n.catalogue()  # read once
    with pytest.raises(TypeError):
        i18n.text("en", "policy")["all"] = "changed"  # type: ignore[index]
    with pytest.raises(KeyError, match="no section 'nope'.*policy"):
        i18n.text("en", "nope")
    with pytest.raises(KeyError, match="unknown language 'fr'"):
        i18n.text("fr", "policy")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"s": {"k": {"zh": "中"}}}, r"s\.k: no en text"),
        ({"s": {"k": {"en": "x"}}}, r"s\.k: no zh text"),
        ({"s": {"k": {"zh": "中", "en": "x", "fr": "y"}}}, "unknown language fr"),
        ({"s": {"k": {"zh": "", "en": "x"}}}, r"s\.k\.zh: expected a non-empty text"),
        ({"s": {"k": {"zh": 3, "en": "x"}}}, r"s\.k\.zh: expected a non-empty text"),
        ({"s": {"k": "text"}}, r"s\.k: expected \{zh: \.\.\., en: \.\.\.\}"),
        ({"s": {False: {"zh": "否", "en": "no"}}}, r"s\.False: the key must be text"),
        ({"s": {"k": {"zh": "{year}年", "en": "in {yaer}"}}}, "placeholders differ"),
        ({"s": {}}, "section 's': expected keys"),
        ([], "expected sections"),
    ],
)
def test_a_bad_catalogue_is_refused_naming_the_entry(raw: object, problem: str) -> None:
    with pytest.raises(i18n.CatalogueError, match=problem):
        i18n.check_catalogue(raw)


def test_a_key_given_twice_is_refused() -> None:
    text = "s:\n  k:\n    zh: 甲\n    en: a\n  k:\n    zh: 乙\n    en: b\n"
    with pytest.raises(i18n.CatalogueError, match=r":5: key 'k' given twice"):
        yaml.load(text, Loader=i18n._UniqueKeyLoader)


def test_every_section_is_used_and_every_section_used_exists() -> None:
    used: set[str] = set()
    pattern = re.compile(r"""\b(?:translations\(|text\(\s*\w+,\s*)["'](\w+)["']""")
    for path in PACKAGE.rglob("*.py"):
        used |= set(pattern.findall(path.read_text(encoding="utf-8")))
    assert used == set(i18n.catalogue())


def test_every_page_extends_the_base_layout() -> None:
    pages = sorted(path.name for path in TEMPLATES.glob("*.j2"))
    assert "base.html.j2" in pages and len(pages) > 1
    for name in pages:
        if name != "base.html.j2":
            first = (TEMPLATES / name).read_text(encoding="utf-8").splitlines()[0]
            assert first == '{% extends "base.html.j2" %}', name


def test_pages_escape_their_text_and_refuse_undefined_names() -> None:
    context = {
        "title": "<script>alert(1)</script>",
        "lines": ["a & b"],
        "warning": False,
        "rows": [],
        "image": "",
        "run": "",
        "provenance": [],
    }
    for lang, attribute in (("zh", "zh-CN"), ("en", "en")):
        page = render_page("solve.html.j2", lang, t=i18n.text(lang, "policy"), **context)
        assert page.startswith(f'<!DOCTYPE html>\n<html lang="{attribute}">\n<head>')
        assert page.endswith("</body>\n</html>")
        assert "<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>" in page
        assert "<p>a &amp; b</p>" in page and "<style>\nbody {" in page
    del context["run"]
    with pytest.raises(jinja2.UndefinedError, match="run"):
        render_page("solve.html.j2", "en", t=i18n.text("en", "policy"), **context)
