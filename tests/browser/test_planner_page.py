"""``innosim serve`` in a real browser: Playwright drives Debian's Chromium against the page
served by a subprocess; a slider moved from the keyboard changes a probability, the language
switch relabels the page, and the scenario saved from the page gives, under ``innosim run``,
the numbers the page shows.

Without ``/usr/bin/chromium`` the test is skipped (``apt-get install chromium``), unless
``INNOSIM_REQUIRE_BROWSER=1`` (CI) makes that a failure.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.paths import DEFAULT_SCENARIO_PATH
from sim.report.quantities import format_percent
from sim.scenario import load_scenario

INNOSIM = Path(sys.executable).with_name("innosim")
#: Draws of the page under test (small: the test is about the page, not the statistics).
DRAWS = 500
#: Milliseconds to wait for the page or a change on it.
CHANGE_MS = 30_000


def _probabilities(page) -> dict[str, tuple[float, str]]:
    """Each row of the target table: ``{target: (probability, shown text)}``."""
    rows = page.locator("table.innosim-targets tbody tr")
    found = {}
    for i in range(rows.count()):
        row = rows.nth(i)
        cell = row.locator("td.probability")
        found[row.get_attribute("data-target")] = (
            float(cell.get_attribute("data-probability")),
            cell.inner_text().strip(),
        )
    return found


def test_planner_page_in_chromium(
    tmp_path: Path, serve, playwright_chromium: Path, chromium_args: list[str]
) -> None:
    from playwright.sync_api import expect, sync_playwright

    scenario = load_scenario(DEFAULT_SCENARIO_PATH)
    first = scenario.targets[0]
    with (
        serve(DEFAULT_SCENARIO_PATH, tmp_path, draws=DRAWS) as url,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=str(playwright_chromium), args=chromium_args
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
            page.set_default_timeout(CHANGE_MS)
            page.goto(url)
            heading = page.locator("h2.page-title")
            expect(heading).to_contain_text("规划沙盘")
            expect(page.locator("th").first).to_have_text("指标")
            before = _probabilities(page)
            assert set(before) == {t.name for t in scenario.targets} | {"all"}

            # the fiscal floor to the top of its plausible range, from the keyboard
            handle = page.locator(".lever-fiscal-innovation-share-floor .noUi-handle")
            handle.focus()
            handle.press("End")
            cell = page.locator(f"tr[data-target='{first.name}'] td.probability")
            expect(cell).not_to_have_attribute("data-probability", repr(before[first.name][0]))
            expect(page.locator(".status-text")).to_contain_text("已改动 1 项杠杆")
            expect(page.locator(".lever-fiscal-innovation-share-floor")).to_contain_text("10 %")
            after = _probabilities(page)
            assert after[first.name][0] > before[first.name][0]

            # a share of the budget: the other shares rescale, their sum stays 1
            share = page.locator(".lever-cultivation-allocation-share .noUi-handle")
            share.focus()
            share.press("PageUp")
            expect(page.locator(".status-text")).not_to_contain_text("已改动 1 项杠杆")

            page.get_by_role("button", name="English").click()
            expect(heading).to_contain_text("Planner")
            expect(page.locator("th").first).to_have_text("Indicator")
            expect(page.locator(".lever-fiscal-innovation-share-floor")).to_contain_text(
                "Fiscal Innovation Share Floor"
            )
            expect(page.locator(f"tr[data-target='{first.name}'] td.label")).to_have_text(
                first.label.en
            )
            shown = _probabilities(page)

            with page.expect_download() as download_info:
                page.get_by_role("button", name="Save as scenario").click()
            saved = tmp_path / "elsewhere" / download_info.value.suggested_filename
            saved.parent.mkdir()
            download_info.value.save_as(saved)
        finally:
            browser.close()

    out = tmp_path / "run"
    run = subprocess.run(
        [str(INNOSIM), "run", str(saved), "--out", str(out), "--lang", "en"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    table = pd.read_csv(out / "targets.csv")
    # the columns by their first word (a header may also name its unit)
    column = {str(c).split()[0]: c for c in table.columns}
    names, probabilities = table[column["target"]], table[column["probability"]]
    assert set(names) == set(shown) - {"all"}
    for name, probability in zip(names, probabilities, strict=True):
        assert probability == pytest.approx(shown[name][0], abs=1e-12), name
        assert format_percent(probability) == shown[name][1], name
    assert f"{DRAWS} draws" in saved.read_text(encoding="utf-8")
