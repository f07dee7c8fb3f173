"""A trace's row merges its spans the same way whatever order and batches they arrive in."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from sqlalchemy import select

from llmdeck.client import AsyncClient, Client
from llmdeck.observe import Recorder, Span
from llmdeck.store import open_store, tables

T = "ab" * 16


def spans() -> list[Span]:
    gateway = Span(
        id="1" * 16,
        trace_id=T,
        parent_id="2" * 16,
        name="chat gpt",
        kind="llm",
        start_time=100,
        end_time=101,
        tags=["gw"],
        input="prompt",
        cost=0.5,
        input_tokens=10,
        status="error",
    )
    root = Span(
        id="2" * 16,
        trace_id=T,
        name="agent",
        kind="agent",
        start_time=99,
        end_time=103,
        tags=["sdk"],
        input={"q": 1},
        output="done",
        user_id="u1",
    )
    tool = Span(
        id="3" * 16,
        trace_id=T,
        parent_id="2" * 16,
        name="tool",
        kind="tool",
        start_time=99.5,
        end_time=104,
        session_id="s1",
        input="x",
    )
    return [gateway, root, tool]


def stored(database_url: str, order: tuple[int, ...], batches: bool) -> dict[str, Any]:
    store = open_store(database_url)
    recorder = Recorder(store)
    recorder.start()
    all_spans = spans()
    for index in order:
        recorder.record(all_spans[index])
        if batches:
            recorder.flush()
    recorder.close()
    row = store.read(lambda conn: conn.execute(select(tables.traces)).one())
    store.close()
    return dict(row._mapping)


@pytest.mark.parametrize("batches", [False, True])
def test_every_arrival_order_gives_the_same_trace(database_url: str, batches: bool) -> None:
    for order in itertools.permutations(range(3)):
        store_url = database_url
        row = stored(store_url, order, batches)
        assert row["name"] == "agent" and row["input"] == {"q": 1} and row["output"] == "done"
        assert (row["user_id"], row["session_id"]) == ("u1", "s1")
        assert sorted(row["tags"]) == ["gw", "sdk"]
        assert (row["start_time"], row["end_time"]) == (99, 104)
        assert (row["status"], row["span_count"], row["cost"]) == ("error", 3, 0.5)
        assert row["root_span_id"] == "2" * 16
        store = open_store(store_url)
        store.write(lambda conn: [conn.execute(t.delete()) for t in (tables.traces, tables.spans)])
        store.close()


def test_client_and_async_client_offer_the_same_methods() -> None:
    def public(cls: type) -> set[str]:
        return {n for n in vars(cls) if not n.startswith("_")}

    assert public(Client) - {"close"} == public(AsyncClient) - {"aclose"}
