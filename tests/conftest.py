"""Shared fixtures: a private translation cache and the paths of test models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sim.paths import REPO_ROOT

FIXTURES = Path(__file__).parent / "fixtures"
REAL_MODEL = REPO_ROOT / "model" / "innovation_ecosystem.mdl"


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Translate models into a cache of the test session, never into ~/.cache."""
    cache = tmp_path_factory.mktemp("xdg-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(cache))
        patch.delenv("INNOSIM_MODEL", raising=False)
        yield cache


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    """A small Vensim model that follows the project's conventions."""
    return FIXTURES / "tiny.mdl"


@pytest.fixture(scope="session")
def tiny_targets() -> Path:
    """A scenario file whose targets refer to variables of ``tiny.mdl``."""
    return FIXTURES / "tiny_targets.yaml"


@pytest.fixture(scope="session")
def real_model() -> Path:
    """The project's model; the test is skipped while it does not exist."""
    if not REAL_MODEL.is_file():
        pytest.skip("model/innovation_ecosystem.mdl does not exist yet")
    return REAL_MODEL
