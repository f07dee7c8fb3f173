"""A router over real providers talking to the fake provider, driven in-process.

Each deployment gets its own fake knobs through the `x-fake-behaviour` header, so one fake
serves healthy and failing deployments side by side.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from llmdeck.config import Settings
from llmdeck.gateway import Call, ChatChunk, ChatRequest, ChunkStream, Message, ProviderContext
from llmdeck.gateway.providers import provider_factories
from llmdeck.gateway.router import LocalCircuits, Router
from llmdeck.gateway.router.circuit import Transition
from llmdeck.testing import FakeProvider

PRICE = {"input": 1.0, "output": 2.0}


@dataclass
class Harness:
    """Builds settings over the fake, runs a router on them, records circuit events."""

    fake: FakeProvider
    events: list[tuple[Transition, str]] = field(default_factory=list)

    def deployment(
        self,
        name: str,
        *,
        fake: FakeProvider | None = None,
        provider: str = "openai",
        knobs: dict[str, Any] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """A deployment of the fake, with its own knobs."""
        server = fake or self.fake
        base = server.openai_base if provider == "openai" else server.anthropic_base
        headers = FakeProvider.header(**knobs) if knobs else {}
        return {
            "provider": provider,
            "name": name,
            "model": f"model-{name}",
            "api_base": base,
            "api_key": "sk-fake",
            "price": PRICE,
            "headers": headers,
            "timeout": 2.0,
            **fields,
        }

    @staticmethod
    def settings(*aliases: dict[str, Any]) -> Settings:
        """Settings with these aliases, fast backoff unless told otherwise."""
        fast = {"backoff": {"initial": 0.01, "max": 0.05}}
        return Settings.model_validate({"models": [fast | a for a in aliases]})

    @contextlib.asynccontextmanager
    async def router(self, settings: Settings, **options: Any) -> AsyncIterator[Router]:
        """A started router (seeded), its providers on one HTTP session."""
        options.setdefault("rng", random.Random(7))
        options.setdefault("circuits", LocalCircuits())
        async with aiohttp.ClientSession() as session:
            context = ProviderContext(session=session)
            factories = provider_factories()
            providers = {
                d.name: factories[d.provider](d, context)
                for alias in settings.models
                for d in alias.deployments
            }
            router = Router(providers, settings, events=self._event, **options)
            await router.start()
            try:
                yield router
            finally:
                await router.close()

    def _event(self, transition: Transition, alias: str) -> None:
        self.events.append((transition, alias))

    def transitions(self, deployment: str) -> list[str]:
        """`before>after` for each recorded change of a deployment's circuit."""
        return [f"{t.before}>{t.after}" for t, _ in self.events if t.deployment == deployment]

    @staticmethod
    def call(settings: Settings, alias: str, text: str = "hello", **fields: Any) -> Call:
        """A chat call to `alias`."""
        request = ChatRequest(model=alias, messages=[Message(role="user", content=text)], **fields)
        target = settings.alias(alias)
        assert target is not None
        return Call(kind="chat", request=request, alias=target)


async def drain(stream: ChunkStream) -> list[ChatChunk]:
    """Every chunk of a stream."""
    return [chunk async for chunk in stream]


def text_of(chunks: list[ChatChunk]) -> str:
    """The text a stream carried."""
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


@pytest.fixture
def harness(fake_provider: FakeProvider) -> Harness:
    """A harness over the session's fake provider (knobs reset, log cleared)."""
    return Harness(fake_provider)


@pytest.fixture(scope="module")
def second_fake() -> Iterator[FakeProvider]:
    """Another fake provider, for deployments whose knobs a test changes while it runs."""
    with FakeProvider() as fake:
        yield fake


@pytest.fixture
def other(second_fake: FakeProvider) -> Iterator[FakeProvider]:
    """The second fake, reset for this test."""
    second_fake.reset()
    second_fake.clear()
    yield second_fake
    second_fake.reset()
