"""Helpers shared by test modules (importable from any of them, unlike ``conftest.py``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sim.paths import REPO_ROOT

#: The corpus of bad scenario files: one defect each, see ``bad_scenarios``.
BAD_SCENARIO_DIR: Path = REPO_ROOT / "tests" / "scenario" / "bad"

_EXPECT = re.compile(r"^# expect: (?P<fragment>.+)$", re.MULTILINE)
_LINE = re.compile(r"^# line: (?P<line>\d+)$", re.MULTILINE)


@dataclass(frozen=True)
class BadScenario:
    """A bad scenario file and what its error must say.

    Attributes:
        path: the file.
        expect: fragment the error message must contain (usually the field path).
        line: line number the error must give, or ``None`` when the defect has none.
    """

    path: Path
    expect: str
    line: int | None


def bad_scenarios(directory: Path = BAD_SCENARIO_DIR) -> list[BadScenario]:
    """The corpus: every ``*.yaml`` in ``directory``, read from its ``# expect:`` and optional
    ``# line:`` header comments (an empty file's name says what to expect: ``empty``)."""
    corpus = []
    for path in sorted(directory.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        expect = _EXPECT.search(text)
        line = _LINE.search(text)
        corpus.append(
            BadScenario(
                path=path,
                expect=expect.group("fragment").strip() if expect else "empty file",
                line=int(line.group("line")) if line else None,
            )
        )
    return corpus
