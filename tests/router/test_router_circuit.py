"""The circuit breaker's rules, on both stores (in-process, and Redis shared by replicas).
Time is passed in, so no test sleeps."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator

import pytest

from llmdeck.config import CircuitSettings, Settings
from llmdeck.gateway.router import LocalCircuits, circuit_store
from llmdeck.gateway.router.circuit import CircuitStore, Outcome
from llmdeck.gateway.router.circuit_redis import RedisCircuits

from ..conftest import REDIS_URL

SETTINGS = CircuitSettings(
    window=10, min_requests=4, failure_rate=0.5, consecutive_failures=3, cooldown=5
)
Scenario = Callable[[CircuitStore], Awaitable[None]]


@pytest.fixture(params=["local", pytest.param("redis", marks=pytest.mark.redis)])
def run(request: pytest.FixtureRequest) -> Iterator[Callable[[Scenario], None]]:
    """Runs a scenario against a fresh store of each kind."""

    def go(scenario: Scenario) -> None:
        async def main() -> None:
            store: CircuitStore
            if request.param == "local":
                store = LocalCircuits()
            else:
                store = RedisCircuits(REDIS_URL, prefix=f"test-{uuid.uuid4().hex}:")
            try:
                await scenario(store)
            finally:
                await store.close()

        asyncio.run(main())

    yield go


async def _feed(store: CircuitStore, outcomes: str, now: float) -> list[str]:
    """Settle `s`/`f` outcomes at `now`; the transitions they caused."""
    moved = []
    for letter in outcomes:
        outcome: Outcome = "success" if letter == "s" else "failure"
        change = await store.settle("d", SETTINGS, outcome, now)
        if change is not None:
            moved.append(f"{change.before}>{change.after}: {change.reason}")
    return moved


def test_opens_on_the_failure_rate_once_enough_requests_were_seen(run: Callable) -> None:
    async def scenario(store: CircuitStore) -> None:
        assert await _feed(store, "ff", 100.0) == []  # two failures: under min_requests
        assert await _feed(store, "s", 100.0) == []
        assert await _feed(store, "f", 100.0) == ["closed>open: 3 of 4 attempts failed in 10s"]
        refused = await store.admit("d", SETTINGS, 101.0, lease=1)
        assert not refused.allowed and refused.reason == "circuit open"
        assert refused.retry_in == pytest.approx(4.0)

    run(scenario)


def test_opens_on_consecutive_failures(run: Callable) -> None:
    async def scenario(store: CircuitStore) -> None:
        assert await _feed(store, "sssssssff", 100.0) == []  # 2 of 9: under the rate
        assert await _feed(store, "f", 100.0) == ["closed>open: 3 failures in a row"]

    run(scenario)


def test_old_failures_leave_the_window(run: Callable) -> None:
    async def scenario(store: CircuitStore) -> None:
        await _feed(store, "ffs", 100.0)
        assert await _feed(store, "sf", 111.0) == []  # the first three are 11 s old
        view = await store.view("d", SETTINGS, 111.0)
        assert (view.state, view.requests, view.failures) == ("closed", 2, 1)

    run(scenario)


def test_half_opens_after_the_cooldown_with_a_single_probe(run: Callable) -> None:
    async def scenario(store: CircuitStore) -> None:
        await _feed(store, "fff", 100.0)
        assert not (await store.admit("d", SETTINGS, 104.9, lease=1)).allowed
        probe = await store.admit("d", SETTINGS, 105.0, lease=1)
        assert probe.allowed and probe.probe
        assert probe.transition is not None and probe.transition.after == "half-open"
        other = await store.admit("d", SETTINGS, 105.1, lease=1)
        assert not other.allowed and "probe in flight" in other.reason
        # an attempt that started before the circuit opened does not decide anything
        assert await store.settle("d", SETTINGS, "success", 105.2) is None
        change = await store.settle("d", SETTINGS, "success", 105.3, probe=True)
        assert change is not None and (change.before, change.after) == ("half-open", "closed")
        assert (await store.admit("d", SETTINGS, 105.4, lease=1)).allowed
        view = await store.view("d", SETTINGS, 105.5)
        assert (view.state, view.requests, view.consecutive_failures) == ("closed", 0, 0)

    run(scenario)


def test_a_failed_probe_reopens_for_another_cooldown(run: Callable) -> None:
    async def scenario(store: CircuitStore) -> None:
        await _feed(store, "fff", 100.0)
        assert (await store.admit("d", SETTINGS, 106.0, lease=1)).probe
        change = await store.settle("d", SETTINGS, "failure", 106.5, probe=True)
        assert change is not None and change.after == "open"
        refused = await store.admit("d", SETTINGS, 110.0, lease=1)
        assert not refused.allowed and refused.retry_in == pytest.approx(1.5)

    run(scenario)


def test_a_released_or_expired_probe_lets_another_through(run: Callable) -> None:
    async def scenario(store: CircuitStore) -> None:
        await _feed(store, "fff", 100.0)
        assert (await store.admit("d", SETTINGS, 105.0, lease=1)).probe
        await store.settle("d", SETTINGS, "released", 105.1, probe=True)
        assert (await store.admit("d", SETTINGS, 105.2, lease=1)).probe
        assert not (await store.admit("d", SETTINGS, 105.9, lease=1)).allowed
        assert (await store.admit("d", SETTINGS, 106.3, lease=1)).probe  # the lease ran out

    run(scenario)


def test_retry_after_makes_the_deployment_rest(run: Callable) -> None:
    async def scenario(store: CircuitStore) -> None:
        await store.settle("d", SETTINGS, "failure", 100.0, rest=2.0)
        refused = await store.admit("d", SETTINGS, 101.0, lease=1)
        assert not refused.allowed and refused.reason == "resting (Retry-After)"
        assert refused.retry_in == pytest.approx(1.0)
        assert (await store.admit("d", SETTINGS, 102.0, lease=1)).allowed
        assert (await store.view("d", SETTINGS, 100.5)).resting_for == pytest.approx(1.5)

    run(scenario)


def test_a_disabled_circuit_never_opens(run: Callable) -> None:
    off = SETTINGS.model_copy(update={"enabled": False})

    async def scenario(store: CircuitStore) -> None:
        for _ in range(10):
            assert await store.settle("d", off, "failure", 100.0) is None
        assert (await store.admit("d", off, 100.0, lease=1)).allowed

    run(scenario)


@pytest.mark.redis
def test_replicas_sharing_redis_share_the_circuit() -> None:
    async def main() -> None:
        prefix = f"test-{uuid.uuid4().hex}:"
        one, two = RedisCircuits(REDIS_URL, prefix=prefix), RedisCircuits(REDIS_URL, prefix=prefix)
        try:
            await _feed(one, "ff", 100.0)
            assert await _feed(two, "f", 100.0) == ["closed>open: 3 failures in a row"]
            assert not (await one.admit("d", SETTINGS, 101.0, lease=1)).allowed
            assert (await one.admit("d", SETTINGS, 105.0, lease=1)).probe
            assert not (await two.admit("d", SETTINGS, 105.0, lease=1)).allowed
        finally:
            await one.close()
            await two.close()

    asyncio.run(main())


def test_an_unreachable_redis_fails_open() -> None:
    async def main() -> None:
        store = RedisCircuits("redis://127.0.0.1:1/0")
        try:
            assert (await store.admit("d", SETTINGS, 100.0, lease=1)).allowed
            assert await store.settle("d", SETTINGS, "failure", 100.0) is None
            assert (await store.view("d", SETTINGS, 100.0)).state == "closed"
        finally:
            await store.close()

    asyncio.run(main())


def test_the_store_follows_the_settings() -> None:
    assert isinstance(circuit_store(Settings()), LocalCircuits)
    shared = circuit_store(Settings(redis_url=REDIS_URL))
    assert isinstance(shared, RedisCircuits)
    asyncio.run(shared.close())
