"""/api/keys: create (shown once, stored hashed), list, show, update, revoke; the admin guard;
what a key may do; the audit log."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from llmdeck.config import Settings
from llmdeck.store import open_store, tables
from llmdeck.testing import FakeProvider
from llmdeck.testing.server import ServerThread

from .conftest import admin_client, chat, create_key


def test_a_key_is_shown_once_and_stored_as_its_hash(
    serve: Callable[..., ServerThread], tmp_path: Path
) -> None:
    server = serve()
    key_id, secret = create_key(server.url, team="eng", models=["gpt"], rpm=100)

    assert secret.startswith("ldk-") and len(secret) == 47
    assert chat(server.url, secret).status_code == 200
    with admin_client(server.url) as client:
        shown = client.get(f"/api/keys/{key_id}").json()
        listed = client.get("/api/keys").json()["keys"]
    assert "key" not in shown and shown["hint"] == f"{secret[:8]}...{secret[-4:]}"
    assert [k["id"] for k in listed] == [key_id]
    assert shown["team"] == "eng" and shown["models"] == ["gpt"] and shown["rpm"] == 100

    store = open_store(f"sqlite:///{tmp_path / 'home' / 'llmdeck.db'}")
    try:
        rows = store.read(lambda c: [dict(r._mapping) for r in c.execute(select(tables.api_keys))])
        audit = store.read(lambda c: list(c.execute(select(tables.audit_log))))
    finally:
        store.close()
    assert rows[0]["key_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert not any(secret in str(value) for row in rows for value in row.values())
    assert not any(secret in str(value) for row in audit for value in row)


def test_management_needs_the_admin_key(serve: Callable[..., ServerThread]) -> None:
    server = serve()
    _, secret = create_key(server.url)

    anonymous = httpx.get(f"{server.url}/api/keys")
    with_key = httpx.get(f"{server.url}/api/keys", headers={"authorization": f"Bearer {secret}"})

    assert anonymous.status_code == 401
    assert with_key.status_code == 403
    assert with_key.json()["error"]["code"] == "admin_required"


def test_keys_over_http_need_an_admin_key_to_be_set(tmp_path: Path, fake: FakeProvider) -> None:
    settings = Settings.model_validate({"home": tmp_path})
    with ServerThread(settings) as server:
        response = httpx.post(f"{server.url}/api/keys", json={"name": "x"})
    assert response.status_code == 403
    assert "LLMDECK_ADMIN_KEY" in response.json()["error"]["message"]


def test_bad_fields_are_named(serve: Callable[..., ServerThread]) -> None:
    server = serve()
    with admin_client(server.url) as client:
        period = client.post("/api/keys", json={"name": "a", "period": "day"})
        rpm = client.post("/api/keys", json={"name": "a", "rpm": 0})
        expiry = client.post("/api/keys", json={"name": "a", "expires_at": "soon"})
        alias = client.post("/api/keys", json={"name": "a", "models": ["gpt", "nope"]})
        client.post("/api/keys", json={"name": "twin"})
        twin = client.post("/api/keys", json={"name": "twin"})

    assert period.status_code == 400 and "period needs a budget" in period.text
    assert rpm.json()["error"]["param"] == "rpm"
    assert expiry.json()["error"]["param"] == "expires_at"
    assert alias.json()["error"]["message"].startswith("models[1]: unknown model alias 'nope'")
    assert twin.status_code == 400 and twin.json()["error"]["code"] == "key_name_taken"


def test_a_key_uses_only_its_models(serve: Callable[..., ServerThread]) -> None:
    server = serve()
    _, secret = create_key(server.url, models=["gpt"])

    refused = chat(server.url, secret, model="claude")
    listed = httpx.get(f"{server.url}/v1/models", headers={"authorization": f"Bearer {secret}"})

    assert refused.status_code == 403
    assert [m["id"] for m in listed.json()["data"]] == ["gpt"]


def test_expired_and_revoked_keys_are_refused_by_name(serve: Callable[..., ServerThread]) -> None:
    server = serve()
    _, soon = create_key(server.url, name="short-lived", expires_at=time.time() + 1)
    revoked_id, revoked = create_key(server.url, name="gone")
    assert chat(server.url, soon).status_code == 200

    with admin_client(server.url) as client:
        assert client.delete(f"/api/keys/{revoked_id}").json()["status"] == "revoked"
    time.sleep(1.1)

    expired = chat(server.url, soon)
    gone = chat(server.url, revoked)
    unknown = chat(server.url, "ldk-" + "x" * 43)
    assert (expired.status_code, expired.json()["error"]["code"]) == (401, "key_expired")
    assert expired.json()["error"]["message"] == "key 'short-lived' has expired"
    assert (gone.status_code, gone.json()["error"]["code"]) == (401, "key_revoked")
    assert unknown.status_code == 401


def test_changes_apply_at_once_and_are_audited(serve: Callable[..., ServerThread]) -> None:
    server = serve()
    key_id, secret = create_key(server.url, name="ci-bot", models=["claude"])
    assert chat(server.url, secret).status_code == 403

    with admin_client(server.url) as client:
        changed = client.patch(f"/api/keys/{key_id}", json={"models": None, "budget": 5})
        renamed = client.patch("/api/keys/ci-bot", json={"name": "ci-robot"})
        client.delete("/api/keys/ci-robot")
        entries = client.get("/api/audit", params={"target": key_id}).json()["entries"]

    assert changed.json()["models"] is None and changed.json()["period"] == "total"
    assert renamed.json()["name"] == "ci-robot"
    actions = [e["action"] for e in reversed(entries)]
    assert actions == ["key.created", "key.budget_changed", "key.updated", "key.revoked"]
    assert all(e["actor"] == "api:admin" for e in entries)
    budget = entries[2]["details"]["changes"]["budget"]
    assert budget == {"from": None, "to": 5.0}


def test_a_rotated_key_has_a_new_secret_and_keeps_its_settings(
    serve: Callable[..., ServerThread],
) -> None:
    server = serve()
    key_id, old = create_key(server.url, name="rotating", rpm=50)
    assert chat(server.url, old).status_code == 200

    with admin_client(server.url) as client:
        rotated = client.post("/api/keys/rotating/rotate").json()
        entries = client.get("/api/audit", params={"target": key_id}).json()["entries"]

    assert rotated["id"] == key_id and rotated["rpm"] == 50 and rotated["key"] != old
    assert chat(server.url, old).status_code == 401
    assert chat(server.url, rotated["key"]).status_code == 200
    assert entries[0]["action"] == "key.rotated" and old not in str(entries)


def test_a_key_created_on_one_server_works_on_another_at_once(
    serve: Callable[..., ServerThread], tmp_path: Path
) -> None:
    first = serve(limits={"key_refresh": 30})
    second = serve(limits={"key_refresh": 30})

    _, secret = create_key(first.url)

    assert chat(second.url, secret).status_code == 200


@pytest.mark.postgres
def test_without_redis_a_revocation_reaches_a_replica_by_polling_postgres(
    serve: Callable[..., ServerThread], postgres_url: str, tmp_path: Path
) -> None:
    first = serve(database_url=postgres_url, home=tmp_path / "a", limits={"key_refresh": 0.5})
    second = serve(database_url=postgres_url, home=tmp_path / "b", limits={"key_refresh": 0.5})
    key_id, secret = create_key(first.url, name="leaver")
    assert chat(second.url, secret).status_code == 200

    with admin_client(first.url) as client:
        assert client.delete(f"/api/keys/{key_id}").is_success
    revoked_at = time.monotonic()
    while chat(second.url, secret).status_code == 200:
        assert time.monotonic() - revoked_at < 1.0, "still accepted after a second"
        time.sleep(0.02)
