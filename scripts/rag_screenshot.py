"""A screenshot of the web UI's RAG page for docs/: a server with the embedded defaults (local
embeddings and the extractive model) and quickstart's `docs` pipeline, asked a question.

    python scripts/rag_screenshot.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.ui.conftest import ARGS, CHROMIUM  # noqa: E402

from llmdeck.cli.quickstart import with_docs_pipeline  # noqa: E402
from llmdeck.config import Settings  # noqa: E402
from llmdeck.testing.server import ServerThread  # noqa: E402

QUESTION = "How do I roll back a prompt label?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as home:
        settings = with_docs_pipeline(Settings(home=Path(home)), ROOT / "docs")
        with ServerThread(settings) as server:
            while httpx.get(f"{server.url}/api/rag/ingest").json()["runs"][0]["status"] != "done":
                time.sleep(0.5)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
                page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                page.goto(f"{server.url}/ui/rag?collection=docs&q={QUESTION}")
                page.wait_for_selector("[aria-label='Citations']")
                page.wait_for_timeout(300)
                args.out.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out / "rag.png"), full_page=True)
                browser.close()
    print(args.out / "rag.png")


if __name__ == "__main__":
    main()
