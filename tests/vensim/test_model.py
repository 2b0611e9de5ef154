"""sim.vensim.model: loading models through the cache and reading their documentation."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sim.errors import ModelError
from sim.vensim import (
    DEFAULT_MODEL_PATH,
    default_model_path,
    documentation_problems,
    load_model,
    model_variables,
    split_comment,
    stock_flows,
    translated_model_path,
)
from sim.vensim.model import cache_root


def _by_name(path: Path) -> dict:
    return {doc.name: doc for doc in model_variables(path)}


def test_default_model_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert DEFAULT_MODEL_PATH.parts[-2:] == ("model", "innovation_ecosystem.mdl")
    assert default_model_path() == DEFAULT_MODEL_PATH
    monkeypatch.setenv("INNOSIM_MODEL", str(tmp_path / "other.mdl"))
    assert default_model_path() == tmp_path / "other.mdl"


def test_kinds(tiny_model: Path) -> None:
    docs = _by_name(tiny_model)
    kinds = {name: doc.kind for name, doc in docs.items()}
    assert kinds["High Tech Enterprises"] == "stock"
    assert kinds["Tech SMEs"] == "stock"
    assert kinds["New HTE Certifications"] == "flow"
    assert kinds["HTE Exits"] == "flow"
    assert kinds["SME Registrations"] == "flow"  # a constant used as a flow is a flow
    assert kinds["Certification Rate"] == "auxiliary"
    assert kinds["RD Intensity"] == "auxiliary"
    assert kinds["HTE Lifetime"] == "constant"
    assert kinds["Certification Effect"] == "lookup"
    for name in ("INITIAL TIME", "FINAL TIME", "TIME STEP", "SAVEPER"):
        assert kinds[name] == "control"


def test_fields(tiny_model: Path) -> None:
    docs = _by_name(tiny_model)
    hte = docs["High Tech Enterprises"]
    assert hte.py_name == "high_tech_enterprises"
    assert hte.units == "Firm"
    assert hte.limits == (0.0, None)
    assert hte.sector == "Enterprises"
    assert hte.meaning == "Certified high-tech enterprises in the city."
    assert hte.label_zh == "高新技术企业"
    assert hte.source == "Plan 一、(一); FIGURES.md baseline"  # line break joined by a space
    assert docs["HTE Lifetime"].limits == (1.0, 30.0)
    assert docs["Tech SMEs"].sector == "Economy"
    assert docs["TIME STEP"].sector == "Control"
    assert docs["Certification Rate"].units == "1/Year"


def test_order_follows_the_file(tiny_model: Path) -> None:
    names = [doc.name for doc in model_variables(tiny_model)]
    assert names[:3] == ["High Tech Enterprises", "New HTE Certifications", "HTE Exits"]


def test_documentation_problems(tiny_model: Path) -> None:
    problems = documentation_problems(model_variables(tiny_model))
    assert problems == ["RD Intensity: missing Source:"]


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        ("Firms. zh: 企业 Source: plan", ("Firms.", "企业", "plan")),
        ("Firms. zh: 企业", ("Firms.", "企业", "")),
        ("Firms. Source: plan zh: 企业", ("Firms.", "企业", "plan")),
        (
            "Just words, the source: is lower case",
            ("Just words, the source: is lower case", "", ""),
        ),
        ("", ("", "", "")),
    ],
)
def test_split_comment(comment: str, expected: tuple[str, str, str]) -> None:
    assert split_comment(comment) == expected


def test_missing_file_is_model_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.mdl"
    with pytest.raises(ModelError, match="nope.mdl"):
        model_variables(missing)
    with pytest.raises(ModelError, match="nope.mdl"):
        load_model(missing)


def test_unparseable_file_is_model_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.mdl"
    broken.write_text("{UTF-8}\nStock = INTEG(\n\t~\tFirm\n\t~\tno closing.\n\t|\n")
    with pytest.raises(ModelError, match="broken.mdl"):
        model_variables(broken)


def test_truncated_parse_is_detected(tmp_path: Path, tiny_model: Path) -> None:
    # A '|' inside a comment ends the entry early; PySD would silently drop the rest.
    text = tiny_model.read_text(encoding="utf-8").replace(
        "Mean certification life.", "Mean | certification life."
    )
    bad = tmp_path / "bad.mdl"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ModelError, match="stopped parsing"):
        model_variables(bad)


def test_load_model_translates_into_the_cache_only(tmp_path: Path, tiny_model: Path) -> None:
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    mdl = model_dir / "tiny.mdl"
    shutil.copyfile(tiny_model, mdl)
    model = load_model(mdl)
    assert sorted(p.name for p in model_dir.iterdir()) == ["tiny.mdl"]
    translated = translated_model_path(mdl)
    assert translated.is_file()
    assert translated.is_relative_to(cache_root())
    assert model.mdl_file == str(mdl)
    assert not [p for p in translated.parent.parent.iterdir() if p.name.endswith(".tmp")]

    # Reused while the file is unchanged; a new translation after an edit.
    stamp = translated.stat().st_mtime_ns
    load_model(mdl)
    assert translated.stat().st_mtime_ns == stamp
    edited = mdl.read_text(encoding="utf-8").replace("\t12\n\t~\tYear", "\t10\n\t~\tYear")
    mdl.write_text(edited, encoding="utf-8")
    assert translated_model_path(mdl) != translated
    assert float(load_model(mdl).components.hte_lifetime()) == 10.0


def test_real_model_follows_the_conventions(real_model: Path) -> None:
    docs = model_variables(real_model)
    assert documentation_problems(docs) == []
    assert {doc.kind for doc in docs} >= {"stock", "flow", "constant", "control"}


def test_stock_flows(tiny_model: Path) -> None:
    assert stock_flows(tiny_model) == {
        "High Tech Enterprises": [("New HTE Certifications", 1), ("HTE Exits", -1)],
        "Tech SMEs": [("SME Registrations", 1)],
    }


def test_stock_flow_signs(tmp_path: Path) -> None:
    mdl = tmp_path / "signs.mdl"
    mdl.write_text(
        "{UTF-8}\nS= INTEG (-a+b-(c-d)+e*f, 0)\n\t~\tFirm\n\t~\tx\n\t|\n"
        + "".join(f"{n}= 1\n\t~\tFirm/Year\n\t~\tx\n\t|\n" for n in "abcdef")
        + "INITIAL TIME = 0\n\t~\tYear\n\t~\tx\n\t|\nFINAL TIME = 1\n\t~\tYear\n\t~\tx\n\t|\n",
        encoding="utf-8",
    )
    assert stock_flows(mdl) == {"S": [("a", -1), ("b", 1), ("c", -1), ("d", 1)]}
    kinds = {doc.name: doc.kind for doc in model_variables(mdl)}
    assert kinds["a"] == kinds["d"] == "flow" and kinds["e"] == "constant"


def test_the_parsed_model_is_cached_on_disk(tmp_path: Path, tiny_model: Path) -> None:
    from sim.vensim.model import abstract_model, cache_root, clear_cache

    copy = tmp_path / "parse_cache_probe.mdl"
    copy.write_bytes(tiny_model.read_bytes())
    first = abstract_model(copy)
    pickles = list((cache_root() / "parsed").glob("parse_cache_probe-*.pickle"))
    assert len(pickles) == 1
    clear_cache()
    again = abstract_model(copy)  # from the pickle
    assert [e.name for e in again.sections[0].elements] == [
        e.name for e in first.sections[0].elements
    ]
    pickles[0].write_bytes(b"broken")
    clear_cache()
    assert len(abstract_model(copy).sections[0].elements) == len(first.sections[0].elements)
