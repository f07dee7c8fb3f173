"""One llmdeck server filled with real traffic, and one headless Chromium, for these tests.

The browser is Debian's `chromium` driven by Playwright (never a browser Playwright downloads).
Without it the browser tests skip locally, and fail under CI (CI=true), which must have it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llmdeck.testing import FakeProvider
from llmdeck.testing.server import ServerThread
from tests.ui.traffic import ADMIN_KEY, Seeded, fill, ui_settings

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def seeded(
    fake_provider_server: FakeProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seeded]:
    """A server (SQLite) after real traffic: calls, prompts, keys, a collection."""
    home = tmp_path_factory.mktemp("ui-home")
    server = ServerThread(ui_settings(home, fake_provider_server)).start()
    try:
        yield fill(server)
    finally:
        server.stop()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Headless Chromium for these tests. Package-scoped: Playwright's sync API keeps an event
    loop running in this thread while it is started, which other tests' asyncio.run() refuses."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(
                "/usr/bin/chromium is missing: .ci/run installs it (apt-get install chromium)"
            )
        pytest.skip("/usr/bin/chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def sign_in(context: Any, url: str, key: str = ADMIN_KEY) -> Any:
    """A page of `context`, signed in with `key`."""
    page = context.new_page()
    page.goto(f"{url}/ui/login")
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/ui/")
    return page
