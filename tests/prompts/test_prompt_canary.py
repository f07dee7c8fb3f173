"""Canary and A/B: weighted splits sticky by user, and the automatic canary widening,
promoting or rolling back on its own from the error rates the gateway records."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable

import openai
import pytest

from llmdeck.config import PromptsSettings
from llmdeck.prompts import (
    CanaryController,
    CanaryPlan,
    ErrorRateCheck,
    Prompts,
    PromptSpec,
    Target,
    bucket,
    choose,
)
from llmdeck.store import open_store
from llmdeck.testing.server import ServerThread

from .conftest import spec

USERS = [f"user-{i}" for i in range(10_000)]
TOLERANCE = 0.015  # 10,000 users at 10%: the binomial sd is 0.3 points; 1.5 points is 5 sd


@pytest.mark.parametrize("share", [0.1, 0.25, 0.5])
def test_split_over_10000_users_is_within_tolerance(share: float) -> None:
    targets = [Target(version=1, weight=1 - share), Target(version=2, weight=share)]
    counts = Counter(choose("support-answer", "production", targets, u) for u in USERS)
    assert abs(counts[2] / len(USERS) - share) <= TOLERANCE


def test_the_split_is_sticky_and_widening_only_moves_users_to_the_canary() -> None:
    narrow = [Target(version=1, weight=0.9), Target(version=2, weight=0.1)]
    wide = [Target(version=1, weight=0.75), Target(version=2, weight=0.25)]
    first = {u: choose("p", "production", narrow, u) for u in USERS}
    assert first == {u: choose("p", "production", narrow, u) for u in USERS}
    widened = {u: choose("p", "production", wide, u) for u in USERS}
    assert all(widened[u] == 2 for u in USERS if first[u] == 2)
    # buckets differ per prompt and label, so one user is not always in every canary
    assert bucket("p", "production", "user-1") != bucket("q", "production", "user-1")


def test_the_registry_resolves_a_split_label_sticky_by_user(database_url: str) -> None:
    store = open_store(database_url)
    try:
        prompts = Prompts(store, PromptsSettings(cache_ttl=60))
        admin = Admin()
        asyncio.run(prompts.push(PromptSpec.model_validate(spec(labels=["production"])), admin))
        asyncio.run(prompts.push(PromptSpec.model_validate(spec(model="gpt-large")), admin))
        split = [Target(version=1, weight=80), Target(version=2, weight=20)]
        asyncio.run(prompts.set_targets("support-answer", "production", split, admin))

        async def resolve_all() -> list[int]:
            return [
                (await prompts.resolve("support-answer", user=u)).version.version for u in USERS
            ]

        versions = asyncio.run(resolve_all())
        assert abs(versions.count(2) / len(USERS) - 0.2) <= TOLERANCE
        assert versions == asyncio.run(resolve_all())
    finally:
        store.close()


class Admin:
    name = "alice"
    admin = True


def ask(server: ServerThread, users: list[str]) -> Counter[str]:
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0, timeout=10)
    outcomes: Counter[str] = Counter()
    for user in users:
        try:
            client.chat.completions.create(
                model="support-answer",  # the prompt's own model
                messages=[],
                user=user,
                extra_body={
                    "prompt": {
                        "name": "support-answer",
                        "variables": {"product": "llmdeck", "question": "why?"},
                    }
                },
            )
            outcomes["ok"] += 1
        except openai.InternalServerError:
            outcomes["failed"] += 1
    server.runtime.recorder.flush()
    return outcomes


def start_canary(
    server: ServerThread, model: str, steps: list[float]
) -> tuple[Prompts, CanaryController]:
    """v1 on `production`, v2 using `model` as its automatic canary through `steps`."""
    prompts = server.runtime.prompts
    controller = CanaryController(prompts, [ErrorRateCheck(server.runtime.store)])
    admin = Admin()
    asyncio.run(prompts.push(PromptSpec.model_validate(spec(labels=["production"])), admin))
    asyncio.run(prompts.push(PromptSpec.model_validate(spec(model=model)), admin))
    plan = CanaryPlan(version=2, steps=steps, step_seconds=0, min_requests=5)
    asyncio.run(prompts.start_canary("support-answer", "production", plan, admin))
    return prompts, controller


QUIET = {"canary_interval": 3600}  # the server's own controller stays out of the way: tests tick


def test_automatic_canary_rolls_back_a_failing_version_and_says_why(
    start_server: Callable[..., ServerThread],
) -> None:
    server = start_server(prompts=QUIET)
    prompts, controller = start_canary(server, "broken", [0.3, 1.0])
    assert asyncio.run(controller.tick()) == []  # no traffic yet: it holds
    outcomes = ask(server, [f"u{i}" for i in range(60)])
    assert outcomes["failed"] >= 5 and outcomes["ok"] >= 20
    (done,) = asyncio.run(controller.tick())
    assert "canary v2 rolled back: v2 error rate 100.0%" in done
    state = asyncio.run(prompts.label("support-answer", "production"))
    assert state.targets == [Target(version=1)] and state.canary is None
    last = asyncio.run(prompts.history("support-answer", "production"))[-1]
    assert last.action == "canary-rollback" and last.actor == "canary-controller"
    assert last.reason is not None and "error rate 100.0% over" in last.reason
    assert ask(server, ["u1", "u2", "u3"])["ok"] == 3  # everyone is back on v1


def test_automatic_canary_widens_then_promotes_a_healthy_version(
    start_server: Callable[..., ServerThread],
) -> None:
    server = start_server(prompts=QUIET)
    prompts, controller = start_canary(server, "gpt-large", [0.25, 0.5])
    users = [f"u{i}" for i in range(40)]
    assert ask(server, users)["ok"] == 40
    (widened,) = asyncio.run(controller.tick())
    assert "widened to 50%" in widened
    state = asyncio.run(prompts.label("support-answer", "production"))
    assert [t.version for t in state.targets] == [1, 2] and state.canary is not None
    assert ask(server, users)["ok"] == 40
    (promoted,) = asyncio.run(controller.tick())
    assert "canary v2 promoted" in promoted
    state = asyncio.run(prompts.label("support-answer", "production"))
    assert state.targets == [Target(version=2)] and state.canary is None
    actions = [e.action for e in asyncio.run(prompts.history("support-answer", "production"))]
    assert actions == ["move", "canary-start", "canary-step", "canary-promote"]
    # rolling back after a promotion goes to the version before the canary
    assert asyncio.run(prompts.rollback("support-answer", "production", Admin())).version == 1


def test_the_server_runs_the_controller_in_the_background(
    start_server: Callable[..., ServerThread],
) -> None:
    server = start_server(prompts={"canary_interval": 0.1})
    prompts, _ = start_canary(server, "broken", [0.5, 1.0])
    ask(server, [f"u{i}" for i in range(30)])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        state = asyncio.run(prompts.label("support-answer", "production"))
        if state.canary is None:
            break
        time.sleep(0.1)
    assert state.targets == [Target(version=1)] and state.canary is None
    last = asyncio.run(prompts.history("support-answer", "production"))[-1]
    assert (last.action, last.actor) == ("canary-rollback", "canary-controller")
