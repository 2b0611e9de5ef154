"""The repository's entry points agree with the README."""

from __future__ import annotations

import os
import re

from sim.paths import REPO_ROOT


def _readme_commands() -> list[str]:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```[a-z]*\n(.*?)```", readme, re.DOTALL)
    if block is None:
        raise AssertionError("README.md must open with a code block of commands")
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_main_job_and_test_command() -> None:
    commands = _readme_commands()
    assert len(commands) == 2
    assert commands[0].endswith("innosim run")
    assert commands[1].endswith("python -m pytest")


def test_ci_runs_the_readme_test_command() -> None:
    ci = REPO_ROOT / ".ci" / "run"
    assert _readme_commands()[1] in ci.read_text(encoding="utf-8")
    assert os.access(ci, os.X_OK)
    assert "set -euo pipefail" in ci.read_text(encoding="utf-8")
