"""sim.scenario.observed: the observed-data CSV and its errors (file, line, column, expected)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.errors import ScenarioError
from sim.paths import REPO_ROOT
from sim.scenario.observed import COLUMNS, ObservedDataError, load_observed

OBSERVED = REPO_ROOT / "data" / "observed" / "changzhi_2015_2020.csv"
HEADER = "# a comment\nvariable,year,value,sd,source\n"
GOOD = 'High Tech Enterprises,2020,178,5.3,"Plan 一、(一), 178"\n'


def test_changzhi_file() -> None:
    frame = load_observed(OBSERVED)
    assert list(frame.columns) == list(COLUMNS)
    facts = {(r.variable, r.year): r.value for r in frame.itertuples()}
    assert facts[("GDP", 2015)] == 1195.1 and facts[("GDP", 2020)] == 1711.6
    assert facts[("General Budget Revenue", 2015)] == 96.4
    assert facts[("General Budget Revenue", 2020)] == 166.4
    assert facts[("High Tech Enterprises", 2020)] == 178
    assert facts[("RD Intensity", 2020)] == 0.0096
    assert facts[("Government Innovation Share Of Expenditure", 2020)] == 0.0319
    assert facts[("Real GDP", 2020)] == 1599.3
    assert len(facts) == 17
    assert (frame["sd"] > 0).all() and frame["source"].str.len().min() > 10
    assert frame["year"].dtype == "int64"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "obs.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_quoted_commas(tmp_path: Path) -> None:
    frame = load_observed(_write(tmp_path, HEADER + GOOD))
    assert frame.loc[0, "source"] == "Plan 一、(一), 178"


@pytest.mark.parametrize(
    ("row", "field", "fragment"),
    [
        ("High Tech Enterprise,2020,178,5,x\n", "variable", "did you mean 'High Tech Enterprises'"),
        ("High Tech Enterprises,2040,178,5,x\n", "year", "outside the model's horizon"),
        ("High Tech Enterprises,2020.5,178,5,x\n", "year", "valid integer"),
        ("High Tech Enterprises,2020,many,5,x\n", "value", "valid number"),
        ("High Tech Enterprises,2020,178,0,x\n", "sd", "greater than 0"),
        ("High Tech Enterprises,2020,178,-1,x\n", "sd", "greater than 0"),
        ("High Tech Enterprises,2020,178,5,\n", "source", "at least 1 character"),
        ("Cultivation Effect Lookup,2020,0.1,0.01,x\n", "variable", "lookup"),
        (GOOD, "year", "duplicate observation"),
    ],
)
def test_bad_rows(tmp_path: Path, row: str, field: str, fragment: str) -> None:
    path = _write(tmp_path, HEADER + GOOD + row)
    with pytest.raises(ObservedDataError) as caught:
        load_observed(path)
    error = caught.value
    assert isinstance(error, ScenarioError)
    assert error.line == 4 and error.field == field
    assert fragment in str(error) and str(path) in str(error)


def test_missing_column_and_bad_shapes(tmp_path: Path) -> None:
    with pytest.raises(ObservedDataError, match="missing column 'sd'") as caught:
        load_observed(_write(tmp_path, "variable,year,value,source\n"))
    assert caught.value.line == 1
    with pytest.raises(ObservedDataError, match="6 fields; expected 5") as caught:
        load_observed(_write(tmp_path, HEADER + "GDP,2015,1,1,x,y\n"))
    assert caught.value.line == 3
    with pytest.raises(ObservedDataError, match="no header"):
        load_observed(_write(tmp_path, "# only a comment\n"))
    with pytest.raises(ObservedDataError, match="not found"):
        load_observed(tmp_path / "absent.csv")
