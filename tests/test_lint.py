"""The code base is ruff-clean (lint and format)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sim.paths import REPO_ROOT

RUFF = Path(sys.executable).with_name("ruff")


@pytest.mark.parametrize("args", [["check", "."], ["format", "--check", "."]], ids=str)
def test_ruff(args: list[str]) -> None:
    if not RUFF.is_file():
        pytest.fail(f"ruff is not installed next to {sys.executable} (pip install -e '.[test]')")
    result = subprocess.run(
        [str(RUFF), *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"ruff {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
