"""``innosim run`` and ``innosim schema``: outputs, languages and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import xarray as xr
from typer.testing import CliRunner

from sim.analysis import TARGET_COLUMNS
from sim.cli import app
from sim.report.columns import csv_header

runner = CliRunner()


def test_run_writes_every_output(tmp_path: Path, real_model: Path) -> None:
    out = tmp_path / "baseline"
    result = runner.invoke(app, ["run", "--draws", "40", "--seed", "3", "--out", str(out),
                                 "--lang", "en"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "High-tech enterprises" in result.stdout
    table = pd.read_csv(out / "targets.csv")
    assert list(table.columns) == csv_header(TARGET_COLUMNS)
    assert table["probability [fraction]"].between(0, 1).all()
    assert (table["prob_low [fraction]"] <= table["probability [fraction]"]).all()
    assert (table["probability [fraction]"] <= table["prob_high [fraction]"]).all()
    fans = sorted(f"fan_{name}.png" for name in table["target"])
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["ensemble.nc", "targets.csv", "run.xlsx", "report.html", "provenance.json", *fans]
    )
    written = ["ensemble.nc", "targets.csv", "run.xlsx", "report.html", "provenance.json", *fans]
    assert [
        line.removeprefix("wrote ") for line in result.stdout.splitlines()[-len(written) :]
    ] == [str(out / name) for name in sorted(written)]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "data:image/png;base64," in html
    assert not list(tmp_path.glob(".*.tmp")), "staging directory left behind"
    record = json.loads((out / "provenance.json").read_text(encoding="utf-8"))
    assert record["command"] == "innosim run" and (record["draws"], record["seed"]) == (40, 3)
    with xr.open_dataset(out / "ensemble.nc") as ensemble:
        assert ensemble.sizes["draw"] == 40
        # the ensemble keeps its own attributes; the command's provenance is added
        assert ensemble.attrs["command"] == "innosim run"
        assert ensemble.attrs["scenario_sha256"] == record["scenario_sha256"]
        assert ensemble.attrs["sampler"] == "lhs" and "levers" in ensemble.attrs


def test_draws_that_do_not_fit_the_sampler_exit_2(tmp_path: Path, real_model: Path) -> None:
    scenario = tmp_path / "sobol.yaml"
    baseline = Path(__file__).parents[1] / "scenarios" / "baseline.yaml"
    scenario.write_text(
        f"extends: {baseline}\nmonte_carlo: {{draws: 64, seed: 1, sampler: sobol}}\n",
        encoding="utf-8",
    )
    result = runner.invoke(
        app, ["run", str(scenario), "--draws", "60", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2, result.output
    message = " ".join(result.stderr.replace("│", " ").split())  # the error box unwrapped
    assert "--draws/--seed" in message and "needs a power of two draws; got 60" in message
    assert not (tmp_path / "o").exists()


def test_run_in_chinese(tmp_path: Path, real_model: Path) -> None:
    result = runner.invoke(app, ["run", "--draws", "16", "--out", str(tmp_path / "zh")])
    assert result.exit_code == 0, result.output
    assert "高新技术企业" in result.stdout and "达成概率" in result.stdout
    html = (tmp_path / "zh" / "report.html").read_text(encoding="utf-8")
    assert 'lang="zh-CN"' in html and "高新技术企业" in html


def test_bad_flags_exit_2_and_write_nothing(tmp_path: Path, real_model: Path) -> None:
    for args in (["--draws", "0"], ["--draws", "x"], ["--seed", "-1"], ["--lang", "fr"]):
        result = runner.invoke(app, ["run", *args, "--out", str(tmp_path / "o")])
        assert result.exit_code == 2, (args, result.output)
        assert args[0] in result.stderr
        assert not (tmp_path / "o").exists()


def test_missing_scenario(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = runner.invoke(app, ["run", str(missing), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "nope.yaml" in result.stderr
    assert not (tmp_path / "o").exists()


def test_schema(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert {"levers", "uncertainties", "targets", "monte_carlo"} <= set(schema["properties"])
    assert runner.invoke(app, ["schema", "--out", str(tmp_path / "s.json")]).exit_code == 0
    assert json.loads((tmp_path / "s.json").read_text("utf-8")) == schema


def test_full_disk_while_streaming_the_netcdf(
    tmp_path: Path, real_model: Path, monkeypatch
) -> None:
    import netCDF4

    from sim.report import run_outputs

    class FullDisk:
        """netCDF4 reports a full disk as an HDF error once part of the file is written."""

        def __init__(self, path: Path, *args: object, **kwargs: object) -> None:
            Path(path).write_bytes(b"CDF half")

        def __enter__(self) -> FullDisk:
            raise RuntimeError("NetCDF: HDF error")

        def __exit__(self, *exc: object) -> None:
            return None

    monkeypatch.setattr(netCDF4, "Dataset", FullDisk)
    monkeypatch.setattr(run_outputs, "FULL_DISK_BYTES", 2**62)
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", "--draws", "16", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().endswith(
        f"innosim: error: --out {out}: writing the outputs failed: No space left on device; "
        "nothing was written"
    )
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == []
    monkeypatch.setattr(run_outputs, "FULL_DISK_BYTES", 0)  # another HDF error: still clean
    result = runner.invoke(app, ["run", "--draws", "16", "--out", str(out)])
    assert result.exit_code == 2 and "ensemble.nc: NetCDF: HDF error" in result.stderr
    assert not out.exists()


def test_run_in_english_opens_with_the_brief_and_no_search_skips_the_levers(
    tmp_path: Path, real_model: Path
) -> None:
    from sim.paths import DEFAULT_SCENARIO_PATH
    from sim.report.i18n import text
    from sim.scenario import load_scenario

    out = tmp_path / "en"
    result = runner.invoke(
        app, ["run", "--draws", "40", "--seed", "3", "--lang", "en", "--no-search", "--out",
              str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text(encoding="utf-8")
    words = text("en", "brief")
    brief = html[html.index(f"<h2>{words['heading']}</h2>") : html.index("</section>")]
    for target in load_scenario(DEFAULT_SCENARIO_PATH).targets:
        assert target.label.en.replace("&", "&amp;") in brief
    assert words["search_skipped"] in brief and "R² = " in brief
    assert "@font-face" in html  # the English page still quotes Chinese sources
