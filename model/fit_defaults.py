"""Fit the model's "calibrated" constants to the 2015-2020 figures (run by hand after a change).

    python model/fit_defaults.py [SCENARIO]

The economy's exogenous series are the scenario's (default ``scenarios/baseline.yaml``):
drivers as observed, paths on their median (all shocks zero). Two steps, repeated until they
agree: (1) the four fitted economy constants reproduce real GDP 2020, GDP 2020 and budget revenue
2015 and 2020; the two defined ones follow (the capacity for innovative firms and the output per
HTE at 2015 scale); (2) eleven innovation constants reproduce their 2020 figure each (the 2015
R&D intensity is an assumption, 0.8 %). Figures come from ``data/observed/changzhi_2015_2020.csv``.
Least squares in logs; the script prints the values to write into the ``.mdl`` (rounded to four
significant digits there) and the fit it reaches. Nothing is written.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from sim.engine import compile_model, simulate
from sim.engine.ensemble import central_exogenous
from sim.paths import REPO_ROOT
from sim.scenario import load_scenario
from sim.scenario.observed import load_observed

OBSERVED = REPO_ROOT / "data" / "observed" / "changzhi_2015_2020.csv"
ASSUMED_RD_INTENSITY_2015 = 0.008
ECONOMY = [
    "Historical Non Resource Real Growth Rate",
    "Historical Non Resource Inflation Rate",
    "Non Resource Revenue Share",
    "Resource Revenue Share",
]
ECONOMY_FIGURES = [
    ("Real GDP", 2020),
    ("GDP", 2020),
    ("General Budget Revenue", 2015),
    ("General Budget Revenue", 2020),
]
#: constant -> the 2020 figure it is fitted to
INNOVATION = {
    "Base Tech SME Formation": "Tech SMEs",
    "Base HTE Conversion Rate": "High Tech Enterprises",
    "Reference RD Per HTE": "RD Expenditure",
    "Patent Grants Per Knowledge": "Effective Invention Patents",
    "Public Cost Per New ETRC": "Engineering Technology Research Centers",
    "Public Cost Per New Key Lab": "Provincial Key Laboratories",
    "Public Cost Per New City Platform": "City Innovation Platforms",
    "Public Cost Per Talent": "Innovation Talents",
    "Public Cost Per Carrier": "Innovation Carriers",
    "Initial Contract Turnover": "Technology Contract Turnover",
}
#: fitted with Reference RD Per HTE to the assumed 2015 intensity
OTHER_RD = "Other Enterprise RD Share Of Non Resource GDP"


def main(scenario_path: Path) -> None:
    scenario = load_scenario(scenario_path)
    compiled = compile_model()
    exogenous = central_exogenous(scenario, compiled)
    figures = load_observed(OBSERVED).set_index(["variable", "year"])["value"]
    economy_targets = [(v, y, float(figures[(v, y)])) for v, y in ECONOMY_FIGURES]
    innovation_targets = [(v, 2020, float(figures[(v, 2020)])) for v in INNOVATION.values()]
    innovation_targets.append(("RD Intensity", 2015, ASSUMED_RD_INTENSITY_2015))
    innovation = [*INNOVATION, OTHER_RD]
    params = {name: compiled.constants[name] for name in ECONOMY + innovation}
    outputs = sorted(
        {v for v, _, _ in economy_targets + innovation_targets}
        | {"Non Resource Real GDP", "Non Resource Deflator"}
    )

    def run(values: dict[str, float]) -> dict[str, dict[float, float]]:
        result = simulate(compiled, 1, exogenous | values, outputs)
        return {k: dict(zip(result.times, result[k][0], strict=True)) for k in outputs}

    def fit(names: list[str], targets: list[tuple[str, int, float]]) -> float:
        def residuals(x: np.ndarray) -> list[float]:
            out = run(params | dict(zip(names, x, strict=True)))
            return [np.log(out[v][y] / value) for v, y, value in targets]

        start = np.array([params[n] for n in names])
        lower = [-0.1 if n.startswith("Historical") else 0.0 for n in names]
        solution = least_squares(residuals, start, bounds=(lower, np.inf), x_scale=np.abs(start))
        params.update(dict(zip(names, solution.x, strict=True)))
        return float(np.abs(solution.fun).max())

    for _ in range(4):
        economy_error = fit(ECONOMY, economy_targets)
        out = run(params)
        real_2015 = out["Non Resource Real GDP"][2015]
        real_2020 = out["Non Resource Real GDP"][2020]
        # 0.5 firm of capacity per 亿元 of 2020 GDP (the earlier calibration), per 亿元 of
        # non-resource value added at 2015 prices
        params["Innovative Firms Per Non Resource GDP"] = 0.5 * figures[("GDP", 2020)] / real_2020
        # 425 亿元 of HTE output for 178 HTEs in 2020 (plan 一、(一)) at 2015 scale and prices
        index_2020 = real_2020 / real_2015 * out["Non Resource Deflator"][2020]
        params["Reference Output Per HTE"] = 425 / 178 / index_2020
        innovation_error = fit(innovation, innovation_targets)
    for name, value in params.items():
        print(f"{name} = {value:.6g}")
    print(f"largest log error: economy {economy_error:.1e}, innovation {innovation_error:.1e}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO_ROOT / "scenarios" / "baseline.yaml")
