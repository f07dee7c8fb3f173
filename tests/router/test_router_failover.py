"""Fail-over and retries against the fake provider with faults injected: 500s, 429 with
Retry-After, hangs, dropped connections, cut streams; deadlines and max_parallel."""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

import pytest

from llmdeck.errors import BadRequest, UpstreamError
from llmdeck.gateway import ChatResponse, ProviderError

from .conftest import Harness, drain, text_of


def _alias(name: str, *deployments: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"name": name, "deployments": list(deployments), **fields}


@pytest.mark.parametrize(
    "fault",
    [{"status": 500}, {"status": 503}, {"drop": True}, {"hang": True}, {"status": 401}],
    ids=["500", "503", "drop", "hang", "401"],
)
def test_a_failing_deployment_fails_over_to_the_next(
    harness: Harness, fault: dict[str, Any]
) -> None:
    settings = harness.settings(
        _alias(
            "chat",
            harness.deployment("bad", knobs=fault, timeout=0.3),
            harness.deployment("good"),
        )
    )

    async def scenario() -> None:
        async with harness.router(settings) as router:
            call = harness.call(settings, "chat", "hi")
            reply = await router(call)
            assert isinstance(reply, ChatResponse)
            assert reply.choices[0].message.content == "echo: hi"
            assert call.attempts == ["bad", "good"]
            assert call.deployment is not None and call.deployment.name == "good"
            assert call.route_reason == "priority: 2nd of 2; failed over from bad"

    asyncio.run(scenario())


def test_a_request_fault_is_a_400_and_not_retried(harness: Harness) -> None:
    settings = harness.settings(
        _alias("chat", harness.deployment("a", knobs={"status": 400}), harness.deployment("b"))
    )

    async def scenario() -> None:
        async with harness.router(settings) as router:
            with pytest.raises(BadRequest):
                await router(harness.call(settings, "chat"))

    asyncio.run(scenario())
    assert len(harness.fake.requests) == 1


def test_rounds_back_off_and_honour_retry_after(harness: Harness) -> None:
    """One deployment answering 429 with Retry-After 0.3: each retry waits for it, and the
    client finally gets a 503 with Retry-After naming the deployment."""
    settings = harness.settings(
        _alias(
            "chat",
            harness.deployment("limited", knobs={"status": 429, "retry_after": 0.3}),
            retries=2,
        )
    )

    async def scenario() -> None:
        async with harness.router(settings) as router:
            with pytest.raises(UpstreamError) as caught:
                await router(harness.call(settings, "chat"))
            assert caught.value.status == 503 and caught.value.deployments == ("limited",)
            assert caught.value.headers() == {"retry-after": "1"}

    asyncio.run(scenario())
    times = [r.time for r in harness.fake.requests]
    assert len(times) == 3
    assert all(later - earlier >= 0.29 for earlier, later in zip(times, times[1:], strict=False))


def test_retry_after_is_capped(harness: Harness) -> None:
    settings = harness.settings(
        _alias(
            "chat",
            harness.deployment("limited", knobs={"status": 429, "retry_after": 100}),
            retries=1,
            backoff={"initial": 0.01, "max_retry_after": 0.2},
        )
    )

    async def scenario() -> None:
        async with harness.router(settings) as router:
            started = time.monotonic()
            with pytest.raises(UpstreamError):
                await router(harness.call(settings, "chat"))
            assert time.monotonic() - started < 5

    asyncio.run(scenario())
    first, second = (r.time for r in harness.fake.requests)
    assert 0.19 <= second - first < 5


def test_a_rate_limited_deployment_rests_and_traffic_moves_on(harness: Harness) -> None:
    settings = harness.settings(
        _alias(
            "chat",
            harness.deployment("limited", knobs={"status": 429, "retry_after": 30}),
            harness.deployment("spare"),
        )
    )

    async def scenario() -> None:
        async with harness.router(settings) as router:
            first = harness.call(settings, "chat")
            await router(first)
            assert first.attempts == ["limited", "spare"]
            second = harness.call(settings, "chat")
            await router(second)
            assert second.attempts == ["spare"]  # resting: not asked again before Retry-After
            status = await router.status()
            (limited, _) = status["models"]["chat"]["deployments"]
            assert 9 < limited["resting_for"] <= 10  # capped at backoff.max_retry_after

    asyncio.run(scenario())


def test_a_stream_cut_before_its_first_token_fails_over(harness: Harness) -> None:
    settings = harness.settings(
        _alias(
            "chat",
            harness.deployment("cut", knobs={"cut_after": 0}),
            harness.deployment("whole", provider="anthropic"),
        )
    )

    async def scenario() -> None:
        async with harness.router(settings) as router:
            call = harness.call(settings, "chat", "stream me", stream=True)
            stream = await router(call)
            assert not isinstance(stream, ChatResponse)
            assert text_of(await drain(stream)) == "echo: stream me"  # type: ignore[arg-type]
            assert call.attempts == ["cut", "whole"]

    asyncio.run(scenario())


def test_a_stream_cut_after_its_first_token_ends_in_an_error_not_a_splice(
    harness: Harness,
) -> None:
    settings = harness.settings(
        _alias(
            "chat",
            harness.deployment("cut", knobs={"cut_after": 2, "chunks": 6}),
            harness.deployment("whole"),
        )
    )

    async def scenario() -> None:
        async with harness.router(settings) as router:
            call = harness.call(settings, "chat", "a longer answer please", stream=True)
            stream = await router(call)
            received = []
            with pytest.raises(ProviderError):
                async for chunk in stream:  # type: ignore[union-attr]
                    received.append(chunk)
            assert text_of(received) and call.attempts == ["cut"]
            status = await router.status()
            assert status["models"]["chat"]["deployments"][0]["failures"] == 1

    asyncio.run(scenario())
    assert harness.fake.counts["total"] == 1  # nothing was asked of the second deployment


def test_the_deadline_bounds_every_attempt_and_pause(harness: Harness) -> None:
    settings = harness.settings(
        _alias(
            "chat",
            harness.deployment("a", knobs={"hang": True}, timeout=5),
            harness.deployment("b", knobs={"hang": True}, timeout=5),
            deadline=0.4,
        )
    )

    async def scenario() -> None:
        async with harness.router(settings) as router:
            started = time.monotonic()
            with pytest.raises(UpstreamError) as caught:
                await router(harness.call(settings, "chat"))
            elapsed = time.monotonic() - started
            assert caught.value.status == 504 and "deadline of 0.4s" in caught.value.message
            assert 0.35 < elapsed < 1.5

    asyncio.run(scenario())


def test_the_clients_timeout_shortens_the_deadline(harness: Harness) -> None:
    settings = harness.settings(
        _alias("chat", harness.deployment("a", knobs={"hang": True}, timeout=5), deadline=30)
    )

    async def scenario() -> None:
        async with harness.router(settings) as router:
            call = harness.call(settings, "chat")
            call.timeout = 0.2
            started = time.monotonic()
            with pytest.raises(UpstreamError) as caught:
                await router(call)
            assert caught.value.status == 504 and time.monotonic() - started < 1.5

    asyncio.run(scenario())


def test_max_parallel_sends_overflow_to_the_next_deployment(harness: Harness) -> None:
    settings = harness.settings(
        _alias(
            "chat",
            harness.deployment("narrow", knobs={"latency": 0.3}, max_parallel=1),
            harness.deployment("wide"),
        )
    )

    async def scenario() -> None:
        async with harness.router(settings) as router:
            calls = [harness.call(settings, "chat") for _ in range(3)]
            await asyncio.gather(*(router(c) for c in calls))
            assert sorted(c.attempts[0] for c in calls) == ["narrow", "wide", "wide"]
            assert router.loads["narrow"].in_flight == 0

    asyncio.run(scenario())


@pytest.mark.parametrize("queue_timeout", [0.05, 2.0])
def test_max_parallel_waits_a_bounded_time(harness: Harness, queue_timeout: float) -> None:
    settings = harness.settings(
        _alias(
            "chat",
            harness.deployment("narrow", knobs={"latency": 0.3}, max_parallel=1),
            queue_timeout=queue_timeout,
            retries=0,
        )
    )

    async def scenario() -> None:
        async with harness.router(settings) as router:
            first = asyncio.ensure_future(router(harness.call(settings, "chat")))
            await asyncio.sleep(0.05)
            second = harness.call(settings, "chat")
            if queue_timeout < 0.3:
                with pytest.raises(UpstreamError) as caught:
                    await router(second)
                assert caught.value.status == 503 and "busy" in caught.value.message
            else:
                await router(second)
                assert second.attempts == ["narrow"]
            await first
            assert router.loads["narrow"].in_flight == 0

    asyncio.run(scenario())


def test_every_deployment_down_is_a_quick_503_naming_them(harness: Harness) -> None:
    settings = harness.settings(
        _alias(
            "chat",
            harness.deployment("down-1", knobs={"status": 503}),
            harness.deployment("down-2", knobs={"drop": True}),
            circuit={"consecutive_failures": 2, "cooldown": 30},
        )
    )

    async def scenario() -> None:
        async with harness.router(settings) as router:
            with pytest.raises(UpstreamError) as first:
                await router(harness.call(settings, "chat"))
            assert first.value.status == 503
            assert harness.transitions("down-1") == ["closed>open"]
            assert harness.transitions("down-2") == ["closed>open"]
            asked = harness.fake.counts["total"]
            started = time.monotonic()
            with pytest.raises(UpstreamError) as caught:
                await router(harness.call(settings, "chat"))
            assert time.monotonic() - started < 0.05
            assert harness.fake.counts["total"] == asked  # nothing was sent upstream
            error = caught.value
            assert error.status == 503 and error.deployments == ("down-1", "down-2")
            assert "down-1: circuit open" in error.message and "down-2" in error.message
            assert 25 <= int(error.headers()["retry-after"]) <= 30

    asyncio.run(scenario())


def test_a_stream_given_up_by_its_client_frees_its_slot(harness: Harness) -> None:
    settings = harness.settings(
        _alias("chat", harness.deployment("a", knobs={"chunks": 8}, max_parallel=2))
    )

    async def scenario() -> None:
        async with harness.router(settings) as router:
            read = await router(harness.call(settings, "chat", "read me", stream=True))
            unread = await router(harness.call(settings, "chat", "never read", stream=True))
            assert router.loads["a"].in_flight == 2
            await anext(read)  # type: ignore[arg-type]
            await read.aclose()  # type: ignore[union-attr]
            del unread  # dropped without ever being read
            gc.collect()
            await asyncio.sleep(0.01)
            assert router.loads["a"].in_flight == 0
            status = await router.status()
            assert status["models"]["chat"]["deployments"][0]["failures"] == 0

    asyncio.run(scenario())
