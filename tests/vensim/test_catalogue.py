"""sim.vensim.catalogue: one catalogue per model, one name normaliser, defaults without PySD."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.vensim import catalogue, variable_key
from sim.vensim.catalogue import did_you_mean, model_info

MODEL = """{UTF-8}
Stock= INTEG (Inflow, Initial Stock)
	~	Firm
	~	A stock. zh: 存量 Source: test
	|

Inflow= Stock * Growth Rate
	~	Firm/Year
	~	A flow. zh: 流入 Source: test
	|

Initial Stock= 10
	~	Firm [0,?]
	~	Start value. zh: 初值 Source: test
	|

Growth Rate= 3 / 10
	~	1/Year [0,1]
	~	A constant written as an expression. zh: 增长率 Source: test
	|

INITIAL TIME = 2020
	~	Year
	~	Start.
	|

FINAL TIME = 2025
	~	Year
	~	End.
	|

TIME STEP = 0.25
	~	Year [0,?]
	~	Step.
	|

SAVEPER = 1
	~	Year [0,?]
	~	Save period.
	|
"""


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "catalogue.mdl"
    path.write_text(MODEL, encoding="utf-8")
    return path


def test_one_record_per_variable_with_structure_and_documentation(model: Path) -> None:
    info = model_info(model)
    stock = info.docs["Stock"]
    assert (stock.kind, stock.units, stock.label_zh, stock.sector) == ("stock", "Firm", "存量", "")
    assert stock.inflows == ("inflow",)
    assert info.docs["Growth Rate"].limits == (0.0, 1.0)
    assert info.kind("Growth Rate") == "constant"


def test_expression_constants_are_evaluated_by_the_engine_not_pysd(
    model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_pysd(*args: object, **kwargs: object) -> None:
        raise AssertionError("PySD was run for the catalogue's defaults")

    from sim.engine import api, codegen

    literal = codegen._literal_value

    def not_literal(ast: object) -> float | None:  # as for a constant the engine cannot fold
        value = literal(ast)
        return None if value == 0.3 else value

    monkeypatch.setattr("sim.vensim.run_yearly", no_pysd)
    monkeypatch.setattr(codegen, "_literal_value", not_literal)
    api._compile.cache_clear()
    catalogue._load.cache_clear()
    assert "Growth Rate" not in api.compile_model(model).constants  # not folded
    info = model_info(model)
    api._compile.cache_clear()
    assert info.defaults["Growth Rate"] == pytest.approx(0.3)
    assert info.defaults["Initial Stock"] == 10.0
    assert (info.initial_time, info.final_time) == (2020.0, 2025.0)


def test_names_match_through_one_key(model: Path) -> None:
    assert variable_key('  "Growth__rate" ') == variable_key("growth  Rate") == "growth_rate"
    info = model_info(model)
    assert info.find("growth_rate").name == "Growth Rate"
    assert info.find("Growth Rates") is None
    assert did_you_mean("initial  STOCK", info.docs) == "Initial Stock"
    assert did_you_mean("Initial Stok", info.docs) == "Initial Stock"
    assert "did you mean 'Growth Rate'" in info.unknown("Growth Rat")
