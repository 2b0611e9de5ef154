"""Build hook: ship the model, scenarios and observed data inside the wheel.

The files stay where people edit them, at the repository root (``model/``, ``scenarios/``,
``data/``); building copies them into ``sim/_resources/`` of the build directory, side by side,
so that relative paths inside scenario files (``../data/observed/...``) still resolve.
Editable installs copy nothing (``sim.paths`` finds the checkout). The sdist carries the
folders through ``MANIFEST.in``. Everything else is configured in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent

#: Files that commands read at run time, by folder (globs relative to the folder).
RESOURCES: dict[str, tuple[str, ...]] = {
    "model": ("*.mdl", "README.md"),
    "scenarios": ("*.yaml", "README.md"),
    "data": ("README.md", "**/*.csv"),
}

#: Where they go inside the built package (``sim.paths.PACKAGED_RESOURCES``).
TARGET = Path("sim", "_resources")


def resource_files(root: Path = ROOT) -> list[Path]:
    """The resource files under ``root``, relative to it, sorted."""
    found = {
        path.relative_to(root)
        for folder, patterns in RESOURCES.items()
        for pattern in patterns
        for path in (root / folder).glob(pattern)
        if path.is_file()
    }
    return sorted(found)


class BuildPyWithResources(build_py):
    """``build_py`` that also copies the resource files into ``sim/_resources/``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / TARGET
        shutil.rmtree(target, ignore_errors=True)  # no stale files from an earlier build
        files = resource_files()
        if not any(path.suffix == ".mdl" for path in files):
            raise SystemExit(f"setup.py: no model (model/*.mdl) under {ROOT}")
        for relative in files:
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / relative, destination)


setup(cmdclass={"build_py": BuildPyWithResources})
