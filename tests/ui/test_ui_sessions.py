"""UI sessions over plain HTTP: signing in, the cookie's attributes, what ends a session, and
the session as a credential for the JSON API (with CSRF on unsafe methods)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import itsdangerous.timed
import pytest

from llmdeck.config import Settings
from llmdeck.gateway.auth import Authenticator
from llmdeck.server.ui import Sessions
from llmdeck.server.ui.session import UI_ADMIN
from llmdeck.testing import FakeProvider
from llmdeck.testing.server import ServerThread
from tests.ui.traffic import ADMIN_KEY, ui_settings


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    with FakeProvider() as fake:
        home = tmp_path_factory.mktemp("sessions")
        with ServerThread(ui_settings(home, fake)) as running:
            yield running


def sign_in(url: str, key: str, **headers: str) -> httpx.Response:
    """Fetch the form, then post the key with its nonce; returns the POST's response."""
    client = httpx.Client(base_url=url, headers=headers)
    form = client.get("/ui/login?next=/ui/traces")
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.text)
    assert nonce is not None
    data = {"key": key, "nonce": nonce.group(1), "next": "/ui/traces"}
    return client.post("/ui/login", data=data)


def test_sign_in_sets_a_strict_http_only_cookie(server: ServerThread) -> None:
    plain = sign_in(server.url, ADMIN_KEY)
    assert plain.status_code == 303 and plain.headers["location"] == "/ui/traces"
    cookie = plain.headers["set-cookie"]
    assert "llmdeck_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie and "Max-Age=28800" in cookie
    behind_tls = sign_in(server.url, ADMIN_KEY, **{"x-forwarded-proto": "https"})
    assert "Secure" in behind_tls.headers["set-cookie"]


def test_refused_sign_ins_say_why(server: ServerThread) -> None:
    assert sign_in(server.url, "wrong").status_code == 401
    with httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {ADMIN_KEY}"}) as api:
        key = api.post("/api/keys", json={"name": "no-ui"}).json()["key"]
    refused = sign_in(server.url, key)
    assert refused.status_code == 403 and "may not sign in to the UI" in refused.text
    stale = httpx.post(f"{server.url}/ui/login", data={"key": ADMIN_KEY, "nonce": "forged"})
    assert stale.status_code == 400 and "expired" in stale.text


def test_the_session_is_a_credential_with_csrf(server: ServerThread) -> None:
    response = sign_in(server.url, ADMIN_KEY)
    cookie = response.cookies["llmdeck_session"]
    page = httpx.get(f"{server.url}/ui/traces", cookies={"llmdeck_session": cookie})
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert page.status_code == 200 and token is not None
    assert "default-src 'self'" in page.headers["content-security-policy"]
    jar = {"llmdeck_session": cookie}
    assert httpx.get(f"{server.url}/api/cache/stats", cookies=jar).status_code == 200
    body: dict[str, Any] = {"version": 1}
    label = f"{server.url}/api/prompts/none/labels/production"
    bare = httpx.put(label, json=body, cookies=jar)
    assert bare.status_code == 403 and bare.json()["error"]["code"] == "csrf_failed"
    foreign = httpx.put(
        label, json=body, cookies=jar,
        headers={"x-csrf-token": token.group(1), "origin": "http://evil.example"},
    )  # fmt: skip
    assert foreign.status_code == 403
    checked = httpx.put(label, json=body, cookies=jar, headers={"x-csrf-token": token.group(1)})
    assert checked.status_code == 404  # past the guards: the prompt does not exist
    tampered = {"llmdeck_session": cookie[:-2] + ("A" if cookie[-2] != "A" else "B") + cookie[-1]}
    assert httpx.get(f"{server.url}/api/cache/stats", cookies=tampered).status_code == 401


def test_what_ends_a_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings.model_validate({"home": tmp_path, "admin_key": "one"})
    sessions = Sessions(settings, Authenticator("one"), lambda key_id: None)
    cookie = sessions.issue(UI_ADMIN)
    found = sessions.read(cookie)
    assert found is not None and found.role == "admin" and found.principal.admin
    later = itsdangerous.timed.time.time() + settings.ui.session_ttl + 5
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: later)
    assert sessions.read(cookie) is None  # expired, whatever the browser keeps
    monkeypatch.undo()
    rotated = Sessions(
        settings.model_copy(update={"ui": settings.ui.model_copy(update={"session_secret": None})}),
        Authenticator("two"),
        lambda key_id: None,
    )
    assert rotated.read(cookie) is None  # another admin key: another secret and fingerprint


def test_open_servers_open_the_ui_without_a_key(fake: FakeProvider, tmp_path: Path) -> None:
    settings = ui_settings(tmp_path, fake).model_copy(update={"admin_key": None})
    with ServerThread(settings) as server:
        page = httpx.get(f"{server.url}/ui/gateway")
        assert page.status_code == 200 and "llmdeck_session=" in page.headers["set-cookie"]
        assert httpx.get(f"{server.url}/ui/login").status_code == 303  # nothing to sign in with
