"""Rate limits and budgets through a running gateway: 429 with Retry-After and a message naming
the limit; token limits settled with real usage; deployments over their limit skipped, and 429
when all are; budgets that block once spent, warn, reset with their period, and hold against a
concurrent burst."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from llmdeck.gateway.limits.estimate import worst_input_tokens
from llmdeck.gateway.wire.openai import ChatRequest
from llmdeck.testing import FakeProvider
from llmdeck.testing.server import ServerThread

from .conftest import ADMIN, admin_client, chat, create_key, metered

TEXT = "How many requests may this key make in a minute, and what does each one cost?"
OUT = 20
IN = worst_input_tokens(
    ChatRequest.model_validate({"model": "x", "messages": [{"role": "user", "content": TEXT}]})
)
PRICE = {"input": 100.0, "output": 300.0}
COST = (IN * 100.0 + OUT * 300.0) / 1e6
"""What one `ask` costs on the `exact` alias: its fake reports exactly the worst case."""


def exact(fake: FakeProvider) -> dict[str, Any]:
    return metered(fake, "exact", {"input_tokens": IN, "output_tokens": OUT}, PRICE)


def ask(url: str, secret: str) -> httpx.Response:
    return chat(url, secret, model="exact", text=TEXT, max_tokens=OUT)


def test_a_key_over_its_rpm_gets_429_naming_the_limit(serve: Callable[..., ServerThread]) -> None:
    server = serve()
    _, secret = create_key(server.url, name="ci-bot", rpm=3)

    statuses = [chat(server.url, secret).status_code for _ in range(3)]
    refused = chat(server.url, secret)

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert (error["type"], error["code"]) == ("rate_limit_error", "rate_limited")
    assert error["message"].startswith("key 'ci-bot' is over its 3 requests per minute; retry in")
    assert 55 <= int(refused.headers["retry-after"]) <= 62


def test_token_limits_settle_with_real_usage(serve: Callable[..., ServerThread]) -> None:
    server = serve()
    _, secret = create_key(server.url, name="tok", tpm=100)

    first = chat(server.url, secret, max_tokens=80)  # counts ~88 at admission, ~6 really
    outcomes = []
    for _ in range(20):
        outcomes.append(chat(server.url, secret, max_tokens=80).status_code)
        if outcomes[-1] == 200:
            break
        time.sleep(0.02)
    too_big = chat(server.url, secret, max_tokens=500)

    assert first.status_code == 200
    assert outcomes[-1] == 200  # only possible once the first was settled to its real tokens
    assert too_big.status_code == 429
    assert "allows 100 tokens per minute; this request counts about" in too_big.text


def test_deployments_over_their_limit_are_skipped_then_429(
    serve: Callable[..., ServerThread],
) -> None:
    server = serve()  # pair: first 2 rpm, then second 1 rpm
    admin = {"authorization": f"Bearer {ADMIN}"}
    body = {"model": "pair", "messages": [{"role": "user", "content": "hi"}]}

    def send() -> httpx.Response:
        return httpx.post(f"{server.url}/v1/chat/completions", json=body, headers=admin)

    served = [send().headers.get("x-llmdeck-deployment") for _ in range(3)]
    all_over = send()

    assert served == ["first", "first", "second"]
    assert all_over.status_code == 429
    error = all_over.json()["error"]
    assert error["code"] == "deployments_rate_limited"
    assert "deployment 'first' is over its 2 requests per minute" in error["message"]
    assert "deployment 'second' is over its 1 requests per minute" in error["message"]
    assert int(all_over.headers["retry-after"]) >= 1
    controls = server.runtime.gateway.controls
    assert not controls.deployment_available("first")
    assert controls.deployment_available("oa")


def test_a_budget_blocks_once_spent_warns_and_resets(
    serve: Callable[..., ServerThread], fake: FakeProvider
) -> None:
    server = serve(extra_models=[exact(fake)], limits={"budget_warn_at": 0.6})
    key_id, secret = create_key(server.url, name="batch", budget=3 * COST, period="day")

    statuses = [ask(server.url, secret).status_code for _ in range(3)]
    spent = ask(server.url, secret)
    again = ask(server.url, secret)

    assert statuses == [200, 200, 200]
    assert spent.status_code == 429 and spent.json()["error"]["code"] == "budget_exceeded"
    assert spent.json()["error"]["message"].startswith(
        f"key 'batch' has spent its ${3 * COST:.2f} daily budget"
    )
    assert "it resets in" in spent.json()["error"]["message"]
    assert 1 <= int(spent.headers["retry-after"]) <= 86_400
    assert again.status_code == 429
    with admin_client(server.url) as client:
        usage = client.get(f"/api/keys/{key_id}").json()["usage"]
        events = client.get("/api/limits/events").json()["events"]
    assert usage["spent"] == pytest.approx(3 * COST) and usage["remaining"] == pytest.approx(0)
    assert sorted(e["name"] for e in events) == ["budget.exhausted", "budget.warning"]
    warning = next(e for e in events if e["name"] == "budget.warning")
    expected = f"key 'batch' has used 67% of its ${3 * COST:.2f} daily budget (${2 * COST:.4f})"
    assert warning["message"] == expected

    budgets = server.runtime.gateway.controls.budgets
    budgets.clock = lambda: time.time() + 86_400  # tomorrow: a new period
    assert ask(server.url, secret).status_code == 200


def test_a_request_whose_worst_case_does_not_fit_is_refused_early(
    serve: Callable[..., ServerThread], fake: FakeProvider
) -> None:
    server = serve(extra_models=[exact(fake)])
    _, secret = create_key(server.url, name="small", budget=1.5 * COST)

    first = ask(server.url, secret)
    second = ask(server.url, secret)

    assert first.status_code == 200 and second.status_code == 429
    message = second.json()["error"]["message"]
    assert message.startswith(f"key 'small' has ${0.5 * COST:.4f} of its ${1.5 * COST:.2f} total")
    assert f"less than this request's worst case ${COST:.4f}" in message


def test_a_concurrent_burst_spends_exactly_the_budget(
    serve: Callable[..., ServerThread], fake: FakeProvider
) -> None:
    fake.set(latency=0.05)  # requests overlap: reservations, not settled spend, decide
    server = serve(extra_models=[exact(fake)])
    key_id, secret = create_key(server.url, name="burst", budget=20 * COST, period="month")

    with ThreadPoolExecutor(32) as pool:
        statuses = list(pool.map(lambda _: ask(server.url, secret).status_code, range(80)))

    assert statuses.count(200) == 20
    assert statuses.count(429) == 60
    with admin_client(server.url) as client:
        usage = client.get(f"/api/keys/{key_id}").json()["usage"]
    assert usage["spent"] == pytest.approx(20 * COST) and usage["held"] == pytest.approx(0)


def test_a_stream_the_client_abandons_settles_its_reservation(
    serve: Callable[..., ServerThread], fake: FakeProvider
) -> None:
    fake.set(chunks=8, chunk_interval=0.2)
    server = serve(extra_models=[exact(fake)])
    key_id, secret = create_key(server.url, name="streamer", budget=10 * COST)
    body = {
        "model": "exact",
        "messages": [{"role": "user", "content": TEXT}],
        "max_tokens": OUT,
        "stream": True,
    }
    headers = {"authorization": f"Bearer {secret}"}

    with httpx.stream(
        "POST", f"{server.url}/v1/chat/completions", json=body, headers=headers
    ) as response:
        next(response.iter_lines())  # the first event, then hang up

    def usage() -> dict[str, Any]:
        with admin_client(server.url) as client:
            found: dict[str, Any] = client.get(f"/api/keys/{key_id}").json()["usage"]
        return found

    deadline = time.monotonic() + 5
    while usage()["held"] > 0:
        assert time.monotonic() < deadline, "the reservation was never settled"
        time.sleep(0.05)
    assert 0 < usage()["spent"] <= COST
