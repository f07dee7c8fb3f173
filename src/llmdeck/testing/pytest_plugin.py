"""The `llmdeck` pytest plugin: a `fake_provider` fixture for testing applications against it.

    def test_my_app(fake_provider):
        fake_provider.set(status=429, retry_after=1)
        app = MyApp(openai_base_url=fake_provider.openai_base)
        ...

One server serves the whole session (one per xdist worker); each test starts with the knobs it was
made with and an empty log. llmdeck.testing is imported only when a test asks for the fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from llmdeck.testing import FakeProvider


@pytest.fixture(scope="session")
def fake_provider_server() -> Iterator[FakeProvider]:
    """The session's fake provider, serving from a background thread."""
    from llmdeck.testing import FakeProvider

    with FakeProvider() as fake:
        yield fake


@pytest.fixture
def fake_provider(fake_provider_server: FakeProvider) -> Iterator[FakeProvider]:
    """The session's fake provider, with default knobs and an empty log for this test."""
    fake_provider_server.reset()
    fake_provider_server.clear()
    yield fake_provider_server
    fake_provider_server.reset()
