"""Output and result hardening: ``--out`` checked before anything runs, full disks, killed and
concurrent runs, and NaN/inf results refused (issue 11, part 5).

The CLI cases run on ``tests/fixtures/economy.mdl`` (fast); "before anything runs" is shown by
making scenario loading, the first step of every command after the ``--out`` check, fail.
"""

from __future__ import annotations

import errno
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

import sim.atomic as atomic
from sim.analysis.probabilities import check_finite
from sim.atomic import claimed_output_dir, staged_output_dir
from sim.cli import app
from sim.errors import NonFiniteResultError, OutputError

FIXTURES = Path(__file__).parent / "fixtures"
ECONOMY = FIXTURES / "economy.mdl"
REPO = Path(__file__).resolve().parents[1]

runner = CliRunner()

TARGET = (
    "targets:\n"
    "  - {name: gdp_2025, variable: GDP, year: 2025, direction: at_least, threshold: 2000,\n"
    "     label: {zh: 生产总值, en: GDP}, unit: {zh: 亿元, en: CNY 100M}, source: test}\n"
)
GROWTH = "  Base GDP Growth: {distribution: uniform, min: 0.03, max: 0.07, source: test}\n"


def _scenario(directory: Path, body: str = "uncertainties:\n" + GROWTH, name="s.yaml") -> Path:
    path = directory / name
    path.write_text(TARGET + body, encoding="utf-8")
    return path


def _plain(text: str) -> str:
    """Console text without the error box's borders and line breaks."""
    return " ".join(text.replace("│", " ").split())


def _run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def _leftovers(directory: Path) -> list[str]:
    """Hidden staging directories, probes and lock files innosim left in ``directory``."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


#: Every command that writes into --out, with its other required arguments.
COMMANDS = {
    "run": ["run", "S"],
    "compare": ["compare", "S", "S2"],
    "sweep": ["sweep", "S", "--lever", "RD Share=0.01:0.02:2"],
    "solve": ["solve", "S", "--lever", "RD Share", "--target", "gdp_2025", "--prob", "0.5"],
    "sensitivity": ["sensitivity", "S"],
    "discover": ["discover", "S", "--target", "gdp_2025"],
    "calibrate": ["calibrate", "S", "--observed", "OBS"],
    "assess": ["assess", "S", "--observed", "OBS"],
    "backtest": ["backtest", "S", "--observed", "OBS", "--origin", "2020"],
    "simulate": ["simulate", "--scenario", "S"],
}


def _command(name: str, scenario: Path, out: str) -> list[str]:
    observed = str(FIXTURES / "economy_observed.csv")
    again = scenario.with_name(f"{scenario.stem}_again.yaml")  # S2: a second scenario file
    if "S2" in COMMANDS[name] and scenario.is_file():
        again.write_text(scenario.read_text(encoding="utf-8"), encoding="utf-8")
    files = {"S": str(scenario), "S2": str(again), "OBS": observed}
    args = [files.get(a, a) for a in COMMANDS[name]]
    return [*args, "--model", str(ECONOMY), "--out", out]


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading a scenario (every command's first step after the --out check) fails the test.

    Patched where it is looked up: in ``sim.scenario`` and in every workflow that imported it
    (a module imported under the patch would otherwise keep the fake after the test)."""
    import importlib
    import pkgutil

    import sim.scenario
    import sim.workflows

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the command went on past a bad --out")

    workflows = [
        importlib.import_module(f"sim.workflows.{info.name}")
        for info in pkgutil.iter_modules(sim.workflows.__path__)
    ]  # imported before the patch, so none of them binds the fake for good
    monkeypatch.setattr(sim.scenario, "load_scenario", refuse)
    for module in workflows:
        if hasattr(module, "load_scenario"):
            monkeypatch.setattr(module, "load_scenario", refuse)


# --- --out checked before anything runs -----------------------------------------------------


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_empty_out_is_refused(command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              no_work: None) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    scenario = _scenario(tmp_path)
    result = _run(*_command(command, scenario, ""))
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--out': an empty path names no directory" in _plain(result.output)
    inputs = {"s.yaml", "s_again.yaml"}  # the scenario files the command line names
    assert {p.name for p in tmp_path.iterdir()} <= inputs


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_out_that_is_not_a_directory_is_refused_before_anything_runs(
    command: str, tmp_path: Path, no_work: None
) -> None:
    scenario = _scenario(tmp_path)
    result = _run(*_command(command, scenario, os.devnull))
    assert result.exit_code == 2, result.output
    expected = f"innosim: error: --out {os.devnull}: exists and is not a directory"
    assert result.stderr.strip() == expected


def test_out_under_a_file_is_refused(tmp_path: Path, no_work: None) -> None:
    (tmp_path / "file").write_text("x")
    for out, problem in (
        (tmp_path / "file", "exists and is not a directory"),
        (tmp_path / "file" / "sub" / "dir", f"{tmp_path / 'file'} exists and is not a directory"),
    ):
        result = _run(*_command("run", _scenario(tmp_path), str(out)))
        assert result.exit_code == 2, result.output
        assert result.stderr.strip() == f"innosim: error: --out {out}: {problem}"
    assert (tmp_path / "file").read_text() == "x"


def test_out_where_nothing_can_be_written_is_refused(tmp_path: Path, no_work: None) -> None:
    result = _run(*_command("sweep", _scenario(tmp_path), "/proc/innosim-out"))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(
        "innosim: error: --out /proc/innosim-out: cannot write in /proc: "
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_parent_is_refused_and_created_parents_removed(
    tmp_path: Path, no_work: None
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        result = _run(*_command("run", _scenario(tmp_path), str(locked / "a" / "b")))
        assert result.exit_code == 2, result.output
        assert f"cannot create the directory {locked / 'a'}: Permission denied" in result.stderr
    finally:
        locked.chmod(0o755)
    assert list(locked.iterdir()) == []


def test_unwritable_place_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  no_work: None) -> None:  # fmt: skip
    monkeypatch.setattr(
        atomic, "_writable", lambda d: OSError(errno.EROFS, os.strerror(errno.EROFS))
    )
    out = tmp_path / "new" / "out"
    result = _run(*_command("run", _scenario(tmp_path), str(out)))
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        f"innosim: error: --out {out}: cannot write in {tmp_path / 'new'}: Read-only file system"
    )
    assert not (tmp_path / "new").exists(), "the parents made for the check stay behind"


def test_full_file_system_is_refused_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_work: None
) -> None:
    full = SimpleNamespace(total=1 << 30, used=(1 << 30) - 12288, free=12288)
    monkeypatch.setattr(atomic.shutil, "disk_usage", lambda path: full)
    out = tmp_path / "out"
    result = _run(*_command("calibrate", _scenario(tmp_path), str(out)))
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        f"innosim: error: --out {out}: the file system is full (12288 bytes free)"
    )
    assert _leftovers(tmp_path) == []


# --- a full disk while writing --------------------------------------------------------------


def test_full_disk_while_writing_the_netcdf(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """``calibrate`` writes posterior.nc with xarray (``run`` streams ensemble.nc: its full
    disk is tested in tests/test_cli_run.py)."""
    import xarray as xr

    def full(self: object, path: object, *args: object, **kwargs: object) -> None:
        Path(str(path)).write_bytes(b"CDF half")  # a part reaches the disk, then ENOSPC
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(xr.Dataset, "to_netcdf", full)
    out = tmp_path / "out"
    result = _run(*_command("calibrate", _scenario(tmp_path), str(out)), "--draws", 400)
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().endswith(
        f"innosim: error: --out {out}: writing the outputs failed: No space left on device; "
        "nothing was written"
    )
    assert "Traceback" not in result.output
    assert not out.exists() and _leftovers(tmp_path) == []


def test_full_disk_while_writing_a_figure_keeps_the_old_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "sweep.csv").write_text("old", encoding="utf-8")
    real = Path.write_bytes

    def full(self: Path, data: bytes) -> int:
        if self.suffix == ".png":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    _sweep_on_a_full_disk_keeps_the_old_outputs(tmp_path, out)


def _sweep_on_a_full_disk_keeps_the_old_outputs(tmp_path: Path, out: Path) -> None:
    """A sweep into ``out`` (which holds an old ``sweep.csv``) exits 2 saying nothing was
    written, and leaves the old file as it was and no staging behind."""
    result = _run(*_command("sweep", _scenario(tmp_path), str(out)), "--draws", 16)
    assert result.exit_code == 2, result.output
    assert "writing the outputs failed: No space left on device; nothing was written" in (
        result.stderr
    )
    assert sorted(p.name for p in out.iterdir()) == ["sweep.csv"]
    assert (out / "sweep.csv").read_text(encoding="utf-8") == "old"
    assert _leftovers(tmp_path) == []


def test_full_disk_while_writing_the_workbook_keeps_the_old_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workbook is written last of the tables (after sweep.csv is staged): a full disk
    there leaves the old outputs as they were and nothing half-written."""
    import sim.report.workbook as workbook

    out = tmp_path / "out"
    out.mkdir()
    (out / "sweep.csv").write_text("old", encoding="utf-8")

    def full(self: object, path: str | Path) -> None:
        Path(path).write_bytes(b"PK half a workbook")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(workbook.Workbook, "save", full)
    _sweep_on_a_full_disk_keeps_the_old_outputs(tmp_path, out)


# --- killed runs and their staging directories ----------------------------------------------

HOLD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from sim.atomic import {what}
    with {what}(Path(sys.argv[1])) as place:
        if "{what}" == "staged_output_dir":
            (place / "half.csv").write_text("half")
        print("ready", flush=True)
        time.sleep(60)
    """
)


def _holder(out: Path, what: str) -> subprocess.Popen[str]:
    """A Python process inside ``claimed_output_dir`` or ``staged_output_dir`` of ``out``."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD.format(what=what), str(out)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def _stop(process: subprocess.Popen[str]) -> None:
    process.kill()
    process.wait()
    if process.stdout is not None:
        process.stdout.close()


def _stages(directory: Path) -> list[Path]:
    return sorted(directory.glob(".*.tmp"))


def test_killed_run_leaves_a_stage_that_the_next_run_removes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    process = _holder(out, "staged_output_dir")
    [stage] = _stages(tmp_path)
    assert stage.name.startswith(f".out.innosim-{process.pid}@")
    _stop(process)
    assert _stages(tmp_path) == [stage]  # SIGKILL: nothing can clean up
    result = _run(*_command("run", _scenario(tmp_path), str(out)), "--draws", 16)
    assert result.exit_code == 0, result.output
    assert _stages(tmp_path) == [] and _leftovers(tmp_path) == []
    assert not (out / "half.csv").exists() and (out / "targets.csv").is_file()


def test_terminated_run_cleans_up_at_once(tmp_path: Path) -> None:
    out = tmp_path / "out"
    process = _holder(out, "staged_output_dir")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 128 + signal.SIGTERM
    _stop(process)
    assert _leftovers(tmp_path) == [] and not out.exists()


def test_only_stale_stages_of_this_target_are_removed(tmp_path: Path) -> None:
    host = atomic._host()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    names = {
        "dead": f".out.innosim-{dead.pid}@{host}.abc_1234.tmp",
        "alive": f".out.innosim-1@{host}.abc_1234.tmp",
        "old_alive": f".out.innosim-1@{host}.old_5678.tmp",
        "other_host": f".out.innosim-{dead.pid}@elsewhere.abc_1234.tmp",
        "legacy_recent": ".out.k2j4h5g6.tmp",
        "legacy_old": ".out.a1b2c3d4.tmp",
        "other_target": f".outer.innosim-{dead.pid}@{host}.abc_1234.tmp",
    }
    for name in names.values():
        (tmp_path / name).mkdir()
        (tmp_path / name / "x.csv").write_text("x")
    old = time.time() - atomic.STALE_AGE - 60
    for key in ("old_alive", "legacy_old"):
        os.utime(tmp_path / names[key], (old, old))
    (tmp_path / ".out.innosim-999999@host.not_a_dir.tmp").write_text("a file")
    with claimed_output_dir(tmp_path / "out"):
        pass
    kept = {key for key, name in names.items() if (tmp_path / name).exists()}
    assert kept == {"alive", "other_host", "legacy_recent", "other_target"}
    assert (tmp_path / ".out.innosim-999999@host.not_a_dir.tmp").is_file()


# --- concurrent runs ------------------------------------------------------------------------


def test_second_run_into_the_same_out_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    process = _holder(out, "claimed_output_dir")
    try:
        for spelling in (out, f"{tmp_path}/../{tmp_path.name}/./out"):
            result = _run(*_command("run", _scenario(tmp_path), str(spelling)), "--draws", 16)
            assert result.exit_code == 2, result.output
            assert result.stderr.strip() == (
                f"innosim: error: --out {Path(spelling)}: another innosim run (process "
                f"{process.pid}) is writing to {out.resolve()}; wait for it to finish or choose "
                "another --out"
            )
    finally:
        _stop(process)
    assert not out.exists()
    result = _run(*_command("run", _scenario(tmp_path), str(out)), "--draws", 16)
    assert result.exit_code == 0, result.output  # the lock went with its holder
    assert _leftovers(tmp_path) == []


def test_claims_nest_in_one_process(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with claimed_output_dir(out) as resolved:
        with staged_output_dir(out) as stage:
            (stage / "a.csv").write_text("a")
        assert resolved == out.resolve() and (out / "a.csv").is_file()
        assert (tmp_path / ".out.innosim.lock").is_file()
    assert _leftovers(tmp_path) == []


def test_out_dot_stages_inside_when_only_it_is_writable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "here"
    here.mkdir()
    denied = OSError(errno.EACCES, os.strerror(errno.EACCES))
    monkeypatch.setattr(atomic, "_writable", lambda d: None if d == here else denied)
    monkeypatch.chdir(here)
    with staged_output_dir(Path(".")) as stage:
        assert stage.parent == here
        (stage / "a.csv").write_text("a")
    assert sorted(p.name for p in here.iterdir()) == ["a.csv"]


def test_library_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="empty path"), claimed_output_dir(""):
        pass
    with pytest.raises(OutputError, match="root directory"), claimed_output_dir(Path("/")):
        pass


# --- NaN and inf results --------------------------------------------------------------------


def test_overflowing_uncertainty_is_an_error_naming_the_draw(tmp_path: Path) -> None:
    scenario = _scenario(
        tmp_path,
        "uncertainties:\n"
        "  Initial GDP: {distribution: uniform, min: 1000, max: 1.7e308, source: test}\n",
    )
    out = tmp_path / "out"
    result = _run("run", scenario, "--model", ECONOMY, "--draws", 20, "--seed", 1,
                  "--out", out, "--lang", "en")  # fmt: skip
    assert result.exit_code == 2, result.output
    message = result.stderr
    assert "innosim: error: the model gives no number (NaN or infinite) for 'GDP' from 20" in (
        message
    )
    assert "draw(s): an input overflows the arithmetic or makes it divide by zero" in message
    assert "Suspect input(s): Initial GDP = " in message and "(model default 1500)" in message
    assert "Inputs of the first such draw (#" in message
    assert "levers: none;" in message and "uncertain constants: Initial GDP = " in message
    assert "%" not in message and "Traceback" not in result.output
    assert not out.exists() and _leftovers(tmp_path) == []


def test_overflowing_lever_is_an_error_in_every_draw(tmp_path: Path) -> None:
    scenario = _scenario(
        tmp_path,
        "levers:\n  Initial GDP: {value: 1e308, source: test}\nuncertainties:\n" + GROWTH,
    )
    other = _scenario(tmp_path, name="ok.yaml")
    for args in (["run", scenario], ["compare", other, scenario]):
        result = _run(*args, "--model", ECONOMY, "--draws", 16, "--out", tmp_path / "out")
        assert result.exit_code == 2, result.output
        assert re.search(r"for 'GDP' from 20\d\d on in \d+ of 16 draw\(s\)", result.stderr)
        assert "Suspect input(s): Initial GDP = 1e+308 (model default 1500)." in result.stderr
        assert "levers: Initial GDP = 1e+308;" in result.stderr
        assert "uncertain constants: Base GDP Growth = 0.0" in result.stderr
    assert not (tmp_path / "out").exists()


def test_check_finite_names_variable_year_draws_and_inputs() -> None:
    times = np.array([2020.0, 2021.0, 2022.0])
    good = np.ones((4, 3))
    bad = np.ones((4, 3))
    bad[2, 2] = np.nan
    bad[3, 1] = np.inf
    drawn = {"Growth": np.array([0.1, 0.2, 0.3, 4e200])}
    levers = {"Share": 0.0, "Path": object()}
    check_finite({"A": good}, times, levers, drawn)  # finite: nothing to say
    with pytest.raises(NonFiniteResultError) as caught:
        check_finite({"Other": bad, "A": good, "Target": bad}, times, levers, drawn,
                     first=["Target"], defaults={"Share": 0.5, "Growth": 0.2})  # fmt: skip
    message = str(caught.value)
    assert message.splitlines() == [
        "the model gives no number (NaN or infinite) for 'Target' (and 1 other variable(s)) "
        "from 2021 on in 2 of 4 draw(s): an input overflows the arithmetic or makes it divide "
        "by zero, so no probability is computed.",
        "Suspect input(s): Share = 0 (model default 0.5).",
        "Inputs of the first such draw (#2):",
        "  levers: Share = 0, Path = a path over time;",
        "  uncertain constants: Growth = 0.3.",
    ]
    with pytest.raises(NonFiniteResultError, match=r"in 1 of 1 draw\(s\)") as caught:
        check_finite({"A": bad[3:]}, times, {}, {"Growth": drawn["Growth"][3:]})
    assert "Suspect input(s): Growth = 4e+200." in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_commands_keep_exit_0_on_finite_results(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _run(*_command("run", _scenario(tmp_path), str(out)), "--draws", 16)
    assert result.exit_code == 0, result.output
    assert (out / "targets.csv").is_file() and (out / "ensemble.nc").is_file()
    assert _leftovers(tmp_path) == []
