"""The state backends keep one contract in-process and in Redis: sliding windows that never admit
more than their limit, all-or-nothing admission, budgets that a concurrent burst cannot
overspend, leases that expire, values, counters and messages."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from tests.conftest import REDIS_URL

from llmdeck.gateway.state import LocalState, RedisState, StateBackend, WindowCheck

Scenario = Callable[[StateBackend], Awaitable[None]]


@pytest.fixture(params=["local", pytest.param("redis", marks=pytest.mark.redis)])
def run(request: pytest.FixtureRequest, redis_prefix: str) -> Callable[[Scenario], None]:
    """Run a scenario against a started backend of each kind."""

    def runner(scenario: Scenario) -> None:
        async def main() -> None:
            backend: StateBackend = (
                LocalState()
                if request.param == "local"
                else RedisState(REDIS_URL, prefix=redis_prefix, timeout=5.0)
            )
            await backend.start()
            try:
                await scenario(backend)
            finally:
                await backend.close()

        asyncio.run(main())

    return runner


def test_a_window_admits_up_to_its_limit(run: Callable[[Scenario], None]) -> None:
    async def scenario(state: StateBackend) -> None:
        check = WindowCheck("rl:{a}:rpm", 1, 5, 60.0)
        results = [await state.admit([check]) for _ in range(7)]
        assert [r.allowed for r in results] == [True] * 5 + [False] * 2
        assert results[5].blocked == 0
        assert 58 < results[5].retry_after <= 62
        assert results[4].used == (4,)

    run(scenario)


def test_admission_is_all_or_nothing(run: Callable[[Scenario], None]) -> None:
    async def scenario(state: StateBackend) -> None:
        rpm = WindowCheck("rl:{b}:rpm", 1, 100, 60.0)
        tpm = WindowCheck("rl:{b}:tpm", 600, 1000, 60.0)
        first = await state.admit([rpm, tpm])
        second = await state.admit([rpm, tpm])
        probe = await state.admit([WindowCheck("rl:{b}:rpm", 0, 100, 60.0)])
        assert first.allowed and not second.allowed and second.blocked == 1
        assert probe.used == (1,)  # the refused request was not counted in rpm either

    run(scenario)


def test_adjust_corrects_the_admitted_bucket(run: Callable[[Scenario], None]) -> None:
    async def scenario(state: StateBackend) -> None:
        tpm = WindowCheck("rl:{c}:tpm", 800, 1000, 60.0)
        admitted = await state.admit([tpm])
        assert not (await state.admit([tpm])).allowed
        await state.adjust(tpm, admitted.buckets[0], -700)  # really used 100
        assert (await state.admit([tpm])).allowed

    run(scenario)


def test_a_request_over_the_whole_limit_waits_a_window(run: Callable[[Scenario], None]) -> None:
    async def scenario(state: StateBackend) -> None:
        refused = await state.admit([WindowCheck("rl:{d}:tpm", 2000, 1000, 60.0)])
        assert not refused.allowed and refused.retry_after == 60.0

    run(scenario)


def test_the_window_slides(run: Callable[[Scenario], None]) -> None:
    async def scenario(state: StateBackend) -> None:
        check = WindowCheck("rl:{e}:rpm", 1, 3, 0.6)
        for _ in range(3):
            assert (await state.admit([check])).allowed
        refused = await state.admit([check])
        assert not refused.allowed and 0 < refused.retry_after <= 0.6 + check.width
        await asyncio.sleep(refused.retry_after + 0.05)
        assert (await state.admit([check])).allowed

    run(scenario)


def test_a_concurrent_burst_cannot_overspend_a_budget(run: Callable[[Scenario], None]) -> None:
    async def scenario(state: StateBackend) -> None:
        key = "budget:{f}:total"
        assert (await state.reserve(key, "probe", 0.01, 1.0)).missing
        outcomes = await asyncio.gather(
            *(state.reserve(key, f"l{i}", 0.03, 1.0, seed=0.1) for i in range(200))
        )
        admitted = [i for i, r in enumerate(outcomes) if r.allowed]
        assert len(admitted) == 30  # (1.0 - 0.1) / 0.03
        for i in admitted:
            await state.settle(key, f"l{i}", 0.02)
        after = await state.budget(key)
        assert after is not None
        assert after.held == pytest.approx(0.0, abs=1e-9)
        assert after.spent == pytest.approx(0.1 + 30 * 0.02)

    run(scenario)


def test_a_spent_budget_refuses_even_free_requests(run: Callable[[Scenario], None]) -> None:
    async def scenario(state: StateBackend) -> None:
        key = "budget:{g}:total"
        assert (await state.reserve(key, "a", 1.0, 1.0, seed=0.0)).allowed
        await state.settle(key, "a", 1.0)
        refused = await state.reserve(key, "b", 0.0, 1.0)
        assert not refused.allowed and refused.spent == pytest.approx(1.0)

    run(scenario)


def test_an_unsettled_lease_expires(run: Callable[[Scenario], None]) -> None:
    async def scenario(state: StateBackend) -> None:
        key = "budget:{h}:total"
        assert (await state.reserve(key, "lost", 0.9, 1.0, seed=0.0, lease_ttl=0.2)).allowed
        assert not (await state.reserve(key, "next", 0.5, 1.0)).allowed
        await asyncio.sleep(0.3)
        assert (await state.reserve(key, "next", 0.5, 1.0)).allowed
        assert await state.settle("budget:{h}:unknown", "x", 1.0) is None

    run(scenario)


def test_values_counters_and_messages(run: Callable[[Scenario], None]) -> None:
    async def scenario(state: StateBackend) -> None:
        heard: list[str] = []
        state.subscribe("news", heard.append)
        await state.start()  # subscriptions take effect at start (a second start is harmless)
        assert await state.set("v", b"1", ttl=0.2, only_new=True)
        assert not await state.set("v", b"2", only_new=True)
        assert await state.get("v") == b"1"
        assert await state.incr("n", 2.5, ttl=10) == 2.5 and await state.incr("n") == 3.5
        await asyncio.sleep(0.3)
        assert await state.get("v") is None
        for _ in range(50):
            await state.publish("news", "revoked key_1")
            await asyncio.sleep(0.02)
            if heard:
                break
        assert heard[0] == "revoked key_1"

    run(scenario)
