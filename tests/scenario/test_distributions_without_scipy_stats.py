"""The distributions' supports without ``scipy.stats``: the same bits as scipy's, and a scenario
loaded and checked without importing it (0.7 s of every command's start)."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from sim.scenario.distributions import (
    Beta,
    DistributionBase,
    LogNormal,
    Normal,
    Pert,
    Triangular,
    TruncNormal,
    Uniform,
)

ROOT = Path(__file__).resolve().parents[2]


def _numbers(rng: np.random.Generator, n: int) -> list[float]:
    """Awkward numbers: decimals that do not add exactly, tiny and huge magnitudes, zeros."""
    pool = [0.1, 0.2, 0.3, 0.7, 1e-300, -0.0, 0.0, 1.0, 3.0, 2.675, 1e15, -7.25]
    out = []
    for _ in range(n):
        kind = rng.integers(4)
        if kind == 0:
            out.append(float(rng.uniform(-10, 10)))
        elif kind == 1:
            out.append(float(rng.choice(pool)))
        elif kind == 2:
            out.append(float(rng.uniform(-1, 1) * 10.0 ** rng.integers(-300, 300)))
        else:
            out.append(round(float(rng.uniform(-5, 5)), int(rng.integers(0, 4))))
    return out


def _distributions(rng: np.random.Generator) -> list[DistributionBase]:
    low, high = sorted(_numbers(rng, 2))
    if not low < high:
        return []
    mode = float(rng.uniform(low, high)) if rng.random() < 0.8 else float(rng.choice([low, high]))
    positive = [abs(x) or 1.0 for x in _numbers(rng, 4)]
    mean, sd = _numbers(rng, 1)[0], positive[0]
    common = {"source": "test"}
    return [
        Uniform(distribution="uniform", min=low, max=high, **common),
        Triangular(distribution="triangular", min=low, max=high, mode=mode, **common),
        Pert(distribution="pert", min=low, max=high, mode=mode, **common),
        Beta(distribution="beta", alpha=positive[1], beta=positive[2], min=low, max=high, **common),
        Normal(distribution="normal", mean=mean, sd=sd, **common),
        TruncNormal(distribution="truncnormal", mean=mean, sd=sd, min=low, max=high, **common),
        LogNormal(distribution="lognormal", median=positive[3], sigma=positive[1], **common),
    ]


def _bits(value: float) -> bytes:
    return b"nan" if np.isnan(value) else np.float64(value).tobytes()


def test_supports_are_scipys_bit_for_bit() -> None:
    rng = np.random.default_rng(5)
    checked = 0
    for _ in range(1500):
        for distribution in _distributions(rng):
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                expected = DistributionBase.support(distribution)  # via scipy.stats
            got = distribution.support()
            assert [_bits(x) for x in got] == [_bits(x) for x in expected], distribution
            checked += 1
    assert checked > 5000


@pytest.mark.parametrize(
    ("distribution", "support"),
    [
        (
            Uniform(distribution="uniform", min=-0.55, max=2.22, source="t"),
            (-0.55, 2.2200000000000006),
        ),
        (Normal(distribution="normal", mean=1.0, sd=2.0, source="t"), (-np.inf, np.inf)),
        (LogNormal(distribution="lognormal", median=2.0, sigma=0.5, source="t"), (0.0, np.inf)),
    ],
)
def test_support_keeps_scipys_rounding(distribution: DistributionBase, support: tuple) -> None:
    assert distribution.support() == support


def test_loading_a_scenario_does_not_import_scipy_stats(real_model: Path) -> None:
    code = (
        "import sys\n"
        "from sim.scenario import load_scenario\n"
        "import sim.analysis.probabilities\n"
        f"load_scenario({str(ROOT / 'scenarios' / 'baseline.yaml')!r})\n"
        "print('scipy.stats' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.strip() == "False"
