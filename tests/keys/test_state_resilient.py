"""Redis with a local fallback: an unreachable Redis leaves limits enforced locally (each replica
taking its share), and when Redis returns the journal is replayed into it."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis

from llmdeck.gateway.state import RedisState, ResilientState, WindowCheck
from llmdeck.testing import free_port

from .conftest import OwnRedis


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
        assert status["pending_replay"] == 1  # both in one bucket: folded into one delta

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


@pytest.mark.redis
def test_the_journal_stays_small_and_replays_exact_totals(redis_prefix: str) -> None:
    from tests.conftest import REDIS_URL

    from llmdeck.gateway.state.journal import Journal

    rpm = WindowCheck("rl:{j}:rpm", 1, 10**9, 60.0)
    budget = "budget:{j}:total"

    async def scenario() -> None:
        redis_state = RedisState(REDIS_URL, prefix=redis_prefix)
        assert (await redis_state.reserve(budget, "before", 2.0, 100.0, seed=10.0)).allowed
        journal = Journal()
        bucket = int(time.time() // rpm.width)
        for i in range(10_000):  # a long outage, all in one bucket
            journal.window(rpm, bucket, 1)
            journal.reserve(budget, f"l{i}", 0.5, None, 900.0)
            journal.settle(budget, f"l{i}", 0.001, None)
        journal.reserve(budget, "open", 0.5, None, 900.0)
        journal.settle(budget, "before", 1.0, None)  # made in Redis before it went away
        assert len(journal) == 4  # one bucket, one open lease, one spend total, one settlement

        await journal.replay(redis_state)
        used = (await redis_state.admit([WindowCheck("rl:{j}:rpm", 0, 10**9, 60.0)])).used
        after = await redis_state.budget(budget)
        await redis_state.close()
        assert len(journal) == 0
        assert used == (10_000,)
        assert after is not None
        assert after.spent == pytest.approx(10.0 + 10.0 + 1.0)  # seed, outage spend, "before"
        assert after.held == pytest.approx(0.5)  # only the lease still open

    asyncio.run(scenario())
