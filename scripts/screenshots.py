"""Screenshots of every web UI page for docs/screenshots/, from a server filled with the same
real traffic the UI tests use (the fake provider behind the gateway), in Debian's chromium.

    python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from bench.observe import synthetic  # noqa: E402
from tests.ui.conftest import ARGS, CHROMIUM  # noqa: E402
from tests.ui.traffic import ADMIN_KEY, Seeded, fill, ui_settings  # noqa: E402

from llmdeck.observe.otlp import to_protobuf  # noqa: E402
from llmdeck.testing import FakeProvider  # noqa: E402
from llmdeck.testing.server import ServerThread  # noqa: E402


def shots(seeded: Seeded) -> list[tuple[str, str, int]]:
    """(file name, path, width)."""
    return [
        ("overview", "/ui/", 1280),
        ("traces", "/ui/traces", 1280),
        ("trace", f"/ui/traces/{seeded.trace_id}", 1280),
        ("prompts", "/ui/prompts", 1280),
        ("prompt", f"/ui/prompts/{seeded.prompt}", 1280),
        (
            "playground",
            f"/ui/playground?prompt={seeded.prompt}&version=2&version_b=3&compare=1",
            1280,
        ),
        ("gateway", "/ui/gateway", 1280),
        ("collections", "/ui/collections", 1280),
        ("collection", f"/ui/collections/{seeded.collection}", 1280),
        ("overview-390", "/ui/", 390),
        ("trace-390", f"/ui/traces/{seeded.trace_id}", 390),
    ]


def history(seeded: Seeded, spans: int = 6000) -> None:
    """A day of earlier traffic, sent as OTLP spans (bench/observe.py's synthetic mix), so the
    charts have a shape; the pages' own data comes from the real calls."""
    url = seeded.server.url
    now = time.time()
    made = synthetic(spans, now - 86400, 86400 - 120, random.Random(7))
    for span in made:  # OTLP carries start and end times, not a latency
        span.end_time = span.start_time + (span.latency_ms or 0) / 1000
    headers = {"authorization": f"Bearer {ADMIN_KEY}", "content-type": "application/x-protobuf"}
    for i in range(0, spans, 500):
        body = to_protobuf(made[i : i + 500])
        httpx.post(f"{url}/otlp/v1/traces", content=body, headers=headers).raise_for_status()
    seeded.server.runtime.recorder.flush()


def take(seeded: Seeded, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    url = seeded.server.url
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        for name, path, width in shots(seeded):
            context = browser.new_context(viewport={"width": width, "height": 900})
            page = context.new_page()
            page.goto(f"{url}/ui/login")
            page.fill("#key", ADMIN_KEY)
            page.click("button[type=submit]")
            page.goto(url + path)
            page.wait_for_selector("#app[data-loaded]")
            if name == "playground":
                page.get_by_label("question").fill("How long are invoices kept?")
                page.get_by_label("product").fill("Acme Cloud")
                page.click("#run")
                page.get_by_label("output 2").get_by_text("echo:").wait_for()
            page.wait_for_timeout(300)
            page.screenshot(path=str(out / f"{name}.png"), full_page=width > 400)
            print(f"{out / name}.png")
            context.close()
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    with (
        FakeProvider() as fake,
        tempfile.TemporaryDirectory() as home,
        ServerThread(ui_settings(Path(home), fake)) as server,
    ):
        seeded = fill(server)
        history(seeded)
        take(seeded, args.out)


if __name__ == "__main__":
    main()
