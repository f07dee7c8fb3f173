"""What the web UI does in a browser: sign-in is required, a rollback made in the UI is what the
API then serves, a POST without the CSRF token is refused, read-only users cannot move labels,
and the playground streams a prompt's answer through the gateway."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.ui.conftest import sign_in
from tests.ui.traffic import Seeded, admin

pytestmark = pytest.mark.xdist_group("ui")
TOKEN = "'meta[name=csrf-token]'"


def test_sign_in_is_required(browser: Any, seeded: Seeded) -> None:
    url = seeded.server.url
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{url}/ui/prompts")
    assert page.url.startswith(f"{url}/ui/login")
    page.fill("#key", "not-a-key")
    page.click("button[type=submit]")
    assert "invalid API key" in page.inner_text("[role=alert]")
    assert context.request.get(f"{url}/api/traces").status == 401
    page.fill("#key", "sk-admin-ui-tests")
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/ui/prompts")  # back where it was going
    (cookie,) = [c for c in context.cookies() if c["name"] == "llmdeck_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and not cookie["secure"]
    assert context.request.get(f"{url}/api/traces").status == 200
    page.click("text=Sign out")
    page.wait_for_url(f"{url}/ui/login")
    assert context.request.get(f"{url}/api/traces").status == 401
    context.close()


def test_rollback_in_the_ui_is_served_by_the_api(browser: Any, seeded: Seeded) -> None:
    url = seeded.server.url
    label = f"/api/prompts/{seeded.prompt}/labels/staging"
    with admin(seeded.server) as api:
        before = api.get(label).json()["version"]
        api.put(label, json={"version": 1, "reason": "test"}).raise_for_status()
    context = browser.new_context()
    page = sign_in(context, url)
    page.goto(f"{url}/ui/prompts/{seeded.prompt}")
    row = page.get_by_role("row").filter(has_text="staging").first
    row.get_by_role("button", name="Roll back").click()
    dialog = page.get_by_role("dialog")
    assert "staging goes back" in dialog.inner_text()
    dialog.get_by_role("button", name="Roll back").click()
    page.get_by_text(f"staging rolled back to v{before}").wait_for()
    with admin(seeded.server) as api:
        state = api.get(label).json()
        history = api.get(f"/api/prompts/{seeded.prompt}/history", params={"label": "staging"})
    assert state["version"] == before and state["updated_by"] == "ui:admin"
    assert history.json()["events"][-1]["action"] == "rollback"
    context.close()


def test_a_post_without_the_csrf_token_is_refused(browser: Any, seeded: Seeded) -> None:
    url = seeded.server.url
    context = browser.new_context()
    page = sign_in(context, url)
    path = f"/api/traces/{seeded.trace_id}/scores"
    script = """async ([path, token]) => {
        const headers = {"content-type": "application/json"};
        if (token) headers["x-csrf-token"] = document.querySelector(TOKEN).content;
        const body = JSON.stringify({name: "csrf", value: 1});
        const r = await fetch(path, {method: "POST", headers, body});
        return [r.status, await r.json()];
    }""".replace("TOKEN", TOKEN)
    status, body = page.evaluate(script, [path, False])
    assert status == 403 and body["error"]["code"] == "csrf_failed"
    status, body = page.evaluate(script, [path, True])
    assert status == 201
    context.close()


def test_read_only_users_cannot_move_labels(browser: Any, seeded: Seeded) -> None:
    url = seeded.server.url
    context = browser.new_context()
    page = sign_in(context, url, seeded.viewer_key)
    page.goto(f"{url}/ui/prompts/{seeded.prompt}")
    page.get_by_text("needs the admin key").wait_for()
    assert page.get_by_role("button", name="Roll back").first.is_disabled()
    status = page.evaluate(
        """async (path) => (await fetch(path, {method: "POST",
            headers: {"x-csrf-token": document.querySelector(TOKEN).content}})).status""".replace(
            "TOKEN", TOKEN
        ),
        f"/api/prompts/{seeded.prompt}/labels/production/rollback",
    )
    assert status == 403
    assert context.request.get(f"{url}/api/keys").status == 200  # reading is allowed
    context.close()


def test_the_playground_streams_two_versions_side_by_side(browser: Any, seeded: Seeded) -> None:
    url = seeded.server.url
    context = browser.new_context()
    page = sign_in(context, url)
    page.goto(f"{url}/ui/playground?prompt={seeded.prompt}&version=1&version_b=3&compare=1")
    page.get_by_label("question").fill("Where are invoices?")
    page.get_by_label("product").fill("Acme")
    page.click("#run")
    for n in (1, 2):
        page.get_by_label(f"output {n}").get_by_text("echo: Where are invoices?").wait_for()
    assert page.get_by_role("link", name="trace", exact=True).count() == 2
    with httpx.Client(base_url=url, headers=admin(seeded.server).headers) as api:
        seeded.server.runtime.recorder.flush()
        found = api.get("/api/traces", params={"tag": "playground", "full": "true"}).json()
    versions = {t["spans"][0]["prompt_version"] for t in found["data"]}
    assert versions == {1, 3}
    context.close()
