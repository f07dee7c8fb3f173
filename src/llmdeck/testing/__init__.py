"""Test doubles that ship with llmdeck: fake providers on real sockets, speaking the real protocols.

`FakeProvider` serves OpenAI chat completions, embeddings and models, and Anthropic Messages, on
127.0.0.1, with knobs (`Behaviour`) for latency, errors, `Retry-After`, hangs, dropped connections
and cut streams. `python -m llmdeck.testing` runs one as its own process, and the pytest plugin
(`llmdeck`) gives tests a `fake_provider` fixture.
"""

from llmdeck.testing.control import RecordedRequest
from llmdeck.testing.fake_provider import FakeProvider
from llmdeck.testing.knobs import BEHAVIOUR_HEADER, Behaviour, ToolCall, Usage
from llmdeck.testing.ports import free_port
from llmdeck.testing.reply import estimate_tokens

__all__ = [
    "BEHAVIOUR_HEADER",
    "Behaviour",
    "FakeProvider",
    "RecordedRequest",
    "ToolCall",
    "Usage",
    "estimate_tokens",
    "free_port",
]
