"""Starting and stopping the fake (thread, event loop, process); its log, counts, admin routes."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import anthropic
import openai
import pytest

from llmdeck.testing import FakeProvider

from .conftest import ECHO, USER, openai_client, raw


def test_background_thread_lifecycle() -> None:
    fake = FakeProvider(reply="hi")
    with pytest.raises(RuntimeError, match="not started"):
        _ = fake.url
    with fake:
        port = fake.port
        assert port != 0
        assert fake.openai_base == f"http://127.0.0.1:{fake.port}/v1"
        assert fake.anthropic_base == f"http://127.0.0.1:{fake.port}"
        assert raw(fake, "GET", "/v1/models").status == 200
        with pytest.raises(RuntimeError, match="already started"):
            fake.start()
        with pytest.raises(RuntimeError, match="stop it with stop"):
            asyncio.run(fake.astop())
    other = FakeProvider().start()
    try:
        assert other.port not in (0, port)
    finally:
        other.stop()
    fake.stop()  # stopping twice is harmless


def test_fixed_port_can_be_reused_at_once() -> None:
    with FakeProvider() as first:
        port = first.port
    with FakeProvider(port=port) as second:
        assert raw(second, "GET", "/v1/models").status == 200


def test_inside_a_running_event_loop() -> None:
    async def main() -> tuple[str | None, str]:
        async with (
            FakeProvider(chunks=2) as fake,
            openai.AsyncOpenAI(base_url=fake.openai_base, api_key="k", max_retries=0) as oai,
            anthropic.AsyncAnthropic(
                base_url=fake.anthropic_base, api_key="k", max_retries=0
            ) as claude,
        ):
            completion = await oai.chat.completions.create(model="m", messages=USER)
            pieces = []
            async with claude.messages.stream(model="m", max_tokens=50, messages=USER) as stream:
                async for text in stream.text_stream:
                    pieces.append(text)
            return completion.choices[0].message.content, "".join(pieces)

    assert asyncio.run(main()) == (ECHO, ECHO)


def test_stop_drops_hanging_requests_quickly() -> None:
    fake = FakeProvider(hang=True).start()
    with (
        openai_client(fake, timeout=10) as client,
        ThreadPoolExecutor(1) as pool,
    ):
        pending = pool.submit(client.chat.completions.create, model="m", messages=USER)
        while not fake.counts.get("hang"):
            time.sleep(0.01)
        started = time.monotonic()
        fake.stop()
        with pytest.raises(openai.APIConnectionError):
            pending.result()
    assert time.monotonic() - started < 2


def test_request_log_and_counts(oai: openai.OpenAI, fake_provider: FakeProvider) -> None:
    before = time.time()
    oai.chat.completions.create(model="m", messages=USER, extra_headers={"X-Trace": "t1"})
    with pytest.raises(openai.RateLimitError):
        oai.chat.completions.create(
            model="m", messages=USER, extra_headers=FakeProvider.header(status=429)
        )

    first, second = fake_provider.requests
    assert (first.method, first.path, first.outcome) == ("POST", "/v1/chat/completions", "ok")
    assert first.headers["x-trace"] == "t1"
    assert first.headers["authorization"] == "Bearer sk-test"
    assert first.body == {"model": "m", "messages": USER}
    assert before <= first.time <= second.time <= time.time()
    assert second.outcome == "error:429"
    assert fake_provider.counts == {"ok": 1, "error:429": 1, "total": 2}
    fake_provider.clear()
    assert fake_provider.requests == [] and fake_provider.counts == {}


def test_log_size_bounds_the_log_but_not_the_counts() -> None:
    with FakeProvider(log_size=2) as small, FakeProvider(log_size=0) as none:
        for fake in (small, none):
            for _ in range(3):
                raw(fake, "GET", "/v1/models")
        assert len(small.requests) == 2 and small.counts["total"] == 3
        assert none.requests == [] and none.counts["total"] == 3


def test_admin_routes(fake_provider: FakeProvider) -> None:
    changed = raw(fake_provider, "POST", "/_fake/behaviour", {"status": 503, "latency": 0})
    assert changed.status == 200 and changed.json()["status"] == 503
    assert fake_provider.behaviour.status == 503
    assert raw(fake_provider, "GET", "/_fake/behaviour").json()["status"] == 503
    assert raw(fake_provider, "POST", "/v1/embeddings", {"input": "x"}).status == 503
    assert raw(fake_provider, "GET", "/_fake/counts").json() == {"error:503": 1, "total": 1}
    assert raw(fake_provider, "POST", "/_fake/behaviour", {"status": 200}).status == 400
    assert raw(fake_provider, "POST", "/_fake/reset").json()["status"] is None
    raw(fake_provider, "POST", "/_fake/clear")
    assert fake_provider.counts == {}


def test_command_line_runs_its_own_process() -> None:
    command = [sys.executable, "-m", "llmdeck.testing", "--port", "0", "--status", "503"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            base = line.split(" (OpenAI: ")[1].split(",")[0]
            with (
                openai.OpenAI(base_url=base, api_key="k", max_retries=0) as client,
                pytest.raises(openai.InternalServerError),
            ):
                client.chat.completions.create(model="m", messages=USER)
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0


def test_command_line_rejects_bad_knobs() -> None:
    command = [sys.executable, "-m", "llmdeck.testing", "--behaviour", '{"status": 99}']
    result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)

    assert result.returncode == 2
    assert "status" in result.stderr
