"""Spend queries two ways, on SQLite and PostgreSQL: summing `spans` against reading the daily
roll-up (`spend_daily`), over the same synthetic month of calls. Part of bench/limits.py."""

from __future__ import annotations

import os
import random
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Connection, func, select

from llmdeck.gateway.spend import day_of
from llmdeck.store import Store, open_store, tables

POSTGRES_URL = os.environ.get(
    "LLMDECK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
KEYS, ALIASES, DAYS = 200, 4, 30


def synthetic_spans(count: int, now: float) -> list[dict[str, Any]]:
    """`count` llm spans spread over the last DAYS days, KEYS keys and ALIASES aliases."""
    rng = random.Random(7)
    rows = []
    for i in range(count):
        alias = rng.randrange(ALIASES)
        rows.append(
            {
                "id": f"{i:016x}",
                "trace_id": f"{i:032x}",
                "name": "chat",
                "kind": "llm",
                "start_time": now - rng.random() * DAYS * 86_400,
                "status": "ok",
                "key_id": f"key_{rng.randrange(KEYS):04d}",
                "model_alias": f"alias-{alias}",
                "deployment": f"dep-{alias}-{rng.randrange(2)}",
                "input_tokens": 500,
                "output_tokens": 100,
                "cost": rng.random() / 1000,
            }
        )
    return rows


def rollup(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The spend_daily rows those spans make."""
    totals: dict[tuple[str, ...], dict[str, Any]] = {}
    for span in spans:
        key = (day_of(span["start_time"]), span["key_id"], "", span["model_alias"])
        key += (span["deployment"], "", "")
        row = totals.setdefault(key, {"requests": 0, "input_tokens": 0, "output_tokens": 0})
        row["requests"] += 1
        row["input_tokens"] += span["input_tokens"]
        row["output_tokens"] += span["output_tokens"]
        row["cost"] = row.get("cost", 0.0) + span["cost"]
    names = ("day", "key_id", "team", "model_alias", "deployment", "prompt_name", "tag")
    return [
        {**dict(zip(names, k, strict=True)), "cached_tokens": 0, **v} for k, v in totals.items()
    ]


def fill(store: Store, spans: list[dict[str, Any]]) -> None:
    rows = rollup(spans)

    def write(conn: Connection) -> None:
        for start in range(0, len(spans), 5000):
            conn.execute(tables.spans.insert(), spans[start : start + 5000])
        conn.execute(tables.spend_daily.insert(), rows)

    store.write(write)


def queries(
    now: float,
) -> dict[str, tuple[Callable[[Connection], Any], Callable[[Connection], Any]]]:
    """Each question, asked of the spans and of the roll-up."""
    spans, daily = tables.spans, tables.spend_daily
    today = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    day_start, day = today.timestamp(), today.strftime("%Y-%m-%d")
    month_start = today.replace(day=1)
    key = "key_0042"
    return {
        "today's spend by key": (
            lambda c: c.execute(
                select(spans.c.key_id, func.sum(spans.c.cost))
                .where(spans.c.start_time >= day_start)
                .group_by(spans.c.key_id)
            ).all(),
            lambda c: c.execute(
                select(daily.c.key_id, func.sum(daily.c.cost))
                .where(daily.c.day == day, daily.c.tag == "")
                .group_by(daily.c.key_id)
            ).all(),
        ),
        "one key's spend this month (a budget seed)": (
            lambda c: c.execute(
                select(func.sum(spans.c.cost)).where(
                    spans.c.key_id == key, spans.c.start_time >= month_start.timestamp()
                )
            ).scalar(),
            lambda c: c.execute(
                select(func.sum(daily.c.cost)).where(
                    daily.c.key_id == key,
                    daily.c.tag == "",
                    daily.c.day >= month_start.strftime("%Y-%m-%d"),
                )
            ).scalar(),
        ),
        "30 days by deployment": (
            lambda c: c.execute(
                select(spans.c.deployment, func.sum(spans.c.cost)).group_by(spans.c.deployment)
            ).all(),
            lambda c: c.execute(
                select(daily.c.deployment, func.sum(daily.c.cost))
                .where(daily.c.tag == "")
                .group_by(daily.c.deployment)
            ).all(),
        ),
    }


def timed(store: Store, query: Callable[[Connection], Any], rounds: int = 5) -> float:
    """Median milliseconds of `rounds` runs (after one warm-up)."""
    store.read(query)
    samples = []
    for _ in range(rounds):
        begin = time.perf_counter()
        store.read(query)
        samples.append(time.perf_counter() - begin)
    return statistics.median(samples) * 1000


def spend_query_rows(count: int, workdir: Path) -> list[str]:
    """The Markdown table of spans-vs-roll-up timings on both engines."""
    now = time.time()
    spans = synthetic_spans(count, now)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    engines = {
        "SQLite": f"sqlite:///{workdir / 'spend.db'}",
        "PostgreSQL": f"{POSTGRES_URL}?options=-csearch_path%3D{schema}",
    }
    lines = [
        f"### Spend queries: spans against the daily roll-up ({count:,} spans, {DAYS} days, "
        f"{KEYS} keys)",
        "",
        "| question | engine | over spans ms | over the roll-up ms | ratio |",
        "| --- | --- | --- | --- | --- |",
    ]
    try:
        for engine, url in engines.items():
            store = open_store(url)
            fill(store, spans)
            for question, (over_spans, over_rollup) in queries(now).items():
                slow, fast = timed(store, over_spans), timed(store, over_rollup)
                lines.append(
                    f"| {question} | {engine} | {slow:.1f} | {fast:.2f} | {slow / fast:,.0f}x |"
                )
            store.close()
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    return [*lines, ""]
