"""Web UI benchmark: how long each page and the API calls behind it take with 1,000,000 spans
stored, next to the same with 20,000 spans stored (the baseline), in a real headless Chromium.

    python bench/ui.py [--spans 1000000] [--rounds 5] [--keep /tmp/llmdeck-ui-1m.db]

The spans are bench/observe.py's synthetic traffic over 30 days, written through the recorder's
own writer (traces, spans, roll-ups), into SQLite; `--keep` reuses a filled file. The server is
`llmdeck serve` in its own process. Writes `## Web UI` in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from bench.observe import fill, free_port  # noqa: E402
from bench.report import write_section  # noqa: E402
from llmdeck.store import open_store, tables  # noqa: E402

ADMIN = "sk-bench-ui"
SMALL = 20_000  # spans in the baseline database (bench.observe.fill writes 20,000 at a time)
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]  # fmt: skip


def api_calls(trace_id: str) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Each page's JSON calls, as its script makes them."""
    return {
        "Overview (24 h)": [
            ("/api/analytics/timeseries", {"start": "24h", "bucket": 900}),
            ("/api/analytics/summary", {"start": "24h"}),
            ("/api/analytics/summary", {"start": "24h", "group_by": "model_alias"}),
            ("/api/cache/stats", {}),
        ],
        "Overview (30 d)": [
            ("/api/analytics/timeseries", {"start": "30d", "bucket": 86400}),
            ("/api/analytics/summary", {"start": "30d"}),
            ("/api/analytics/summary", {"start": "30d", "group_by": "key"}),
        ],
        "Traces": [("/health/ready", {}), ("/api/traces", {"limit": 50})],
        "Traces, errors": [("/api/traces", {"limit": 50, "status": "error"})],
        "Traces, one model, last hour": [
            ("/api/traces", {"limit": 50, "model": "claude", "start": "1h"})
        ],
        "Traces, text search": [("/api/traces", {"limit": 50, "q": "number 12345"})],
        "Traces, text search, last 24 h": [
            ("/api/traces", {"limit": 50, "q": "number 12345", "start": "24h"})
        ],
        "Trace": [(f"/api/traces/{trace_id}", {})],
        "Gateway": [
            ("/health/ready", {}),
            (
                "/api/analytics/timeseries",
                {"start": "1h", "bucket": "minute", "group_by": "deployment"},
            ),
            ("/api/keys", {"usage": "true"}),
            ("/api/spend", {"by": "key"}),
            ("/api/traces", {"status": "error", "limit": 15, "full": 1}),
            ("/api/events", {"limit": 15}),
        ],
    }


def pages(trace_id: str) -> dict[str, str]:
    """The pages timed in the browser."""
    return {
        "Overview (24 h)": "/ui/?range=24h&by=model_alias",
        "Overview (30 d)": "/ui/?range=30d&by=key",
        "Traces": "/ui/traces",
        "Traces, errors": "/ui/traces?status=error",
        "Trace": f"/ui/traces/{trace_id}",
        "Prompts": "/ui/prompts",
        "Gateway": "/ui/gateway",
        "Collections": "/ui/collections",
    }


@contextmanager
def serve(database: str, folder: Path) -> Iterator[str]:
    """`llmdeck serve` on `database` in its own process; yields its URL."""
    port = free_port()
    config = folder / "llmdeck.yaml"
    settings = {"database_url": database, "home": str(folder), "admin_key": ADMIN}
    config.write_text(yaml.safe_dump(settings))
    process = subprocess.Popen(
        [sys.executable, "-m", "llmdeck", "serve", "--config", str(config), "--port", str(port)],
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(60)


def time_api(
    url: str, calls: dict[str, list[tuple[str, dict[str, Any]]]], rounds: int
) -> dict[str, float]:
    """p95 ms per page of its API calls made one after another (the browser makes them at once)."""
    out: dict[str, list[float]] = {name: [] for name in calls}
    with httpx.Client(
        base_url=url, headers={"authorization": f"Bearer {ADMIN}"}, timeout=120
    ) as client:
        for _ in range(rounds):
            for name, requests in calls.items():
                started = time.perf_counter()
                for path, params in requests:
                    client.get(path, params=params).raise_for_status()
                out[name].append((time.perf_counter() - started) * 1000)
    return {name: p95(values) for name, values in out.items()}


def time_pages(url: str, paths: dict[str, str], rounds: int) -> dict[str, float]:
    """p95 ms from navigation to the page's data drawn (`#app[data-loaded]`), in Chromium."""
    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {name: [] for name in paths}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.goto(f"{url}/ui/login")
        page.fill("#key", ADMIN)
        page.click("button[type=submit]")
        page.wait_for_selector("#app[data-loaded]")
        for _ in range(rounds):
            for name, path in paths.items():
                started = time.perf_counter()
                page.goto(url + path)
                page.wait_for_selector("#app[data-loaded]", timeout=60_000)
                out[name].append((time.perf_counter() - started) * 1000)
                assert page.locator("#app [role=alert]").count() == 0, path
        browser.close()
    return {name: p95(values) for name, values in out.items()}


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def measure(database: str, rounds: int) -> tuple[dict[str, float], dict[str, float]]:
    store = open_store(database)
    row = store.read(lambda c: c.execute(tables.traces.select().limit(1)).first())
    store.close()
    trace_id = row.id if row is not None else "0" * 32
    with tempfile.TemporaryDirectory() as tmp, serve(database, Path(tmp)) as url:
        api = time_api(url, api_calls(trace_id), rounds * 2)
        browser = time_pages(url, pages(trace_id), rounds)
    return api, browser


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", default=None, help="a SQLite file to fill once and reuse")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.keep) if args.keep else Path(tmp) / "ui-1m.db"
        filled = f"sqlite:///{path}"
        took = None
        if not path.exists():
            took = fill(filled, args.spans, 30)
            print(f"filled {args.spans:,} spans in {took:.0f} s")
        count = select(func.count()).select_from(tables.spans)
        stored = open_store(filled).read(lambda c: c.execute(count).scalar())
        small = f"sqlite:///{tmp}/small.db"
        fill(small, SMALL, 30)
        base_api, base_pages = measure(small, args.rounds)
        full_api, full_pages = measure(filled, args.rounds)
    report(args, stored, took, (base_api, base_pages), (full_api, full_pages))


def rows(full: dict[str, float], empty: dict[str, float], kind: str) -> list[str]:
    """Table rows: each measure with a few spans, with 1M spans, and their ratio."""
    out = []
    for name, ms in full.items():
        out.append(f"| {name} | {empty[name]:.0f} | {ms:.0f} | {ms / empty[name]:.1f}x |")
        print(f"{kind} {name}: {empty[name]:.0f} -> {ms:.0f} ms")
    return out


def report(args: Any, stored: int, took: float | None, base: Any, full: Any) -> None:
    command = f"python bench/ui.py --spans {args.spans} --rounds {args.rounds}"
    lines = [
        f"Reproduce: `{command}` (2 cores; `llmdeck serve` in its own process, SQLite, "
        f"Debian's chromium 1280 px). Load average at the start: {os.getloadavg()[0]:.1f}.",
        "",
        f"Page load: from navigation to the page's data drawn, p95 of {args.rounds} rounds, "
        f"with {stored:,} spans stored over 30 days, next to {SMALL:,} spans:",
        "",
        f"| page | {SMALL:,} spans (ms) | 1M spans (ms) | ratio |",
        "| --- | --- | --- | --- |",
    ]
    lines += rows(full[1], base[1], "page")
    lines += [
        "",
        f"The JSON calls behind each page, made one after another (the page makes them at "
        f"once), p95 of {args.rounds * 2} rounds:",
        "",
        f"| page's API calls | {SMALL:,} spans (ms) | 1M spans (ms) | ratio |",
        "| --- | --- | --- | --- |",
    ]
    lines += rows(full[0], base[0], "api")
    search = full[0]["Traces, text search"]
    lines += [
        "",
        f"Where it falls short: a text search over every trace ({search:,.0f} ms here) is a scan "
        "of the traces' names, inputs and outputs (LIKE, no full-text index), so it grows with "
        "what is stored; bounded by a time range (the Time filter) it reads only that range. "
        "Everything else reads roll-ups or one page of traces by index, and stays flat.",
    ]
    if took is not None:
        lines += ["", f"Filling {stored:,} spans through the recorder's writer took {took:.0f} s."]
    write_section("## Web UI", lines)


if __name__ == "__main__":
    main()
