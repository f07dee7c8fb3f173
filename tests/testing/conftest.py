"""Clients of the official SDKs pointed at the session's fake provider.

The fixtures come from the `llmdeck` pytest plugin; they are imported here as well so that these
tests also run with the plugin disabled (`-p no:llmdeck`).
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import openai
import orjson
import pytest

from llmdeck.testing import FakeProvider
from llmdeck.testing.pytest_plugin import fake_provider, fake_provider_server

__all__ = ["fake_provider", "fake_provider_server"]

TIMEOUT = 2.0
USER: Any = [{"role": "user", "content": "What is the capital of France?"}]
ECHO = "echo: What is the capital of France?"


def openai_client(
    fake: FakeProvider, *, key: str = "sk-test", retries: int = 0, timeout: float = TIMEOUT
) -> openai.OpenAI:
    """An OpenAI client of `fake` (that does not retry, by default)."""
    return openai.OpenAI(
        base_url=fake.openai_base, api_key=key, max_retries=retries, timeout=timeout
    )


def anthropic_client(
    fake: FakeProvider, *, key: str = "sk-ant-test", timeout: float = TIMEOUT
) -> anthropic.Anthropic:
    """An Anthropic client of `fake` that does not retry."""
    return anthropic.Anthropic(
        base_url=fake.anthropic_base, api_key=key, max_retries=0, timeout=timeout
    )


@pytest.fixture
def oai(fake_provider: FakeProvider) -> Iterator[openai.OpenAI]:
    """An OpenAI client that does not retry."""
    with openai_client(fake_provider) as client:
        yield client


@pytest.fixture
def claude(fake_provider: FakeProvider) -> Iterator[anthropic.Anthropic]:
    """An Anthropic client that does not retry."""
    with anthropic_client(fake_provider) as client:
        yield client


@dataclass
class RawResponse:
    """What `raw()` got back."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


def raw(
    fake: FakeProvider,
    method: str,
    path: str,
    body: object = None,
    headers: dict[str, str] | None = None,
) -> RawResponse:
    """One plain HTTP request, for what the SDKs hide (raw events, headers they always send)."""
    connection = http.client.HTTPConnection(fake.host, fake.port, timeout=TIMEOUT)
    try:
        payload = body if isinstance(body, bytes) else None if body is None else orjson.dumps(body)
        connection.request(method, path, body=payload, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        names = {k.lower(): v for k, v in response.getheaders()}
        return RawResponse(response.status, names, data)
    finally:
        connection.close()
