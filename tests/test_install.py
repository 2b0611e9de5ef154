"""A built wheel runs the commands from any directory (issue 11, part 4).

The source is copied out of the clone, built into an sdist and the wheel built from that sdist
(as ``python -m build`` does), offline: no build isolation, so the build uses this environment's
setuptools (``pip install -e '.[test]'`` brings it). The wheel goes into a fresh virtual
environment with ``--no-deps``; the dependencies come from this environment, whose
site-packages a ``.pth`` file appends (its own ``.pth`` files, among them this clone's editable
install, are not processed there). The commands then run from a directory outside the clone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from sim.paths import CHECKOUT_ROOT, HOME_ENV_VAR

#: What building needs from the clone (the sdist then decides what reaches the wheel).
BUILD_INPUTS = (
    "pyproject.toml",
    "setup.py",
    "MANIFEST.in",
    "README.md",
    "sim",
    "model",
    "scenarios",
    "data",
)

#: Files the commands read at run time, relative to the resource root (globs).
RESOURCES = (
    "model/*.mdl",
    "model/README.md",
    "scenarios/*.yaml",
    "scenarios/README.md",
    "data/README.md",
    "data/observed/*.csv",
)

PACKAGED = "sim/_resources/"


@dataclass(frozen=True)
class Installed:
    """A virtual environment with the wheel installed."""

    wheel: Path
    venv: Path
    site_packages: Path
    seconds: float

    @property
    def bin(self) -> Path:
        return self.venv / ("Scripts" if os.name == "nt" else "bin")


def _run(
    args: Sequence[str | Path],
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"exit {result.returncode}: {' '.join(map(str, args))} (in {cwd})\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def _clean_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in (HOME_ENV_VAR, "INNOSIM_MODEL", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(name, None)
    return env


def _dependency_dirs() -> list[str]:
    """This environment's site-packages directories (where the dependencies are installed)."""
    found = [
        entry
        for entry in sys.path
        if entry and Path(entry).name in {"site-packages", "dist-packages"} and Path(entry).is_dir()
    ]
    return list(dict.fromkeys(found))


def _build_wheel(work: Path) -> Path:
    if CHECKOUT_ROOT is None:
        pytest.fail("tests/test_install.py must run from a source checkout")
    source = work / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.py[cod]")
    for name in BUILD_INPUTS:
        origin = CHECKOUT_ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=ignore)
        else:
            shutil.copy2(origin, source / name)
    try:
        import setuptools
    except ImportError:
        pytest.fail("setuptools is missing: pip install -e '.[test]'")
    if int(setuptools.__version__.split(".")[0]) < 70:
        pytest.fail(
            f"setuptools {setuptools.__version__} needs the `wheel` package to build wheels;"
            " pip install -e '.[test]' brings setuptools >= 70.1"
        )
    sdist_dir, wheel_dir = work / "sdist", work / "wheel"
    build_sdist = "import sys, setuptools.build_meta as b; b.build_sdist(sys.argv[1])"
    _run([sys.executable, "-c", build_sdist, sdist_dir], cwd=source, env=_clean_env())
    (sdist,) = sdist_dir.glob("*.tar.gz")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    _run(
        [*pip, "wheel", sdist, "--no-deps", "--no-build-isolation", "--no-index", "-w", wheel_dir],
        cwd=work,
        env=_clean_env(),
    )
    (wheel,) = wheel_dir.glob("*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """Build the wheel and install it into a fresh virtual environment."""
    start = time.perf_counter()
    work = tmp_path_factory.mktemp("install")
    wheel = _build_wheel(work)
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=work, env=_clean_env())
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    # Installed before the dependencies become visible, so pip sees no other innosim.
    _run(
        [*pip, "--python", python, "install", "--no-deps", "--no-index", wheel],
        cwd=work,
        env=_clean_env(),
    )
    purelib = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site_packages = Path(_run([python, "-c", purelib], cwd=work).stdout.strip())
    dependencies = _dependency_dirs()
    if not dependencies:
        pytest.fail(f"no site-packages directory on sys.path of {sys.executable}")
    (site_packages / "_innosim_test_dependencies.pth").write_text(
        "\n".join(dependencies) + "\n", encoding="utf-8"
    )
    return Installed(wheel, venv, site_packages, time.perf_counter() - start)


def _snapshot(directory: Path) -> dict[str, tuple[int, int]]:
    return {
        str(path.relative_to(directory)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(directory.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_wheel_ships_the_resources_from_the_repository_root(installed: Installed) -> None:
    assert CHECKOUT_ROOT is not None
    expected = sorted(
        str(path.relative_to(CHECKOUT_ROOT)).replace(os.sep, "/")
        for pattern in RESOURCES
        for path in CHECKOUT_ROOT.glob(pattern)
    )
    assert "model/innovation_ecosystem.mdl" in expected
    assert "scenarios/baseline.yaml" in expected
    with zipfile.ZipFile(installed.wheel) as wheel:
        shipped = sorted(n[len(PACKAGED) :] for n in wheel.namelist() if n.startswith(PACKAGED))
        assert shipped == expected
        for name in expected:  # copies of the files at the root, not other versions of them
            assert wheel.read(PACKAGED + name) == (CHECKOUT_ROOT / name).read_bytes(), name


def test_installed_package_finds_its_resources(installed: Installed, tmp_path: Path) -> None:
    python = installed.bin / "python"
    code = (
        "import sim, sim.paths as p, sim.vensim as v;"
        "print(sim.__file__, p.RESOURCE_ROOT, p.DEFAULT_SCENARIO_PATH, v.default_model_path(),"
        " sep='\\n')"
    )
    lines = _run([python, "-c", code], cwd=tmp_path, env=_clean_env()).stdout.splitlines()
    packaged = installed.site_packages / "sim" / "_resources"
    assert Path(lines[0]).parent == installed.site_packages / "sim"
    assert [Path(line) for line in lines[1:]] == [
        packaged,
        packaged / "scenarios" / "baseline.yaml",
        packaged / "model" / "innovation_ecosystem.mdl",
    ]
    home = tmp_path / "home"
    env = _clean_env() | {HOME_ENV_VAR: str(home)}
    lines = _run([python, "-c", code], cwd=tmp_path, env=env).stdout.splitlines()
    assert [Path(line) for line in lines[1:]] == [
        home,
        home / "scenarios" / "baseline.yaml",
        home / "model" / "innovation_ecosystem.mdl",
    ]


def test_installed_commands_run_outside_the_clone(installed: Installed, tmp_path: Path) -> None:
    assert CHECKOUT_ROOT is not None
    assert not tmp_path.resolve().is_relative_to(CHECKOUT_ROOT)
    innosim = installed.bin / "innosim"
    package = installed.site_packages / "sim"
    before = _snapshot(package)
    start = time.perf_counter()
    _run([innosim, "run", "--draws", "50", "--out", "results"], cwd=tmp_path, env=_clean_env())
    checked = _run([innosim, "check"], cwd=tmp_path, env=_clean_env())
    seconds = time.perf_counter() - start
    for name in ("ensemble.nc", "targets.csv", "report.html"):
        assert (tmp_path / "results" / name).is_file(), name
    assert str(package / "_resources" / "model") in checked.stdout
    assert _snapshot(package) == before, "a command wrote into the installed package"
    print(f"build and install {installed.seconds:.1f} s, run and check {seconds:.1f} s")
