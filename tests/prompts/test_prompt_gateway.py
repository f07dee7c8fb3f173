"""The gateway renders `prompt: {name, label | version, variables}` server-side: the official
openai SDK sends it with `extra_body`, the fake provider receives the rendered messages, and the
span records the prompt's name and version."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anthropic
import httpx
import openai
import pytest
from sqlalchemy import select

from llmdeck.store import tables
from llmdeck.testing import FakeProvider
from llmdeck.testing.server import ServerThread

from .conftest import spec

VARIABLES = {"product": "llmdeck", "question": "Does it stream?"}


@pytest.fixture
def client(server: ServerThread) -> openai.OpenAI:
    httpx.post(server.url + "/api/prompts", json=spec(labels=["production"]))
    system = {"role": "system", "content": "v2 about {{ product }}"}
    second = spec(messages=[system, {"role": "user", "content": "{{ question }}"}])
    httpx.post(server.url + "/api/prompts", json={**second, "model": "gpt-large"})
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0, timeout=10)


def span(server: ServerThread, trace_id: str) -> Any:
    server.runtime.recorder.flush()
    query = select(tables.spans).where(tables.spans.c.trace_id == trace_id)
    return server.runtime.store.read(lambda c: c.execute(query).one())


def test_the_sdk_renders_a_registered_prompt(
    server: ServerThread, client: openai.OpenAI, fake: FakeProvider
) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="gpt",
        messages=[],
        extra_body={"prompt": {"name": "support-answer", "variables": VARIABLES}},
    )
    assert raw.parse().choices[0].message.content == "echo: Does it stream?"
    sent = fake.requests[-1].body
    assert sent["messages"] == [
        {"role": "system", "content": "You answer questions about llmdeck."},
        {"role": "user", "content": "Does it stream?"},
    ]
    assert (sent["temperature"], sent["max_tokens"]) == (0.2, 400)
    assert "prompt" not in sent
    row = span(server, raw.headers["x-llmdeck-trace-id"])
    assert (row.prompt_name, row.prompt_version, row.model_alias) == ("support-answer", 1, "gpt")
    assert row.attributes["prompt_label"] == "production"
    assert row.input[0]["content"] == "You answer questions about llmdeck."


def test_request_parameters_win_and_client_messages_follow(
    client: openai.OpenAI, fake: FakeProvider
) -> None:
    client.chat.completions.create(
        model="gpt",
        temperature=1.5,
        messages=[{"role": "user", "content": "And in Spanish?"}],
        extra_body={"prompt": {"name": "support-answer", "version": 2, "variables": VARIABLES}},
    )
    sent = fake.requests[-1].body
    assert sent["model"] == "fake-chat"  # the request named an alias: it wins over gpt-large
    assert (sent["temperature"], sent["max_tokens"]) == (1.5, 400)
    assert [m["content"] for m in sent["messages"]] == [
        "v2 about llmdeck",
        "Does it stream?",
        "And in Spanish?",
    ]


def test_model_naming_the_prompt_uses_the_versions_model(
    server: ServerThread, client: openai.OpenAI, fake: FakeProvider
) -> None:
    stream = client.chat.completions.create(
        model="support-answer",
        messages=[],
        stream=True,
        extra_body={"prompt": {"name": "support-answer", "version": 2, "variables": VARIABLES}},
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "echo: Does it stream?"
    assert fake.requests[-1].body["model"] == "fake-large"
    server.runtime.recorder.flush()
    rows = server.runtime.store.read(lambda c: list(c.execute(select(tables.spans))))
    assert [(r.prompt_version, r.model_alias, r.status) for r in rows] == [(2, "gpt-large", "ok")]


@pytest.mark.parametrize(
    ("prompt", "status", "message"),
    [
        ({"name": "nope"}, 404, "no prompt named 'nope'"),
        ({"name": "support-answer", "label": "beta"}, 404, "has no label 'beta'"),
        ({"name": "support-answer", "version": 7}, 404, "has no version 7"),
        (
            {"name": "support-answer", "variables": {"product": "x"}},
            400,
            "prompt variable 'question' is required (a string)",
        ),
        (
            {"name": "support-answer", "variables": {"product": 1, "question": "q"}},
            400,
            "prompt variable 'product' must be a string, got an integer",
        ),
    ],
)
def test_prompt_errors_are_clear(
    server: ServerThread, client: openai.OpenAI, prompt: dict[str, Any], status: int, message: str
) -> None:
    body = {"model": "gpt", "messages": [], "prompt": prompt}
    response = httpx.post(f"{server.url}/v1/chat/completions", json=body)
    assert response.status_code == status
    assert message in response.json()["error"]["message"]


def test_requests_without_a_prompt_are_untouched(
    server: ServerThread, client: openai.OpenAI, fake: FakeProvider
) -> None:
    messages: Any = [{"role": "user", "content": "plain"}]
    raw = client.chat.completions.with_raw_response.create(model="gpt", messages=messages)
    assert fake.requests[-1].body["messages"] == messages
    row = span(server, raw.headers["x-llmdeck-trace-id"])
    assert (row.prompt_name, row.prompt_version) == (None, None)


def test_the_anthropic_sdk_renders_a_registered_prompt_too(
    server: ServerThread, client: openai.OpenAI, fake: FakeProvider
) -> None:
    claude = anthropic.Anthropic(base_url=server.url, api_key="x", max_retries=0, timeout=10)
    reply = claude.messages.create(
        model="gpt",
        max_tokens=50,
        messages=[],
        extra_body={
            "prompt": {"name": "support-answer", "label": "production", "variables": VARIABLES}
        },  # fmt: skip
    )
    assert reply.content[0].text == "echo: Does it stream?"  # type: ignore[union-attr]
    sent = fake.requests[-1].body
    assert sent["messages"][0]["content"] == "You answer questions about llmdeck."
    assert (sent["max_tokens"], sent["temperature"]) == (50, 0.2)  # the request's max_tokens


def test_guards_check_the_rendered_prompt_of_the_versions_model(
    start_server: Callable[..., ServerThread], fake: FakeProvider
) -> None:
    deployment = {"provider": "openai", "api_base": fake.openai_base, "model": "m"}
    scrub = {"name": "scrub", "deployments": [deployment], "guards": {"input": {"pii": "redact"}}}
    server = start_server(models=[scrub])
    mail = {
        "name": "mail",
        "messages": [{"role": "user", "content": "Write to {{ email }}"}],
        "model": "scrub",
        "labels": ["production"],
    }
    assert httpx.post(server.url + "/api/prompts", json=mail).status_code == 201
    body = {
        "model": "mail",
        "messages": [],
        "prompt": {"name": "mail", "variables": {"email": "jane.roe@example.org"}},
    }
    response = httpx.post(f"{server.url}/v1/chat/completions", json=body, timeout=30)
    assert response.status_code == 200, response.text
    assert fake.requests[-1].body["messages"] == [{"role": "user", "content": "Write to <EMAIL_1>"}]
