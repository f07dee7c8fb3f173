"""The gateway's POST endpoints skip Starlette's middleware and router (server/fast.py); what
clients see must not change."""

from __future__ import annotations

from pathlib import Path

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
