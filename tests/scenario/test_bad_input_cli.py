"""Bad input that cannot live in the corpus of ``bad/`` (symbolic link loops, a run's ensemble
as a posterior, observed-data files without data rows): each is built in ``tmp_path`` and must
be refused by the command with exit code 2, a message naming the file, the line, the field and
what was expected, and nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.paths import REPO_ROOT
from sim.scenario.posterior import PosteriorError, read_posterior

BASELINE = REPO_ROOT / "scenarios" / "baseline.yaml"
HEADER = "variable,year,value,sd,source\n"
runner = CliRunner()


def symlink_loop(directory: Path, name: str) -> str:
    """Two symbolic links ``name`` and ``name.loop`` in ``directory`` that point at each
    other; returns ``name``."""
    first, second = directory / name, directory / f"{name}.loop"
    try:
        first.symlink_to(second.name)
        second.symlink_to(first.name)
    except (OSError, NotImplementedError):
        pytest.skip("symbolic links cannot be created here")
    return name


def refused(args: list[str], directory: Path, *fragments: str) -> str:
    """Run ``innosim args --out directory/out``: exit code 2, every fragment in the message,
    no output directory and nothing new in ``directory``; returns the message."""
    before = sorted(path.name for path in directory.iterdir())
    out = directory / "out"
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    message = result.stderr
    for fragment in fragments:
        assert fragment in message, message
    assert "Traceback" not in result.output
    assert not out.exists()
    assert sorted(path.name for path in directory.iterdir()) == before, "something was written"
    return message


@pytest.mark.parametrize(
    ("field", "text", "line", "expected"),
    [
        ("extends", "extends: {loop}\n", 1, "another scenario file"),
        ("history", "extends: {baseline}\nhistory: {loop}\n", 2, "the observed-data CSV"),
        ("posterior", "extends: {baseline}\nposterior: {loop}\n", 2, "`innosim calibrate`"),
        (
            "drivers.files.0",
            "extends: {baseline}\ndrivers:\n  files:\n    - {loop}\n  variables: [Coal Output]\n",
            4,
            "an observed-data CSV",
        ),
    ],
)
def test_a_symlink_loop_is_refused(
    field: str, text: str, line: int, expected: str, tmp_path: Path, real_model: Path
) -> None:
    loop = symlink_loop(tmp_path, f"loop.{'yaml' if field == 'extends' else 'csv'}")
    scenario = tmp_path / "child.yaml"
    scenario.write_text(text.format(loop=loop, baseline=BASELINE), encoding="utf-8")
    refused(
        ["run", str(scenario), "--draws", "16"],
        tmp_path,
        f"child.yaml:{line}: field '{field}'",
        f"{loop} is a symbolic link loop",
        expected,
    )


def test_a_scenario_that_is_a_symlink_loop_is_refused(tmp_path: Path, real_model: Path) -> None:
    loop = symlink_loop(tmp_path, "scenario.yaml")
    refused(
        ["run", str(tmp_path / loop), "--draws", "16"],
        tmp_path,
        "scenario.yaml: symbolic link loop",
        "expected a YAML scenario file",
    )


def test_observed_file_that_is_a_symlink_loop_is_refused(tmp_path: Path, real_model: Path) -> None:
    loop = symlink_loop(tmp_path, "observed.csv")
    refused(
        ["assess", str(BASELINE), "--observed", str(tmp_path / loop), "--draws", "16"],
        tmp_path,
        "observed.csv: symbolic link loop",
        "expected an observed-data CSV",
    )


def test_a_runs_ensemble_is_not_a_posterior(tmp_path: Path, real_model: Path) -> None:
    run = tmp_path / "run"
    result = runner.invoke(app, ["run", str(BASELINE), "--draws", "16", "--out", str(run)])
    assert result.exit_code == 0, result.output
    ensemble = run / "ensemble.nc"
    with pytest.raises(PosteriorError, match="is the ensemble of a run"):
        read_posterior(ensemble)
    scenario = tmp_path / "child.yaml"
    scenario.write_text(f"extends: {BASELINE}\nposterior: run/ensemble.nc\n", encoding="utf-8")
    refused(
        ["run", str(scenario), "--draws", "16"],
        tmp_path,
        "child.yaml:2: field 'posterior'",
        "ensemble.nc is the ensemble of a run (`innosim run` writes ensemble.nc), not a posterior",
        "expected a conditioned ensemble written by `innosim calibrate`",
    )


COMMANDS = {
    "assess": ["--draws", "16"],
    "calibrate": ["--draws", "64"],
    "backtest": ["--origin", "2022", "--draws", "16"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_observed_file_with_a_header_only_is_refused(
    command: str, tmp_path: Path, real_model: Path
) -> None:
    observed = tmp_path / "header_only.csv"
    observed.write_text("# the observations of 2024 go here\n" + HEADER, encoding="utf-8")
    args = [command, str(BASELINE), "--observed", str(observed), *COMMANDS[command]]
    refused(
        args,
        tmp_path,
        "header_only.csv:2: no data rows",
        "expected one row per observation with the columns variable, year, value, sd, source",
    )


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_observed_file_with_early_rows_only_is_refused(
    command: str, tmp_path: Path, real_model: Path
) -> None:
    observed = tmp_path / "early.csv"
    observed.write_text(HEADER + "GDP,2012,1000,10,test\n", encoding="utf-8")
    args = [command, str(BASELINE), "--observed", str(observed), *COMMANDS[command]]
    refused(
        args,
        tmp_path,
        "early.csv:2: field 'year': no data rows the model can be compared with",
        "before the model's INITIAL TIME 2015",
    )


def test_a_history_with_a_header_only_is_refused(tmp_path: Path, real_model: Path) -> None:
    (tmp_path / "history.csv").write_text(HEADER, encoding="utf-8")
    scenario = tmp_path / "child.yaml"
    scenario.write_text(f"extends: {BASELINE}\nhistory: history.csv\n", encoding="utf-8")
    refused(["run", str(scenario), "--draws", "16"], tmp_path, "history.csv:1: no data rows")


@pytest.mark.parametrize("command", ["run", "calibrate"])
def test_too_few_draws_for_the_correlations_are_refused(tmp_path: Path, command: str) -> None:
    refused(
        [command, str(BASELINE), "--draws", "8"],
        tmp_path,
        "correlations among 8 uncertainties needs more than 8 draws",
        "give --draws 9 or more",
    )
