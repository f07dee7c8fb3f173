"""Each failure knob, as the official SDKs see it."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anthropic
import httpx2
import openai
import pytest

from llmdeck.testing import Behaviour, FakeProvider

from .conftest import ECHO, USER, anthropic_client, openai_client, raw

SHORT = 0.3


def chat(client: openai.OpenAI, headers: dict[str, str] | None = None) -> str | None:
    completion = client.chat.completions.create(model="m", messages=USER, extra_headers=headers)
    return completion.choices[0].message.content


def message(client: anthropic.Anthropic) -> str:
    block = client.messages.create(model="m", max_tokens=100, messages=USER).content[0]
    return block.text if block.type == "text" else ""


def chat_stream(client: openai.OpenAI, received: list[str]) -> None:
    for chunk in client.chat.completions.create(model="m", messages=USER, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            received.append(chunk.choices[0].delta.content)


def message_stream(client: anthropic.Anthropic, received: list[str]) -> None:
    for event in client.messages.create(model="m", max_tokens=100, messages=USER, stream=True):
        if event.type == "content_block_delta" and event.delta.type == "text_delta":
            received.append(event.delta.text)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, openai.BadRequestError),
        (401, openai.AuthenticationError),
        (404, openai.NotFoundError),
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
        (503, openai.InternalServerError),
    ],
)
def test_status_is_the_openai_error(
    oai: openai.OpenAI, fake_provider: FakeProvider, status: int, error: type[Exception]
) -> None:
    fake_provider.set(status=status)
    with pytest.raises(error) as caught:
        chat(oai)
    assert isinstance(caught.value, openai.APIStatusError)
    assert caught.value.status_code == status
    assert isinstance(caught.value.body, dict)
    assert set(caught.value.body) == {"message", "type", "param", "code"}


@pytest.mark.parametrize(
    ("status", "error", "kind"),
    [
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
    ],
)
def test_status_is_the_anthropic_error(
    claude: anthropic.Anthropic,
    fake_provider: FakeProvider,
    status: int,
    error: type[Exception],
    kind: str,
) -> None:
    fake_provider.set(status=status)
    with pytest.raises(error) as caught:
        message(claude)
    assert isinstance(caught.value, anthropic.APIStatusError)
    body: Any = caught.value.body
    assert body["error"]["type"] == kind


def test_retry_after_is_sent_and_honoured(fake_provider: FakeProvider) -> None:
    fake_provider.set(status=429, retry_after=0.25)
    with openai_client(fake_provider) as client, pytest.raises(openai.RateLimitError) as caught:
        chat(client)
    assert caught.value.response.headers["retry-after"] == "0.25"

    started = time.monotonic()
    with openai_client(fake_provider, retries=1) as client, pytest.raises(openai.RateLimitError):
        chat(client)
    assert time.monotonic() - started >= 0.25
    assert fake_provider.counts["error:429"] == 3


def test_hang_times_the_clients_out(fake_provider: FakeProvider) -> None:
    fake_provider.set(hang=True)
    with (
        openai_client(fake_provider, timeout=SHORT) as client,
        pytest.raises(openai.APITimeoutError),
    ):
        chat(client)
    with (
        anthropic_client(fake_provider, timeout=SHORT) as other,
        pytest.raises(anthropic.APITimeoutError),
    ):
        message(other)
    assert fake_provider.counts["hang"] == 2


def test_drop_is_a_connection_error(
    oai: openai.OpenAI, claude: anthropic.Anthropic, fake_provider: FakeProvider
) -> None:
    fake_provider.set(drop=True)
    with pytest.raises(openai.APIConnectionError):
        chat(oai)
    with pytest.raises(anthropic.APIConnectionError):
        message(claude)
    with pytest.raises(openai.APIConnectionError):
        oai.embeddings.create(model="e", input="x")


def test_cut_stream_fails_mid_iteration(
    oai: openai.OpenAI, claude: anthropic.Anthropic, fake_provider: FakeProvider
) -> None:
    fake_provider.set(cut_after=2)
    received: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        chat_stream(oai, received)
    assert len(received) == 2 and ECHO.startswith("".join(received))

    received.clear()
    with pytest.raises(httpx2.RemoteProtocolError):  # the Anthropic SDK does not wrap it
        message_stream(claude, received)
    assert len(received) == 2 and ECHO.startswith("".join(received))


def test_cut_body_is_a_connection_error(oai: openai.OpenAI, fake_provider: FakeProvider) -> None:
    fake_provider.set(cut_after=0)
    with pytest.raises(openai.APIConnectionError):
        chat(oai)


def test_error_event_is_raised_mid_iteration(
    oai: openai.OpenAI, claude: anthropic.Anthropic, fake_provider: FakeProvider
) -> None:
    fake_provider.set(error_event_after=1)
    received: list[str] = []
    with pytest.raises(openai.APIError) as openai_error:
        chat_stream(oai, received)
    assert received == [ECHO[: len(received[0])]]
    assert not isinstance(openai_error.value, openai.APIStatusError)

    received.clear()
    with pytest.raises(anthropic.APIStatusError) as anthropic_error:
        message_stream(claude, received)
    assert len(received) == 1
    body: Any = anthropic_error.value.body
    assert body["error"]["type"] == "overloaded_error"
    assert chat(oai) == ECHO  # not streaming: answered


def test_latency_ttft_and_chunk_interval(oai: openai.OpenAI, fake_provider: FakeProvider) -> None:
    fake_provider.set(latency=0.1)
    started = time.monotonic()
    assert chat(oai) == ECHO
    assert time.monotonic() - started >= 0.1

    fake_provider.set(latency=0, ttft=0.1, chunk_interval=0.05, chunks=3)
    started = time.monotonic()
    arrivals = []
    for chunk in oai.chat.completions.create(model="m", messages=USER, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.monotonic() - started)
    assert len(arrivals) == 3
    assert arrivals[0] >= 0.1
    assert arrivals[2] - arrivals[0] >= 0.09


def test_header_knobs_apply_to_one_request(oai: openai.OpenAI, fake_provider: FakeProvider) -> None:
    slow = FakeProvider.header(latency=0.3, reply="slow")

    def slow_call() -> str | None:
        return chat(oai, slow)

    with ThreadPoolExecutor(2) as pool:
        pending = pool.submit(slow_call)
        time.sleep(0.05)
        assert chat(oai) == ECHO  # not held up, not changed
        assert pending.result() == "slow"
    with pytest.raises(openai.RateLimitError):
        chat(oai, FakeProvider.header(status=429))
    assert fake_provider.behaviour == Behaviour()


def test_bad_header_knobs_are_a_400_naming_them(fake_provider: FakeProvider) -> None:
    headers = {"x-fake-behaviour": '{"latncy": 1}'}
    response = raw(fake_provider, "POST", "/v1/chat/completions", {"messages": USER}, headers)

    assert response.status == 400
    assert "x-fake-behaviour" in response.json()["error"]["message"]
    assert "latncy" in response.json()["error"]["message"]
    with pytest.raises(ValueError, match="latncy"):
        fake_provider.set(latncy=1)
    with pytest.raises(ValueError, match="unknown failure kind"):
        Behaviour(fail_mix={"explode": 1.0})


def outcomes(client: openai.OpenAI, n: int) -> Iterator[str]:
    for _ in range(n):
        try:
            chat(client)
            yield "ok"
        except openai.APIStatusError as err:
            yield f"error:{err.status_code}"
        except openai.APITimeoutError:
            yield "hang"
        except openai.APIConnectionError:
            yield "drop"


def test_fail_rate_mixes_failures_reproducibly(fake_provider: FakeProvider) -> None:
    fake_provider.set(fail_rate=0.3, seed=7)
    with openai_client(fake_provider, timeout=0.1) as client:
        seen = Counter(outcomes(client, 100))
        fake_provider.set(seed=7)
        list(outcomes(client, 100))

    logged = [r.outcome for r in fake_provider.requests]
    assert logged[:100] == logged[100:]  # the same seed, the same sequence
    assert Counter(logged[:100]) == seen
    assert 0.2 < 1 - seen["ok"] / 100 < 0.4
    assert {"error:500", "error:429", "drop", "hang"} <= set(seen)
    assert fake_provider.counts["total"] == 200


def test_set_and_reset(oai: openai.OpenAI, fake_provider: FakeProvider) -> None:
    fake_provider.set(reply="one")
    fake_provider.set(latency=0.01)
    assert chat(oai) == "one"  # set() keeps the knobs it is not given
    fake_provider.set(Behaviour(reply="two"))
    assert fake_provider.behaviour == Behaviour(reply="two")
    fake_provider.reset()
    assert chat(oai) == ECHO
