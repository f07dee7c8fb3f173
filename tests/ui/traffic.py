"""A llmdeck server filled with real traffic for the web UI's tests and screenshots: OpenAI SDK
calls through the gateway to the fake provider (plain, streamed, cached, failing, rendered from
registered prompts), prompt versions with labels, keys with budgets, a scored trace, and a vector
collection with items and a quality measurement."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai

from llmdeck.config import Settings
from llmdeck.observe import Tracer
from llmdeck.testing import FakeProvider
from llmdeck.testing.server import ServerThread

ADMIN_KEY = "sk-admin-ui-tests"
QUESTIONS = [
    "How do I reset my password?",
    "Which plans include single sign-on?",
    "Can I export my data as CSV?",
    "How long are invoices kept?",
    "Does the API support streaming?",
    "What is the rate limit on the free plan?",
]
DOCS = [
    "Passwords are reset from the sign-in page with the 'forgot password' link.",
    "Single sign-on is part of the Business and Enterprise plans.",
    "Every table can be exported as CSV or JSON from its menu.",
    "Invoices are kept for seven years and can be downloaded at any time.",
    "The API streams replies as server-sent events when asked to.",
    "The free plan allows 60 requests a minute per key.",
    "Teams can share dashboards with read-only links.",
    "Audit logs record every change to a workspace.",
]


def prompt_spec(version: int) -> dict[str, Any]:
    """The support-answer prompt as pushed at `version` (1, 2 or 3)."""
    systems = {
        1: "You answer questions about {{ product }}.",
        2: "You answer questions about {{ product }}. Be brief.",
        3: "You answer questions about {{ product }}.\nBe brief and cite the docs.",
    }
    return {
        "name": "support-answer",
        "messages": [
            {"role": "system", "content": systems[version]},
            {"role": "user", "content": "{{ question }}"},
        ],
        "model": "gpt",
        "params": {"temperature": 0.2, "max_tokens": 200},
        "variables": {"product": "string", "question": "string"},
        "commit_message": f"support answer, take {version}",
    }


def ui_settings(home: Path, fake: FakeProvider, database_url: str | None = None) -> Settings:
    """Three chat aliases (one always failing) in front of the fake, local embeddings, a cache."""
    base = {"provider": "openai", "api_base": fake.openai_base, "api_key": "sk-fake"}
    price = {"input": 0.15, "output": 0.6}
    slow = FakeProvider.header(latency=0.02, ttft=0.01, chunk_interval=0.005)
    models = [
        {
            "name": "gpt",
            "cache": "exact",
            "deployments": [
                {**base, "name": "openai-main", "model": "gpt-4o-mini", "price": price},
                {**base, "name": "openai-backup", "model": "gpt-4o-mini", "price": price},
            ],
        },
        {
            "name": "gpt-large",
            "deployments": [
                {
                    **base,
                    "name": "large",
                    "model": "gpt-4o",
                    "headers": slow,
                    "price": {"input": 2.5, "output": 10},
                },
            ],
        },  # fmt: skip
        {
            "name": "flaky",
            "deployments": [
                {
                    **base,
                    "name": "flaky-east",
                    "model": "gpt-4o-mini",
                    "headers": FakeProvider.header(status=503),
                    "price": price,
                },
            ],
        },  # fmt: skip
        {"name": "embed", "deployments": [{"provider": "local", "model": "default-embedding"}]},
    ]
    fields: dict[str, Any] = {
        "home": home,
        "models": models,
        "admin_key": ADMIN_KEY,
        "observe": {"flush_interval": 0.05},
        "vectors": {"quality_interval": 0},
    }
    if database_url:
        fields["database_url"] = database_url
    return Settings.model_validate(fields)


@dataclass
class Seeded:
    """What the traffic left behind, for the tests to look for."""

    server: ServerThread
    viewer_key: str
    trace_id: str
    collection: str = "docs"
    prompt: str = "support-answer"


def admin(server: ServerThread) -> httpx.Client:
    """An HTTP client for the server's API with the admin key."""
    return httpx.Client(
        base_url=server.url, headers={"authorization": f"Bearer {ADMIN_KEY}"}, timeout=60
    )


def fill(server: ServerThread) -> Seeded:
    """Send the traffic; returns once the recorder has written it."""
    with admin(server) as api:
        viewer = api.post("/api/keys", json={"name": "on-call", "ui": True}).json()["key"]
        app_key = api.post(
            "/api/keys",
            json={"name": "support-bot", "team": "support", "budget": 5, "period": "month"},
        ).json()["key"]
        for version in (1, 2, 3):
            labels = ["production"] if version < 3 else ["staging"]
            assert api.post(
                "/api/prompts", json={**prompt_spec(version), "labels": labels}
            ).is_success
        _chats(server, app_key)
        _prompted(server, app_key)
        _collection(api)
        trace_id = _pipeline(server, app_key)
        api.post(f"/api/traces/{trace_id}/scores", json={"name": "helpful", "value": 0.9})
    server.runtime.recorder.flush()
    time.sleep(0.2)
    return Seeded(server, viewer, trace_id)


def _chats(server: ServerThread, key: str) -> str:
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)
    first = ""
    for i, question in enumerate(QUESTIONS * 2):
        model = "gpt-large" if i % 4 == 3 else "gpt"
        extra = {"user": f"user-{i % 3}", "tags": ["support", "web" if i % 2 else "mobile"]}
        messages = [{"role": "user", "content": question}]
        if i % 3 == 0:
            stream = client.chat.completions.create(
                model=model,
                messages=messages,
                stream=True,
                extra_body=extra,  # type: ignore[arg-type]
            )
            for _ in stream:
                pass
        else:
            reply = client.chat.completions.with_raw_response.create(
                model=model,
                messages=messages,
                extra_body=extra,  # type: ignore[arg-type]
            )
            first = first or reply.headers["x-llmdeck-trace-id"]
    for _ in range(3):
        try:
            client.chat.completions.create(
                model="flaky", messages=[{"role": "user", "content": "are you there?"}]
            )
        except openai.APIStatusError:
            pass
    return first


def _pipeline(server: ServerThread, key: str) -> str:
    """An application's traced question: retrieval then a generation that joins its trace."""
    tracer = Tracer().configure(url=server.url, api_key=ADMIN_KEY, service="support-bot")
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)
    question = "How long are invoices kept?"
    with tracer.span("answer question", input=question) as root:
        root.update_trace(user_id="user-7", tags=["rag"], session_id="session-42")
        with tracer.span("retrieve", kind="retrieval", input=question) as step:
            hits = httpx.post(
                f"{server.url}/api/collections/docs/search",
                json={"query": question, "k": 2},
                headers={"authorization": f"Bearer {key}"},
            ).json()["hits"]
            step.update(output=[hit["id"] for hit in hits])
        context = "\n".join(hit["text"] for hit in hits)
        with tracer.span("generate", kind="chain"):
            prompt = {"name": "support-answer", "label": "production",
                      "variables": {"product": "Acme Cloud", "question": question}}  # fmt: skip
            reply = client.chat.completions.create(
                model="gpt",
                messages=[{"role": "system", "content": context}],
                extra_body={"prompt": prompt, "user": "user-7"},
                extra_headers=tracer.headers(),
            )
        root.update(output=reply.choices[0].message.content)
    tracer.flush()
    tracer.shutdown()
    return root.trace_id


def _prompted(server: ServerThread, key: str) -> None:
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)
    for label, question in (("production", QUESTIONS[0]), ("staging", QUESTIONS[1])):
        prompt = {"name": "support-answer", "label": label,
                  "variables": {"product": "Acme Cloud", "question": question}}  # fmt: skip
        client.chat.completions.create(
            model="gpt", messages=[], extra_body={"prompt": prompt, "user": "user-9"}
        )


def _collection(api: httpx.Client) -> None:
    assert api.post("/api/collections", json={"name": "docs"}).is_success
    items = [{"id": f"doc-{i}", "text": text} for i, text in enumerate(DOCS)]
    assert api.post("/api/collections/docs/items", json={"items": items[:5]}).is_success
    golden = [
        {"query": "forgot my password", "relevant_ids": ["doc-0"]},
        {"query": "export a table to csv", "relevant_ids": ["doc-2"]},
        {"query": "how long do you keep invoices", "relevant_ids": ["doc-3"]},
    ]
    assert api.put("/api/collections/docs/golden", json={"queries": golden}).is_success
    assert api.post("/api/collections/docs/quality").is_success
    assert api.post("/api/collections/docs/items", json={"items": items[5:]}).is_success
    assert api.post("/api/collections/docs/quality").is_success
