"""Benchmark of the planner page (``innosim serve``): latency from a slider move to updated
probabilities (not a test).

Run: ``.venv/bin/python benchmarks/bench_serve.py [--draws 2000] [--moves 12] [--browser]
[--screenshot docs/planner_page_zh.png]``.

**In the process.** The page is built as the server builds it for a session
(``sim.serve.page.planner_page``), then moved lever by lever as a slider release does
(``PlannerPage.move``): the fiscal floor, the fund size, a budget share (the other shares
rescale), the transfer subsidy, the VC reward, in turn, to values across their ranges. Each
move is timed whole: the draws re-run on common random numbers, the target table and the
paired differences, the fan chart's data, the widgets' new values. Printed: each phase's
median over the moves, and the median and range of the whole update.

**In the browser** (``--browser``, needs ``/usr/bin/chromium`` and ``playwright``). ``innosim
serve`` runs in a subprocess; Chromium (headless) loads the page; each move is a key press on a
slider's handle (``PageUp``/``PageDown``: five steps), timed from the press to the moment the
page's status line shows the new update (rendered after the table), polled on every animation
frame. This adds the websocket round trip and the browser's rendering to the update.

``--screenshot PATH`` saves a screenshot of the Chinese page after the moves (``docs/``).
The machine is shared and noisy: the load average is printed first; read the range.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _browser_helpers():
    """``tests/conftest.py``, where the headless Chromium's path and flags and the
    ``innosim serve`` subprocess (``served_page``) are defined once for tests and this
    benchmark."""
    spec = importlib.util.spec_from_file_location(
        "innosim_test_helpers", ROOT / "tests" / "conftest.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: The levers moved in turn, with the fractions of their range to move to.
MOVED = (
    "Fiscal Innovation Share Floor",
    "Initial Fund Size",
    "Cultivation Allocation Share",
    "Transfer Subsidy Rate",
    "VC Reward Rate",
)
FRACTIONS = (0.1, 0.25, 0.4, 0.6, 0.75, 0.9)
#: The levers moved in the browser (the VC reward's group starts collapsed).
BROWSER_MOVED = MOVED[:4]
#: Find an element inside Panel's shadow roots (the page's components each have one).
DEEP_QUERY = """
(selector) => {
  const search = (root) => {
    const found = root.querySelector(selector);
    if (found) return found;
    for (const element of root.querySelectorAll("*")) {
      if (element.shadowRoot) {
        const inner = search(element.shadowRoot);
        if (inner) return inner;
      }
    }
    return null;
  };
  return search(document);
}
"""


def _spread(seconds: list[float]) -> str:
    return (
        f"median {statistics.median(seconds):.3f} s, range {min(seconds):.3f}–"
        f"{max(seconds):.3f} s over {len(seconds)} moves"
    )


@contextlib.contextmanager
def _timed(spent: dict[str, list[float]], owner: object, name: str, label: str) -> Iterator[None]:
    """Record the seconds of each call of ``owner.name`` in ``spent[label]`` while the block
    runs."""
    original: Callable = getattr(owner, name)

    def wrapper(*args: object, **kwargs: object) -> object:
        begin = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent.setdefault(label, []).append(time.perf_counter() - begin)

    setattr(owner, name, wrapper)
    try:
        yield
    finally:
        setattr(owner, name, original)


def in_process(draws: int, moves: int) -> None:
    """Time ``moves`` slider moves of a page built here."""
    begin = time.perf_counter()
    from sim.serve.page import PlannerPage, planner_page
    from sim.serve.planner import PlannerEnsemble
    from sim.workflows.lever_runs import LeverRuns

    imported = time.perf_counter() - begin
    begin = time.perf_counter()
    page = planner_page(ROOT / "scenarios" / "baseline.yaml", draws=draws, lang="zh")
    built = time.perf_counter() - begin
    print(f"imports {imported:.2f} s; page built (draws, baseline run, widgets) {built:.2f} s")
    plan = [
        (name, FRACTIONS[(i // len(MOVED)) % len(FRACTIONS)])
        for i, name in zip(range(moves), MOVED * moves, strict=False)
    ]
    spent: dict[str, list[float]] = {}
    whole = []
    hooks = [
        (LeverRuns, "series", "re-run of the draws (LeverRuns.series)"),
        (PlannerEnsemble, "outcome", "re-run + target table (outcome)"),
        (PlannerPage, "_render_table", "paired differences + table HTML"),
        (PlannerPage, "_show_chart", "fan chart data sources"),
    ]
    with contextlib.ExitStack() as stack:
        for owner, name, label in hooks:
            stack.enter_context(_timed(spent, owner, name, label))
        for name, fraction in plan:
            slider = page.ensemble.by_name[name]
            value = slider.start + fraction * (slider.end - slider.start)
            begin = time.perf_counter()
            page.move(name, value)
            whole.append(time.perf_counter() - begin)
    print(f"in the process, {draws:,} draws: slider move to updated page: {_spread(whole)}")
    for label, seconds in spent.items():
        print(f"  {label:<42} median {statistics.median(seconds):.3f} s")


def in_browser(draws: int, moves: int, screenshot: Path | None) -> None:
    """Time ``moves`` key presses on the page in Chromium, served by ``innosim serve``."""
    from playwright.sync_api import sync_playwright

    helpers = _browser_helpers()

    with (
        tempfile.TemporaryDirectory(prefix="bench-serve-") as scratch,
        helpers.served_page(
            ROOT / "scenarios" / "baseline.yaml", Path(scratch), draws=draws
        ) as url,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=str(helpers.CHROMIUM), args=helpers.CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1500, "height": 1050})
        page.goto(url)
        page.locator("td.probability").first.wait_for(timeout=60_000)
        status = f"(({DEEP_QUERY})('.status-text') || {{}}).textContent"
        read_status = f"() => {status}"
        changed = f"(old) => {{ const now = {status}; return now !== undefined && now !== old; }}"
        seconds = []
        for i in range(moves):
            name = BROWSER_MOVED[i % len(BROWSER_MOVED)]
            handle = page.locator(f".lever-{name.lower().replace(' ', '-')} .noUi-handle")
            handle.scroll_into_view_if_needed()
            handle.focus()
            before = page.evaluate(read_status)
            key = "PageUp" if (i // len(BROWSER_MOVED)) % 2 == 0 else "PageDown"
            begin = time.perf_counter()
            handle.press(key)
            page.wait_for_function(changed, arg=before, polling="raf", timeout=30_000)
            seconds.append(time.perf_counter() - begin)
        print(f"in Chromium, {draws:,} draws: key press to updated page: {_spread(seconds)}")
        if screenshot is not None:
            page.evaluate("window.scrollTo(0, 0)")
            page.wait_for_timeout(500)
            page.screenshot(path=str(screenshot), full_page=False)
            print(f"wrote {screenshot}")
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--moves", type=int, default=12)
    parser.add_argument("--browser", action="store_true")
    parser.add_argument("--screenshot", type=Path, default=None)
    args = parser.parse_args()
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"{os.cpu_count()} CPUs, load average {load}; planner page, {args.draws:,} draws")
    in_process(args.draws, args.moves)
    if args.browser or args.screenshot:
        in_browser(args.draws, args.moves, args.screenshot)


if __name__ == "__main__":
    main()
