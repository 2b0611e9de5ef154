"""The generated variable table of model/README.md (``innosim doc``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.errors import ModelError
from sim.vensim import ModelVariable, model_variables
from sim.vensim.variable_table import (
    BEGIN_MARKER,
    END_MARKER,
    render_variable_table,
    replace_table,
    update_variable_table,
)

runner = CliRunner()


@pytest.fixture
def workdir(tmp_path: Path, tiny_model: Path) -> Path:
    """A copy of the tiny model with a hand-written README around the markers."""
    shutil.copyfile(tiny_model, tmp_path / "tiny.mdl")
    (tmp_path / "README.md").write_text(
        f"# Tiny\n\nIntro text.\n\n{BEGIN_MARKER}\nold\n{END_MARKER}\n\n## Notes\n\nKept.\n",
        encoding="utf-8",
    )
    return tmp_path


def _doc(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["doc", *args])
    return result.exit_code, result.stdout, result.stderr


def test_table_groups_by_sector_and_escapes_pipes() -> None:
    doc = ModelVariable(
        "A|B", "a|b", "Economy", "stock", units="Firm", meaning="x | y", label_zh="甲", source="s"
    )
    other = ModelVariable(
        "C", "c", "RD", "constant", units="Dmnl", meaning="m", label_zh="乙", source="s"
    )
    table = render_variable_table([doc, other])
    assert table.index("### Economy") < table.index("### RD")
    assert "| A\\|B | stock | Firm | 甲 | x \\| y | s |" in table


def test_replace_table_keeps_the_rest() -> None:
    text = f"head\n{BEGIN_MARKER}\nold\n{END_MARKER}\ntail\n"
    assert replace_table(text, "NEW") == f"head\n{BEGIN_MARKER}\n\nNEW\n\n{END_MARKER}\ntail\n"
    with pytest.raises(ModelError, match="exactly one"):
        replace_table("no markers", "NEW")


def test_doc_check_fails_when_stale_and_passes_after_update(workdir: Path) -> None:
    mdl, readme = workdir / "tiny.mdl", workdir / "README.md"
    before = readme.read_text(encoding="utf-8")

    code, _, err = _doc("--check", "--model", str(mdl))
    assert code == 1 and "stale" in err
    assert readme.read_text(encoding="utf-8") == before  # --check writes nothing

    code, out, err = _doc("--model", str(mdl))
    assert code == 0 and "updated" in out
    assert "RD Intensity: missing Source:" in err  # conventions reported, not fatal
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# Tiny\n\nIntro text.\n\n") and text.endswith("## Notes\n\nKept.\n")
    assert "| High Tech Enterprises | stock | Firm | 高新技术企业 |" in text
    assert "### Enterprises" in text and "### Control" in text

    assert _doc("--check", "--model", str(mdl))[0] == 0

    # An edit of the model makes the table stale again.
    mdl.write_text(
        mdl.read_text(encoding="utf-8").replace("zh: 高企退出", "zh: 高新技术企业退出"),
        encoding="utf-8",
    )
    assert _doc("--check", "--model", str(mdl))[0] == 1


def test_doc_creates_missing_readme(tmp_path: Path, tiny_model: Path) -> None:
    readme = tmp_path / "MODEL.md"
    code, _, _ = _doc("--model", str(tiny_model), "--readme", str(readme))
    assert code == 0
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# ") and BEGIN_MARKER in text and END_MARKER in text
    assert update_variable_table(readme, model_variables(tiny_model), check=True)


def test_doc_bad_model(tmp_path: Path) -> None:
    code, _, err = _doc("--model", str(tmp_path / "none.mdl"))
    assert code == 2 and "none.mdl" in err


def test_real_model_readme_is_current(real_model: Path) -> None:
    readme = real_model.parent / "README.md"
    current = update_variable_table(readme, model_variables(real_model), check=True)
    assert current, "model/README.md is stale: run `innosim doc`"


def test_atomic_write_keeps_normal_permissions(tmp_path: Path) -> None:
    from sim.atomic import atomic_write_text

    path = tmp_path / "new.md"
    atomic_write_text(path, "x")
    assert path.stat().st_mode & 0o044 == 0o044  # readable by group and others (umask 022)
    path.chmod(0o640)
    atomic_write_text(path, "y")
    assert path.stat().st_mode & 0o777 == 0o640
    assert path.read_text() == "y"
