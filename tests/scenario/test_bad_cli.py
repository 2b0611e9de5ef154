"""Every bad scenario of the corpus is refused by ``innosim run`` with exit code 2, a message
naming the file, the field (and line) and no output directory left behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.testing import bad_scenarios

CORPUS = bad_scenarios()
runner = CliRunner()


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 25


@pytest.mark.parametrize("bad", CORPUS, ids=[bad.path.name for bad in CORPUS])
def test_run_refuses_bad_scenario(bad, tmp_path: Path, real_model: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(bad.path), "--draws", "8", "--out", str(out)])
    assert result.exit_code == 2, result.output
    message = result.stderr
    assert bad.path.name in message
    assert bad.expect in message
    if bad.line is not None:
        assert f".yaml:{bad.line}:" in message
    assert not out.exists()
    assert not list(tmp_path.iterdir()), "something was written"
