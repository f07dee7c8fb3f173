"""Redis with a local fallback: an unreachable Redis leaves limits enforced locally (each replica
taking its share), and when Redis returns the journal is replayed into it."""

from __future__ import annotations

import asyncio

import pytest
import redis

from llmdeck.gateway.state import RedisState, ResilientState, WindowCheck

from .conftest import OwnRedis, free_port


def resilient(url: str, prefix: str = "r:") -> ResilientState:
    return ResilientState(RedisState(url, prefix=prefix, timeout=0.3), reconnect_interval=0.1)


async def until(condition: object, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0.02)


def test_starting_without_redis_serves_locally_and_says_so() -> None:
    async def scenario() -> None:
        state = resilient(f"redis://127.0.0.1:{free_port()}/0")
        await state.start()
        try:
            check = WindowCheck("rl:{k}:rpm", 1, 2, 60.0)
            outcomes = [(await state.admit([check])).allowed for _ in range(3)]
            status = state.status()
        finally:
            await state.close()
        assert outcomes == [True, True, False]
        assert status["ready"] and status["degraded"] and not status["shared"]
        assert "redis unreachable" in status["message"]
        assert status["pending_replay"] == 2

    asyncio.run(scenario())


@pytest.mark.redis
def test_an_outage_is_served_with_a_share_and_replayed(own_redis: OwnRedis) -> None:
    rpm = WindowCheck("rl:{k}:rpm", 1, 10, 60.0)

    async def scenario() -> None:
        replicas = [resilient(own_redis.url), resilient(own_redis.url)]
        for state in replicas:
            await state.start()
        state = replicas[0]
        try:
            await until(lambda: state.replicas == 2)
            assert (await state.admit([rpm])).allowed
            assert (await state.reserve("budget:{k}:total", "a", 0.5, 10.0, seed=1.0)).allowed

            own_redis.stop()
            outage = [(await state.admit([rpm])).allowed for _ in range(8)]
            # the lease made in Redis is settled while it is away: journaled, replayed later
            await state.settle("budget:{k}:total", "a", 0.25)
            assert state.status()["degraded"]
            assert outage == [True] * 5 + [False] * 3  # 1/2 share of 10 per replica

            own_redis.start()  # empty: no persistence
            await until(lambda: state.shared)
            client = redis.Redis.from_url(own_redis.url)
            counted = sum(int(v) for v in client.hgetall("r:rl:{k}:rpm").values())
            client.close()
            assert counted == 5  # the outage's admissions, replayed into the new Redis
            assert not state.journal and state.status().get("degraded") is None
            # Redis lost the budget: the next reservation asks to be seeded again
            assert (await state.reserve("budget:{k}:total", "b", 0.5, 10.0)).missing
        finally:
            for replica in replicas:
                await replica.close()

    asyncio.run(scenario())
