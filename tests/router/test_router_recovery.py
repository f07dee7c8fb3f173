"""Circuits opening and closing with live traffic and with active health checks: traffic moves
to the healthy deployment while one is down and comes back once it recovers."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from llmdeck.gateway.router import circuit_store
from llmdeck.testing import FakeProvider

from ..conftest import REDIS_URL
from .conftest import Harness

CIRCUIT = {"consecutive_failures": 3, "min_requests": 50, "cooldown": 0.2, "window": 5}


def test_traffic_moves_away_while_the_circuit_is_open_and_back_after_a_probe(
    harness: Harness, other: FakeProvider
) -> None:
    settings = harness.settings(
        {
            "name": "chat",
            "circuit": CIRCUIT,
            "deployments": [
                harness.deployment("primary", fake=other),
                harness.deployment("backup"),
            ],
        }
    )

    async def scenario() -> None:
        async with harness.router(settings) as router:

            async def served_by() -> str:
                call = harness.call(settings, "chat")
                await router(call)
                assert call.deployment is not None
                return call.deployment.name

            other.set(status=500)
            assert [await served_by() for _ in range(3)] == ["backup"] * 3
            assert harness.transitions("primary") == ["closed>open"]
            asked = other.counts["total"]
            assert [await served_by() for _ in range(5)] == ["backup"] * 5
            assert other.counts["total"] == asked  # the open circuit spares the primary
            await asyncio.sleep(0.25)
            assert await served_by() == "backup"  # the probe failed: open again
            assert harness.transitions("primary")[-2:] == ["open>half-open", "half-open>open"]
            other.reset()
            await asyncio.sleep(0.25)
            assert await served_by() == "primary"  # the probe succeeded
            assert harness.transitions("primary")[-2:] == ["open>half-open", "half-open>closed"]
            assert [await served_by() for _ in range(3)] == ["primary"] * 3

    asyncio.run(scenario())


def _checked(harness: Harness, fake: FakeProvider, **check: Any) -> Any:
    return harness.settings(
        {
            "name": "chat",
            "circuit": CIRCUIT,
            "health_check": {"interval": 0.03, "timeout": 0.5, **check},
            "deployments": [harness.deployment("watched", fake=fake)],
        }
    )


def test_health_checks_open_an_idle_deployments_circuit_and_close_it(
    harness: Harness, other: FakeProvider
) -> None:
    settings = _checked(harness, other)

    async def scenario() -> None:
        async with harness.router(settings) as router:
            other.set(status=503)
            for _ in range(100):
                await asyncio.sleep(0.02)
                if harness.transitions("watched"):
                    break
            assert harness.transitions("watched") == ["closed>open"]
            status = await router.status()
            (watched,) = status["models"]["chat"]["deployments"]
            assert watched["state"] == "open" and watched["last_check"]["ok"] is False
            other.reset()
            for _ in range(100):
                await asyncio.sleep(0.02)
                if harness.transitions("watched")[-1:] == ["half-open>closed"]:
                    break
            assert harness.transitions("watched")[-1] == "half-open>closed"

    asyncio.run(scenario())
    checks = [r for r in other.requests if r.path == "/v1/chat/completions"]
    assert checks and all(r.body["max_tokens"] == 1 for r in checks)


def test_embedding_health_checks_send_an_embedding(harness: Harness, other: FakeProvider) -> None:
    settings = _checked(harness, other, kind="embedding", prompt="are you there")

    async def scenario() -> None:
        async with harness.router(settings) as router:
            for _ in range(100):
                await asyncio.sleep(0.02)
                if router.checks.last:
                    break
            assert router.checks.last["watched"].ok

    asyncio.run(scenario())
    assert other.requests[0].path == "/v1/embeddings"
    assert other.requests[0].body["input"] == "are you there"


@pytest.mark.redis
def test_replicas_sharing_redis_skip_a_deployment_one_of_them_saw_fail(harness: Harness) -> None:
    """Two routers (two replicas) with `redis_url`: the circuit one opens keeps the other's
    traffic away from the failing deployment too."""
    tag = uuid.uuid4().hex[:8]
    settings = harness.settings(
        {
            "name": "chat",
            "circuit": CIRCUIT,
            "deployments": [
                harness.deployment(f"failing-{tag}", knobs={"status": 500}),
                harness.deployment(f"fine-{tag}"),
            ],
        }
    ).model_copy(update={"redis_url": REDIS_URL})

    async def scenario() -> None:
        first, second = circuit_store(settings), circuit_store(settings)
        async with (
            harness.router(settings, circuits=first) as one,
            harness.router(settings, circuits=second) as two,
        ):
            for _ in range(3):
                await one(harness.call(settings, "chat"))
            assert harness.transitions(f"failing-{tag}") == ["closed>open"]
            call = harness.call(settings, "chat")
            await two(call)
            assert call.attempts == [f"fine-{tag}"]

    asyncio.run(scenario())
