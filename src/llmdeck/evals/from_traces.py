"""Dataset items from production traces: the `llm` spans matching a filter, each one's last user
message as the input and its answer as the expected output to review."""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, select

from llmdeck.evals.items import Item
from llmdeck.store import Store
from llmdeck.store.tables import scores as scores_table
from llmdeck.store.tables import spans


class TraceFilter(BaseModel):
    """Which calls become items."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    prompt: str | None = None
    tag: str | None = None
    since: float | None = Field(default=None, description="seconds back from now")
    status: str | None = "ok"
    min_score: tuple[str, float] | None = None
    limit: int = Field(default=100, ge=1, le=10_000)


def last_user_text(messages: Any) -> str | None:
    """The text of the last user message of a recorded chat input."""
    if not isinstance(messages, list):
        return None
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return None


def _query(conn: Connection, flt: TraceFilter) -> list[Any]:
    query = select(spans).where(spans.c.kind == "llm").order_by(spans.c.start_time.desc())
    if flt.model:
        query = query.where(spans.c.model_alias == flt.model)
    if flt.prompt:
        query = query.where(spans.c.prompt_name == flt.prompt)
    if flt.status:
        query = query.where(spans.c.status == flt.status)
    if flt.since:
        query = query.where(spans.c.start_time >= time.time() - flt.since)
    if flt.min_score:
        name, low = flt.min_score
        scored = select(scores_table.c.trace_id).where(
            scores_table.c.name == name, scores_table.c.value >= low
        )
        query = query.where(spans.c.trace_id.in_(scored))
    # tags are a JSON list: filter in Python, reading a bounded window
    rows = list(conn.execute(query.limit(flt.limit * (10 if flt.tag else 1))).mappings())
    if flt.tag:
        rows = [r for r in rows if flt.tag in (r["tags"] or [])]
    return rows[: flt.limit]


async def items_from_traces(store: Store, flt: TraceFilter) -> list[Item]:
    """Items for the matching calls (newest first); calls without a user message are skipped."""
    rows = await store.aread(lambda conn: _query(conn, flt))
    items = []
    for row in rows:
        question = last_user_text(row["input"])
        if question is None:
            continue
        output = row["output"]
        answer = output.get("content") if isinstance(output, dict) else None
        metadata = {
            "trace_id": row["trace_id"], "model": row["model_alias"],
            "prompt": row["prompt_name"], "prompt_version": row["prompt_version"],
        }  # fmt: skip
        items.append(
            Item(
                id=f"trace-{row['trace_id'][:16]}",
                input=question,
                expected=answer if isinstance(answer, str) else None,
                metadata={k: v for k, v in metadata.items() if v is not None},
            )
        )
    return items
