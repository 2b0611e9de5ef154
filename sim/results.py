"""The layout of ensemble results: an xarray Dataset with dimensions ``draw`` and ``time``.

Every model variable is stored under a slug of its Vensim name (``High Tech Enterprises`` →
``high_tech_enterprises``) with attributes ``long_name`` (the Vensim name), ``units``,
``label_zh`` and ``role``: ``"outcome"`` for simulated variables (dims ``draw``, ``time``) and
``"uncertainty"`` for sampled inputs (dim ``draw``). Analysis code reads results through these
helpers and never needs the runner.
"""

from __future__ import annotations

import re

import numpy as np
import xarray as xr

OUTCOME = "outcome"
UNCERTAINTY = "uncertainty"


def slug(name: str) -> str:
    """Dataset name of a Vensim variable: lower case, runs of other characters as ``_``."""
    text = re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")
    return f"v_{text}" if not text or text[0].isdigit() else text


def variable(results: xr.Dataset, name: str) -> xr.DataArray:
    """The results for the Vensim variable ``name`` (KeyError naming it when absent)."""
    key = slug(name)
    if key not in results:
        known = ", ".join(sorted(str(v.attrs.get("long_name", k)) for k, v in results.items()))
        raise KeyError(f"{name!r} is not in the results (saved: {known})")
    return results[key]


def year_index(times: np.ndarray, year: float) -> int:
    """Index of model time ``year`` in the save times ``times`` (``KeyError`` if not saved)."""
    times = np.asarray(times, dtype=float)
    index = np.flatnonzero(np.isclose(times, year))
    if index.size == 0:
        raise KeyError(f"year {year:g} is not a saved time ({times[0]:g}-{times[-1]:g})")
    return int(index[0])


def at_year(results: xr.Dataset, name: str, year: int) -> np.ndarray:
    """Values of ``name`` across draws at model time ``year`` (one value per draw)."""
    data = variable(results, name)
    try:
        return data.sel(time=float(year)).to_numpy()
    except KeyError:
        times = data["time"].to_numpy()
        raise KeyError(
            f"year {year} is not a saved time of {name!r} ({times[0]:g}-{times[-1]:g})"
        ) from None


def names_with_role(results: xr.Dataset, role: str) -> list[str]:
    """Vensim names of the variables with the given role, in dataset order."""
    return [
        str(data.attrs.get("long_name", key))
        for key, data in results.data_vars.items()
        if data.attrs.get("role") == role
    ]
