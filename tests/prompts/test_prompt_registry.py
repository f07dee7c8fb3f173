"""The registry on SQLite and PostgreSQL: immutable versions, labels with history, rollback,
protected labels and promotion gates, and concurrent pushes from two processes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from llmdeck.config import PromptsSettings
from llmdeck.errors import BadRequest, Forbidden, NotFound
from llmdeck.prompts import Promotion, Prompts, PromptSpec, Target
from llmdeck.store import Store, open_store

from .conftest import spec


@dataclass(frozen=True)
class Who:
    name: str
    admin: bool = True


ADMIN = Who("alice")
DEVELOPER = Who("bob", admin=False)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = open_store(database_url)
    yield opened
    opened.close()


def push(prompts: Prompts, actor: Who = ADMIN, **changes: Any) -> Any:
    return asyncio.run(prompts.push(PromptSpec.model_validate(spec(**changes)), actor))


def test_identical_content_makes_no_new_version(store: Store) -> None:
    prompts = Prompts(store)
    first = push(prompts)
    again = push(prompts, commit_message="same content, other message")
    changed = push(prompts, params={"temperature": 0.7})
    assert (first.created, again.created, changed.created) == (True, False, True)
    assert [first.version.version, again.version.version, changed.version.version] == [1, 1, 2]
    assert changed.version.content_hash != first.version.content_hash
    assert first.version.author == "alice"
    # going back to older content is a new version (history stays linear)
    assert push(prompts).version.version == 3
    latest = asyncio.run(prompts.label("support-answer", "latest"))
    assert latest.version == 3


def test_labels_move_with_history_and_rollback_steps_back(store: Store) -> None:
    prompts = Prompts(store)
    for temperature in (0.1, 0.2, 0.3):
        push(prompts, params={"temperature": temperature})

    def move(version: int) -> None:
        asyncio.run(prompts.move("support-answer", "production", version, ADMIN, reason="ship"))

    def rollback() -> int:
        return asyncio.run(prompts.rollback("support-answer", "production", ADMIN)).version

    move(1)
    move(2)
    move(3)
    assert rollback() == 2
    assert rollback() == 1
    with pytest.raises(BadRequest, match="no earlier version"):
        rollback()
    move(3)
    assert rollback() == 1
    events = asyncio.run(prompts.history("support-answer", "production"))
    assert [(e.action, e.actor) for e in events][:4] == [
        ("move", "alice"),
        ("move", "alice"),
        ("move", "alice"),
        ("rollback", "alice"),
    ]
    assert events[3].from_targets == [Target(version=3)]
    assert events[3].to_targets == [Target(version=2)]
    assert events[3].reason == "rollback from v3"
    assert events[0].at <= events[-1].at


def test_protected_labels_need_the_admin_key_and_pass_the_gates(store: Store) -> None:
    prompts = Prompts(store, PromptsSettings(protected_labels=("production",)))
    push(prompts)
    push(prompts, params={"temperature": 0.9})
    with pytest.raises(Forbidden, match="label 'production' is protected"):
        asyncio.run(prompts.move("support-answer", "production", 1, DEVELOPER))
    asyncio.run(prompts.move("support-answer", "staging", 1, DEVELOPER))  # not protected
    seen: list[Promotion] = []

    async def gate(promotion: Promotion) -> None:
        seen.append(promotion)
        if promotion.version == 2:
            raise Forbidden("evaluation suite 'support' failed: contains 0.71 < 0.9")

    prompts.add_gate(gate)
    asyncio.run(prompts.move("support-answer", "production", 1, ADMIN))
    with pytest.raises(Forbidden, match="contains 0.71"):
        asyncio.run(prompts.move("support-answer", "production", 2, ADMIN))
    assert asyncio.run(prompts.label("support-answer", "production")).version == 1
    assert [(p.label, p.version, p.actor) for p in seen] == [
        ("production", 1, "alice"),
        ("production", 2, "alice"),
    ]
    # a push naming the protected label reports the refusal and keeps the version
    result = push(prompts, params={"temperature": 0.9}, labels=["production"])
    assert result.labels[0].refused and "contains 0.71" in result.labels[0].refused


def test_unknown_things_are_named(store: Store) -> None:
    prompts = Prompts(store)
    with pytest.raises(NotFound, match="no prompt named 'nope'"):
        asyncio.run(prompts.resolve("nope"))
    push(prompts)
    with pytest.raises(NotFound, match="has no label 'production'"):
        asyncio.run(prompts.resolve("support-answer"))
    with pytest.raises(NotFound, match="has no version 9"):
        asyncio.run(prompts.move("support-answer", "staging", 9, ADMIN))
    with pytest.raises(BadRequest, match="'latest' always points at the newest"):
        asyncio.run(prompts.move("support-answer", "latest", 1, ADMIN))
    with pytest.raises(ValueError, match="invalid label 'v2'"):
        asyncio.run(prompts.move("support-answer", "v2", 1, ADMIN))


def test_resolution_is_cached_and_local_moves_show_at_once(store: Store) -> None:
    prompts = Prompts(store, PromptsSettings(cache_ttl=60))
    push(prompts)
    push(prompts, params={"temperature": 0.5})
    asyncio.run(prompts.move("support-answer", "production", 1, ADMIN))
    assert asyncio.run(prompts.resolve("support-answer")).version.version == 1
    other = Prompts(store)  # another replica moves the label: this one sees it after the TTL
    asyncio.run(other.move("support-answer", "production", 2, ADMIN))
    assert asyncio.run(prompts.resolve("support-answer")).version.version == 1
    asyncio.run(prompts.move("support-answer", "production", 2, ADMIN))
    assert asyncio.run(prompts.resolve("support-answer")).version.version == 2


PUSHER = """
import asyncio, sys
from dataclasses import dataclass
from llmdeck.prompts import Prompts, PromptSpec
from llmdeck.store import open_store

@dataclass(frozen=True)
class Who:
    name: str
    admin: bool = True

url, who, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = open_store(url)
prompts = Prompts(store)
print("ready", flush=True)
sys.stdin.readline()  # both are ready: go

async def main():
    for i in range(count):
        await asyncio.sleep(0.02)  # let the other process in between pushes, even under load
        text = f"{who} {i} {{{{ q }}}}"
        content = {"name": "shared", "messages": [{"role": "user", "content": text}]}
        result = await prompts.push(PromptSpec.model_validate(content), Who(who))
        assert result.created

asyncio.run(main())
store.close()
"""


@pytest.mark.slow  # two Python processes start for it
def test_concurrent_pushes_from_two_processes_make_consecutive_versions(
    store: Store, database_url: str
) -> None:
    count = 15
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", PUSHER, database_url, who, str(count)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for who in ("one", "two")
    ]
    for process in processes:
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    assert [p.wait(60) for p in processes] == [0, 0]
    versions = asyncio.run(Prompts(store).versions("shared"))
    assert sorted(v.version for v in versions) == list(range(1, 2 * count + 1))
    texts = {v.messages[0].content for v in versions}
    expected = {f"{who} {i} {{{{ q }}}}" for who in ("one", "two") for i in range(count)}
    assert texts == expected
    assert asyncio.run(Prompts(store).label("shared", "latest")).version == 2 * count
    authors = [v.author for v in sorted(versions, key=lambda v: v.version)]
    switches = sum(a != b for a, b in zip(authors, authors[1:], strict=False))
    assert switches >= 2, f"the two processes did not overlap: {authors}"
