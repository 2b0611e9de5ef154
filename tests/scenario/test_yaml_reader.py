"""The YAML reader with positions (bounded time, standard tags only), the position of errors
inside a distribution, symbolic link loops and observed-data files without data rows."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sim.errors import ScenarioError
from sim.paths import REPO_ROOT
from sim.scenario import load_scenario, read_yaml, resolved_path
from sim.scenario.observed import ObservedDataError, load_observed

BASELINE = REPO_ROOT / "scenarios" / "baseline.yaml"


def laughs(levels: int, mapping: bool = False) -> str:
    """A "billion laughs" text: each level repeats the previous one nine times."""
    lines = ["l0: &l0 [ha, ha, ha, ha, ha, ha, ha, ha, ha]"]
    for level in range(1, levels):
        if mapping:
            items = ", ".join(f"k{key}: *l{level - 1}" for key in range(9))
            lines.append(f"l{level}: &l{level} {{{items}}}")
        else:
            lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("mapping", [False, True], ids=["lists", "mappings"])
def test_an_alias_bomb_is_refused_at_once(mapping: bool) -> None:
    text = laughs(12, mapping)  # 9^12 values expanded
    start = time.perf_counter()
    with pytest.raises(ScenarioError, match="YAML nodes with its aliases expanded") as caught:
        read_yaml(Path("bomb.yaml"), text)
    assert time.perf_counter() - start < 1.0
    error = caught.value
    assert error.line == 6  # the first alias past the bound: level 5's first
    assert error.field == ("l5.k0" if mapping else "l5.0")


def test_aliases_within_the_bound_are_read() -> None:
    text = (
        "note: &why repeated reasoning\n"
        "a: {reasoning: *why}\n"
        "base: &base {min: 1, max: 2}\n"
        "b: *base\n"
        "c:\n  <<: *base\n  max: 3\n"
    )
    _, data = read_yaml(Path("ok.yaml"), text)
    assert data["a"] == {"reasoning": "repeated reasoning"}
    assert data["b"] == {"min": 1, "max": 2}
    assert data["c"] == {"min": 1, "max": 3}
    _, data = read_yaml(Path("ok.yaml"), laughs(4))  # 9^4 values: under the bound
    assert len(data["l3"]) == 9
    assert len(data["l3"][0][0][0]) == 9


def test_standard_tags_are_read_and_dates_stay_text() -> None:
    text = "a: !!str 2025\nb: !!float 2\nc: !!float 1e3\nd: !!int 7\ne: 2025-01-01\nf: =\n"
    _, data = read_yaml(Path("ok.yaml"), text)
    assert data == {"a": "2025", "b": 2.0, "c": 1000.0, "d": 7, "e": "2025-01-01", "f": "="}


@pytest.mark.parametrize(
    ("text", "line", "field", "fragment"),
    [
        ("a: 1\nb: !!python/object:os.system {}\n", 2, "b", "YAML tag '!!python/object:os.system'"),
        ("a:\n  - !!python/name:os.system\n", 2, "a.0", "YAML tag '!!python/name:os.system'"),
        ("!!python/object/apply:os.system [ls]\n", 1, "", "not allowed"),
        ("a: !!binary aGk=\n", 1, "a", "YAML tag '!!binary' not allowed"),
        ("a: !!set {x, y}\n", 1, "a", "YAML tag '!!set' not allowed"),
        ("a: !env HOME\n", 1, "a", "YAML tag '!env' not allowed"),
        ("a:\n  b: !!int abc\n", 2, "a.b", "'abc' is not a valid !!int value; expected a whole"),
        ("a: !!bool maybe\n", 1, "a", "'maybe' is not a valid !!bool value"),
        ("a: &x\n  - b: *x\n", 2, "a.0.b", "alias '*x' repeats a mapping or list that contains"),
        ("a: &x {b: [*x]}\n", 1, "a.b.0", "(a recursive alias)"),
        ("a: " + "[" * 60 + "]" * 60 + "\n", 1, "a.0.0.0.0.0.0.0.…", "more than 50 levels deep"),
        ("a: &x " + "[" * 40 + "]" * 40 + "\nb: [[[[[[[[[[[*x]]]]]]]]]]]\n", 2, "", "levels deep"),
        ("a:\n  ? {b: 1}\n  : 2\n", 2, "a", "a key must be a single value"),
        ("a: &m {b: 1, b: 2}\nc: *m\n", 1, "a.b", "duplicate key"),
        ("a: *nowhere\n", 1, "", "found undefined alias"),
        ("a: !!seq text\n", 1, "", "expected a sequence node"),
    ],
)
def test_bad_yaml_is_refused_with_its_line(text: str, line: int, field: str, fragment: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        read_yaml(Path("bad.yaml"), text)
    error = caught.value
    assert fragment in error.message
    assert error.line == line
    if field:
        assert error.field == field


def child(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "child.yaml"
    path.write_text(f"extends: {BASELINE}\n{text}", encoding="utf-8")
    return path


BETA = """uncertainties:
  Fund Leverage Ratio:
    distribution: beta
    alpha: {alpha}
    beta: {beta}
    min: 0.5
    max: 4
{source}"""


@pytest.mark.parametrize(
    ("alpha", "beta", "source", "field", "line"),
    [
        (-1, 2, "    source: test\n", "uncertainties.Fund Leverage Ratio.alpha", 5),
        (2, 0, "    source: test\n", "uncertainties.Fund Leverage Ratio.beta", 6),
        (2, 3, "", "uncertainties.Fund Leverage Ratio", 3),  # the entry has no source
    ],
)
def test_an_error_in_a_beta_names_its_own_line(
    alpha: float, beta: float, source: str, field: str, line: int, tmp_path: Path
) -> None:
    path = child(tmp_path, BETA.format(alpha=alpha, beta=beta, source=source))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, check_model=False)
    assert caught.value.path == path
    assert (caught.value.field, caught.value.line) == (field, line)


@pytest.mark.parametrize(
    ("text", "field", "line"),
    [
        ("monte_carlo:\n  sampler: sobol\n", "monte_carlo.sampler", 3),  # the parent set draws
        ("monte_carlo:\n  draws: 1000\n", "monte_carlo.draws", 3),  # a parent set sobol
    ],
)
def test_a_sobol_clash_is_blamed_on_the_nearest_file(
    text: str, field: str, line: int, tmp_path: Path
) -> None:
    parent = tmp_path / "parent.yaml"
    parent.write_text(
        f"extends: {BASELINE}\nmonte_carlo:\n  sampler: sobol\n  draws: 1024\n", encoding="utf-8"
    )
    path = tmp_path / "leaf.yaml"
    path.write_text(f"extends: {parent.name if 'draws' in text else BASELINE}\n{text}", "utf-8")
    with pytest.raises(ScenarioError, match="power of two") as caught:
        load_scenario(path, check_model=False)
    assert caught.value.path == path
    assert (caught.value.field, caught.value.line) == (field, line)


def test_resolved_path_tells_a_symlink_loop_from_a_missing_file(tmp_path: Path) -> None:
    try:
        (tmp_path / "a").symlink_to("b")
        (tmp_path / "b").symlink_to("a")
    except (OSError, NotImplementedError):
        pytest.skip("symbolic links cannot be created here")
    assert resolved_path(tmp_path / "a") is None
    assert resolved_path(tmp_path / "missing.csv") == (tmp_path / "missing.csv").resolve()


def test_an_observed_file_needs_data_rows(tmp_path: Path) -> None:
    path = tmp_path / "observed.csv"
    path.write_text("# nothing yet\n\nvariable,year,value,sd,source\n", encoding="utf-8")
    with pytest.raises(ObservedDataError, match="no data rows") as caught:
        load_observed(path, check_model=False)
    assert caught.value.line == 3
    assert "variable, year, value, sd, source" in caught.value.message
