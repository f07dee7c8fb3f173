"""A Redis that goes away mid-test (ours, on its own port, without persistence) leaves the
gateway serving with local limits and /health/ready saying so; when Redis comes back, empty, the
gateway replays what it counted meanwhile and seeds budgets from the database, so neither the
rate limit nor the budget is exceeded over the whole episode."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from llmdeck.testing import FakeProvider
from llmdeck.testing.server import ServerThread

from .conftest import OwnRedis, admin_client, chat, create_key
from .test_limits_gateway import COST, ask, exact

pytestmark = pytest.mark.redis


def state_of(url: str) -> dict[str, Any]:
    response = httpx.get(f"{url}/health/ready")
    assert response.status_code == 200  # still serving: ready either way
    body = response.json()
    component: dict[str, Any] = body["components"]["state"]
    assert body["status"] == ("ready" if component["shared"] else "degraded")
    return component


def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.05)


def test_redis_going_away_and_coming_back(
    serve: Callable[..., ServerThread], fake: FakeProvider, own_redis: OwnRedis, redis_prefix: str
) -> None:
    server = serve(
        extra_models=[exact(fake)],
        redis_url=own_redis.url,
        state={"prefix": redis_prefix, "timeout": 0.3, "reconnect_interval": 0.2},
    )
    url = server.url
    _, limited = create_key(url, name="limited", rpm=10)
    budgeted_id, budgeted = create_key(url, name="budgeted", budget=10 * COST)
    assert state_of(url)["shared"] is True

    before = [chat(url, limited).status_code for _ in range(3)]
    before += [ask(url, budgeted).status_code for _ in range(3)]
    assert before == [200] * 6

    own_redis.stop()
    during = [chat(url, limited).status_code for _ in range(12)]
    during_budget = [ask(url, budgeted).status_code for _ in range(4)]
    degraded = state_of(url)
    assert during == [200] * 10 + [429] * 2  # local limits: this replica is the only one
    assert during_budget == [200] * 4  # seeded from the database: 3 spent, 7 left
    assert degraded["degraded"] is True and degraded["shared"] is False
    assert "redis unreachable" in degraded["message"]

    own_redis.start()  # empty
    until(lambda: state_of(url)["shared"] is True)

    # the replayed window already holds the 10 admitted during the outage
    assert chat(url, limited).status_code == 429
    # the budget is seeded again from the database: 7 of 10 spent
    after = [ask(url, budgeted).status_code for _ in range(5)]
    assert after == [200] * 3 + [429] * 2
    with admin_client(url) as client:
        usage = client.get(f"/api/keys/{budgeted_id}").json()["usage"]
        events = [e["name"] for e in client.get("/api/limits/events").json()["events"]]
    assert usage["spent"] == pytest.approx(10 * COST)
    assert usage["spent"] <= 10 * COST + 1e-9
    assert "state.degraded" in events and "state.restored" in events
