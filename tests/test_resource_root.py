"""sim.paths: the resource root is $INNOSIM_HOME, else the source checkout, else the copy
packaged in the wheel (``sim/_resources``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim import paths
from sim.vensim import DEFAULT_MODEL_PATH


def _package(root: Path, *, checkout: bool) -> Path:
    """A ``sim`` package directory under ``root``, inside a checkout or installed."""
    package = root / "sim"
    package.mkdir(parents=True)
    if checkout:
        (root / "pyproject.toml").write_text("[project]\nname = 'innosim'\n", encoding="utf-8")
        (root / "model").mkdir()
    return package


def test_checkout_is_the_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(paths.HOME_ENV_VAR, raising=False)
    package = _package(tmp_path, checkout=True)
    assert paths.checkout_root(package) == tmp_path
    assert paths.resource_root(package) == tmp_path


def test_installed_package_uses_its_packaged_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(paths.HOME_ENV_VAR, raising=False)
    package = _package(tmp_path / "site-packages", checkout=False)
    assert paths.checkout_root(package) is None
    assert paths.resource_root(package) == package / "_resources"


def test_pyproject_alone_is_not_a_checkout(tmp_path: Path) -> None:
    package = _package(tmp_path, checkout=False)
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    assert paths.checkout_root(package) is None


@pytest.mark.parametrize("checkout", [True, False], ids=["checkout", "installed"])
def test_innosim_home_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, checkout: bool
) -> None:
    package = _package(tmp_path / "code", checkout=checkout)
    home = tmp_path / "home"
    monkeypatch.setenv(paths.HOME_ENV_VAR, str(home))
    assert paths.resource_root(package) == home.resolve()


def test_relative_innosim_home_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(paths.HOME_ENV_VAR, "mine")
    assert paths.resource_root() == (tmp_path / "mine").resolve()


def test_empty_innosim_home_is_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = _package(tmp_path, checkout=True)
    monkeypatch.setenv(paths.HOME_ENV_VAR, "")
    assert paths.resource_root(package) == tmp_path


def test_this_checkout_resolves_to_itself() -> None:
    """The tests run from the clone (editable install): the files at the repository root."""
    root = Path(__file__).resolve().parents[1]
    assert root == paths.CHECKOUT_ROOT
    if root != paths.RESOURCE_ROOT:
        pytest.fail(f"run the tests without ${paths.HOME_ENV_VAR} (it is {paths.RESOURCE_ROOT})")
    assert root == paths.REPO_ROOT
    assert root / "scenarios" == paths.SCENARIO_DIR
    assert root / "scenarios" / "baseline.yaml" == paths.DEFAULT_SCENARIO_PATH
    assert root / "data" == paths.DATA_DIR
    assert root / "model" / "innovation_ecosystem.mdl" == DEFAULT_MODEL_PATH
    assert not (paths.PACKAGE_DIR / paths.PACKAGED_RESOURCES).exists()
