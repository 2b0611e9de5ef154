"""Where the model, scenarios and observed data are found, and where outputs go.

The *resource root* is a directory holding ``model/``, ``scenarios/`` and ``data/`` side by
side (scenario files reach data by relative paths such as ``../data/observed/...``). It is,
in order:

1. ``$INNOSIM_HOME``, if set and not empty: a directory of your own with that layout (e.g. a
   copy of the repository's three folders, edited for another city);
2. the source checkout this package is imported from: the directory holding ``sim/`` when
   ``pyproject.toml`` and ``model/`` lie beside it (an editable install, or running in the
   clone), so developers edit the files at the repository root;
3. the copy shipped in the wheel, ``sim/_resources/`` (made at build time by ``setup.py``
   from the repository's folders; a plain ``pip install .`` or a built wheel).

The root is decided once, when this module is first imported. ``$INNOSIM_MODEL`` still names
another model file (``sim.vensim.default_model_path``). Outputs never go there: commands write
below the working directory (``default_out``), translated models below the cache directory.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable naming a resource root that overrides the checkout and the packaged copy.
HOME_ENV_VAR = "INNOSIM_HOME"

#: Directory of the ``sim`` package.
PACKAGE_DIR: Path = Path(__file__).resolve().parent

#: Name of the packaged resource root inside ``sim/`` (see ``setup.py``).
PACKAGED_RESOURCES = "_resources"


def checkout_root(package_dir: Path = PACKAGE_DIR) -> Path | None:
    """The source checkout ``package_dir`` lies in (``pyproject.toml`` and ``model/`` beside
    it), or ``None`` for an installed package."""
    root = package_dir.parent
    if (root / "pyproject.toml").is_file() and (root / "model").is_dir():
        return root
    return None


def resource_root(package_dir: Path = PACKAGE_DIR) -> Path:
    """The directory holding ``model/``, ``scenarios/`` and ``data/``: ``$INNOSIM_HOME``, else
    the checkout, else the packaged copy ``<package_dir>/_resources``."""
    home = os.environ.get(HOME_ENV_VAR)
    if home:
        return Path(home).expanduser().resolve()
    return checkout_root(package_dir) or package_dir / PACKAGED_RESOURCES


#: The checkout this package runs from, or ``None`` when installed (tests, docs, notebooks and
#: ``.ci/`` exist only there).
CHECKOUT_ROOT: Path | None = checkout_root()

#: The resource root (see the module docstring).
RESOURCE_ROOT: Path = resource_root()

#: The resource root under its historical name: the repository checkout when running from one
#: (and ``$INNOSIM_HOME`` is unset), so ``REPO_ROOT / "model"`` etc. work everywhere.
REPO_ROOT: Path = RESOURCE_ROOT

#: Directory of the model (``innovation_ecosystem.mdl`` and its ``README.md``).
MODEL_DIR: Path = RESOURCE_ROOT / "model"

#: Directory of scenario files (YAML).
SCENARIO_DIR: Path = RESOURCE_ROOT / "scenarios"

#: Directory of observed data.
DATA_DIR: Path = RESOURCE_ROOT / "data"

#: Scenario used when none is given on the command line.
DEFAULT_SCENARIO_PATH: Path = SCENARIO_DIR / "baseline.yaml"


def default_out(command: str, scenario: Path) -> Path:
    """Default output directory of a command: ``out/<scenario name>/<command>`` (relative to
    the working directory)."""
    return Path("out") / scenario.stem / command
