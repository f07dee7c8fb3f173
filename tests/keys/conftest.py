"""Fixtures for keys, limits, budgets and cost: a fake provider, llmdeck servers with an admin key,
and a Redis key prefix of their own per test."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis

from llmdeck.config import Settings
from llmdeck.testing import FakeProvider, free_port
from llmdeck.testing.server import ServerThread

ADMIN = "sk-admin-test"
PRICE = {"input": 1.0, "output": 2.0, "cached_input": 0.5}


def knobs(**values: Any) -> dict[str, str]:
    """Deployment headers that give every request to that deployment these fake knobs."""
    return {"x-fake-behaviour": orjson.dumps(values).decode()}


def models(fake: FakeProvider) -> list[dict[str, Any]]:
    """One alias per provider shape, an alias of two rate-limited deployments, a free one."""
    openai = {"provider": "openai", "api_base": fake.openai_base, "api_key": "sk-fake"}
    anthropic = {"provider": "anthropic", "api_base": fake.anthropic_base, "api_key": "ak-fake"}
    return [
        {"name": "gpt", "deployments": [{**openai, "name": "oa", "model": "m", "price": PRICE}]},
        {
            "name": "claude",
            "deployments": [{**anthropic, "name": "an", "model": "c", "price": PRICE}],
        },
        {
            "name": "pair",
            "deployments": [
                {**openai, "name": "first", "model": "a", "price": PRICE, "rpm": 2},
                {**openai, "name": "second", "model": "b", "price": PRICE, "rpm": 1},
            ],
        },
        {"name": "listed", "deployments": [{**openai, "name": "mini", "model": "gpt-4o-mini"}]},
        {"name": "local", "deployments": [{"provider": "local", "model": "extractive"}]},
    ]


def keyed_settings(home: Path, fake: FakeProvider, **extra: Any) -> Settings:
    """Settings with the admin key set, fast key refresh and spend writes; `extra_models` are
    added to the usual aliases."""
    limits = {"key_refresh": 0.2, "spend_flush": 0.1, **extra.pop("limits", {})}
    aliases = models(fake) + extra.pop("extra_models", [])
    return Settings.model_validate(
        {"home": home, "admin_key": ADMIN, "models": aliases, "limits": limits, **extra}
    )


def metered(fake: FakeProvider, name: str, usage: dict[str, int], price: dict[str, float]) -> Any:
    """An alias whose fake deployment reports this usage for every request."""
    deployment = {
        "provider": "openai",
        "api_base": fake.openai_base,
        "name": f"{name}-dep",
        "model": "m",
        "price": price,
        "headers": knobs(usage=usage),
    }
    return {"name": name, "deployments": [deployment]}


def admin_client(url: str) -> httpx.Client:
    """An HTTP client that sends the admin key."""
    return httpx.Client(base_url=url, headers={"authorization": f"Bearer {ADMIN}"}, timeout=30)


def create_key(url: str, **fields: Any) -> tuple[str, str]:
    """Create a key through the API; returns (id, secret)."""
    with admin_client(url) as client:
        response = client.post("/api/keys", json={"name": f"k-{uuid.uuid4().hex[:6]}", **fields})
    assert response.status_code == 201, response.text
    body = response.json()
    return body["id"], body["key"]


def chat(
    url: str, secret: str, model: str = "gpt", text: str = "hi", **extra: Any
) -> httpx.Response:
    """One chat completion with a key."""
    body = {"model": model, "messages": [{"role": "user", "content": text}], **extra}
    headers = {"authorization": f"Bearer {secret}"}
    return HTTP.post(f"{url}/v1/chat/completions", json=body, headers=headers)


HTTP = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=64))
"""One pooled client for every test request (a client per request costs ~40 ms of TLS setup)."""


@pytest.fixture
def fake(fake_provider: FakeProvider) -> FakeProvider:
    """The session's fake provider (llmdeck's pytest plugin), with fresh knobs and log."""
    return fake_provider


@pytest.fixture
def serve(tmp_path: Path, fake: FakeProvider) -> Iterator[Callable[..., ServerThread]]:
    """Start llmdeck servers (stopped after the test): serve(**settings fields)."""
    started: list[ServerThread] = []

    def start(**extra: Any) -> ServerThread:
        home = extra.pop("home", tmp_path / "home")
        server = ServerThread(keyed_settings(home, fake, **extra)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


class OwnRedis:
    """A redis-server of this test's own on a free port, no persistence: stop it and start it
    again to lose everything, as a crashed Redis without persistence does."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start (daemonised) and wait until it answers."""
        subprocess.run(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
                "--dir",
                str(self.workdir),
                "--pidfile",
                str(self.workdir / "redis.pid"),
                "--logfile",
                str(self.workdir / "redis.log"),
            ],
            check=True,
            timeout=10,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        client.close()

    def stop(self) -> None:
        """Shut down without saving, and wait until the port is closed."""
        subprocess.run(
            ["redis-cli", "-p", str(self.port), "shutdown", "nosave"],
            capture_output=True,
            timeout=10,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.02)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    """A redis-server started for this test (stopped after it)."""
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.stop()
