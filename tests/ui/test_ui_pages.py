"""Every page of the web UI in a real browser, against a server filled with real traffic: it
renders with no console errors and no request leaving the server, at 1280 and 390 pixels."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ui.conftest import sign_in
from tests.ui.traffic import Seeded

pytestmark = pytest.mark.xdist_group("ui")


def pages(seeded: Seeded) -> list[tuple[str, str]]:
    """(path, what the page must show once loaded)."""
    return [
        ("/ui/", "Cache savings"),
        ("/ui/traces", "chat gpt"),
        (f"/ui/traces/{seeded.trace_id}", "Waterfall"),
        ("/ui/prompts", "support-answer"),
        (f"/ui/prompts/{seeded.prompt}", "Label history"),
        (f"/ui/playground?prompt={seeded.prompt}", "Side by side"),
        ("/ui/gateway", "openai-main"),
        ("/ui/collections", "docs"),
        (f"/ui/collections/{seeded.collection}", "Retrieval quality"),
        ("/ui/rag", "Ask a question"),
    ]


@pytest.mark.parametrize("width", [1280, 390])
def test_every_page_renders_cleanly(browser: Any, seeded: Seeded, width: int) -> None:
    url = seeded.server.url
    context = browser.new_context(viewport={"width": width, "height": 900})
    problems: list[str] = []
    outside: list[str] = []

    def only_here(route: Any) -> None:
        if route.request.url.startswith(url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_here)
    page = sign_in(context, url)
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    for path, expected in pages(seeded):
        page.goto(url + path)
        page.wait_for_selector("#app[data-loaded]")
        page.get_by_text(expected).first.wait_for(timeout=10_000)
        assert page.locator("#app [role=alert]").count() == 0, path
        assert page.locator("#app").inner_text().strip() != "Loading…", path
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width}px"
    context.close()
    assert problems == [] and outside == []


def test_the_overview_charts_real_traffic(browser: Any, seeded: Seeded) -> None:
    context = browser.new_context()
    page = sign_in(context, seeded.server.url)
    page.wait_for_selector("#app[data-loaded]")
    charts = page.locator("figure.chart svg[role=img]")
    assert charts.count() == 8
    requests = charts.first.get_attribute("aria-label") or ""
    assert requests.startswith("Requests.") and "peak 0," not in requests
    page.select_option("#group", "deployment")
    page.get_by_role("cell", name="openai-main").wait_for()
    context.close()
