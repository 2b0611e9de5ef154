"""sim.report.writer.write_outputs: a content may be a function that writes its file itself (a
NetCDF file streamed chunk by chunk); files are written in the mapping's order, staged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.report.writer import PROVENANCE_FILE, write_outputs


def test_a_function_writes_its_own_file_in_order(tmp_path: Path) -> None:
    order: list[str] = []

    def streamed(path: Path) -> None:
        order.append(path.name)
        with path.open("wb") as handle:
            for chunk in (b"one ", b"two ", b"three"):
                handle.write(chunk)

    def after(path: Path) -> None:
        order.append(path.name)
        # what is written first is there when the next file is made
        path.write_text(str((path.parent / "a.bin").stat().st_size), encoding="utf-8")

    out = tmp_path / "out"
    written = write_outputs(out, {"a.bin": streamed, "b.txt": after, "c.txt": "plain"}, {"k": 1})
    assert order == ["a.bin", "b.txt"]
    assert [path.name for path in written] == ["a.bin", "b.txt", "c.txt", PROVENANCE_FILE]
    assert (out / "a.bin").read_bytes() == b"one two three"
    assert (out / "b.txt").read_text(encoding="utf-8") == "13"
    assert json.loads((out / PROVENANCE_FILE).read_text(encoding="utf-8")) == {"k": 1}


def test_a_failing_function_leaves_nothing(tmp_path: Path) -> None:
    def broken(path: Path) -> None:
        path.write_bytes(b"half")
        raise RuntimeError("the run stopped")

    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="the run stopped"):
        write_outputs(out, {"first.txt": "kept?", "broken.nc": broken}, {})
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no staging directory, no lock left


def test_other_objects_are_still_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="cannot write a int"):
        write_outputs(tmp_path / "out", {"x": 3}, {})  # type: ignore[dict-item]
