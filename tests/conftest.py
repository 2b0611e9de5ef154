"""Shared fixtures: a private translation cache, the paths of test models, and the headless
Chromium that pages are checked with."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from sim.paths import REPO_ROOT

FIXTURES = Path(__file__).parent / "fixtures"
REAL_MODEL = REPO_ROOT / "model" / "innovation_ecosystem.mdl"

#: Debian's Chromium (Playwright's own browser download is not available here). These names
#: and ``served_page`` are also used by benchmarks/bench_serve.py, which loads this file.
CHROMIUM = Path("/usr/bin/chromium")
#: Headless, as root, with nothing that calls out to the (closed) network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Set to 1 (CI, ``.ci/run``), a missing browser fails a browser test instead of skipping it.
BROWSER_REQUIRED = "INNOSIM_REQUIRE_BROWSER"


def need_browser(*, playwright: bool) -> Path:
    """``CHROMIUM``, or skip the calling test when it (or, with ``playwright``, the playwright
    package) is missing; fail it instead when ``INNOSIM_REQUIRE_BROWSER=1``."""
    missing = [] if CHROMIUM.exists() else [f"{CHROMIUM} (apt-get install -y chromium)"]
    if playwright:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing.append("the playwright package (pip install -e '.[test]')")
    if missing:
        reason = "this test needs " + " and ".join(missing)
        if os.environ.get(BROWSER_REQUIRED) == "1":
            pytest.fail(f"{reason}; {BROWSER_REQUIRED}=1 requires it")
        pytest.skip(reason)
    return CHROMIUM


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def served_page(
    scenario: Path, scratch: Path, *, draws: int, lang: str = "zh", wait_seconds: float = 120
) -> Iterator[str]:
    """``innosim serve SCENARIO`` on a free port in a subprocess (working directory and log
    in ``scratch``); yields its URL once it answers. The subprocess is stopped on leaving,
    also on failure.

    Raises:
        RuntimeError: the server exited or did not answer within ``wait_seconds`` (with its
            log).
    """
    port = free_port()
    innosim = Path(sys.executable).with_name("innosim")
    command = [str(innosim), "serve", str(scenario), "--port", str(port), "--draws", str(draws)]
    log_path = scratch / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [*command, "--lang", lang], stdout=log, stderr=subprocess.STDOUT, cwd=scratch
        )
        url = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.monotonic() + wait_seconds
            while True:
                if server.poll() is not None:
                    log.flush()
                    output = log_path.read_text(errors="replace")
                    raise RuntimeError(f"innosim serve exited with {server.returncode}:\n{output}")
                with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=5) as reply:
                    if reply.status == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"innosim serve did not answer on {url} in {wait_seconds} s")
                time.sleep(0.5)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


@pytest.fixture
def serve() -> object:
    """``served_page``, for a test to start ``innosim serve`` with."""
    return served_page


@pytest.fixture
def chromium() -> Path:
    """The Chromium binary (a test printing or screenshotting a page with it)."""
    return need_browser(playwright=False)


@pytest.fixture
def chromium_args() -> list[str]:
    """Chromium's flags here; with the ``playwright_chromium`` fixture for Playwright's launch."""
    return list(CHROMIUM_ARGS)


@pytest.fixture
def playwright_chromium() -> Path:
    """The Chromium binary for Playwright (``executable_path``), the package checked too."""
    return need_browser(playwright=True)


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Translate models into a cache of the test session, never into ~/.cache."""
    cache = tmp_path_factory.mktemp("xdg-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(cache))
        patch.delenv("INNOSIM_MODEL", raising=False)
        yield cache


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    """A small Vensim model that follows the project's conventions."""
    return FIXTURES / "tiny.mdl"


@pytest.fixture(scope="session")
def tiny_targets() -> Path:
    """A scenario file whose targets refer to variables of ``tiny.mdl``."""
    return FIXTURES / "tiny_targets.yaml"


@pytest.fixture(scope="session")
def real_model() -> Path:
    """The project's model; the test is skipped while it does not exist."""
    if not REAL_MODEL.is_file():
        pytest.skip("model/innovation_ecosystem.mdl does not exist yet")
    return REAL_MODEL
