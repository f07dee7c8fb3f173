"""The `llmdeck` pytest plugin's `fake_provider` fixture: one server, clean knobs for each test."""

from __future__ import annotations

from importlib.metadata import entry_points

import openai
import pytest

from llmdeck.testing import Behaviour, FakeProvider

from .conftest import USER, openai_client


def test_a_test_may_change_the_knobs(fake_provider: FakeProvider) -> None:
    fake_provider.set(status=500)
    with openai_client(fake_provider) as client, pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="m", messages=USER)


def test_the_next_test_starts_clean(fake_provider: FakeProvider) -> None:
    assert fake_provider.behaviour == Behaviour()
    assert fake_provider.requests == [] and fake_provider.counts == {}


def test_the_server_is_shared(
    fake_provider: FakeProvider, fake_provider_server: FakeProvider
) -> None:
    assert fake_provider is fake_provider_server


def test_the_plugin_is_registered_with_pytest() -> None:
    (plugin,) = entry_points(group="pytest11", name="llmdeck")
    assert plugin.value == "llmdeck.testing.pytest_plugin"
