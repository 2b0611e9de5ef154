from __future__ import annotations

from pathlib import Path

import pytest

from sim.errors import ModelError
from sim.vensim import run_yearly


def test_run_yearly(tiny_model: Path) -> None:
    frame = run_yearly(["High Tech Enterprises", "RD Intensity"], path=tiny_model)
    assert list(frame.index) == list(range(2015, 2036))
    assert list(frame.columns) == ["High Tech Enterprises", "RD Intensity"]
    assert frame.at[2015, "High Tech Enterprises"] == pytest.approx(178)
    assert frame.at[2020, "RD Intensity"] == pytest.approx(0.0096)


def test_run_yearly_with_params(tiny_model: Path) -> None:
    base = run_yearly(["Tech SMEs"], path=tiny_model)
    more = run_yearly(["Tech SMEs"], path=tiny_model, params={"SME Registrations": 80})
    assert more.at[2025, "Tech SMEs"] - base.at[2025, "Tech SMEs"] == pytest.approx(400)


def test_unknown_variable(tiny_model: Path) -> None:
    with pytest.raises(ModelError, match="Nonexistent"):
        run_yearly(["Nonexistent"], path=tiny_model)
