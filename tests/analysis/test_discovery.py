"""PRIM scenario discovery recovers a known box."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.analysis.prim_boxes import BOX_COLUMNS, TRAJECTORY_COLUMNS, choose_box, discover


def known_box_case(n: int = 4000, seed: int = 5) -> tuple[pd.DataFrame, np.ndarray]:
    """Five uniform inputs; the target is reached iff x1 > 0.7 and x2 < 0.4."""
    rng = np.random.default_rng(seed)
    inputs = pd.DataFrame(rng.random((n, 5)), columns=[f"x{i}" for i in range(5)])
    reached = ((inputs["x1"] > 0.7) & (inputs["x2"] < 0.4)).to_numpy()
    return inputs, reached


def test_prim_recovers_the_known_box() -> None:
    inputs, reached = known_box_case()
    result = discover(inputs, reached, threshold=0.8)
    assert list(result.trajectory.columns) == TRAJECTORY_COLUMNS
    assert list(result.box.columns) == BOX_COLUMNS
    assert result.base_rate == pytest.approx(0.3 * 0.4, abs=0.02)
    assert result.meets_threshold

    limits = result.box.set_index("parameter")
    assert {"x1", "x2"} <= set(limits.index)
    assert limits.loc["x1", "lower"] == pytest.approx(0.7, abs=0.03)
    assert limits.loc["x1", "upper"] == pytest.approx(inputs["x1"].max())
    assert limits.loc["x2", "upper"] == pytest.approx(0.4, abs=0.03)
    assert limits.loc["x2", "lower"] == pytest.approx(inputs["x2"].min())
    # The real restrictions are the significant ones, listed first.
    assert set(limits.index[:2]) == {"x1", "x2"}
    assert (limits.loc[["x1", "x2"], ["qp_lower", "qp_upper"]].min(axis=1) < 1e-6).all()
    assert np.isnan(limits.loc["x1", "qp_upper"]) and np.isnan(limits.loc["x2", "qp_lower"])
    assert limits.loc["x1", "lower_norm"] == pytest.approx(0.7, abs=0.03)
    assert limits.loc["x2", "upper_norm"] == pytest.approx(0.4, abs=0.03)

    chosen = result.trajectory.loc[result.chosen]
    assert chosen["chosen"] and result.trajectory["chosen"].sum() == 1
    assert chosen["density"] >= 0.8 and chosen["coverage"] >= 0.9
    assert limits["coverage"].iloc[0] == chosen["coverage"]
    assert chosen["mass"] == pytest.approx(0.12, abs=0.02)
    # The trajectory starts with the whole sample and peels it down.
    first = result.trajectory.iloc[0]
    assert first["mass"] == 1 and first["coverage"] == 1 and first["restricted"] == 0
    assert first["density"] == pytest.approx(result.base_rate)


def test_a_box_can_be_chosen_by_index() -> None:
    inputs, reached = known_box_case(n=2000)
    result = discover(inputs, reached, box=0)
    assert result.chosen == 0 and result.box.empty
    with pytest.raises(ValueError, match="not on the trajectory"):
        discover(inputs, reached, box=10_000)


def test_choose_box_prefers_coverage_among_dense_boxes() -> None:
    trajectory = pd.DataFrame(
        {"coverage": [1.0, 0.95, 0.9, 0.6], "density": [0.1, 0.7, 0.85, 0.95]}
    )
    assert choose_box(trajectory, 0.8) == 2
    assert choose_box(trajectory, 0.9) == 3
    assert choose_box(trajectory, 0.99) == 3  # none reaches it: the densest
    assert choose_box(trajectory, 0.05) == 0


@pytest.mark.parametrize(
    ("reached", "threshold", "message"),
    [
        (np.zeros(50, dtype=bool), 0.8, "none of the 50"),
        (np.ones(50, dtype=bool), 0.8, "all of the 50"),
        (np.arange(50) % 2 == 0, 0.0, "threshold"),
        (np.arange(49) % 2 == 0, 0.8, "49 interest flags for 50"),
    ],
)
def test_bad_input(reached: np.ndarray, threshold: float, message: str) -> None:
    inputs = pd.DataFrame({"a": np.linspace(0, 1, 50), "b": np.linspace(1, 2, 50)})
    with pytest.raises(ValueError, match=message):
        discover(inputs, reached, threshold=threshold)
