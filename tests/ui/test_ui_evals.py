"""The Datasets and Experiments pages in a real browser: a dataset and its items; two runs of a
suite compared per item and overall (a regression), with their score distributions."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from llmdeck.config import Settings
from llmdeck.testing.server import ServerThread
from tests.evals.conftest import GOOD, WORSE, fact_rows

pytestmark = pytest.mark.xdist_group("ui")


def _finished(api: httpx.Client, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run = dict(api.get(f"/api/experiments/{run_id}").json())
        if run["status"] not in ("queued", "running"):
            return run
        time.sleep(0.1)
    raise AssertionError("the experiment did not finish")


@pytest.fixture(scope="module")
def evals_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """An open server with a dataset, two prompt versions and a run of each."""
    home = tmp_path_factory.mktemp("ui-evals")
    with ServerThread(Settings.model_validate({"home": home})) as server:
        api = httpx.Client(base_url=server.url, timeout=30)
        api.post("/api/datasets", json={"name": "capitals", "items": fact_rows(4, 10)})
        for messages in (GOOD, WORSE):
            spec = {"name": "capitals", "messages": messages, "model": "chat"}
            api.post("/api/prompts", json=spec).raise_for_status()
        body = {"name": "caps", "dataset": "capitals", "evaluators": ["contains", "faithfulness"]}
        first = api.post("/api/experiments", json={**body, "target": {"prompt": "capitals",
                                                                       "version": 1}})  # fmt: skip
        a = _finished(api, first.json()["id"])["id"]
        second = api.post("/api/experiments", json={
            **body, "target": {"prompt": "capitals", "version": 2}, "baseline": a})  # fmt: skip
        b = _finished(api, second.json()["id"])["id"]
        yield server.url, a, b


@pytest.mark.parametrize("width", [1280, 390])
def test_datasets_and_experiments_pages(
    browser: Any, evals_server: tuple[str, str, str], width: int
) -> None:
    url, a, b = evals_server
    context = browser.new_context(viewport={"width": width, "height": 900})
    problems: list[str] = []
    page = context.new_page()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto(url + "/ui/datasets")
    page.wait_for_selector("#app[data-loaded]")
    assert page.locator("nav a", has_text="Experiments").count() == 1
    items = page.locator("#items")
    items.get_by_text("capitals v1").wait_for()
    assert items.locator("tbody tr").count() == 10
    assert "What is the capital of" in items.inner_text()

    page.goto(url + "/ui/experiments")
    page.wait_for_selector("#app[data-loaded]")
    page.locator("#compare").wait_for()
    compare = page.locator("#compare")
    summary = compare.locator("table").first.inner_text()
    assert "contains" in summary and "regression" in summary
    assert page.locator("figure.histogram").count() == 2
    assert page.locator("figure.histogram svg rect").count() == 2 * 2 * 10
    changed = compare.locator("section", has_text="Items whose scores changed").first
    assert "of 10" in changed.inner_text() and changed.locator("tbody tr").count() >= 8
    # choosing the runs the other way round shows an improvement instead
    page.select_option("select[name=a]", b)
    page.select_option("select[name=b]", a)
    page.wait_for_function("location.search.includes('a=" + b + "')")
    compare.get_by_text("improvement").first.wait_for()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"scrolls sideways by {overflow}px at {width}px"
    context.close()
    assert problems == []
