"""The gateway's POST endpoints skip Starlette's middleware and router (server/fast.py) and stream
through `web.EventStream`; what clients see must not change."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from llmdeck.config import Settings
from llmdeck.errors import NotFound
from llmdeck.server import create_app
from llmdeck.server.errors import HANDLERS
from llmdeck.server.fast import App
from llmdeck.web import EventStream

LOOPBACK = {"host": "127.0.0.1:4000"}
CHAT = {"model": "chat", "messages": [{"role": "user", "content": "Paris is in France. Where?"}]}


def test_open_server_still_refuses_foreign_hosts_on_the_fast_path(home: Path) -> None:
    with TestClient(create_app(Settings(home=home))) as client:
        refused = client.post("/v1/chat/completions", json=CHAT, headers={"host": "evil.example"})
        assert refused.status_code == 421
        answered = client.post("/v1/chat/completions", json=CHAT, headers=LOOPBACK)
        assert answered.status_code == 200 and answered.json()["choices"]
        assert answered.headers["x-llmdeck-trace-id"]


def test_other_methods_and_errors_keep_their_shapes(home: Path) -> None:
    with TestClient(create_app(Settings(home=home))) as client:
        wrong_method = client.get("/v1/chat/completions", headers=LOOPBACK)
        assert wrong_method.status_code == 405
        assert wrong_method.json()["error"]["type"] == "invalid_request_error"
        unknown = client.post("/v1/chat/completions", json={**CHAT, "model": "x"}, headers=LOOPBACK)
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == "model_not_found"
        bad = client.post("/chat/completions", content=b"{", headers=LOOPBACK)
        assert bad.status_code == 400 and "invalid JSON" in bad.json()["error"]["message"]


async def _fails(request: Request) -> Response:
    raise ZeroDivisionError("boom")


async def _not_found(request: Request) -> Response:
    raise NotFound("nothing here", code="nope")


def _app(*routes: Route) -> App:
    return App(fast=routes, loopback_only=False, routes=list(routes), exception_handlers=HANDLERS)


def test_errors_on_the_fast_path_are_rendered_by_the_same_handlers() -> None:
    boom_route = Route("/boom", _fails, methods=["POST"])
    app = _app(boom_route, Route("/gone", _not_found, methods=["POST"]))
    client = TestClient(app, raise_server_exceptions=False)
    boom = client.post("/boom")
    assert boom.status_code == 500 and boom.json()["error"]["code"] == "internal_error"
    gone = client.post("/gone")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "nope"
    with pytest.raises(ZeroDivisionError):  # raised again for the server to log, as Starlette does
        TestClient(app).post("/boom")


async def _pieces(fail: bool) -> AsyncIterator[bytes]:
    for n in range(5):
        yield b"data: %d\n\n" % n
    if fail:
        raise RuntimeError("source broke")


def test_event_stream_sends_every_piece_in_order_then_ends() -> None:
    async def events(request: Request) -> Response:
        return EventStream(_pieces(fail=False), headers={"x-extra": "1"})

    client = TestClient(_app(Route("/events", events, methods=["POST"])))
    response = client.post("/events")
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["x-extra"] == "1"
    assert response.text == "".join(f"data: {n}\n\n" for n in range(5))


def test_event_stream_raises_what_its_source_raised() -> None:
    async def events(request: Request) -> Response:
        return EventStream(_pieces(fail=True))

    with pytest.raises(RuntimeError, match="source broke"):
        TestClient(_app(Route("/events", events, methods=["POST"]))).post("/events")


async def _serve(stream: EventStream, disconnect: asyncio.Event) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await stream({"type": "http", "method": "POST"}, receive, send)  # type: ignore[arg-type]
    return sent


def test_pieces_produced_together_leave_in_one_write() -> None:
    sent = asyncio.run(_serve(EventStream(_pieces(fail=False)), asyncio.Event()))
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[1]["body"] == b"".join(b"data: %d\n\n" % n for n in range(5))
    assert sent[1]["more_body"] is False


def test_a_client_that_leaves_stops_the_source() -> None:
    stopped = []

    async def endless() -> AsyncIterator[bytes]:
        try:
            yield b"data: first\n\n"
            await asyncio.Event().wait()  # an upstream that never sends more
            yield b"never"
        finally:
            stopped.append(True)

    async def scenario() -> list[dict[str, Any]]:
        left = asyncio.Event()
        serving = asyncio.create_task(_serve(EventStream(endless()), left))
        await asyncio.sleep(0.05)
        left.set()
        return await asyncio.wait_for(serving, 5)

    sent = asyncio.run(scenario())
    assert stopped == [True]
    assert sent[1]["body"] == b"data: first\n\n" and sent[1]["more_body"] is True
