"""One replica killed with SIGKILL mid-load: every request whose response was received in full
keeps its trace, and the clients of requests still in flight get a connection error at once
instead of hanging.

The recorder writes spans behind, in batches; here it waits 2 s between batches, so without its
spool the killed replica would lose the spans of up to 2 s of completed requests. The two
replicas share LLMDECK_HOME (as `serve --workers N` processes do), so the survivor finds the dead
one's spool and stores what it held.
"""

from __future__ import annotations

import asyncio
import signal

import httpx
import pytest

from llmdeck.testing import FakeProvider

from .conftest import Process, Topology, admin_headers, write_config
from .test_scale_topology import wait_for_spans

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]
CLIENTS = 24


async def load_until_killed(
    urls: list[str], victim: Process, kill_after: int
) -> tuple[set[str], list[BaseException]]:
    """Clients alternate between replicas; once `kill_after` responses came back, the first
    replica is killed. Returns the trace ids of complete responses and the errors seen."""
    body = {"model": "gpt", "messages": [{"role": "user", "content": "hello"}]}
    completed: set[str] = set()
    errors: list[BaseException] = []
    killed = asyncio.Event()
    timeout = httpx.Timeout(20.0)
    async with httpx.AsyncClient(timeout=timeout, headers=admin_headers()) as client:

        async def one_client(n: int) -> None:
            for i in range(40):
                url = urls[(n + i) % 2]
                if killed.is_set() and url == urls[0]:
                    continue
                try:
                    response = await client.post(f"{url}/v1/chat/completions", json=body)
                    response.raise_for_status()
                except httpx.HTTPError as exc:
                    errors.append(exc)
                    continue
                completed.add(response.headers["x-llmdeck-trace-id"])
                if len(completed) >= kill_after and not killed.is_set():
                    killed.set()
                    victim.popen.send_signal(signal.SIGKILL)

        await asyncio.gather(*(one_client(n) for n in range(CLIENTS)))
    return completed, errors


def test_a_killed_replica_loses_no_trace_and_hangs_no_client(
    topology: Topology, redis_prefix: str
) -> None:
    with FakeProvider(latency=0.1) as fake:
        write_config(
            topology.config,
            fake,
            topology.database_url,
            redis_prefix,
            observe={"flush_interval": 2.0},
        )
        victim, survivor = topology.gateway("shared"), topology.gateway("shared")
        victim.wait_ready()
        survivor.wait_ready()
        completed, errors = asyncio.run(
            load_until_killed([victim.url, survivor.url], victim, kill_after=150)
        )
        assert victim.popen.wait(10) == -signal.SIGKILL
        stored = wait_for_spans(topology, completed, timeout=30)
    assert len(completed) > 150
    assert stored == completed  # no completed request lost its trace
    assert errors  # requests were in flight on the victim when it died ...
    for error in errors:  # ... and each failed on the connection, none by waiting it out
        assert isinstance(error, httpx.TransportError)
        assert not isinstance(error, httpx.TimeoutException), repr(error)
