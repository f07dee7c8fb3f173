"""The whole life cycle through /api/prompts on SQLite and PostgreSQL, and its guards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.testclient import TestClient

from llmdeck.errors import Unauthorized
from llmdeck.prompts import Prompts, routes
from llmdeck.server.errors import HANDLERS
from llmdeck.store import Store, open_store
from llmdeck.testing.server import ServerThread

from .conftest import spec


def test_life_cycle(server: ServerThread) -> None:
    api = httpx.Client(base_url=server.url + "/api/prompts/", timeout=10)
    root = server.url + "/api/prompts"
    created = api.post(root, json=spec(labels=["staging"], commit_message="first"))
    assert created.status_code == 201
    assert created.json()["version"]["version"] == 1
    assert created.json()["labels"][0] == {
        "label": "staging",
        "before": "-",
        "after": "v1",
        "moved": True,
        "refused": None,
    }
    again = api.post(root, json=spec(labels=["staging"]))
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["labels"][0]["moved"] is False
    params = {"temperature": 0.5, "max_tokens": 400}
    second = api.post(root, json=spec(params=params, author="carol"))
    assert second.status_code == 201 and second.json()["version"]["author"] == "carol"

    listed = api.get(root).json()["prompts"]
    assert [(p["name"], p["latest_version"]) for p in listed] == [("support-answer", 2)]
    versions = api.get("support-answer/versions").json()["versions"]
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[1]["commit_message"] == "first"
    assert api.get("support-answer/versions/v1").json()["params"]["temperature"] == 0.2
    assert api.get("support-answer/versions/staging").json()["version"] == 1

    moved = api.put("support-answer/labels/production", json={"version": 2, "reason": "ship"})
    assert moved.status_code == 200 and moved.json()["version"] == 2
    label = api.get("support-answer/labels/production").json()
    assert label["versions"][0]["version"] == 2 and label["updated_by"] == "open"

    split = api.put(
        "/support-answer/labels/production",
        json={"targets": [{"version": 2, "weight": 90}, {"version": 1, "weight": 10}]},
    )
    assert [t["version"] for t in split.json()["targets"]] == [2, 1]
    back = api.post("support-answer/labels/production/rollback")
    assert back.json()["targets"] == [{"version": 2, "weight": 1.0}]
    again_back = api.post("support-answer/labels/production/rollback")
    assert again_back.status_code == 400
    assert "no earlier version" in again_back.json()["error"]["message"]

    history = api.get("support-answer/history", params={"label": "production"}).json()
    assert [(e["action"], e["reason"]) for e in history["events"]] == [
        ("move", "ship"),
        ("split", None),
        ("rollback", "rollback from v2 90% + v1 10%"),
    ]

    diff = api.get("support-answer/diff", params={"a": "staging", "b": "v2"}).json()
    assert diff["params"] == {"temperature": {"a": 0.2, "b": 0.5}}
    assert diff["messages"][0]["diff"] == ""
    assert "params.temperature: 0.2 -> 0.5" in diff["text"]

    preview = api.post(
        "/support-answer/render",
        json={"label": "staging", "variables": {"product": "llmdeck", "question": "Why?"}},
    ).json()
    assert preview["version"] == 1 and preview["label"] == "staging"
    assert preview["messages"] == [
        {"role": "system", "content": "You answer questions about llmdeck."},
        {"role": "user", "content": "Why?"},
    ]
    assert preview["params"] == {"temperature": 0.2, "max_tokens": 400}


BAD: list[tuple[str, str, dict[str, Any] | None, int, str]] = [
    ("POST", "", {**spec(), "params": {"temprature": 1}}, 400, "params.temprature"),
    ("POST", "", {**spec(), "name": "no spaces"}, 400, "invalid prompt name"),
    ("POST", "", {**spec(), "messages": []}, 400, "messages"),
    ("POST", "", {**spec(), "variables": {"product": "text"}}, 400, "unknown type 'text'"),
    ("GET", "/nope", None, 404, "no prompt named 'nope'"),
    ("GET", "/support-answer/versions/9", None, 404, "has no version 9"),
    ("GET", "/support-answer/labels/prod", None, 404, "has no label 'prod'"),
    ("PUT", "/support-answer/labels/x", {"version": 1, "targets": []}, 400, "exactly one"),
    ("GET", "/support-answer/diff", None, 400, "?a=...&b=..."),
    ("POST", "/support-answer/render", {"version": 1}, 400, "'product' is required"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "message"), BAD)
def test_bad_requests_are_named(
    server: ServerThread,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
    message: str,
) -> None:
    httpx.post(server.url + "/api/prompts", json=spec())
    response = httpx.request(method, server.url + "/api/prompts" + path, json=body)
    assert response.status_code == status
    assert message in response.json()["error"]["message"]


def test_with_an_admin_key_every_route_needs_a_key(
    start_server: Callable[..., ServerThread],
) -> None:
    server = start_server(admin_key="sk-admin")
    url = server.url + "/api/prompts"
    assert httpx.get(url).status_code == 401
    assert httpx.post(url, json=spec(), headers={"authorization": "Bearer no"}).status_code == 401
    admin = {"authorization": "Bearer sk-admin"}
    assert httpx.post(url, json=spec(), headers=admin).status_code == 201
    assert httpx.get(url, headers=admin).json()["prompts"][0]["name"] == "support-answer"


class Reader:
    name = "reader"
    admin = False


def test_changes_need_the_admin_key_reads_do_not(database_url: str) -> None:
    store: Store = open_store(database_url)

    async def authenticate(request: Request) -> Reader:
        if "authorization" not in request.headers:
            raise Unauthorized("missing API key")
        return Reader()

    app = Starlette(routes=routes(Prompts(store), authenticate), exception_handlers=HANDLERS)
    try:
        with TestClient(app, headers={"authorization": "Bearer k"}) as client:
            assert client.get("/api/prompts").json() == {"prompts": []}
            refused = client.post("/api/prompts", json=spec())
            assert refused.status_code == 403
            assert refused.json()["error"]["code"] == "admin_required"
            assert client.put("/api/prompts/x/labels/y", json={"version": 1}).status_code == 403
            assert client.post("/api/prompts/x/labels/y/rollback").status_code == 403
            assert TestClient(app).get("/api/prompts").status_code == 401
    finally:
        store.close()
